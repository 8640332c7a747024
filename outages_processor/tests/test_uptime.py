"""Uptime and downtime within business hours: every rule of the report's semantics."""

from __future__ import annotations

import io
import math
import random
from datetime import datetime, time, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.core.business_hours import BusinessClock
from outages_processor.core.uptime import (
    DAY,
    HOUR,
    WEEK,
    UptimeCalculator,
    compute_uptime,
    inactive_spans,
)
from outages_processor.models.uptime import (
    BusinessHours,
    Interpolation,
    Poll,
    StoreTimezone,
    StoreUptime,
)
from outages_processor.reports.report_csv import write_report_csv
from outages_processor.tests.uptime_data import UTC, generate, utc

# 2023-01-25 is a Wednesday (weekday 2).
WEDNESDAY = 2
DAY_OF = "2023-01-25"
NOW = utc(f"{DAY_OF} 12:00")


def _poll(status: str, clock: str, store: str = "s", day: str = DAY_OF) -> Poll:
    return Poll(store, status, utc(f"{day} {clock}"))  # type: ignore[arg-type]


def _hours(start: str, end: str, day: int = WEDNESDAY, store: str = "s") -> BusinessHours:
    return BusinessHours(store, day, time.fromisoformat(start), time.fromisoformat(end))


def _report(
    polls: list[Poll],
    hours: list[BusinessHours] | None = None,
    *,
    zone: str | None = "UTC",
    now: datetime = NOW,
    interpolation: Interpolation = "nearest",
) -> StoreUptime:
    zones = [] if zone is None else [StoreTimezone("s", zone)]
    rows = compute_uptime(
        polls,
        [_hours("09:00", "12:00")] if hours is None else hours,
        zones,
        now=now,
        interpolation=interpolation,
    )
    assert len(rows) == 1
    return rows[0]


def _day_minutes(row: StoreUptime) -> tuple[float, float]:
    return round(row.uptime_last_day * 60, 6), round(row.downtime_last_day * 60, 6)


@pytest.mark.parametrize(
    ("interpolation", "up", "down"),
    [
        pytest.param("nearest", 104.5, 75.5, id="nearest"),
        pytest.param("previous", 135, 45, id="previous"),
    ],
)
def test_the_specification_example(interpolation: Interpolation, up: float, down: float) -> None:
    """Hours 09:00-12:00, polls 10:14 active and 11:15 inactive: the documented minutes."""
    row = _report(
        [_poll("active", "10:14"), _poll("inactive", "11:15")], interpolation=interpolation
    )
    assert _day_minutes(row) == (up, down)


@pytest.mark.parametrize(
    ("interpolation", "polls", "up", "down"),
    [
        pytest.param(
            "nearest",
            [("active", "09:00"), ("inactive", "10:00")],
            30,
            150,
            id="nearest-splits-at-the-midpoint",
        ),
        pytest.param(
            "previous",
            [("active", "09:00"), ("inactive", "10:00")],
            60,
            120,
            id="previous-takes-the-latest-poll-before",
        ),
        pytest.param(
            "previous",
            [("inactive", "10:00"), ("active", "11:00")],
            60,
            120,
            id="previous-before-the-first-poll-takes-the-first",
        ),
        pytest.param(
            "nearest",
            [("inactive", "10:00"), ("active", "11:00")],
            90,
            90,
            id="nearest-first-poll-reaches-back",
        ),
        pytest.param(
            "nearest",
            [("active", "07:00"), ("inactive", "13:00")],
            60,
            120,
            id="polls-outside-business-hours-count",
        ),
        pytest.param(
            "previous",
            [("inactive", "10:00"), ("active", "10:00")],
            0,
            180,
            id="same-instant-inactive-wins",
        ),
        pytest.param(
            "nearest",
            [("active", "09:30"), ("inactive", "10:30"), ("active", "10:30"), ("active", "11:30")],
            120,
            60,
            id="same-instant-inactive-wins-between-polls",
        ),
        pytest.param(
            "nearest", [("active", "09:30"), ("active", "11:30")], 180, 0, id="only-active"
        ),
        pytest.param(
            "nearest", [("inactive", "09:30"), ("inactive", "11:30")], 0, 180, id="only-inactive"
        ),
        pytest.param(
            "nearest",
            [("inactive", "10:00"), ("inactive", "10:20"), ("active", "11:00")],
            80,
            100,
            id="a-run-of-inactive-polls",
        ),
    ],
)
def test_status_between_polls(
    interpolation: Interpolation, polls: list[tuple[str, str]], up: float, down: float
) -> None:
    """Each interpolation rule gives the expected minutes of a 09:00-12:00 day."""
    row = _report([_poll(status, clock) for status, clock in polls], interpolation=interpolation)
    assert _day_minutes(row) == (up, down)


def test_polls_outside_the_windows_count_as_evidence() -> None:
    """A poll before the week and one after now still decide the status inside."""
    polls = [
        _poll("inactive", "10:00", day="2023-01-10"),
        _poll("active", "13:00", day="2023-01-25"),
    ]
    nearest = _report(polls, [], now=NOW)
    previous = _report(polls, [], now=NOW, interpolation="previous")
    # The midpoint of the two polls is 2023-01-17 23:30: the week window starts 2023-01-18.
    assert (nearest.uptime_last_week, nearest.downtime_last_week) == (168.0, 0.0)
    assert (previous.uptime_last_week, previous.downtime_last_week) == (0.0, 168.0)


@pytest.mark.parametrize(
    ("now", "window", "expected"),
    [
        pytest.param(f"{DAY_OF} 12:00", "hour", 60.0, id="hour-in-minutes"),
        pytest.param(f"{DAY_OF} 12:00", "day", 24.0, id="day-in-hours"),
        pytest.param(f"{DAY_OF} 12:00", "week", 168.0, id="week-in-hours"),
    ],
)
def test_windows_end_at_now_and_have_their_units(now: str, window: str, expected: float) -> None:
    """Last hour is in minutes, last day and week in hours (open 24x7 here)."""
    row = _report([_poll("active", "11:00")], [], now=utc(now))
    assert getattr(row, f"uptime_last_{window}") == expected


def test_windows_count_business_hours_only() -> None:
    """A 09:00-12:00 Wednesday has 3 business hours in the week, 1 in the last hour."""
    row = _report([_poll("active", "11:00")])
    assert (row.uptime_last_hour, row.uptime_last_day, row.uptime_last_week) == (60.0, 3.0, 3.0)


def test_now_defaults_to_the_latest_poll() -> None:
    """Without now, the windows end at the latest poll of all stores."""
    rows = compute_uptime(
        [_poll("active", "10:00", store="a"), _poll("active", "11:30", store="b")]
    )
    assert [row.uptime_last_hour for row in rows] == [60.0, 60.0]
    assert [row.uptime_last_week for row in rows] == [168.0, 168.0]


def test_a_store_without_hours_is_open_all_week() -> None:
    """No hours rows means 24x7."""
    row = _report([_poll("inactive", "11:00")], [])
    assert (row.downtime_last_day, row.downtime_last_week) == (24.0, 168.0)


def test_a_store_without_a_time_zone_is_in_chicago() -> None:
    """09:00-12:00 in America/Chicago is 15:00-18:00 UTC in January."""
    row = _report([_poll("active", "16:00")], now=utc(f"{DAY_OF} 18:00"), zone=None)
    assert (row.uptime_last_hour, row.uptime_last_day) == (60.0, 3.0)


def test_one_row_per_store_with_a_poll_sorted_by_id() -> None:
    """Stores appear once each, sorted by id; stores with hours but no polls do not."""
    rows = compute_uptime(
        [_poll("active", "10:00", store="b"), _poll("active", "10:05", store="a")],
        [_hours("09:00", "12:00", store="c")],
    )
    assert [row.store_id for row in rows] == ["a", "b"]


def test_no_polls_no_rows() -> None:
    """An empty input gives an empty report."""
    assert compute_uptime([]) == []


def test_naive_now_is_utc() -> None:
    """A naive now is UTC, as on the command line."""
    naive = compute_uptime([_poll("active", "10:00")], now=datetime(2023, 1, 25))
    aware = compute_uptime(
        [_poll("active", "10:00")], now=datetime(2023, 1, 25, tzinfo=timezone.utc)
    )
    assert naive == aware


def test_two_time_zones_for_one_store_are_refused() -> None:
    """A store listed with two different zones is a ValueError."""
    with pytest.raises(ValueError, match="two time zones"):
        compute_uptime(
            [_poll("active", "10:00")],
            timezones=[StoreTimezone("s", "UTC"), StoreTimezone("s", "Europe/London")],
        )


@pytest.mark.parametrize("interpolation", ["linear", ""])
def test_unknown_interpolation_is_refused(interpolation: str) -> None:
    """Only nearest and previous exist."""
    with pytest.raises(ValueError, match="unknown interpolation"):
        inactive_spans([1.0], [2.0], interpolation)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown interpolation"):
        UptimeCalculator(0.0, interpolation)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("interpolation", "active", "inactive", "spans"),
    [
        ("nearest", [], [5.0], [(-math.inf, math.inf)]),
        ("nearest", [0.0, 10.0], [4.0, 6.0], [(2.0, 8.0)]),
        ("previous", [0.0, 10.0], [4.0, 6.0], [(4.0, 10.0)]),
        ("nearest", [10.0], [0.0, 20.0], [(-math.inf, 5.0), (15.0, math.inf)]),
        ("nearest", [4.0, 10.0], [4.0], [(-math.inf, 7.0)]),
        ("previous", [0.0, 6.0, 10.0], [4.0, 6.0], [(4.0, 10.0)]),
    ],
)
def test_inactive_spans(
    interpolation: Interpolation,
    active: list[float],
    inactive: list[float],
    spans: list[tuple[float, float]],
) -> None:
    """Runs of inactive polls become spans bounded by the interpolation."""
    assert inactive_spans(active, inactive, interpolation) == spans


def test_downtime_ignores_spans_outside_the_week() -> None:
    """A span that ends before the week or starts after now adds nothing."""
    calculator = UptimeCalculator(WEEK * 3)
    clock = BusinessClock([(0.0, WEEK * 4)])
    assert calculator.downtime_seconds([(0.0, WEEK), (WEEK * 3 + 1, WEEK * 4)], clock) == (
        0.0,
        0.0,
        0.0,
    )
    assert calculator.downtime_seconds([(WEEK * 3 - HOUR / 2, WEEK * 3 - 1)], clock) == (
        HOUR / 2 - 1,
        HOUR / 2 - 1,
        HOUR / 2 - 1,
    )
    assert calculator.downtime_seconds([(WEEK * 3 - DAY, WEEK * 3 - HOUR)], clock) == (
        0.0,
        DAY - HOUR,
        DAY - HOUR,
    )


# ----------------------------------------------------------------------------- properties

_WINDOWS = (("hour", 60.0), ("day", 3600.0), ("week", 3600.0))


def _business_seconds(rows: list[StoreUptime]) -> dict[str, list[float]]:
    return {
        name: [
            (getattr(row, f"uptime_last_{name}") + getattr(row, f"downtime_last_{name}")) * unit
            for row in rows
        ]
        for name, unit in _WINDOWS
    }


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), interpolation=st.sampled_from(["nearest", "previous"]))
def test_uptime_plus_downtime_is_the_business_time(seed: int, interpolation: Interpolation) -> None:
    """Per store and window, uptime + downtime equals the business time of the window."""
    data = generate(seed, stores=6)
    rows = compute_uptime(data.polls, data.hours, data.zones, interpolation=interpolation)
    # The same stores, all polls active: uptime alone is then the business time.
    all_up = [Poll(poll.store_id, "active", poll.timestamp) for poll in data.polls]
    totals = compute_uptime(all_up, data.hours, data.zones, interpolation=interpolation)
    assert [row.downtime_last_week for row in totals] == [0.0] * len(totals)
    for name, expected in _business_seconds(totals).items():
        got = _business_seconds(rows)[name]
        assert got == pytest.approx(expected, abs=1e-6), name


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), interpolation=st.sampled_from(["nearest", "previous"]))
def test_hour_within_day_within_week(seed: int, interpolation: Interpolation) -> None:
    """Uptime and downtime of the last hour <= last day <= last week (in seconds)."""
    data = generate(seed, stores=6)
    for row in compute_uptime(data.polls, data.hours, data.zones, interpolation=interpolation):
        for kind in ("uptime", "downtime"):
            hour = getattr(row, f"{kind}_last_hour") * 60
            day = getattr(row, f"{kind}_last_day") * 3600
            week = getattr(row, f"{kind}_last_week") * 3600
            assert hour <= day + 1e-6 and day <= week + 1e-6
            assert hour >= 0 and day >= 0 and week >= 0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), shuffle=st.integers(0, 1000))
def test_results_do_not_depend_on_row_order(seed: int, shuffle: int) -> None:
    """Shuffling the polls, hours and zones changes nothing."""
    data = generate(seed, stores=5)
    polls, hours, zones = list(data.polls), list(data.hours), list(data.zones)
    rng = random.Random(shuffle)
    for items in (polls, hours, zones):
        rng.shuffle(items)
    assert compute_uptime(polls, hours, zones) == compute_uptime(data.polls, data.hours, data.zones)


@settings(max_examples=40, deadline=None)
@given(
    statuses=st.lists(st.booleans(), min_size=1, max_size=12),
    gaps=st.lists(st.integers(0, 7200), min_size=12, max_size=12),
    interpolation=st.sampled_from(["nearest", "previous"]),
)
def test_spans_match_a_minute_by_minute_reading(
    statuses: list[bool], gaps: list[int], interpolation: Interpolation
) -> None:
    """The inactive spans agree with reading the status minute by minute from the polls."""
    times: list[float] = []
    moment = 0.0
    for gap in gaps[: len(statuses)]:
        moment += gap
        times.append(moment)
    polls = list(zip(times, statuses))
    active = sorted(t for t, up in polls if up)
    inactive = sorted(t for t, up in polls if not up)
    spans = inactive_spans(active, inactive, interpolation)

    def status_at(instant: float) -> bool:
        # Polls at one instant that disagree read as inactive.
        if interpolation == "previous":
            before = [t for t, _ in polls if t <= instant] or [times[0]]
            chosen = max(before)
        else:
            chosen = min(times, key=lambda t: abs(t - instant))
        return all(up for t, up in polls if t == chosen)

    for minute in range(-60, int(moment) + 120, 53):
        instant = minute + 0.5
        if any(abs(instant - (a + b) / 2) < 1 for a, b in zip(times, times[1:])):
            continue  # exactly at a midpoint the two readings may round differently
        inside = any(begin <= instant < end for begin, end in spans)
        assert inside is (not status_at(instant)), instant


def test_store_uptime_rows_as_dicts() -> None:
    """to_dict gives the columns in order, unrounded."""
    row = StoreUptime("s", 1.0 / 3, 2.0, 3.0, 4.0, 5.0, 6.0)
    assert list(row.to_dict()) == list(StoreUptime.COLUMNS)
    assert row.to_dict()["uptime_last_hour"] == 1.0 / 3


def test_report_rows_are_written_with_two_decimals() -> None:
    """The report CSV writes the store id, then each value with 2 decimals."""
    row = StoreUptime("s", 1.0 / 3, 2.0, 3.0, 4.0, 5.0, 6.0)
    stream = io.StringIO()
    write_report_csv([row], stream)
    written = stream.getvalue().splitlines()[1].split(",")
    assert written == ["s", "0.33", "2.00", "3.00", "4.00", "5.00", "6.00"]


def test_polls_must_be_aware() -> None:
    """A poll's timestamp must carry an offset."""
    with pytest.raises(ValueError, match="aware"):
        Poll("s", "active", datetime(2023, 1, 1))
    assert Poll("s", "active", datetime(2023, 1, 1, tzinfo=UTC)).store_id == "s"


@pytest.mark.parametrize("store_id", ["", 42])
def test_store_ids_must_be_non_empty_text(store_id: object) -> None:
    """A poll needs a store id."""
    with pytest.raises(ValueError, match="store_id must be a non-empty string"):
        Poll(store_id, "active", NOW)  # type: ignore[arg-type]
