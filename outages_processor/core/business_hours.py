"""Business hours: a store's local weekly hours as merged UTC intervals, and a business clock.

Local wall-clock times become instants with :mod:`zoneinfo` (``fold=0``), one local day at
a time, so that a day on which daylight saving time starts or ends has its true length: a
09:00-17:00 day is 8 hours long either side of a change, and a 24-hour day (``end ==
start``) is 23 or 25 hours long on the day of the change. Instants are float seconds since
the Unix epoch throughout (the fast path of the uptime report never builds datetimes).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outages_processor.models.schedules import Schedule
from outages_processor.models.uptime import SECONDS_PER_DAY, BusinessHours

__all__ = [
    "BusinessClock",
    "BusinessClocks",
    "LocalDays",
    "business_intervals",
    "business_intervals_between",
    "load_zone",
]

# A slot starts on its day and lasts at most 24 hours, so it can reach into the second day
# after its own; starting two local days early also covers a range that begins at an
# ambiguous wall-clock time just after midnight.
_DAYS_BEFORE: Final = 2


def load_zone(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name``.

    Raises:
        ValueError: when ``name`` is not a time zone this system knows.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as err:
        # A folder of the time zone database (``America``) raises IsADirectoryError.
        raise ValueError(
            f"unknown time zone {name!r} (expected an IANA name such as 'America/New_York')"
        ) from err


class LocalDays:
    """Turns local wall-clock times of one time zone into instants, remembering each answer.

    Many stores share a time zone and open at the same times, so the answers repeat.
    """

    __slots__ = ("_known", "_ordinals", "zone")

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._known: dict[int, float] = {}
        self._ordinals: dict[float, int] = {}

    def instant(self, ordinal: int, second: int) -> float:
        """Return the instant of ``second`` seconds of wall clock after a local midnight.

        Args:
            ordinal: the local date, as :meth:`datetime.date.toordinal` gives it.
            second: seconds of wall clock after that date's midnight, up to two days (a
                slot that runs past midnight).

        Returns:
            Seconds since the Unix epoch. A wall-clock time that occurs twice takes its
            first occurrence and one that does not exist takes the offset before the change
            (``fold=0``).
        """
        key = ordinal * 4 * SECONDS_PER_DAY + second
        known = self._known.get(key)
        if known is None:
            wall = datetime.fromordinal(ordinal) + timedelta(seconds=second)
            known = self._known[key] = wall.replace(tzinfo=self.zone).timestamp()
        return known

    def ordinal_of(self, instant: float) -> int:
        """Return the local date (as an ordinal) of an instant (seconds since the epoch)."""
        ordinal = self._ordinals.get(instant)
        if ordinal is None:
            ordinal = datetime.fromtimestamp(instant, self.zone).toordinal()
            self._ordinals[instant] = ordinal
        return ordinal


def business_intervals(
    schedule: Schedule, days: LocalDays, start: float, end: float
) -> list[tuple[float, float]]:
    """Return the business time of one store within ``[start, end]`` as merged intervals.

    Args:
        schedule: the store's schedule (no slots: open 24x7).
        days: converts local times to instants, in the schedule's time zone (shared by
            the schedules of that zone, which ask for the same local days).
        start: the range's first instant, seconds since the epoch.
        end: the range's last instant, seconds since the epoch.

    Returns:
        Sorted ``(begin, end)`` pairs in seconds since the epoch, disjoint and not touching,
        clipped to the range. Several slots on one day are unioned; an empty list means no
        business time in the range.
    """
    slots = schedule.slots
    if end <= start:
        return []
    if not slots:
        return [(start, end)]
    first = days.ordinal_of(start) - _DAYS_BEFORE
    last = days.ordinal_of(end)
    pieces: list[tuple[float, float]] = []
    for day, opens, closes in slots:
        if closes <= opens:
            # end < start runs past midnight; end == start is a whole day.
            closes += SECONDS_PER_DAY
        # The first date of the range on this weekday (date.fromordinal(1) is a Monday).
        for ordinal in range(first + (day - first + 1) % 7, last + 1, 7):
            begin = max(days.instant(ordinal, opens), start)
            finish = min(days.instant(ordinal, closes), end)
            if finish > begin:
                pieces.append((begin, finish))
    return _merged(pieces)


def _merged(pieces: list[tuple[float, float]]) -> list[tuple[float, float]]:
    pieces.sort()
    merged: list[tuple[float, float]] = []
    for begin, finish in pieces:
        if merged and begin <= merged[-1][1]:
            if finish > merged[-1][1]:
                merged[-1] = (merged[-1][0], finish)
        else:
            merged.append((begin, finish))
    return merged


def business_intervals_between(
    rows: Iterable[BusinessHours], zone: str | tzinfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Return one store's business time within ``[start, end]`` as merged UTC intervals.

    The readable form of :func:`business_intervals`, for notebooks and tests.

    Args:
        rows: the store's hours rows (none: open 24x7).
        zone: the store's IANA time zone name, or a tzinfo.
        start: the range's first instant (aware).
        end: the range's last instant (aware).

    Returns:
        Sorted, disjoint ``(begin, end)`` pairs of aware UTC datetimes.

    Raises:
        ValueError: the time zone is unknown, or an instant is naive.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    tz = load_zone(zone) if isinstance(zone, str) else zone
    intervals = business_intervals(
        Schedule.from_rows(rows, str(tz)),
        LocalDays(tz),
        start.timestamp(),
        end.timestamp(),
    )
    return [
        (datetime.fromtimestamp(begin, timezone.utc), datetime.fromtimestamp(finish, timezone.utc))
        for begin, finish in intervals
    ]


class BusinessClock:
    """Counts business seconds up to any instant in two array look-ups.

    Built once per distinct (time zone, weekly hours) and shared by every store that has
    them: the cumulative sum over the merged intervals makes the business time of any span
    two binary searches, whatever the number of intervals.
    """

    __slots__ = ("_cumulative", "_ends", "_starts")

    def __init__(self, intervals: Iterable[tuple[float, float]]) -> None:
        """Build the clock.

        Args:
            intervals: sorted, disjoint ``(begin, end)`` pairs in seconds since the epoch,
                as :func:`business_intervals` returns them.
        """
        self._starts: list[float] = []
        self._ends: list[float] = []
        self._cumulative: list[float] = []
        total = 0.0
        for begin, finish in intervals:
            total += finish - begin
            self._starts.append(begin)
            self._ends.append(finish)
            self._cumulative.append(total)

    def until(self, instant: float) -> float:
        """Return the business seconds before ``instant`` (seconds since the epoch)."""
        index = bisect_right(self._starts, instant)
        if not index:
            return 0.0
        index -= 1
        later = self._ends[index] - instant
        return self._cumulative[index] - later if later > 0 else self._cumulative[index]

    def between(self, begin: float, end: float) -> float:
        """Return the business seconds within ``[begin, end]`` (0 when ``end <= begin``)."""
        if end <= begin:
            return 0.0
        return self.until(end) - self.until(begin)


class BusinessClocks:
    """One :class:`BusinessClock` per distinct :class:`Schedule`, built on first use.

    Thousands of stores share a few thousand distinct weeks, so each is computed once.
    """

    __slots__ = ("_clocks", "_days", "end", "start")

    def __init__(self, start: float, end: float) -> None:
        """Prepare clocks covering ``[start, end]`` (seconds since the epoch).

        Raises:
            ValueError: when ``end < start``.
        """
        if end < start:
            raise ValueError("the range of business clocks ends before it starts")
        self.start = start
        self.end = end
        self._days: dict[str, LocalDays] = {}
        self._clocks: dict[Schedule, BusinessClock] = {}

    def clock(self, schedule: Schedule) -> BusinessClock:
        """Return the clock of a store with this schedule.

        Raises:
            ValueError: when the schedule's time zone is unknown.
        """
        clock = self._clocks.get(schedule)
        if clock is None:
            zone = schedule.timezone
            days = self._days.get(zone)
            if days is None:
                days = self._days[zone] = LocalDays(load_zone(zone))
            clock = BusinessClock(business_intervals(schedule, days, self.start, self.end))
            self._clocks[schedule] = clock
        return clock
