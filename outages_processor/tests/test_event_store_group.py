"""EventStore.ingest_many (group commit) and keyset pages of EventStore.events (issue 9)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.core.events import group_events
from outages_processor.errors import EventStoreError, InputDataError
from outages_processor.models.events import IngestResult, OutageRecord, RecordBatch
from outages_processor.stores import _event_ingest
from outages_processor.stores.event_store import EventStore

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)

records = st.builds(
    OutageRecord,
    st.sampled_from(["c1", "c2", "c3", "c10"]),
    st.sampled_from(["led", "fan", "1"]),
    st.integers(0, 60).map(lambda minutes: T0 + timedelta(minutes=minutes * 5)),
)
record_lists = st.lists(records, max_size=10)


@st.composite
def groups(draw: st.DrawFn) -> list[list[OutageRecord]]:
    """Batches of a group, some repeating records of the batches before them."""
    batches: list[list[OutageRecord]] = []
    for _ in range(draw(st.integers(1, 6))):
        batch = draw(record_lists)
        if batches and draw(st.booleans()):
            earlier = draw(st.sampled_from(batches))
            batch += draw(st.lists(st.sampled_from(earlier), max_size=5)) if earlier else []
        batches.append(draw(st.permutations(batch)))
    return batches


def tables(store: EventStore) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the store's tables, series ids and settings included."""
    db = sqlite3.connect(store.path)
    try:
        return {
            name: db.execute(f"SELECT * FROM {name} ORDER BY 1, 2").fetchall()
            for name in ("settings", "series", "records", "events")
        }
    finally:
        db.close()


@settings(max_examples=80, deadline=None)
@given(
    before=record_lists,
    first=groups(),
    then=groups(),
    tolerance=st.sampled_from([0, 5, 12, 25, 60]),
)
def test_a_group_equals_the_batches_one_by_one(
    tmp_path_factory: pytest.TempPathFactory,
    before: list[OutageRecord],
    first: list[list[OutageRecord]],
    then: list[list[OutageRecord]],
    tolerance: int,
) -> None:
    """ingest_many leaves the tables and counts ingest() gives, batch after batch."""
    folder = tmp_path_factory.mktemp("group")
    gap = timedelta(minutes=tolerance)
    with EventStore(folder / "many.db", tolerance=gap) as many, EventStore(
        folder / "one.db", tolerance=gap
    ) as one:
        assert many.ingest(before) == one.ingest(before)
        for group in (first, then):
            grouped = many.ingest_many(group)
            singly = [one.ingest(batch) for batch in group]
            assert grouped == singly
        assert tables(many) == tables(one)


def test_a_group_runs_the_statements_of_one_batch(tmp_path: Path) -> None:
    """A group is planned and written at once: as many statements as one batch of it all."""
    old = [OutageRecord(f"c{index}", "led", T0) for index in range(8)]
    new = [OutageRecord(f"c{index}", kind, T0 + timedelta(minutes=10)) for index in range(8)
           for kind in ("led", "fan")]
    counted: dict[str, list[str]] = {"group": [], "batch": []}
    for name, batches in (("group", [new[i : i + 2] for i in range(0, 16, 2)]), ("batch", [new])):
        with EventStore(tmp_path / f"{name}.db") as store:
            store.ingest(old)
            db = store._db  # pylint: disable=protected-access
            db.set_trace_callback(counted[name].append)
            store.ingest_many(batches)
            db.set_trace_callback(None)
    assert len(counted["group"]) == len(counted["batch"])


def test_a_bad_batch_is_rolled_back_alone(tmp_path: Path) -> None:
    """A batch with an id no record can hold fails alone; the others are stored."""
    good = [OutageRecord("c1", "led", T0)]
    bad = RecordBatch({"c\x00": {"led": [0]}})
    with EventStore(tmp_path / "e.db") as store:
        results = store.ingest_many([good, bad, good])
        assert isinstance(results[1], InputDataError)
        assert results[0] == IngestResult(records_new=1, events_created=1)
        assert results[2] == IngestResult(records_duplicate=1)
        assert store.counts()["records"] == 1


def test_a_database_failure_rolls_back_the_whole_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database failure on one batch's rows fails every batch of the group; none is stored."""

    def failing(db: sqlite3.Connection, changes: _event_ingest.Changes) -> None:
        original(db, changes)  # the rows are written, then the transaction fails
        if any(series_id == 2 for series_id, *_ in changes.new_events):  # c1, the 2nd batch
            raise sqlite3.IntegrityError("injected")

    original = _event_ingest.write_events
    batches = [[OutageRecord(f"c{index}", "led", T0)] for index in range(3)]
    with EventStore(tmp_path / "e.db") as store:
        store.ingest([OutageRecord("c0", "led", T0 - timedelta(minutes=10))])
        before = tables(store)
        monkeypatch.setattr(_event_ingest, "write_events", failing)
        results = store.ingest_many(batches)
        assert all(isinstance(result, EventStoreError) for result in results)
        assert "injected" in str(results[0])
        assert tables(store) == before


def test_a_failed_group_keeps_the_refused_and_empty_batches_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the group fails, a refused batch keeps its own error and an empty one its result."""

    def failing(_db: sqlite3.Connection, _changes: _event_ingest.Changes) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(_event_ingest, "write_events", failing)
    bad = RecordBatch({"c\x00": {"led": [0]}})
    with EventStore(tmp_path / "e.db") as store:
        results = store.ingest_many([[OutageRecord("c1", "led", T0)], bad, []])
    assert isinstance(results[0], EventStoreError) and "disk I/O error" in str(results[0])
    assert isinstance(results[1], InputDataError)
    assert results[2] == IngestResult()


def test_a_failed_transaction_fails_every_batch(tmp_path: Path) -> None:
    """When the write lock cannot be had, every batch gets the error and nothing is stored."""
    path = tmp_path / "e.db"
    EventStore(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with EventStore(path, busy_timeout=0.05) as store:
            results = store.ingest_many([[OutageRecord("c1", "led", T0)]] * 2)
            assert all(isinstance(result, EventStoreError) for result in results)
            assert results[0] is results[1]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with EventStore(path) as store:
        assert store.counts()["records"] == 0


def test_empty_batches_need_no_transaction(tmp_path: Path) -> None:
    """Batches without records store nothing and count nothing."""
    with EventStore(tmp_path / "e.db") as store:
        assert store.ingest_many([[], RecordBatch()]) == [IngestResult(), IngestResult()]


def test_a_read_only_store_refuses_a_group(tmp_path: Path) -> None:
    """ingest_many on a read-only store is an EventStoreError, as ingest is."""
    EventStore(tmp_path / "e.db").close()
    with EventStore(tmp_path / "e.db", read_only=True) as store:
        with pytest.raises(EventStoreError, match="read-only"):
            store.ingest_many([[OutageRecord("c1", "led", T0)]])


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(records, max_size=40), size=st.integers(1, 5))
def test_pages_join_into_the_whole_list(
    tmp_path_factory: pytest.TempPathFactory, batch: list[OutageRecord], size: int
) -> None:
    """Pages of ``limit`` events, each after the last of the previous, make events()."""
    with EventStore(tmp_path_factory.mktemp("pages") / "e.db") as store:
        store.ingest(batch)
        pages: list[object] = []
        after = None
        while True:
            page = store.events(after=after, limit=size)
            pages.extend(page)
            if len(page) < size:
                break
            last = page[-1]
            after = (last.start_time, last.controller_id, last.outage_type)
        assert pages == list(store.events())


def test_a_limit_below_one_is_refused(tmp_path: Path) -> None:
    """limit=0 is a ValueError, not an empty page."""
    with EventStore(tmp_path / "e.db") as store, pytest.raises(ValueError, match="limit"):
        store.events(limit=0)


@pytest.mark.parametrize("series", [1, 2, 3, 255, 299, 300, 301, 650])
def test_lookups_of_many_series_find_every_stored_event(tmp_path: Path, series: int) -> None:
    """Stored events are found (and merged) whatever the number of series a batch touches.

    The series and their stored events are looked up a few hundred at a time, in
    statements padded to a few sizes: every size around those bounds is tried.
    """
    gap = timedelta(minutes=12)
    first = [OutageRecord(f"c{n}", "led", T0 + timedelta(minutes=n % 7)) for n in range(series)]
    # Each second report extends, joins or misses its series' event, by series number.
    offsets = (10, 25, 12, -10)
    then = [
        OutageRecord(f"c{n}", "led", T0 + timedelta(minutes=n % 7 + offsets[n % 4]))
        for n in range(series)
    ] + [OutageRecord(f"c{n}", "fan", T0) for n in range(0, series, 3)]
    with EventStore(tmp_path / "e.db", tolerance=gap) as store:
        store.ingest(first)
        result = store.ingest(then)
        expected = group_events(first + then, gap)
        assert list(store.events()) == expected
        assert result.events_created == len(expected) - series
