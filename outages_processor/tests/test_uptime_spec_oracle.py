"""The uptime report against the specification read directly: an independent oracle.

The oracle shares no code with the library. It turns each business-hours row into instants
with ``zoneinfo`` day by day (``fold=0``, a slot with ``end <= start`` ending on the next
local day), unions them, turns the polls into inactive intervals by the interpolation rule,
and measures the overlaps of business time, inactive time and each window with exact
interval arithmetic. The inputs lean on what is unusual but valid: zones with half-hour,
45-minute and Southern-hemisphere daylight saving changes, windows across those changes,
slots in the missing or repeated local hour, slots past midnight, ``end == start`` (a whole
day), overlapping rows, two statuses at one instant, and stores with one poll.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.core.uptime import compute_uptime
from outages_processor.models.uptime import BusinessHours, Poll, PollStatus, StoreTimezone

UTC = timezone.utc
ZONES = (
    "America/Chicago",  # the default
    "America/Santiago",  # Southern hemisphere, changes at local midnight
    "America/St_Johns",  # half-hour offset
    "Australia/Lord_Howe",  # a half-hour daylight saving change
    "Pacific/Chatham",  # a 45-minute offset
    "Asia/Kathmandu",
    "Europe/London",
    "Africa/Casablanca",  # daylight saving suspended for Ramadan
    "UTC",
)
# Instants near daylight saving changes of the zones above, and a leap day.
MOMENTS = (
    "2023-03-12 08:00",  # America/Chicago springs forward
    "2023-11-05 07:00",  # ... and falls back
    "2023-04-02 03:00",  # America/Santiago, Australia/Lord_Howe, Pacific/Chatham
    "2023-09-03 04:00",  # America/Santiago
    "2023-03-26 01:00",  # Europe/London
    "2023-10-29 01:00",
    "2023-03-19 02:00",  # Africa/Casablanca (Ramadan)
    "2024-02-29 12:00",
)
_STATUSES: tuple[PollStatus, ...] = ("active", "inactive")
_NEVER = 1e18  # beyond every instant: the open ends of the first and last spans
Interval = tuple[float, float]


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for begin, end in sorted(pair for pair in intervals if pair[1] > pair[0]):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def _overlap(first: Sequence[Interval], second: Sequence[Interval]) -> float:
    """The length of the intersection of two sorted, disjoint interval lists."""
    total, left, right = 0.0, 0, 0
    while left < len(first) and right < len(second):
        begin = max(first[left][0], second[right][0])
        end = min(first[left][1], second[right][1])
        total += max(end - begin, 0.0)
        if first[left][1] < second[right][1]:
            left += 1
        else:
            right += 1
    return total


def _business(rows: list[BusinessHours], zone: str, now: float) -> list[Interval]:
    """The store's business time around the week before ``now``, as UTC instants."""
    if not rows:
        return [(-_NEVER, _NEVER)]
    tz = ZoneInfo(zone)
    first_day = datetime.fromtimestamp(now, tz).date() - timedelta(days=9)
    intervals = []
    for offset in range(11):
        day = first_day + timedelta(days=offset)
        for row in rows:
            if row.day_of_week != day.weekday():
                continue
            closing_day = day + timedelta(days=1) if row.end <= row.start else day
            opens = datetime.combine(day, row.start, tzinfo=tz)  # fold=0
            closes = datetime.combine(closing_day, row.end, tzinfo=tz)
            intervals.append((opens.timestamp(), closes.timestamp()))
    return _union(intervals)


def _inactive(polls: list[Poll], interpolation: str) -> list[Interval]:
    """The times the store reads as inactive, by the interpolation rule."""
    inactive_at: dict[float, bool] = {}
    for poll in polls:
        instant = poll.timestamp.timestamp()
        inactive_at[instant] = inactive_at.get(instant, False) or poll.status == "inactive"
    times = sorted(inactive_at)
    spans = []
    for index, instant in enumerate(times):
        if not inactive_at[instant]:
            continue
        before = times[index - 1] if index else None
        after = times[index + 1] if index + 1 < len(times) else None
        if interpolation == "nearest":
            begin = -_NEVER if before is None else (before + instant) / 2
            end = _NEVER if after is None else (instant + after) / 2
        else:
            begin = -_NEVER if before is None else instant
            end = _NEVER if after is None else after
        spans.append((begin, end))
    return _union(spans)


def _oracle(
    polls: list[Poll],
    hours: list[BusinessHours],
    zones: dict[str, str],
    now: float,
    interpolation: str,
) -> dict[str, list[float]]:
    """Each store's six report values, straight from the specification."""
    report = {}
    for store in sorted({poll.store_id for poll in polls}):
        business = _business(
            [row for row in hours if row.store_id == store],
            zones.get(store, "America/Chicago"),
            now,
        )
        down = _inactive([poll for poll in polls if poll.store_id == store], interpolation)
        report[store] = _values(business, down, now)
    return report


def _values(business: list[Interval], down: list[Interval], now: float) -> list[float]:
    """Uptime of the hour, day and week, then downtime (minutes, hours, hours)."""
    uptime, downtime = [], []
    for length, unit in ((3600.0, 60.0), (86400.0, 3600.0), (7 * 86400.0, 3600.0)):
        open_time = _overlap(business, [(now - length, now)])
        down_time = _overlap(business, _union(
            (max(begin, now - length), min(end, now)) for begin, end in down
        ))  # fmt: skip
        uptime.append((open_time - down_time) / unit)
        downtime.append(down_time / unit)
    return uptime + downtime


def _clock(rng: random.Random) -> time:
    return time(rng.randrange(24), rng.choice([0, 30, 59, rng.randrange(60)]),
                rng.choice([0, 59, rng.randrange(60)]))  # fmt: skip


def _data_set(seed: int) -> tuple[list[Poll], list[BusinessHours], dict[str, str], datetime]:
    """Seeded stores around a daylight saving change: polls, hours, zones and ``now``."""
    rng = random.Random(seed)
    moment = datetime.fromisoformat(rng.choice(MOMENTS)).replace(tzinfo=UTC)
    now = moment + timedelta(minutes=rng.randrange(-1440, 1440))
    polls, hours, zones = [], [], {}
    for number in range(rng.randint(1, 4)):
        store = f"store-{number}"
        if rng.random() < 0.85:
            zones[store] = rng.choice(ZONES)
        instant = now - timedelta(days=rng.choice([0, 1, 7, 8]), seconds=rng.randrange(7200))
        step = rng.choice([60, 600, 3600, 20_000])
        for _ in range(rng.choice([1, 2, 5, 40, 150])):
            instant += timedelta(seconds=rng.randrange(1, 2 * step),
                                 microseconds=rng.choice([0, rng.randrange(10**6)]))  # fmt: skip
            polls.append(Poll(store, rng.choice(_STATUSES), instant))
            if rng.random() < 0.1:  # a second poll at the same instant, maybe disagreeing
                polls.append(Poll(store, rng.choice(_STATUSES), instant))
        if rng.random() >= 0.25:  # else no rows: open 24x7
            hours.extend(_hours(rng, store))
    return polls, hours, zones, now


def _hours(rng: random.Random, store: str) -> list[BusinessHours]:
    """One to nine rows, some of them of the unusual shapes."""
    rows = []
    for _ in range(rng.randint(1, 9)):
        start, end = _clock(rng), _clock(rng)
        shape = rng.random()
        if shape < 0.1:
            end = start  # a whole day
        elif shape < 0.2:
            start, end = time(0), time(23, 59, 59)
        elif shape < 0.3:
            start, end = time(2, 15), time(2, 45)  # in a missing or repeated hour
        rows.append(BusinessHours(store, rng.randrange(7), start, end))
    return rows


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32), interpolation=st.sampled_from(["nearest", "previous"]))
def test_the_report_is_the_specification_read_directly(seed: int, interpolation: str) -> None:
    """Every value of every store equals the oracle's (to well below the 0.01 printed)."""
    polls, hours, zones, now = _data_set(seed)
    rows = compute_uptime(
        polls,
        hours,
        [StoreTimezone(store, zone) for store, zone in zones.items()],
        now=now,
        interpolation=interpolation,  # type: ignore[arg-type]  # sampled from the two
    )
    expected = _oracle(polls, hours, zones, now.timestamp(), interpolation)
    assert [row.store_id for row in rows] == list(expected)
    for row in rows:
        assert list(row.to_dict().values())[1:] == pytest.approx(
            expected[row.store_id], abs=1e-6
        ), row.store_id


def test_the_oracle_gives_known_answers() -> None:
    """The oracle is not blind: worked examples of both rules and of a 23-hour local day."""
    day = date(2023, 3, 12)  # America/Chicago springs forward at 02:00 local
    polls = [
        Poll("s", "active", datetime.combine(day, time(0), tzinfo=UTC)),
        Poll("s", "inactive", datetime.combine(day, time(2), tzinfo=UTC)),
        Poll("s", "active", datetime.combine(day, time(4), tzinfo=UTC)),
    ]
    now = datetime.combine(day, time(3, 30), tzinfo=UTC).timestamp()
    # Down from 01:00 to 03:00 (nearest) or from 02:00 to 04:00 (previous): of the last
    # hour (02:30 to 03:30), 30 or 60 minutes.
    assert _oracle(polls, [], {}, now, "nearest")["s"][3] == pytest.approx(30.0)
    assert _oracle(polls, [], {}, now, "previous")["s"][3] == pytest.approx(60.0)
    # Open all day on Sundays (end == start): the Sunday of the change, 2023-03-12, lasts 23
    # hours in Chicago, and it is the only Sunday of the day and of the week before Monday
    # 06:00 UTC (01:00 local).
    sundays = [BusinessHours("s", 6, time(0), time(0))]
    monday = datetime(2023, 3, 13, 6, tzinfo=UTC).timestamp()
    values = _oracle(polls, sundays, {"s": "America/Chicago"}, monday, "nearest")["s"]
    assert values[1] + values[4] == pytest.approx(23.0)
    assert values[2] + values[5] == pytest.approx(23.0)
