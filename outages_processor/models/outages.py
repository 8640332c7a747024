"""Models of the KrakenFlex API: outages, sites and devices, and per-site results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs


if TYPE_CHECKING:
    from outages_processor.errors import OutagesError

__all__ = ["Device", "EnhancedOutage", "Outage", "SiteInfo", "SiteResult"]

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
        _parse_offset(self.begin)
        _parse_offset(self.end)

    @property
    def begin_at(self) -> datetime:
        """When the outage began, as an aware datetime."""
        return datetime.fromisoformat(self.begin)

    @property
    def end_at(self) -> datetime:
        """When the outage ended, as an aware datetime."""
        return datetime.fromisoformat(self.end)

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


def _parse_offset(text: str) -> None:
    if datetime.fromisoformat(text).tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone offset (add 'Z' for UTC)")


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

    def to_json(self) -> dict[str, str]:
        """Return the JSON object the API expects: ``{id, name, begin, end}``."""
        return {"id": self.id, "name": self.name, "begin": self.begin, "end": self.end}


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

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-ready values: ``{site_id, outages, posted}`` and ``error`` if any."""
        row: dict[str, Any] = {
            "site_id": self.site_id,
            "outages": [outage.to_json() for outage in self.outages],
            "posted": self.posted,
        }
        if self.error is not None:
            row["error"] = str(self.error)
        return row
