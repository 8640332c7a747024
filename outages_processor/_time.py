"""Timestamp helpers shared by the layers: parsing and formatting aware UTC instants."""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["format_utc", "parse_aware"]


def parse_aware(text: str) -> datetime:
    """Parse an ISO 8601 timestamp that carries a UTC offset or ``Z``.

    Args:
        text: the timestamp, such as ``"2022-01-01T00:00:00.000Z"``.

    Returns:
        An aware :class:`~datetime.datetime`.

    Raises:
        ValueError: when ``text`` is not ISO 8601 or has no offset.
    """
    value = datetime.fromisoformat(text)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamp {text!r} has no time zone offset (add 'Z' for UTC)")
    return value


def format_utc(value: datetime) -> str:
    """Format an aware instant as ISO 8601 in UTC with a ``Z`` suffix (microseconds kept)."""
    text = value.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    return f"{text}Z"
