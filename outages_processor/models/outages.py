"""Models of the KrakenFlex API: outages, sites and devices, and per-site results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from outages_processor._time import format_utc, parse_aware
from outages_processor.models._frames import PREVIEW_ROWS, RowsMixin

if TYPE_CHECKING:
    from outages_processor.errors import OutagesError

__all__ = ["Device", "EnhancedOutage", "Outage", "SiteInfo", "SiteResult", "SiteResults"]

_str = attrs.validators.instance_of(str)


def _field_of(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"field {key!r} must be a string, not {type(value).__name__}")
    return value


def _mapping(data: object) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise TypeError(f"expected a JSON object, not {type(data).__name__}")
    return data


@attrs.frozen
class Outage:
    """One outage of one device, as ``GET /outages`` returns it.

    ``begin`` and ``end`` keep the exact text the API sent, so that it can be echoed back
    unchanged; :attr:`begin_at` and :attr:`end_at` are the same instants parsed (aware
    datetimes). Nothing requires ``begin <= end``: the API may send anything, and only
    ``begin`` is relied on. Both timestamps are checked when the outage is built.

    Raises:
        TypeError: a field is not a string.
        ValueError: ``begin`` or ``end`` is not an ISO 8601 timestamp with an offset.
    """

    id: str
    begin: str
    end: str

    def __attrs_post_init__(self) -> None:
        # Plain checks rather than attrs validators: this runs for every item of
        # GET /outages (often 100,000), and validators cost a call each.
        if not type(self.id) is type(self.begin) is type(self.end) is str:
            for name in ("id", "begin", "end"):
                _field_of({name: getattr(self, name)}, name)
        parse_aware(self.begin)
        parse_aware(self.end)

    @property
    def begin_at(self) -> datetime:
        """When the outage began, as an aware datetime."""
        return parse_aware(self.begin)

    @property
    def end_at(self) -> datetime:
        """When the outage ended, as an aware datetime."""
        return parse_aware(self.end)

    def to_dict(self) -> dict[str, str]:
        """Return ``{id, begin, end}`` as the API sent them."""
        return {"id": self.id, "begin": self.begin, "end": self.end}

    @classmethod
    def from_json(cls, data: object) -> Outage:
        """Build an outage from one decoded JSON object ``{id, begin, end}``.

        Raises:
            KeyError: a field is missing.
            TypeError: the object or a field has the wrong JSON type.
            ValueError: a timestamp cannot be parsed or has no offset.
        """
        obj = data if type(data) is dict else _mapping(data)  # pylint: disable=unidiomatic-typecheck
        return cls(obj["id"], obj["begin"], obj["end"])


def _devices(items: Iterable[Device]) -> tuple[Device, ...]:
    return tuple(items)


def _enhanced(items: Iterable[EnhancedOutage]) -> tuple[EnhancedOutage, ...]:
    return tuple(items)


@attrs.frozen
class Device:
    """A device of a site: its id (the outage ``id``) and its display name."""

    id: str = attrs.field(validator=_str)
    name: str = attrs.field(validator=_str)

    @classmethod
    def from_json(cls, data: object) -> Device:
        """Build a device from a decoded JSON object ``{id, name}``."""
        obj = _mapping(data)
        return cls(_field_of(obj, "id"), _field_of(obj, "name"))

    def to_dict(self) -> dict[str, str]:
        """Return ``{id, name}``."""
        return {"id": self.id, "name": self.name}


@attrs.frozen
class SiteInfo:
    """A site as ``GET /site-info/{site_id}`` returns it."""

    id: str = attrs.field(validator=_str)
    name: str = attrs.field(validator=_str)
    devices: tuple[Device, ...] = attrs.field(converter=_devices)

    @classmethod
    def from_json(cls, data: object) -> SiteInfo:
        """Build a site from a decoded JSON object ``{id, name, devices: [...]}``."""
        obj = _mapping(data)
        devices = obj["devices"]
        if not isinstance(devices, list):
            raise TypeError("field 'devices' must be a list")
        return cls(
            _field_of(obj, "id"),
            _field_of(obj, "name"),
            tuple(Device.from_json(item) for item in devices),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return ``{id, name, devices: [{id, name}, ...]}``, the shape the API sends."""
        return {
            "id": self.id,
            "name": self.name,
            "devices": [device.to_dict() for device in self.devices],
        }

    def device_names(self) -> dict[str, str]:
        """Map each device id to its name (the first name wins if an id repeats)."""
        names: dict[str, str] = {}
        for device in self.devices:
            names.setdefault(device.id, device.name)
        return names


@attrs.frozen
class EnhancedOutage:
    """An outage with its device name, as ``POST /site-outages/{site_id}`` takes it."""

    id: str
    name: str
    begin: str
    end: str

    def to_dict(self) -> dict[str, str]:
        """Return the JSON object the API expects: ``{id, name, begin, end}``.

        ``begin`` and ``end`` are the text the API sent, unchanged.
        """
        return {"id": self.id, "name": self.name, "begin": self.begin, "end": self.end}

    to_json = to_dict
    """The old name of :meth:`to_dict`, kept for existing callers."""


@attrs.frozen
class SiteResult:
    """What happened to one site in a run.

    Attributes:
        site_id: the site.
        outages: the outages selected for the site (empty when nothing qualified or when
            the site failed before filtering).
        posted: True when the API accepted the POST of ``outages``.
        error: the error that stopped this site, or None when it succeeded.
    """

    site_id: str
    outages: tuple[EnhancedOutage, ...] = attrs.field(converter=_enhanced, default=())
    posted: bool = False
    error: OutagesError | None = None

    @property
    def ok(self) -> bool:
        """True when the site was processed without error."""
        return self.error is None

    def __repr__(self) -> str:
        state = "posted" if self.posted else "not posted"
        error = "" if self.error is None else f", error={type(self.error).__name__}"
        count = len(self.outages)
        noun = "outage" if count == 1 else "outages"
        return f"SiteResult({self.site_id!r}, {count} {noun}, {state}{error})"

    def rows(self) -> list[dict[str, Any]]:
        """Return one JSON-ready dict per selected outage (see :meth:`SiteResults.to_dicts`)."""
        return [
            {
                "site_id": self.site_id,
                "id": outage.id,
                "name": outage.name,
                "begin": format_utc(parse_aware(outage.begin)),
                "end": format_utc(parse_aware(outage.end)),
                "posted": self.posted,
            }
            for outage in self.outages
        ]

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-ready values: ``{site_id, outages, posted}`` and ``error`` if any."""
        row: dict[str, Any] = {
            "site_id": self.site_id,
            "outages": [outage.to_dict() for outage in self.outages],
            "posted": self.posted,
        }
        if self.error is not None:
            row["error"] = str(self.error)
        return row


class SiteResults(RowsMixin, list[SiteResult]):
    """What :func:`~outages_processor.sites.process_sites` returns: a list of
    :class:`SiteResult`, one per site, with rows for a notebook.

    ``to_dicts()`` and ``to_pandas()`` give one row per selected outage: ``site_id, id,
    name, begin, end, posted``, ``begin`` and ``end`` in UTC (ISO 8601 text ending in
    ``Z``, or tz-aware datetimes in the DataFrame). A site with no outage, or that failed,
    has no row: see :attr:`failed` and each result's ``error``.
    """

    __slots__ = ()

    COLUMNS: ClassVar[tuple[str, ...]] = ("site_id", "id", "name", "begin", "end", "posted")
    TIME_COLUMNS: ClassVar[tuple[str, ...]] = ("begin", "end")

    @property
    def failed(self) -> list[SiteResult]:
        """The results of the sites that failed (``error`` set)."""
        return [result for result in self if result.error is not None]

    def to_dicts(self) -> list[dict[str, Any]]:
        """Return one JSON-ready dict per selected outage, site by site."""
        return [row for result in self for row in result.rows()]

    def _preview_dicts(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for result in self:
            rows.extend(result.rows()[: PREVIEW_ROWS - len(rows)])
            if len(rows) >= PREVIEW_ROWS:
                break
        return rows

    def _row_count(self) -> int:
        return sum(len(result.outages) for result in self)

    def __repr__(self) -> str:
        sites = "site" if len(self) == 1 else "sites"
        outages = self._row_count()
        noun = "outage" if outages == 1 else "outages"
        posted = sum(result.posted for result in self)
        return (
            f"SiteResults({len(self)} {sites}, {outages} {noun}, {posted} posted, "
            f"{len(self.failed)} failed)"
        )
