"""Grouping outage reports into events: the models, the batch rule and the incremental merge."""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.core.events import (
    DEFAULT_TOLERANCE,
    event_sort_key,
    group_events,
    group_timestamps,
    merge_events,
    merge_timestamps,
    tolerance_micros,
)
from outages_processor.models.common import Reject
from outages_processor.models.events import (
    IngestResult,
    OutageEvent,
    OutageRecord,
    RecordBatch,
    epoch_micros,
    from_epoch_micros,
)

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)
MICROSECOND = timedelta(microseconds=1)


def at(minutes: float, micros: int = 0) -> datetime:
    """The instant ``minutes`` (plus ``micros`` microseconds) after T0."""
    return T0 + minutes * MINUTE + micros * MICROSECOND


def reports(*minutes: float, controller: str = "c1", kind: str = "led") -> list[OutageRecord]:
    """Reports of one controller and type at the given minutes after T0."""
    return [OutageRecord(controller, kind, at(value)) for value in minutes]


def event(first: float, last: float, count: int, controller: str = "c1") -> OutageEvent:
    """An event of controller ``controller``, type led, between two minutes after T0."""
    return OutageEvent(controller, "led", at(first), at(last), count)


# --- models ------------------------------------------------------------------------------


def test_record_takes_a_naive_timestamp_as_utc() -> None:
    """A naive timestamp is taken as UTC."""
    record = OutageRecord("c1", "led", datetime(2024, 1, 1, 0, 10))
    assert record.timestamp == datetime(2024, 1, 1, 0, 10, tzinfo=timezone.utc)
    assert record.timestamp.tzinfo is timezone.utc


def test_record_converts_an_offset_to_utc() -> None:
    """An aware timestamp with another offset is converted to UTC."""
    plus_two = timezone(timedelta(hours=2))
    record = OutageRecord("c1", "led", datetime(2024, 1, 1, 2, 0, tzinfo=plus_two))
    assert record.timestamp == T0
    assert record.timestamp.tzinfo is timezone.utc


@pytest.mark.parametrize(
    ("controller_id", "outage_type", "timestamp", "error", "message"),
    [
        ("", "led", T0, ValueError, "controller_id must not be empty"),
        ("c1", "", T0, ValueError, "outage_type must not be empty"),
        (7, "led", T0, TypeError, "controller_id must be a string, not int"),
        ("c1", "led", [2024], TypeError, "timestamp must be an ISO 8601 string .* not list"),
    ],
)
def test_record_refuses_invalid_fields(
    controller_id: object, outage_type: object, timestamp: object, error: type, message: str
) -> None:
    """A record needs non-empty string identifiers and a datetime."""
    with pytest.raises(error, match=message):
        OutageRecord(controller_id, outage_type, timestamp)  # type: ignore[arg-type]


def test_event_to_dict_gives_iso_utc_strings() -> None:
    """to_dict gives plain values with ISO 8601 UTC times ending in Z."""
    assert event(0, 10.5, 2).to_dict() == {
        "controller_id": "c1",
        "outage_type": "led",
        "start_time": "2024-01-01T00:00:00Z",
        "end_time": "2024-01-01T00:10:30Z",
        "record_count": 2,
    }


@pytest.mark.parametrize(
    ("moment", "micros"),
    [
        (datetime(1970, 1, 1, tzinfo=timezone.utc), 0),
        (datetime(1970, 1, 1, 0, 0, 1, 5), 1_000_005),
        (datetime(1969, 12, 31, 23, 59, 59, tzinfo=timezone.utc), -1_000_000),
        (datetime(1970, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), 0),
    ],
)
def test_epoch_micros_counts_microseconds_since_1970_utc(moment: datetime, micros: int) -> None:
    """Instants become exact microseconds since the Unix epoch, naive taken as UTC."""
    assert epoch_micros(moment) == micros
    assert from_epoch_micros(micros) == moment.replace(tzinfo=moment.tzinfo or timezone.utc)


def test_batch_round_trips_records() -> None:
    """A batch built from records gives the same records back and counts them."""
    records = reports(0, 10) + reports(5, controller="c2")
    batch = RecordBatch.from_records(records)
    assert len(batch) == 3
    assert sorted(batch, key=attrs.astuple) == sorted(records, key=attrs.astuple)


def test_ingest_result_counts_its_rejects_as_skipped() -> None:
    """records_skipped is the number of rejects; to_dict holds only the counts."""
    reject = Reject("a.csv", 3, "controller_id is empty", ",led,0")
    result = IngestResult(records_new=2, records_duplicate=1, events_created=1, rejects=[reject])
    assert result.records_skipped == 1
    assert result.to_dict() == {
        "records_new": 2,
        "records_duplicate": 1,
        "records_skipped": 1,
        "events_created": 1,
        "events_extended": 0,
        "events_merged": 0,
    }
    assert reject.location() == "a.csv:3"


# --- the batch rule ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param(reports(0, 10, 20, 30), [event(0, 30, 4)], id="in-order reports"),
        pytest.param(reports(30, 0, 20, 10), [event(0, 30, 4)], id="any order"),
        pytest.param(
            [*reports(0), OutageRecord("c1", "led", at(12, 1))],
            [event(0, 0, 1), OutageEvent("c1", "led", at(12, 1), at(12, 1), 1)],
            id="split just over the tolerance",
        ),
        pytest.param(reports(0, 12), [event(0, 12, 2)], id="exactly at the tolerance"),
        pytest.param(reports(0, 10, 10, 0), [event(0, 10, 2)], id="duplicates count once"),
        pytest.param(reports(0, 24, 12), [event(0, 24, 3)], id="gap filling"),
        pytest.param(reports(0, 10, 30, 40), [event(0, 10, 2), event(30, 40, 2)], id="two"),
        pytest.param([], [], id="no reports"),
    ],
)
def test_group_events_applies_the_rule(
    records: list[OutageRecord], expected: list[OutageEvent]
) -> None:
    """Reports chained by gaps within the tolerance (inclusive) form one event."""
    assert group_events(records) == expected


def test_group_events_keeps_controllers_and_types_apart() -> None:
    """Reports of another controller or type never join an event."""
    records = [*reports(0), *reports(5, controller="c2"), *reports(10, kind="battery")]
    assert group_events(records) == [
        event(0, 0, 1),
        event(5, 5, 1, controller="c2"),
        OutageEvent("c1", "battery", at(10), at(10), 1),
    ]


def test_group_events_sorts_by_start_controller_type() -> None:
    """Events come sorted by start time, then controller id, then outage type."""
    records = [
        *reports(10, controller="b"),
        *reports(10, controller="a", kind="x"),
        *reports(10, controller="a", kind="w"),
        *reports(0, controller="z"),
    ]
    starts = [(e.start_time, e.controller_id, e.outage_type) for e in group_events(records)]
    assert starts == [
        (at(0), "z", "led"),
        (at(10), "a", "w"),
        (at(10), "a", "x"),
        (at(10), "b", "led"),
    ]


def test_group_events_takes_another_tolerance() -> None:
    """The tolerance is a parameter."""
    assert group_events(reports(0, 20), tolerance=timedelta(minutes=20)) == [event(0, 20, 2)]


def test_a_negative_tolerance_is_refused() -> None:
    """A negative tolerance is a ValueError."""
    with pytest.raises(ValueError, match="must not be negative"):
        group_events(reports(0), tolerance=-MINUTE)


def test_tolerance_micros_is_whole_microseconds() -> None:
    """The default tolerance is 12 minutes, in microseconds 720,000,000."""
    assert tolerance_micros(DEFAULT_TOLERANCE) == 720_000_000


def test_group_timestamps_of_nothing_is_nothing() -> None:
    """No timestamps, no events."""
    assert not group_timestamps([], 10)


# --- the incremental merge ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "new", "expected", "counts"),
    [
        pytest.param(
            [event(0, 10, 2)], reports(20), [event(0, 20, 3)], (0, 1, 0), id="extends the end"
        ),
        pytest.param(
            [event(10, 20, 2)], reports(0), [event(0, 20, 3)], (0, 1, 0), id="late extends start"
        ),
        pytest.param(
            [event(0, 10, 2), event(30, 40, 2)],
            reports(20),
            [event(0, 40, 5)],
            (0, 0, 1),
            id="late record bridges two events",
        ),
        pytest.param(
            [event(0, 0, 1), event(20, 20, 1), event(40, 40, 1)],
            reports(10, 30),
            [event(0, 40, 5)],
            (0, 0, 1),
            id="bridges three events",
        ),
        pytest.param(
            [event(0, 20, 3)], reports(15), [event(0, 20, 4)], (0, 1, 0), id="gap inside an event"
        ),
        pytest.param(
            [event(0, 0, 1), event(24, 24, 1)],
            reports(12),
            [event(0, 24, 3)],
            (0, 0, 1),
            id="gap filling",
        ),
        pytest.param(
            [event(0, 10, 2)],
            reports(30, 40, 40),
            [event(0, 10, 2), event(30, 40, 2)],
            (1, 0, 0),
            id="new event, repeats count once",
        ),
        pytest.param([event(0, 10, 2)], [], [event(0, 10, 2)], (0, 0, 0), id="nothing new"),
        pytest.param([], reports(0, 10), [event(0, 10, 2)], (1, 0, 0), id="no events yet"),
    ],
)
def test_merge_events_updates_existing_events(
    existing: list[OutageEvent],
    new: list[OutageRecord],
    expected: list[OutageEvent],
    counts: tuple[int, int, int],
) -> None:
    """New reports join, extend and merge existing events, and are counted."""
    outcome = merge_events(existing, new)
    assert list(outcome.events) == expected
    assert (outcome.created, outcome.extended, outcome.merged) == counts


def test_merge_joins_events_that_the_tolerance_chains() -> None:
    """Existing events closer than the tolerance (made with a smaller one) are joined."""
    outcome = merge_timestamps([(0, 10, 2), (15, 20, 2)], [], 5)
    assert outcome.spans == [(0, 20, 4)]
    assert outcome.replaced == [0, 1]
    assert outcome.merged == 1


def test_merge_leaves_far_events_unchanged() -> None:
    """Events no new timestamp reaches are neither replaced nor returned."""
    outcome = merge_timestamps([(0, 10, 2), (100, 110, 2)], [105], 5)
    assert outcome.spans == [(100, 110, 3)]
    assert outcome.replaced == [1]


def test_event_sort_key_orders_start_controller_type() -> None:
    """The sort key is (start_time, controller_id, outage_type)."""
    assert event_sort_key(event(5, 6, 2)) == (at(5), "c1", "led")


# --- properties --------------------------------------------------------------------------

minute_values = st.integers(min_value=0, max_value=240)
record_sets = st.lists(
    st.builds(
        lambda controller, kind, minute: OutageRecord(controller, kind, at(minute)),
        st.sampled_from(["c1", "c2"]),
        st.sampled_from(["led", "battery"]),
        minute_values,
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(records=record_sets, cut=st.integers(min_value=0, max_value=60), data=st.data())
def test_merging_in_two_parts_equals_the_batch_rule(
    records: list[OutageRecord], cut: int, data: st.DataObject
) -> None:
    """Events of part one merged with the rest of part two equal the events of the union."""
    shuffled = data.draw(st.permutations(records))
    first, second = shuffled[:cut], shuffled[cut:]
    seen = {attrs.astuple(record) for record in first}
    fresh = [record for record in second if attrs.astuple(record) not in seen]
    merged = merge_events(group_events(first), fresh)
    assert list(merged.events) == group_events(records)


@settings(max_examples=150, deadline=None)
@given(records=record_sets)
def test_events_never_overlap_and_count_every_timestamp(records: list[OutageRecord]) -> None:
    """Events of one key are separated by more than the tolerance and count each report once."""
    events = group_events(records)
    assert sum(e.record_count for e in events) == len({attrs.astuple(r) for r in records})
    by_key: dict[tuple[str, str], list[OutageEvent]] = {}
    for item in events:
        by_key.setdefault((item.controller_id, item.outage_type), []).append(item)
    for series in by_key.values():
        for before, after in zip(series, series[1:]):
            assert after.start_time - before.end_time > DEFAULT_TOLERANCE


def _reference_merge(
    spans: list[tuple[int, int, int]], timestamps: list[int], tolerance: int
) -> tuple[list[tuple[int, int, int]], list[int], tuple[int, int, int]]:
    """merge_timestamps as first written (heapq.merge of both lists): the differential oracle."""
    items = heapq.merge(
        ((start, end, count, index) for index, (start, end, count) in enumerate(spans)),
        ((stamp, stamp, 1, -1) for stamp in timestamps),
        key=lambda item: item[0],
    )
    made: list[tuple[int, int, int]] = []
    replaced: list[int] = []
    kinds = [0, 0, 0]

    def close(group: list[tuple[int, int, int, int]]) -> None:
        members = [index for _, _, _, index in group if index != -1]
        if len(members) == len(group) and len(members) < 2:
            return
        made.append((group[0][0], max(i[1] for i in group), sum(i[2] for i in group)))
        replaced.extend(members)
        kinds[min(len(members), 2)] += 1

    group: list[tuple[int, int, int, int]] = []
    end = 0
    for item in items:
        if group and item[0] - end > tolerance:
            close(group)
            group = []
        end = max(end, item[1]) if group else item[1]
        group.append(item)
    close(group)
    return made, replaced, (kinds[0], kinds[1], kinds[2])


@st.composite
def _spans_and_stamps(draw: st.DrawFn) -> tuple[list[tuple[int, int, int]], list[int], int]:
    """Sorted disjoint events (some closer than the tolerance), new timestamps, a tolerance."""
    tolerance = draw(st.integers(min_value=0, max_value=20))
    cuts = sorted(draw(st.sets(st.integers(min_value=-200, max_value=200), max_size=12)))
    spans = [
        (first, last, draw(st.integers(min_value=1, max_value=5)))
        for first, last in zip(cuts[::2], cuts[1::2])
    ]
    stamps = sorted(draw(st.sets(st.integers(min_value=-250, max_value=250), max_size=8)))
    return spans, stamps, tolerance


@given(case=_spans_and_stamps())
def test_merge_timestamps_equals_its_first_definition(
    case: tuple[list[tuple[int, int, int]], list[int], int],
) -> None:
    """The two-index merge gives the spans, replacements and counts of the heapq.merge one."""
    spans, stamps, tolerance = case
    outcome = merge_timestamps(spans, stamps, tolerance)
    made, replaced, kinds = _reference_merge(spans, stamps, tolerance)
    assert outcome.spans == made
    assert outcome.replaced == replaced
    assert (outcome.created, outcome.extended, outcome.merged) == kinds
