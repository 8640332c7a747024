"""The vectorised twin of the report computation gives the pure core's rows, bit for bit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.core.uptime import compute_uptime
from outages_processor.models.schedules import DEFAULT_TIMEZONE, Schedule
from outages_processor.models.uptime import (
    BusinessHours,
    Interpolation,
    Poll,
    StoreTimezone,
    StoreUptime,
)
from outages_processor.tests.uptime_data import generate

np = pytest.importorskip("numpy")

# pylint: disable=wrong-import-position  # only where numpy is installed
from outages_processor.reports.columnar_compute import (  # noqa: E402
    report_values,
    sorted_polls,
)


def _vector_rows(  # pylint: disable=too-many-locals  # models to columns
    polls: Sequence[Poll],
    hours: Sequence[BusinessHours],
    zones: Sequence[StoreTimezone],
    now: datetime | None,
    interpolation: Interpolation,
) -> list[StoreUptime]:
    """The rows :func:`report_values` gives for the models (as compute_uptime takes them)."""
    store_ids = sorted({poll.store_id for poll in polls})
    code = {store_id: index for index, store_id in enumerate(store_ids)}
    store = np.array([code[poll.store_id] for poll in polls], dtype=np.int64)
    seconds = np.array([poll.timestamp.timestamp() for poll in polls], dtype=np.float64)
    inactive = np.array([poll.status == "inactive" for poll in polls], dtype=bool)
    zone_of = {row.store_id: row.timezone for row in zones}
    week_of: dict[str, list[BusinessHours]] = {}
    for row in hours:
        week_of.setdefault(row.store_id, []).append(row)
    schedules = [
        Schedule.from_rows(week_of.get(store_id, ()), zone_of.get(store_id, DEFAULT_TIMEZONE))
        for store_id in store_ids
    ]
    end = float(seconds.max()) if now is None else now.timestamp()
    values = report_values(
        *sorted_polls(store, seconds, inactive), schedules, end, interpolation
    ).tolist()
    return [StoreUptime(store_id, *row) for store_id, row in zip(store_ids, values)]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("interpolation", ["nearest", "previous"])
def test_generated_data_sets_give_the_core_rows(seed: int, interpolation: Interpolation) -> None:
    """Every generated uptime data set: the same rows as compute_uptime, bit for bit."""
    data = generate(seed)
    expected = compute_uptime(data.polls, data.hours, data.zones, interpolation=interpolation)
    assert _vector_rows(data.polls, data.hours, data.zones, None, interpolation) == expected


def test_a_store_with_many_spans_sums_them_in_order() -> None:
    """Hundreds of outages in a store (past the all-stores-at-once spans): the core's sums."""
    start = datetime(2023, 3, 6, tzinfo=timezone.utc)
    polls = [
        Poll("1", "inactive" if index % 2 else "active", start + timedelta(minutes=7 * index + 0.3))
        for index in range(1500)
    ]
    now = start + timedelta(days=7, hours=2)
    for interpolation in ("nearest", "previous"):
        expected = compute_uptime(polls, now=now, interpolation=interpolation)
        assert _vector_rows(polls, [], [], now, interpolation) == expected


_ZONES = st.sampled_from(
    ["America/Chicago", "America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC",
     "Asia/Kolkata", "America/Sao_Paulo"]
)  # fmt: skip
_STORES = st.sampled_from(["a", "b", "c", "d"])
_BASES = st.sampled_from(
    [
        datetime(2023, 3, 10, tzinfo=timezone.utc),  # US DST starts in the week
        datetime(2023, 10, 26, tzinfo=timezone.utc),  # Europe's ends
        datetime(1965, 4, 20, tzinfo=timezone.utc),  # before 1970
        datetime(2023, 1, 20, tzinfo=timezone.utc),
    ]
)
_TIMES = st.times().map(lambda value: value.replace(microsecond=value.microsecond // 1000 * 1000))


@settings(max_examples=150, deadline=None)
@given(
    base=_BASES,
    polls=st.lists(
        st.tuples(
            _STORES,
            st.booleans(),
            st.floats(min_value=0, max_value=9 * 86_400, allow_nan=False),
        ),
        min_size=1,
        max_size=60,
    ),
    repeats=st.lists(st.integers(0, 59), max_size=6),
    hours=st.lists(st.tuples(_STORES, st.integers(0, 6), _TIMES, _TIMES), max_size=10),
    zones=st.dictionaries(_STORES, _ZONES),
    after=st.floats(min_value=-86_400, max_value=3 * 86_400, allow_nan=False),
    interpolation=st.sampled_from(["nearest", "previous"]),
)
def test_random_polls_give_the_core_rows(  # pylint: disable=too-many-arguments,too-many-positional-arguments,too-many-locals
    base: datetime,
    polls: list[tuple[str, bool, float]],
    repeats: list[int],
    hours: list[tuple[str, int, time, time]],
    zones: dict[str, str],
    after: float,
    interpolation: Interpolation,
) -> None:
    """Random polls (shared instants too), hours, zones and now: the core's rows exactly."""
    models = [
        Poll(store, "active" if active else "inactive", base + timedelta(seconds=offset))
        for store, active, offset in polls
    ]
    for index in repeats:  # the same instant again, with the other status
        if index < len(models):
            poll = models[index]
            other = "active" if poll.status == "inactive" else "inactive"
            models.append(Poll(poll.store_id, other, poll.timestamp))
    hour_rows = [BusinessHours(store, day, opens, closes) for store, day, opens, closes in hours]
    zone_rows = [StoreTimezone(store, zone) for store, zone in zones.items()]
    latest = max(poll.timestamp for poll in models)
    for now in (None, latest + timedelta(seconds=after)):
        expected = compute_uptime(
            models, hour_rows, zone_rows, now=now, interpolation=interpolation
        )
        assert _vector_rows(models, hour_rows, zone_rows, now, interpolation) == expected
