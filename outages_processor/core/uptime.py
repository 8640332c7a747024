"""Uptime and downtime of a store within business hours over the last hour, day and week.

The status between polls is read by interpolation:

* ``nearest``: the status of the poll nearest in time, so the status changes at the
  midpoint between two consecutive polls that disagree;
* ``previous``: the status of the latest poll at or before the instant, and before the
  store's first poll, that first poll's.

Either way the first poll's status reaches back and the last poll's reaches forward without
end. Two polls of one store at the same instant read as one ``inactive`` poll when they
disagree. Polls outside business hours and outside the windows count as evidence too.

Only status changes are visited: from sorted active and inactive poll times, each run of
inactive polls costs a few binary searches, and the business time of each inactive span two
look-ups in a :class:`~outages_processor.core.business_hours.BusinessClock`. Uptime is the
window's business time less its downtime, so ``uptime + downtime = business time`` holds by
construction. Instants are float seconds since the Unix epoch.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from outages_processor.core.business_hours import BusinessClock, BusinessClocks
from outages_processor.models.schedules import DEFAULT_TIMEZONE, Schedule
from outages_processor.models.uptime import (
    BusinessHours,
    Interpolation,
    Poll,
    StoreTimezone,
    StoreUptime,
    report_now,
)

__all__ = [
    "DAY",
    "HOUR",
    "WEEK",
    "UptimeCalculator",
    "compute_uptime",
    "inactive_spans",
]

HOUR: Final = 3_600.0
"""The last-hour window, in seconds."""
DAY: Final = 86_400.0
"""The last-day window, in seconds."""
WEEK: Final = 604_800.0
"""The last-week window, in seconds."""

_INTERPOLATIONS: Final = ("nearest", "previous")


def inactive_spans(
    active: Sequence[float], inactive: Sequence[float], interpolation: Interpolation = "nearest"
) -> list[tuple[float, float]]:
    """Return the spans of time during which a store's status reads ``inactive``.

    Args:
        active: the times of the store's active polls, sorted ascending (seconds).
        inactive: the times of its inactive polls, sorted ascending (seconds).
        interpolation: ``"nearest"`` or ``"previous"``.

    Returns:
        Sorted, disjoint ``(begin, end)`` spans; ``-inf`` / ``inf`` where the status reaches
        back before the first poll or forward after the last.

    Raises:
        ValueError: for an unknown interpolation.
    """
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {interpolation!r}: use nearest or previous")
    nearest = interpolation == "nearest"
    spans: list[tuple[float, float]] = []
    index = 0
    while index < len(inactive):
        first = inactive[index]
        # The latest active poll strictly before the run survives: any inactive poll at its
        # instant would have ended the previous run later than it.
        before = bisect_left(active, first)
        if before:
            previous = active[before - 1]
            begin = (previous + first) / 2 if nearest else first
        else:
            begin = -math.inf
        # The run ends at the next active poll that no inactive poll shares an instant with.
        after = bisect_right(active, first)
        while True:
            if after == len(active):
                stop = len(inactive)
                end = math.inf
                break
            following = active[after]
            stop = bisect_left(inactive, following, index + 1)
            if stop < len(inactive) and inactive[stop] == following:
                after = bisect_right(active, following, after)
                continue
            end = (inactive[stop - 1] + following) / 2 if nearest else following
            break
        spans.append((begin, end))
        index = stop
    return spans


class UptimeCalculator:
    """Computes report rows for one ``now`` and one interpolation, store after store.

    The business time of each window and the clock readings at each window's start are
    kept per clock, since thousands of stores share a clock.
    """

    __slots__ = ("_bounds", "_hour_start", "_day_start", "_week_start", "interpolation", "now")

    def __init__(self, now: float, interpolation: Interpolation = "nearest") -> None:
        """Prepare for windows ending at ``now``.

        Args:
            now: the instant the windows end at, seconds since the epoch.
            interpolation: ``"nearest"`` or ``"previous"``.

        Raises:
            ValueError: for an unknown interpolation.
        """
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"unknown interpolation {interpolation!r}: use nearest or previous")
        self.now = now
        self.interpolation: Interpolation = interpolation
        self._hour_start = now - HOUR
        self._day_start = now - DAY
        self._week_start = now - WEEK
        self._bounds: dict[BusinessClock, tuple[float, float, float, float]] = {}

    def _readings(self, clock: BusinessClock) -> tuple[float, float, float, float]:
        bounds = self._bounds.get(clock)
        if bounds is None:
            until = clock.until
            bounds = self._bounds[clock] = (
                until(self._hour_start),
                until(self._day_start),
                until(self._week_start),
                until(self.now),
            )
        return bounds

    def business_seconds(self, clock: BusinessClock) -> tuple[float, float, float]:
        """Return the business seconds in the last hour, day and week for a clock."""
        at_hour, at_day, at_week, at_now = self._readings(clock)
        return at_now - at_hour, at_now - at_day, at_now - at_week

    def downtime_seconds(
        self, spans: Iterable[tuple[float, float]], clock: BusinessClock
    ) -> tuple[float, float, float]:
        """Return the business seconds inactive in the last hour, day and week.

        Args:
            spans: sorted, disjoint inactive spans, as :func:`inactive_spans` returns them.
            clock: the store's business clock.
        """
        at_hour, at_day, at_week, at_now = self._readings(clock)
        until = clock.until
        hour = day = week = 0.0
        for begin, end in spans:
            if end <= self._week_start or begin >= self.now:
                continue
            reading_end = until(end) if end < self.now else at_now
            if begin > self._week_start:
                reading_begin = until(begin)
            else:
                begin, reading_begin = self._week_start, at_week
            week += reading_end - reading_begin
            if end > self._day_start:
                if begin < self._day_start:
                    begin, reading_begin = self._day_start, at_day
                day += reading_end - reading_begin
                if end > self._hour_start:
                    if begin < self._hour_start:
                        reading_begin = at_hour
                    hour += reading_end - reading_begin
        return hour, day, week

    def values(
        self, active: Sequence[float], inactive: Sequence[float], clock: BusinessClock
    ) -> tuple[float, float, float, float, float, float]:
        """Return one store's report values, in report units and column order.

        Args:
            active: the store's active poll times, sorted ascending (seconds).
            inactive: its inactive poll times, sorted ascending (seconds).
            clock: the store's business clock.

        Returns:
            ``(uptime_last_hour, uptime_last_day, uptime_last_week, downtime_last_hour,
            downtime_last_day, downtime_last_week)``: minutes for the hour, hours for the
            day and the week.
        """
        total_hour, total_day, total_week = self.business_seconds(clock)
        if not inactive:
            down_hour = down_day = down_week = 0.0
        elif not active:
            down_hour, down_day, down_week = total_hour, total_day, total_week
        else:
            spans = inactive_spans(active, inactive, self.interpolation)
            down_hour, down_day, down_week = self.downtime_seconds(spans, clock)
            # Differences of cumulative sums may stray by a rounding error.
            down_hour = min(max(down_hour, 0.0), total_hour)
            down_day = min(max(down_day, 0.0), total_day)
            down_week = min(max(down_week, 0.0), total_week)
        return (
            (total_hour - down_hour) / 60.0,
            (total_day - down_day) / 3600.0,
            (total_week - down_week) / 3600.0,
            down_hour / 60.0,
            down_day / 3600.0,
            down_week / 3600.0,
        )

    def row(
        self,
        store_id: str,
        active: Sequence[float],
        inactive: Sequence[float],
        clock: BusinessClock,
    ) -> StoreUptime:
        """Return one store's report row (see :meth:`values` for the arguments)."""
        return StoreUptime(store_id, *self.values(active, inactive, clock))


def compute_uptime(
    polls: Iterable[Poll],
    hours: Iterable[BusinessHours] = (),
    timezones: Iterable[StoreTimezone] = (),
    *,
    now: datetime | str | None = None,
    interpolation: Interpolation = "nearest",
) -> list[StoreUptime]:
    """Compute the report rows from in-memory models, one row per store with a poll.

    Args:
        polls: every status poll, in any order.
        hours: every business hours row (a store without rows is open 24x7).
        timezones: each store's time zone (a store without one is in America/Chicago).
        now: the instant the windows end at: a datetime or an ISO 8601 string (naive or
            no offset = UTC, as on the command line); default: the latest poll.
        interpolation: ``"nearest"`` (default) or ``"previous"``.

    Returns:
        The rows, sorted by store id; empty when there are no polls.

    Raises:
        ValueError: an unknown time zone or interpolation, a store given two different time
            zones, a ``now`` that is not a timestamp or one out of range (see
            :func:`~outages_processor.models.uptime.instant_problem`).
        TypeError: ``now`` is neither a string nor a datetime.
    """
    if now is not None:
        now = report_now(now)
    active, inactive, latest = _by_store(polls)
    stores = sorted(active.keys() | inactive.keys())
    if not stores:
        return []
    end = latest if now is None else now.timestamp()
    zones, weeks = _schedules_by_store(hours, timezones)
    calculator = UptimeCalculator(end, interpolation)
    clocks = BusinessClocks(end - WEEK, end)
    return [
        calculator.row(
            store,
            sorted(active.get(store, ())),
            sorted(inactive.get(store, ())),
            clocks.clock(
                Schedule.from_rows(weeks.get(store, ()), zones.get(store, DEFAULT_TIMEZONE))
            ),
        )
        for store in stores
    ]


def _schedules_by_store(
    hours: Iterable[BusinessHours], timezones: Iterable[StoreTimezone]
) -> tuple[dict[str, str], dict[str, list[BusinessHours]]]:
    """Each store's time zone and hours rows."""
    zones: dict[str, str] = {}
    for row in timezones:
        if zones.setdefault(row.store_id, row.timezone) != row.timezone:
            raise ValueError(f"store {row.store_id!r} has two time zones")
    weeks: dict[str, list[BusinessHours]] = {}
    for hours_row in hours:
        weeks.setdefault(hours_row.store_id, []).append(hours_row)
    return zones, weeks


def _by_store(
    polls: Iterable[Poll],
) -> tuple[dict[str, list[float]], dict[str, list[float]], float]:
    """Poll times (seconds) by store, active and inactive apart, and the latest of all."""
    active: dict[str, list[float]] = {}
    inactive: dict[str, list[float]] = {}
    latest = -math.inf
    for poll in polls:
        instant = poll.timestamp.timestamp()
        latest = max(latest, instant)
        (active if poll.status == "active" else inactive).setdefault(poll.store_id, []).append(
            instant
        )
    return active, inactive, latest
