"""Business hours: local weekly hours as UTC intervals, DST days, the business clock."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.core.business_hours import (
    BusinessClock,
    BusinessClocks,
    LocalDays,
    business_intervals,
    business_intervals_between,
    load_zone,
)
from outages_processor.models.schedules import Schedule
from outages_processor.models.uptime import BusinessHours
from outages_processor.tests.uptime_data import utc

HOUR = 3600.0
# 2023-01-16 is a Monday (weekday 0).
MONDAY = "2023-01-16"


def _hours(*slots: tuple[int, str, str]) -> list[BusinessHours]:
    return [
        BusinessHours("s", day, time.fromisoformat(start), time.fromisoformat(end))
        for day, start, end in slots
    ]


def _total_hours(intervals: list[tuple[datetime, datetime]]) -> float:
    return sum((end - begin).total_seconds() for begin, end in intervals) / HOUR


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        pytest.param([(0, "09:00", "12:00")], [("09:00", "12:00")], id="one-slot"),
        pytest.param(
            [(0, "09:00", "12:00"), (0, "11:00", "14:00")],
            [("09:00", "14:00")],
            id="rows-of-one-day-are-unioned",
        ),
        pytest.param(
            [(0, "09:00", "10:00"), (0, "10:00", "11:00")],
            [("09:00", "11:00")],
            id="touching-rows-merge",
        ),
        pytest.param(
            [(0, "08:00", "09:00"), (0, "17:00", "18:00")],
            [("08:00", "09:00"), ("17:00", "18:00")],
            id="two-slots-one-day",
        ),
        pytest.param([(1, "09:00", "12:00")], [], id="closed-on-unlisted-days"),
        pytest.param([(0, "22:00", "02:00")], [("22:00", "24:00")], id="end-before-start-wraps"),
        pytest.param([(6, "22:00", "02:00")], [("00:00", "02:00")], id="sunday-wraps-into-monday"),
        pytest.param([(0, "10:00", "10:00")], [("10:00", "24:00")], id="end-equals-start-is-24h"),
        pytest.param([], [("00:00", "24:00")], id="no-rows-open-24x7"),
    ],
)
def test_weekly_hours_become_utc_intervals(
    slots: list[tuple[int, str, str]], expected: list[tuple[str, str]]
) -> None:
    """Each rule of weekly hours gives the expected business intervals of a Monday (UTC)."""
    start, end = utc(f"{MONDAY} 00:00"), utc(f"{MONDAY} 00:00") + timedelta(days=1)
    intervals = business_intervals_between(_hours(*slots), "UTC", start, end)

    def instant(clock: str) -> datetime:
        return start + timedelta(hours=int(clock[:2]), minutes=int(clock[3:]))

    assert intervals == [(instant(begin), instant(finish)) for begin, finish in expected]


@pytest.mark.parametrize(
    ("zone", "date", "slot", "hours"),
    [
        pytest.param("America/New_York", "2023-03-12", ("00:00", "00:00"), 23, id="ny-spring-24h"),
        pytest.param("America/New_York", "2023-03-12", ("09:00", "17:00"), 8, id="ny-spring-day"),
        pytest.param("America/New_York", "2023-03-12", ("01:00", "04:00"), 2, id="ny-spring-night"),
        pytest.param(
            "America/New_York", "2023-03-12", ("02:30", "03:30"), 0, id="ny-spring-gap-fold0"
        ),
        pytest.param("America/New_York", "2023-11-05", ("00:00", "00:00"), 25, id="ny-fall-24h"),
        pytest.param("America/New_York", "2023-11-05", ("01:00", "04:00"), 4, id="ny-fall-night"),
        pytest.param(
            "America/New_York", "2023-11-05", ("01:30", "02:00"), 1.5, id="ny-fall-repeat-fold0"
        ),
        pytest.param("Europe/London", "2023-03-26", ("00:00", "00:00"), 23, id="london-spring"),
        pytest.param("Europe/London", "2023-10-29", ("00:00", "00:00"), 25, id="london-fall"),
        pytest.param("Europe/London", "2023-10-29", ("22:00", "02:00"), 4, id="london-wrap"),
        pytest.param("Australia/Sydney", "2023-04-02", ("00:00", "00:00"), 25, id="sydney-april"),
        pytest.param("Australia/Sydney", "2023-10-01", ("00:00", "00:00"), 23, id="sydney-oct"),
        pytest.param("Australia/Sydney", "2023-10-01", ("09:00", "17:00"), 8, id="sydney-day"),
    ],
)
def test_dst_days_have_their_true_length(
    zone: str, date: str, slot: tuple[str, str], hours: float
) -> None:
    """Local hours on a day DST starts or ends last their real number of hours."""
    local = datetime.fromisoformat(date)
    day = local.weekday()
    tz = ZoneInfo(zone)
    start = (local - timedelta(days=1)).replace(tzinfo=tz)
    end = (local + timedelta(days=3)).replace(tzinfo=tz)
    intervals = business_intervals_between(_hours((day, *slot)), zone, start, end)
    assert _total_hours(intervals) == hours


def test_intervals_are_clipped_to_the_range() -> None:
    """Business time outside the range asked for is left out."""
    intervals = business_intervals_between(
        _hours((0, "09:00", "17:00")), "UTC", utc(f"{MONDAY} 10:00"), utc(f"{MONDAY} 12:30")
    )
    assert intervals == [(utc(f"{MONDAY} 10:00"), utc(f"{MONDAY} 12:30"))]


def test_local_hours_follow_the_time_zone() -> None:
    """09:00 in New York in January is 14:00 UTC."""
    intervals = business_intervals_between(
        _hours((0, "09:00", "10:00")), "America/New_York", utc(MONDAY), utc("2023-01-17")
    )
    assert intervals == [(utc(f"{MONDAY} 14:00"), utc(f"{MONDAY} 15:00"))]


def test_an_empty_range_has_no_business_time() -> None:
    """A range that ends before it starts holds nothing."""
    assert not business_intervals(Schedule("UTC"), LocalDays(timezone.utc), 10.0, 5.0)


def test_a_tzinfo_can_stand_for_a_zone_name() -> None:
    """business_intervals_between takes a tzinfo as well as a name."""
    intervals = business_intervals_between([], timezone.utc, utc(MONDAY), utc(f"{MONDAY} 01:00"))
    assert intervals == [(utc(MONDAY), utc(f"{MONDAY} 01:00"))]


def test_naive_range_is_refused() -> None:
    """A naive start or end is a ValueError."""
    with pytest.raises(ValueError, match="aware"):
        business_intervals_between([], "UTC", datetime(2023, 1, 1), utc(MONDAY))


@pytest.mark.parametrize("name", ["Mars/Olympus", "../etc/passwd", ""])
def test_unknown_time_zone_is_a_value_error(name: str) -> None:
    """An unknown or malformed zone name says what is expected."""
    with pytest.raises(ValueError, match="unknown time zone .* IANA name"):
        load_zone(name)


@pytest.mark.parametrize(
    ("instant", "until"),
    [
        pytest.param(0.0, 0.0, id="before-all"),
        pytest.param(10.0, 0.0, id="at-first-start"),
        pytest.param(15.0, 5.0, id="inside-first"),
        pytest.param(25.0, 10.0, id="in-a-gap"),
        pytest.param(35.0, 15.0, id="inside-second"),
        pytest.param(99.0, 20.0, id="after-all"),
    ],
)
def test_business_clock_counts_seconds_before_an_instant(instant: float, until: float) -> None:
    """The clock's reading is the business time before the instant."""
    clock = BusinessClock([(10.0, 20.0), (30.0, 40.0)])
    assert clock.until(instant) == until


@pytest.mark.parametrize(
    ("begin", "end", "seconds"),
    [(15.0, 35.0, 10.0), (35.0, 15.0, 0.0), (0.0, 99.0, 20.0), (20.0, 30.0, 0.0)],
)
def test_business_clock_measures_a_span(begin: float, end: float, seconds: float) -> None:
    """between() is the business time inside a span (0 for an empty span)."""
    assert BusinessClock([(10.0, 20.0), (30.0, 40.0)]).between(begin, end) == seconds


def test_business_clocks_build_each_schedule_once() -> None:
    """Equal schedules share one clock, however their slots were given."""
    clocks = BusinessClocks(0.0, 7 * 86400.0)
    week = [(0, 0, 3600)]
    assert clocks.clock(Schedule("UTC", week)) is clocks.clock(Schedule("UTC", ((0, 0, 3600),)))
    assert clocks.clock(Schedule("UTC", week)) is not clocks.clock(Schedule("Europe/London", week))


def test_business_clocks_refuse_a_reversed_range() -> None:
    """A clock range that ends before it starts is a ValueError."""
    with pytest.raises(ValueError, match="ends before it starts"):
        BusinessClocks(10.0, 0.0)


def test_schedules_normalise_equal_weeks() -> None:
    """Rows in any order, repeated, make the same week."""
    first = Schedule.from_rows(_hours((1, "09:00", "10:00"), (0, "08:00", "09:00")))
    second = Schedule.from_rows(
        _hours((0, "08:00", "09:00"), (1, "09:00", "10:00"), (0, "08:00", "09:00"))
    )
    assert first == second
    assert hash(first) == hash(second)
    assert not first.always_open
    assert Schedule().always_open


@pytest.mark.parametrize("slot", [(7, 0, 10), (0, -1, 10), (0, 0, 86400)])
def test_schedules_refuse_impossible_slots(slot: tuple[int, int, int]) -> None:
    """A weekday outside 0-6 or a time outside the day is a ValueError."""
    with pytest.raises(ValueError, match="invalid business hours slot"):
        Schedule("UTC", [slot])


_ZONES = st.sampled_from(
    ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata", "UTC"]
)
_SLOTS = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 95).map(lambda q: q * 900), st.integers(0, 95)).map(
        lambda t: (t[0], t[1], t[2] * 900)
    ),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(
    zone=_ZONES,
    slots=_SLOTS,
    start=st.integers(1_640_995_200, 1_704_067_200),
    days=st.floats(0.0, 10.0),
)
def test_intervals_are_sorted_disjoint_and_inside_the_range(
    zone: str, slots: list[tuple[int, int, int]], start: int, days: float
) -> None:
    """Whatever the hours, the intervals are sorted, apart, and within the range."""
    end = start + days * 86400.0
    intervals = business_intervals(
        Schedule(zone, slots), LocalDays(ZoneInfo(zone)), start, end
    )
    for begin, finish in intervals:
        assert start <= begin < finish <= end
    for (_, first_end), (second_begin, _) in zip(intervals, intervals[1:]):
        assert first_end < second_begin


@settings(max_examples=60, deadline=None)
@given(zone=_ZONES, ordinal=st.integers(738_000, 739_500), second=st.integers(0, 2 * 86400))
def test_local_days_agree_with_zoneinfo(zone: str, ordinal: int, second: int) -> None:
    """A remembered conversion equals zoneinfo's own (fold=0), asked twice."""
    tz = ZoneInfo(zone)
    days = LocalDays(tz)
    wall = datetime.fromordinal(ordinal) + timedelta(seconds=second)
    expected = wall.replace(tzinfo=tz).timestamp()
    assert days.instant(ordinal, second) == expected
    assert days.instant(ordinal, second) == expected
