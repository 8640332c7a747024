"""Models of the KrakenFlex API: outages, sites and devices, and per-site results."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from outages_processor._time import parse_aware

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


def _begin_at(outage: Outage) -> datetime:
    return parse_aware(outage.begin)


def _end_at(outage: Outage) -> datetime:
    return parse_aware(outage.end)


@attrs.frozen
class Outage:
    """One outage of one device, as ``GET /outages`` returns it.

    ``begin`` and ``end`` keep the exact text the API sent, so that it can be echoed back
    unchanged; ``begin_at`` and ``end_at`` are the same instants parsed (aware datetimes),
    computed from the text unless given. Nothing requires ``begin <= end``: the API may send
    anything, and only ``begin`` is relied on.

    Raises:
        ValueError: when ``begin`` or ``end`` is not an ISO 8601 timestamp with an offset.
    """

    id: str
    begin: str
    end: str
    begin_at: datetime = attrs.field(
        default=attrs.Factory(_begin_at, takes_self=True), repr=False, eq=False
    )
    end_at: datetime = attrs.field(
        default=attrs.Factory(_end_at, takes_self=True), repr=False, eq=False
    )

    @classmethod
    def from_json(cls, data: object) -> Outage:
        """Build an outage from one decoded JSON object ``{id, begin, end}``.

        This is the hot path of ``GET /outages`` (often 100,000 items), hence the plain
        checks instead of validators.

        Raises:
            KeyError: a field is missing.
            TypeError: the object or a field has the wrong JSON type.
            ValueError: a timestamp cannot be parsed or has no offset.
        """
        if type(data) is not dict:  # pylint: disable=unidiomatic-typecheck
            obj = _mapping(data)
            return cls(_field_of(obj, "id"), _field_of(obj, "begin"), _field_of(obj, "end"))
        outage_id, begin, end = data["id"], data["begin"], data["end"]
        if not type(outage_id) is type(begin) is type(end) is str:
            return cls(_field_of(data, "id"), _field_of(data, "begin"), _field_of(data, "end"))
        return cls(outage_id, begin, end, _fromisoformat(begin), _fromisoformat(end))


def _fromisoformat(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone offset (add 'Z' for UTC)")
    return value


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
