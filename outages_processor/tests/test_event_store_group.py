"""EventStore.ingest_many (group commit) and keyset pages of EventStore.events (issue 9)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.errors import EventStoreError, InputDataError
from outages_processor.models.events import IngestResult, OutageRecord, RecordBatch
from outages_processor.stores import _event_ingest
from outages_processor.stores.event_store import EventStore

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)

records = st.builds(
    OutageRecord,
    st.sampled_from(["c1", "c2"]),
    st.sampled_from(["led", "fan"]),
    st.integers(0, 40).map(lambda minutes: T0 + timedelta(minutes=minutes * 5)),
)
batch_lists = st.lists(st.lists(records, max_size=8), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(first=batch_lists, then=batch_lists)
def test_a_group_equals_the_batches_one_by_one(
    tmp_path_factory: pytest.TempPathFactory,
    first: list[list[OutageRecord]],
    then: list[list[OutageRecord]],
) -> None:
    """ingest_many leaves the store and counts ingest() gives, batch after batch."""
    folder = tmp_path_factory.mktemp("group")
    with EventStore(folder / "many.db") as many, EventStore(folder / "one.db") as one:
        for group in (first, then):
            grouped = many.ingest_many(group)
            singly = [one.ingest(batch) for batch in group]
            assert grouped == singly
        assert many.records() == one.records()
        assert many.events() == one.events()


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


def test_a_database_failure_rolls_back_that_batch_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that fails inside its savepoint is undone; the batches around it commit."""
    original = _event_ingest.write_events
    calls = []

    def failing_second(db: sqlite3.Connection, changes: _event_ingest.Changes) -> None:
        calls.append(1)
        original(db, changes)
        if len(calls) == 2:
            raise sqlite3.IntegrityError("injected")

    monkeypatch.setattr(_event_ingest, "write_events", failing_second)
    batches = [[OutageRecord(f"c{index}", "led", T0)] for index in range(3)]
    with EventStore(tmp_path / "e.db") as store:
        results = store.ingest_many(batches)
        assert isinstance(results[1], EventStoreError) and "injected" in str(results[1])
        assert [type(result) for result in results[::2]] == [IngestResult, IngestResult]
        assert sorted(r.controller_id for r in store.records()) == ["c0", "c2"]
        assert sorted(e.controller_id for e in store.events()) == ["c0", "c2"]


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
