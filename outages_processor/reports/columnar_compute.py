"""A vectorised twin of the per-store report computation, for the columnar engine (numpy).

The semantics are the pure core's (:mod:`outages_processor.core.uptime`,
:mod:`outages_processor.core.business_hours`): this module computes the same floats, bit
for bit, in whole-array operations over every store at once, and is tested against the core
on every uptime data set and under a hypothesis differential test. The business intervals
themselves come from the core (:func:`~outages_processor.core.business_hours.business_intervals`),
one list per distinct schedule.

The input is every poll, sorted by store then time (:func:`sorted_polls`). The status at an
instant shared by polls that disagree is ``inactive``; runs of inactive instants are the
inactive spans of :func:`~outages_processor.core.uptime.inactive_spans`; each span's business
seconds in the hour, day and week are read as the core's
:meth:`~outages_processor.core.uptime.UptimeCalculator.downtime_seconds` reads them, and a
store's spans are summed in order, one addition at a time, as the core does.
"""

# numpy is imported inside the functions: the optional ``fast`` extra's.
# pylint: disable=import-outside-toplevel

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from outages_processor.core.business_hours import LocalDays, business_intervals, load_zone
from outages_processor.core.uptime import DAY, HOUR, WEEK
from outages_processor.models.schedules import Schedule
from outages_processor.inputs.status_columnar import PollColumns
from outages_processor.models.uptime import Interpolation, StoreUptime

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["report_values", "sorted_polls", "store_rows"]

_VECTOR_SPANS: Final = 64
"""A store's first spans are summed for all stores at once; the rest store by store."""


def sorted_polls(
    store: npt.NDArray[np.integer[Any]],
    seconds: npt.NDArray[np.float64],
    inactive: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The polls sorted by store, then time (the order :func:`report_values` takes)."""
    import numpy as np

    order = np.lexsort((seconds, store))
    return store[order], seconds[order], inactive[order]


def report_values(  # pylint: disable=too-many-arguments,too-many-locals
    store: npt.NDArray[np.integer[Any]],
    seconds: npt.NDArray[np.float64],
    inactive: npt.NDArray[np.bool_],
    schedules: Sequence[Schedule],
    now: float,
    interpolation: Interpolation,
) -> npt.NDArray[np.float64]:
    """Each store's six report values, as the pure core computes them.

    Args:
        store: each poll's store, ``0 <= store < len(schedules)``, non-decreasing; every
            store has a poll.
        seconds: each poll's time (seconds since the epoch), non-decreasing within a store.
        inactive: True for an inactive poll.
        schedules: each store's schedule.
        now: the instant the windows end at.
        interpolation: ``"nearest"`` or ``"previous"``.

    Returns:
        A ``(stores, 6)`` array: ``uptime_last_hour, uptime_last_day, uptime_last_week,
        downtime_last_hour, downtime_last_day, downtime_last_week`` (minutes for the hour,
        hours for the day and the week), as
        :meth:`~outages_processor.core.uptime.UptimeCalculator.values` returns them.

    Raises:
        ValueError: an unknown interpolation, or a schedule's unknown time zone.
    """
    import numpy as np

    if interpolation not in ("nearest", "previous"):
        raise ValueError(f"unknown interpolation {interpolation!r}: use nearest or previous")
    stores = len(schedules)
    clocks = _Clocks(schedules, now - WEEK, now)
    at_hour, at_day, at_week, at_now = (
        clocks.until(clocks.of_store, np.full(stores, instant))
        for instant in (now - HOUR, now - DAY, now - WEEK, now)
    )
    totals = (at_now - at_hour, at_now - at_day, at_now - at_week)
    # Instants: polls of one store at one time are one instant, inactive if any poll is.
    new = np.ones(len(seconds), dtype=bool)
    new[1:] = (store[1:] != store[:-1]) | (seconds[1:] != seconds[:-1])
    starts = np.flatnonzero(new)
    times, owner = seconds[starts], store[starts]
    down = np.maximum.reduceat(inactive, starts) if len(starts) else inactive[:0]
    begins, ends, span_store = _spans(times, owner, down, interpolation == "nearest")
    readings = (at_hour[span_store], at_day[span_store], at_week[span_store])
    span_clock = clocks.of_store[span_store]
    span_end = np.where(ends < now, clocks.until(span_clock, ends), at_now[span_store])
    contributions = _contributions(
        begins, ends, span_end, readings, clocks.until(span_clock, begins), now
    )
    has_active = np.bincount(store[~inactive], minlength=stores) > 0
    has_inactive = np.bincount(store[inactive], minlength=stores) > 0
    values = np.empty((stores, 6), dtype=np.float64)
    for window, (contribution, total, unit) in enumerate(
        zip(contributions, totals, (60.0, 3600.0, 3600.0))
    ):
        summed = _sums_in_order(contribution, span_store, stores)
        clipped = np.minimum(np.maximum(summed, 0.0), total)
        downtime = np.where(has_inactive, np.where(has_active, clipped, total), 0.0)
        values[:, window] = (total - downtime) / unit
        values[:, window + 3] = downtime / unit
    return values


def _spans(  # pylint: disable=too-many-locals  # one array per step
    times: npt.NDArray[np.float64],
    owner: npt.NDArray[np.integer[Any]],
    down: npt.NDArray[np.bool_],
    nearest: bool,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.integer[Any]]]:
    """Each run of inactive instants as a span ``(begin, end)`` and its store.

    A span begins midway from the active instant before (``nearest``) or at its first
    instant (``previous``), and ends midway to the active instant after or at it; without
    one before or after, it reaches to ``-inf`` or ``inf``.
    """
    import numpy as np

    count = len(times)
    first_of_store = np.ones(count, dtype=bool)
    first_of_store[1:] = owner[1:] != owner[:-1]
    last_of_store = np.ones(count, dtype=bool)
    last_of_store[:-1] = first_of_store[1:]
    previous_down = np.zeros(count, dtype=bool)
    previous_down[1:] = down[:-1]
    next_down = np.zeros(count, dtype=bool)
    next_down[:-1] = down[1:]
    run_first = np.flatnonzero(down & (first_of_store | ~previous_down))
    run_last = np.flatnonzero(down & (last_of_store | ~next_down))
    begins = np.full(len(run_first), -np.inf)
    has_before = ~first_of_store[run_first]
    first = run_first[has_before]
    begins[has_before] = (times[first - 1] + times[first]) / 2 if nearest else times[first]
    ends = np.full(len(run_last), np.inf)
    has_after = ~last_of_store[run_last]
    last = run_last[has_after]
    ends[has_after] = (times[last] + times[last + 1]) / 2 if nearest else times[last + 1]
    return begins, ends, owner[run_first]


def _contributions(  # pylint: disable=too-many-arguments,too-many-positional-arguments,too-many-locals
    begins: npt.NDArray[np.float64],
    ends: npt.NDArray[np.float64],
    reading_end: npt.NDArray[np.float64],
    readings: tuple[npt.NDArray[np.float64], ...],
    reading_begins: npt.NDArray[np.float64],
    now: float,
) -> tuple[npt.NDArray[np.float64], ...]:
    """Each span's business seconds in the hour, day and week (0 outside), as the core's
    ``downtime_seconds`` reads them."""
    import numpy as np

    at_hour, at_day, at_week = readings
    hour_start, day_start, week_start = now - HOUR, now - DAY, now - WEEK
    kept = ~((ends <= week_start) | (begins >= now))
    later = begins > week_start
    begin = np.where(later, begins, week_start)
    reading_begin = np.where(later, reading_begins, at_week)
    week = np.where(kept, reading_end - reading_begin, 0.0)
    in_day = kept & (ends > day_start)
    before_day = begin < day_start
    begin = np.where(before_day, day_start, begin)
    reading_begin = np.where(before_day, at_day, reading_begin)
    day = np.where(in_day, reading_end - reading_begin, 0.0)
    in_hour = in_day & (ends > hour_start)
    reading_begin = np.where(begin < hour_start, at_hour, reading_begin)
    hour = np.where(in_hour, reading_end - reading_begin, 0.0)
    return hour, day, week


def _sums_in_order(
    values: npt.NDArray[np.float64], owner: npt.NDArray[np.integer[Any]], stores: int
) -> npt.NDArray[np.float64]:
    """Each store's values summed from 0.0 one at a time, in order, as a Python loop does
    (numpy's sums pair the terms up, which rounds differently)."""
    import numpy as np

    counts = np.bincount(owner, minlength=stores)
    firsts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    sums = np.zeros(stores, dtype=np.float64)
    for place in range(min(int(counts.max()) if stores else 0, _VECTOR_SPANS)):
        members = np.flatnonzero(counts > place)
        sums[members] += values[firsts[members] + place]
    for member in np.flatnonzero(counts > _VECTOR_SPANS).tolist():
        rest = values[firsts[member] + _VECTOR_SPANS : firsts[member] + counts[member]].tolist()
        sums[member] = functools.reduce(operator.add, rest, float(sums[member]))
    return sums


class _Clocks:
    """The business clocks of the distinct schedules, as flat arrays (one ``until`` for all).

    Attributes:
        of_store: each store's clock.
    """

    def __init__(  # pylint: disable=too-many-locals  # one list per array
        self, schedules: Sequence[Schedule], start: float, end: float
    ) -> None:
        import numpy as np

        distinct: dict[Schedule, int] = {}
        of_store = [distinct.setdefault(schedule, len(distinct)) for schedule in schedules]
        self.of_store = np.array(of_store, dtype=np.int64)
        days: dict[str, LocalDays] = {}
        starts: list[float] = []
        ends: list[float] = []
        cumulative: list[float] = []
        firsts = [0]
        for schedule in distinct:
            zone = schedule.timezone
            local = days.get(zone)
            if local is None:
                local = days[zone] = LocalDays(load_zone(zone))
            intervals = business_intervals(schedule, local, start, end)
            starts.extend(begin for begin, _ in intervals)
            ends.extend(finish for _, finish in intervals)
            # As the core's clock adds them: from 0.0, one at a time.
            lengths = (finish - begin for begin, finish in intervals)
            running = itertools.accumulate(itertools.chain([0.0], lengths))
            cumulative.extend(itertools.islice(running, 1, None))
            firsts.append(len(starts))
        self.starts = np.array(starts, dtype=np.float64)
        self.ends = np.array(ends, dtype=np.float64)
        self.cumulative = np.array(cumulative, dtype=np.float64)
        self.firsts = np.array(firsts, dtype=np.int64)
        self.clock_of_start = np.repeat(np.arange(len(distinct)), np.diff(self.firsts))

    def until(  # pylint: disable=too-many-locals  # one array per step
        self, clock: npt.NDArray[np.integer[Any]], instants: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        """The business seconds before each instant on its clock (the core's
        :meth:`~outages_processor.core.business_hours.BusinessClock.until`)."""
        import numpy as np

        # Per clock, the starts at or before each instant (bisect_right): one sort of the
        # starts and the instants together, by clock, time, and starts before instants.
        size = len(self.starts)
        keys_clock = np.concatenate((self.clock_of_start, clock))
        keys_time = np.concatenate((self.starts, instants))
        is_instant = np.concatenate((np.zeros(size, dtype=bool), np.ones(len(clock), dtype=bool)))
        order = np.lexsort((is_instant, keys_time, keys_clock))
        starts_seen = np.cumsum(~is_instant[order])
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        seen = starts_seen[position[size:]] - self.firsts[clock]
        result = np.zeros(len(clock), dtype=np.float64)
        found = np.flatnonzero(seen > 0)
        index = self.firsts[clock[found]] + seen[found] - 1
        with np.errstate(invalid="ignore"):  # inf - inf for an endless span: not used
            later = self.ends[index] - instants[found]
            result[found] = np.where(
                later > 0, self.cumulative[index] - later, self.cumulative[index]
            )
        return result


def store_rows(
    polls: PollColumns,
    schedules: Mapping[str, Schedule],
    now: float,
    interpolation: Interpolation,
) -> list[StoreUptime]:
    """The report rows of a status file's sorted polls, sorted by store id.

    Args:
        polls: the polls, as :func:`~outages_processor.inputs.status_columnar.read_status_micros`
            gives them.
        schedules: each store's schedule (missing: the default ``Schedule()``).
        now: the instant the windows end at.
        interpolation: ``"nearest"`` or ``"previous"``.
    """
    always_open = Schedule()
    of_store = [schedules.get(store_id, always_open) for store_id in polls.store_ids]
    values = report_values(
        polls.store, polls.seconds(), polls.inactive, of_store, now, interpolation
    ).tolist()
    rows = [StoreUptime(store_id, *row) for store_id, row in zip(polls.store_ids, values)]
    rows.sort(key=_store_key)
    return rows


def _store_key(row: StoreUptime) -> str:
    return row.store_id
