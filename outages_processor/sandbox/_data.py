"""The bundled public data the sandbox serves, and the POST bodies it accepts.

The data files live next to this module in ``data/`` and are read once, through
:mod:`importlib.resources`, so the sandbox works from an installed wheel.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

import attrs

from outages_processor._time import parse_aware

__all__ = ["CUTOFF", "Dataset", "expected_outages", "load_dataset", "with_sites"]

CUTOFF = "2022-01-01T00:00:00.000Z"
"""Outages that begin before this instant are not reported (the task's fixed cut-off)."""

_OUTAGE_FILES = ("outages.json", "outages_kingfisher.json")
_SITE_FILES = {
    "kingfisher": "site-info_kingfisher.json",
    "norwich-pear-tree": "site-info_norwich-pear-tree.json",
}


@attrs.frozen
class Dataset:
    """What the sandbox answers with, encoded once.

    Attributes:
        outages_body: the JSON body of ``GET /outages``.
        site_bodies: site id -> the JSON body of ``GET /site-info/{site_id}``.
        expected: site id -> the only POST body ``/site-outages/{site_id}`` accepts.
    """

    outages_body: bytes
    site_bodies: Mapping[str, bytes]
    expected: Mapping[str, list[dict[str, str]]]


def _read_json(name: str) -> Any:
    data_dir = resources.files("outages_processor.sandbox").joinpath("data")
    return json.loads(data_dir.joinpath(name).read_text(encoding="utf-8"))


def _all_outages() -> list[dict[str, str]]:
    """The first file's outages, then those of the others that are not already listed."""
    outages: list[dict[str, str]] = []
    for name in _OUTAGE_FILES:
        outages.extend(item for item in _read_json(name) if item not in outages)
    return outages


def _expected_body(outages: list[dict[str, str]], site: Mapping[str, Any]) -> list[dict[str, str]]:
    """Apply the reporting rule: a device of the site, and ``begin >= CUTOFF`` as instants."""
    names: dict[str, str] = {}
    for device in site["devices"]:
        names.setdefault(device["id"], device["name"])
    cutoff = parse_aware(CUTOFF)
    return [
        {"id": item["id"], "name": names[item["id"]], "begin": item["begin"], "end": item["end"]}
        for item in outages
        if item["id"] in names and parse_aware(item["begin"]) >= cutoff
    ]


@functools.cache
def load_dataset() -> Dataset:
    """Read the bundled files once and compute the accepted POST bodies.

    Returns:
        The shared, read-only :class:`Dataset`.
    """
    return with_sites({site_id: _read_json(name) for site_id, name in _SITE_FILES.items()})


def with_sites(sites: Mapping[str, Mapping[str, Any]]) -> Dataset:
    """The bundled outages with the given sites (``{id, name, devices: [{id, name}]}``).

    Args:
        sites: site id -> the site-info object to serve for it.

    Returns:
        A :class:`Dataset` serving those sites.

    Raises:
        KeyError, TypeError: a site is not of the site-info shape.
    """
    outages = _all_outages()
    return Dataset(
        outages_body=json.dumps(outages).encode(),
        site_bodies={site_id: json.dumps(site).encode() for site_id, site in sites.items()},
        expected={site_id: _expected_body(outages, site) for site_id, site in sites.items()},
    )


def expected_outages(site_id: str) -> list[dict[str, str]]:
    """The exact body ``POST /site-outages/{site_id}`` of the sandbox accepts.

    Args:
        site_id: ``"norwich-pear-tree"`` or ``"kingfisher"``.

    Returns:
        A fresh list of ``{id, name, begin, end}`` objects, in ``GET /outages`` order.

    Raises:
        KeyError: the sandbox has no data for ``site_id``.
    """
    expected = load_dataset().expected
    if site_id not in expected:
        known = ", ".join(sorted(expected))
        raise KeyError(f"the sandbox has no site {site_id!r}; it knows {known}")
    return [dict(item) for item in expected[site_id]]
