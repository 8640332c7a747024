"""A store's schedule: its time zone and its week of business hours, one value for all uses.

Thousands of stores share a few thousand distinct schedules. A :class:`Schedule` is
normalised (slots sorted, without repeats) and hashable, so equal schedules compare and
hash equal: readers keep one value per distinct schedule, and the business clocks of
:mod:`outages_processor.core.business_hours` are built once per value.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import time
from typing import Final

import attrs

from outages_processor.models.uptime import SECONDS_PER_DAY, BusinessHours

__all__ = ["DEFAULT_TIMEZONE", "Schedule", "Slot", "slot_of"]

DEFAULT_TIMEZONE: Final = "America/Chicago"
"""The time zone of a store that the time zones input does not list."""

Slot = tuple[int, int, int]
"""One day's business hours: ``(day_of_week, start, end)``, seconds after local midnight."""


def _seconds_of_day(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _normalised(value: Iterable[Slot]) -> tuple[Slot, ...]:
    return tuple(sorted(set(value)))


def _check_slots(_instance: object, _attribute: object, value: tuple[Slot, ...]) -> None:
    for day, start, end in value:
        if not (0 <= day <= 6 and 0 <= start < SECONDS_PER_DAY and 0 <= end < SECONDS_PER_DAY):
            raise ValueError(f"invalid business hours slot {(day, start, end)!r}")


@attrs.frozen(cache_hash=True)
class Schedule:
    """A store's business hours: the time zone they are in, and its week.

    Attributes:
        timezone: the IANA time zone name of the local times (default America/Chicago).
        slots: sorted, unique :data:`Slot` triples. Empty means the store has no hours
            rows: open 24 hours, 7 days. ``end < start`` runs past midnight into the next
            day; ``end == start`` means 24 hours.
    """

    timezone: str = DEFAULT_TIMEZONE
    slots: tuple[Slot, ...] = attrs.field(
        default=(), converter=_normalised, validator=_check_slots
    )

    @classmethod
    def from_rows(
        cls, rows: Iterable[BusinessHours], timezone: str = DEFAULT_TIMEZONE
    ) -> Schedule:
        """Build a schedule from a store's hours rows (no rows: open 24x7).

        Args:
            rows: the store's hours rows.
            timezone: the store's IANA time zone name.
        """
        return cls(timezone, map(slot_of, rows))

    @property
    def always_open(self) -> bool:
        """True when the store has no hours rows, which means open 24 hours, 7 days."""
        return not self.slots


def slot_of(row: BusinessHours) -> Slot:
    """The slot of one hours row: its weekday, and its times in seconds after midnight."""
    return row.day_of_week, _seconds_of_day(row.start), _seconds_of_day(row.end)
