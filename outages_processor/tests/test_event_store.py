"""The SQLite event store: ingest in any order and batching, queries, safety, concurrency."""

from __future__ import annotations

import multiprocessing
import random
import re
import sqlite3
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.core.events import group_events
from outages_processor.errors import EventStoreBusyError, EventStoreError, InputDataError
from outages_processor.models.events import IngestResult, OutageEvent, OutageRecord, RecordBatch
from outages_processor.stores import _event_schema
from outages_processor.events import ingest_files
from outages_processor.stores.event_store import SCHEMA_VERSION, EventStore

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)


def at(minutes: float, micros: int = 0) -> datetime:
    """The instant ``minutes`` (plus ``micros`` microseconds) after T0."""
    return T0 + minutes * MINUTE + timedelta(microseconds=micros)


def reports(*minutes: float, controller: str = "c1", kind: str = "led") -> list[OutageRecord]:
    """Reports of one controller and type at the given minutes after T0."""
    return [OutageRecord(controller, kind, at(value)) for value in minutes]


def event(first: float, last: float, count: int, controller: str = "c1") -> OutageEvent:
    """An event of type led between two minutes after T0."""
    return OutageEvent(controller, "led", at(first), at(last), count)


@pytest.fixture(name="db_path")
def fixture_db_path(tmp_path: Path) -> Path:
    """A path for a new event database."""
    return tmp_path / "events.db"


@pytest.fixture(name="store")
def fixture_store(db_path: Path) -> Any:
    """A new event store, closed after the test."""
    with EventStore(db_path) as opened:
        yield opened


def snapshot(path: Path) -> tuple[list[OutageRecord], list[OutageEvent]]:
    """Every record and event stored at ``path``."""
    with EventStore(path) as opened:
        return opened.records(), opened.events()


# --- the rule, through the store ---------------------------------------------------------

LATE = OutageRecord("c1", "led", at(12, 1))


@pytest.mark.parametrize(
    ("batches", "expected", "last"),
    [
        pytest.param(
            [reports(0), reports(10), reports(20), reports(30)],
            [event(0, 30, 4)],
            IngestResult(records_new=1, events_extended=1),
            id="in-order reports",
        ),
        pytest.param(
            [reports(0), [LATE]],
            [event(0, 0, 1), OutageEvent("c1", "led", at(12, 1), at(12, 1), 1)],
            IngestResult(records_new=1, events_created=1),
            id="split just over the tolerance",
        ),
        pytest.param(
            [reports(0), reports(12)],
            [event(0, 12, 2)],
            IngestResult(records_new=1, events_extended=1),
            id="exactly at the tolerance",
        ),
        pytest.param(
            [reports(10, 20), reports(0)],
            [event(0, 20, 3)],
            IngestResult(records_new=1, events_extended=1),
            id="late record extends the start",
        ),
        pytest.param(
            [reports(0, 10), reports(30, 40), reports(20)],
            [event(0, 40, 5)],
            IngestResult(records_new=1, events_merged=1),
            id="late record bridges two events",
        ),
        pytest.param(
            [reports(0, 10), reports(10, 0, 10)],
            [event(0, 10, 2)],
            IngestResult(records_duplicate=3),
            id="duplicates change nothing",
        ),
        pytest.param(
            [reports(0, 10, 20), reports(15)],
            [event(0, 20, 4)],
            IngestResult(records_new=1, events_extended=1),
            id="gap filling inside an event",
        ),
        pytest.param(
            [reports(0), reports(24), reports(12)],
            [event(0, 24, 3)],
            IngestResult(records_new=1, events_merged=1),
            id="gap filling between events",
        ),
        pytest.param(
            [reports(0), reports(20), reports(40), reports(10, 30, 30)],
            [event(0, 40, 5)],
            IngestResult(records_new=2, records_duplicate=1, events_merged=1),
            id="one batch bridges three events",
        ),
        pytest.param(
            [reports(0, 10), reports(5, 100, 110)],
            [event(0, 10, 3), event(100, 110, 2)],
            IngestResult(records_new=3, events_created=1, events_extended=1),
            id="one batch extends one event and creates another",
        ),
    ],
)
def test_ingest_applies_the_rule(
    store: EventStore,
    batches: list[list[OutageRecord]],
    expected: list[OutageEvent],
    last: IngestResult,
) -> None:
    """Batch after batch, the stored events follow the rule, and the counts say what changed."""
    results = [store.ingest(batch) for batch in batches]
    assert store.events() == expected
    assert results[-1] == last


def test_a_new_store_counts_every_event_created(store: EventStore) -> None:
    """The first batch creates its events; repeats in the batch are duplicates."""
    result = store.ingest(reports(0, 10, 10, 40) + reports(0, controller="c2"))
    assert result == IngestResult(records_new=4, records_duplicate=1, events_created=3)
    assert store.counts() == {"records": 4, "events": 3, "series": 2}


def test_ingest_takes_a_record_batch_and_counts_its_rejects(store: EventStore) -> None:
    """A RecordBatch is ingested as its records, its rejects counted as skipped."""
    from outages_processor.models.common import (  # pylint: disable=import-outside-toplevel
        Reject,
    )

    reject = Reject("a.csv", 2, "bad", "x")
    batch = RecordBatch({"c1": {"led": [0, 600_000_000]}}, [reject])
    result = store.ingest(batch)
    assert (result.records_new, result.records_skipped, result.rejects) == (2, 1, (reject,))


def test_ingest_reports_progress_up_to_the_batch_size(store: EventStore) -> None:
    """The progress callback ends with the number of records in the batch."""
    calls: list[tuple[str, int, int]] = []
    store.ingest(reports(0, 10, 10), progress=lambda *call: calls.append(call))
    assert calls[-1] == ("storing", 3, 3)


def test_records_are_kept_once_each(store: EventStore) -> None:
    """Every accepted record is stored once, whatever the repeats."""
    store.ingest(reports(10, 0))
    store.ingest(reports(0, 20))
    assert store.records() == reports(0, 10, 20)


# --- any order, any batching -------------------------------------------------------------

record_sets = st.lists(
    st.builds(
        lambda controller, kind, minute: OutageRecord(controller, kind, at(minute)),
        st.sampled_from(["c1", "c2"]),
        st.sampled_from(["led", "battery"]),
        st.integers(min_value=0, max_value=180),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(records=record_sets, data=st.data())
def test_any_order_and_batching_gives_the_batch_events(
    records: list[OutageRecord], data: st.DataObject
) -> None:
    """Ingesting a permutation in any batches, repeats included, gives group_events' result."""
    shuffled = data.draw(st.permutations(records))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=6)))
    bounds = [0, *cuts, len(shuffled)]
    with tempfile.TemporaryDirectory() as folder, EventStore(Path(folder) / "e.db") as store:
        for start, stop in zip(bounds, bounds[1:]):
            store.ingest(shuffled[start:stop])
        assert store.events() == group_events(records)
        assert len(store.records()) == len({attrs.astuple(record) for record in records})


def _writer(path: str, parts: list[list[OutageRecord]], ready: Any) -> None:
    """A writer process: wait for the others, then ingest each part as one batch."""
    ready.wait()
    with EventStore(path) as store:
        for part in parts:
            store.ingest(part)


def test_four_writer_processes_lose_and_duplicate_nothing(db_path: Path) -> None:
    """Four processes ingesting shuffled, overlapping parts at once give the batch events."""
    rng = random.Random(4)
    records = [
        OutageRecord(f"c{rng.randrange(3)}", rng.choice(["led", "battery"]), at(rng.randrange(600)))
        for _ in range(800)
    ]
    with EventStore(db_path):
        pass  # create the file first, so that the writers race on data, not on the schema
    context = multiprocessing.get_context("spawn")  # fork is unsafe with threads
    ready = context.Barrier(4)
    parts = [rng.sample(records, 400) for _ in range(4)]  # overlapping: shared duplicates
    workers = [
        context.Process(
            target=_writer,
            args=(str(db_path), [part[start : start + 40] for start in range(0, 400, 40)], ready),
        )
        for part in parts
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    union = {attrs.astuple(record): record for part in parts for record in part}
    with EventStore(db_path) as store:
        assert store.events() == group_events(union.values())
        assert len(store.records()) == len(union)


# --- all or nothing ----------------------------------------------------------------------


def test_bad_input_leaves_the_database_unchanged(db_path: Path, tmp_path: Path) -> None:
    """A bad record in any file stops the whole batch: records and events stay as they were."""
    good = tmp_path / "good.csv"
    good.write_text("controller_id,outage_type,timestamp\nc1,led,2024-01-01T00:00:00Z\n")
    ingest_files(db_path, [good])
    before = snapshot(db_path)
    more = tmp_path / "more.csv"
    more.write_text("controller_id,outage_type,timestamp\nc1,led,2024-01-01T00:10:00Z\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("controller_id,outage_type,timestamp\nc2,led,2024-01-01T00:20:00Z\nc2,led,x\n")
    with pytest.raises(InputDataError, match=f"^{bad}:3: timestamp 'x'"):
        ingest_files(db_path, [more, bad])
    assert snapshot(db_path) == before


def test_bad_input_creates_no_database(db_path: Path, tmp_path: Path) -> None:
    """Bad input does not even create the database file."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{}\n")
    with pytest.raises(InputDataError, match="bad.jsonl:1: missing field 'controller_id'"):
        ingest_files(db_path, [bad])
    assert not db_path.exists()


def test_a_failing_batch_is_rolled_back(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the database fails midway, nothing of the batch is stored."""
    with EventStore(db_path) as store:
        store.ingest(reports(0, 10))
    before = snapshot(db_path)

    def failing_insert(self: EventStore, *args: Any) -> int:
        original(self, *args)  # the records are written, then the batch fails
        raise sqlite3.OperationalError("disk I/O error")

    original = EventStore._insert_records  # pylint: disable=protected-access
    monkeypatch.setattr(EventStore, "_insert_records", failing_insert)
    with EventStore(db_path) as store:
        with pytest.raises(EventStoreError) as caught:
            store.ingest(reports(20, 100) + reports(5, controller="c9"))
    assert str(caught.value) == (
        f"the event database {db_path} failed: disk I/O error; nothing was stored"
    )
    assert snapshot(db_path) == before


def test_a_batch_rolled_back_by_sqlite_itself_is_reported(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When SQLite has already rolled the batch back (a full disk), the error still surfaces."""

    def full_disk(self: EventStore, *_args: Any) -> None:
        self._db.execute("ROLLBACK")  # pylint: disable=protected-access
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(EventStore, "_ingest_grouped", full_disk)
    with EventStore(db_path) as store:
        with pytest.raises(EventStoreError, match="failed: database or disk is full; nothing"):
            store.ingest(reports(0))
    assert snapshot(db_path) == ([], [])


def test_a_writer_that_waits_too_long_gets_a_clear_error(db_path: Path) -> None:
    """When another connection holds the write lock past the busy timeout, nothing is stored."""
    with EventStore(db_path):
        pass
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with EventStore(db_path, busy_timeout=0.05) as store:
            with pytest.raises(EventStoreBusyError) as caught:
                store.ingest(reports(0))
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert caught.value.transient
    assert str(caught.value) == (
        f"{db_path} stayed locked by another writer; nothing was stored, try again "
        "(or raise the busy timeout)"
    )
    assert snapshot(db_path) == ([], [])


# --- the database file -------------------------------------------------------------------


def test_the_file_is_in_wal_mode_with_a_schema_version(store: EventStore, db_path: Path) -> None:
    """A new database uses WAL and records its schema version in user_version."""
    del store
    connection = sqlite3.connect(db_path)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("where", "index"),
    [
        ("s.controller_id = 'c1'", "sqlite_autoindex_series_1"),
        ("s.outage_type = 'led'", "series_by_type"),
        ("e.start_us <= 0 AND e.start_us >= 0 - 5", "events_by_start"),
    ],
)
def test_queries_are_served_by_indexes(
    db_path: Path, store: EventStore, where: str, index: str
) -> None:
    """The filters of events() are index searches, not table scans."""
    del store
    connection = sqlite3.connect(db_path)
    try:
        plan = connection.execute(
            "EXPLAIN QUERY PLAN " + _event_schema.SELECT_EVENTS
            + f" WHERE {where}"
        ).fetchall()
    finally:
        connection.close()
    details = [row[-1] for row in plan]
    assert any(index in detail and "SEARCH" in detail for detail in details), details
    assert not any(detail.startswith("SCAN") for detail in details), details


def test_the_tolerance_is_recorded_at_creation(db_path: Path) -> None:
    """A database keeps its tolerance; opening without one uses it."""
    with EventStore(db_path, tolerance=timedelta(minutes=20)) as store:
        store.ingest(reports(0, 20))
    with EventStore(db_path) as store:
        assert store.tolerance == timedelta(minutes=20)
        assert store.events() == [event(0, 20, 2)]
    with EventStore(db_path, tolerance=timedelta(minutes=20)) as store:
        assert store.tolerance == timedelta(minutes=20)


def test_another_tolerance_is_a_clear_error(db_path: Path) -> None:
    """Opening with a tolerance other than the recorded one fails and says what to do."""
    with EventStore(db_path):
        pass
    with pytest.raises(EventStoreError) as caught:
        EventStore(db_path, tolerance=timedelta(minutes=7.5))
    assert str(caught.value) == (
        f"{db_path} was created with a tolerance of 12 minutes, not 7.5; give no tolerance "
        "to use the recorded one, or use another database"
    )


def test_a_missing_database_is_an_error_when_not_creating(db_path: Path) -> None:
    """create=False refuses to make a new file."""
    with pytest.raises(EventStoreError) as caught:
        EventStore(db_path, create=False)
    assert str(caught.value) == (
        f"no event database at {db_path}; ingest records into it first, or give the path "
        "of an existing one"
    )
    assert not db_path.exists()


@pytest.mark.parametrize(
    ("content", "create", "message"),
    [
        (b"", False, "is not an event database (it has no event store schema); pass another path"),
        (
            b"hello, world" * 100,
            True,
            "cannot use {path} as an event database: file is not a database",
        ),
    ],
)
def test_a_file_that_is_no_event_database_is_refused(
    db_path: Path, content: bytes, create: bool, message: str
) -> None:
    """An empty file (when not creating) or a file that is not SQLite is refused."""
    db_path.write_bytes(content)
    with pytest.raises(EventStoreError, match=re.escape(message.format(path=db_path))):
        EventStore(db_path, create=create)


def _foreign_database(path: Path, *statements: str) -> None:
    connection = sqlite3.connect(path)
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def test_another_sqlite_database_is_refused(db_path: Path) -> None:
    """A SQLite file with other tables is not taken over."""
    _foreign_database(db_path, "CREATE TABLE notes (text)")
    with pytest.raises(EventStoreError, match="is not an event database"):
        EventStore(db_path)


def test_a_newer_schema_is_refused(db_path: Path) -> None:
    """A database of a later schema version asks for an upgrade."""
    _foreign_database(db_path, "CREATE TABLE x (y)", "PRAGMA user_version = 99")
    with pytest.raises(EventStoreError) as caught:
        EventStore(db_path)
    assert str(caught.value) == (
        f"{db_path} has event store schema version 99, but this version of outages_processor "
        "reads version 1; upgrade outages_processor or use another database"
    )


def test_a_damaged_database_is_refused(db_path: Path) -> None:
    """A database that lost its settings says it is damaged."""
    with EventStore(db_path):
        pass
    _foreign_database(db_path, "DELETE FROM settings")
    with pytest.raises(EventStoreError, match="lacks the setting 'tolerance_us'; it is damaged"):
        EventStore(db_path)


def test_a_path_that_cannot_be_opened_is_an_error(tmp_path: Path) -> None:
    """A database path in a missing folder cannot be opened."""
    with pytest.raises(EventStoreError, match="cannot open the event database"):
        EventStore(tmp_path / "no" / "such" / "folder" / "e.db")


def test_a_schema_created_by_another_process_meanwhile_is_used(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If another process creates the schema between the first look and the lock, it is kept."""
    with EventStore(db_path, tolerance=timedelta(minutes=5)):
        pass
    calls: list[int] = []
    original = EventStore._user_version  # pylint: disable=protected-access

    def racing(self: EventStore) -> int:
        calls.append(1)
        return 0 if len(calls) == 1 else original(self)  # "no schema" only at the first look

    monkeypatch.setattr(EventStore, "_user_version", racing)
    with EventStore(db_path) as store:
        assert store.tolerance == timedelta(minutes=5)
    assert len(calls) == 2


def test_a_closed_store_cannot_be_read(db_path: Path) -> None:
    """Querying after close() is an EventStoreError."""
    store = EventStore(db_path)
    store.close()
    with pytest.raises(EventStoreError, match="cannot read .*: Cannot operate on a closed"):
        store.events()


def test_close_can_be_called_twice(db_path: Path) -> None:
    """close() is idempotent."""
    store = EventStore(db_path)
    store.close()
    store.close()


# --- queries -----------------------------------------------------------------------------


@pytest.fixture(name="filled")
def fixture_filled(store: EventStore) -> EventStore:
    """A store with events of two controllers and two types."""
    store.ingest(
        reports(0, 10)  # c1 led 00:00-00:10
        + reports(60, 70, controller="c2")  # c2 led 01:00-01:10
        + reports(30, kind="battery")  # c1 battery 00:30
        + reports(120, 130, 140)  # c1 led 02:00-02:20
    )
    return store


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [(0, "c1", "led"), (30, "c1", "battery"), (60, "c2", "led"), (120, "c1", "led")]),
        ({"controller_id": "c1"}, [(0, "c1", "led"), (30, "c1", "battery"), (120, "c1", "led")]),
        ({"outage_type": "battery"}, [(30, "c1", "battery")]),
        ({"controller_id": "c1", "outage_type": "led"}, [(0, "c1", "led"), (120, "c1", "led")]),
        (
            {"start": at(10), "end": at(60)},
            [(0, "c1", "led"), (30, "c1", "battery"), (60, "c2", "led")],
        ),
        ({"start": at(10, 1)}, [(30, "c1", "battery"), (60, "c2", "led"), (120, "c1", "led")]),
        ({"end": at(30)}, [(0, "c1", "led"), (30, "c1", "battery")]),
        ({"start": at(130), "end": at(135)}, [(120, "c1", "led")]),
        (
            {"start": datetime(2024, 1, 1, 1, 5), "end": datetime(2024, 1, 1, 1, 5)},
            [(60, "c2", "led")],
        ),
        ({"controller_id": "nobody"}, []),
    ],
)
def test_events_filters_by_controller_type_and_overlap(
    filled: EventStore, filters: dict[str, Any], expected: list[tuple[int, str, str]]
) -> None:
    """An event matches when it overlaps [start, end] (inclusive); naive times are UTC."""
    found = filled.events(**filters)
    assert [(e.start_time, e.controller_id, e.outage_type) for e in found] == [
        (at(minutes), controller, kind) for minutes, controller, kind in expected
    ]


def test_a_range_that_ends_before_it_starts_is_refused(filled: EventStore) -> None:
    """start after end is a ValueError."""
    with pytest.raises(ValueError, match="is after the end"):
        filled.events(start=at(10), end=at(5))


# --- ingest_files ------------------------------------------------------------------------


def test_ingest_files_writes_the_rejects(db_path: Path, tmp_path: Path) -> None:
    """In skip mode the skipped records go to the rejects file as CSV."""
    source = tmp_path / "in.csv"
    source.write_text("controller_id,outage_type,timestamp\nc1,led,0\nc1,led,x\n")
    rejects = tmp_path / "rejects.csv"
    result = ingest_files(db_path, [source], on_error="skip", rejects_path=rejects)
    assert (result.records_new, result.records_skipped) == (1, 1)
    assert rejects.read_text().splitlines() == [
        "file,line,reason,row",
        f"{source},3,timestamp 'x' is neither ISO 8601 (e.g. 2024-01-01T00:10:00Z) nor Unix "
        "epoch seconds,\"c1,led,x\"",
    ]


def test_ingest_files_fails_before_storing_when_rejects_cannot_be_written(
    db_path: Path, tmp_path: Path
) -> None:
    """A rejects file that cannot be written stops the ingest before the database."""
    source = tmp_path / "in.csv"
    source.write_text("controller_id,outage_type,timestamp\nc1,led,0\n")
    rejects = tmp_path / "missing" / "rejects.csv"
    with pytest.raises(InputDataError, match=f"^{rejects}: cannot write the rejects file: No such"):
        ingest_files(db_path, [source], on_error="skip", rejects_path=rejects)
    assert not db_path.exists()


def test_ingest_files_reports_progress_over_reading_and_storing(
    db_path: Path, tmp_path: Path
) -> None:
    """Progress counts the lines read ("reading"), then the records stored ("storing")."""
    source = tmp_path / "in.csv"
    source.write_text("controller_id,outage_type,timestamp\nc1,led,0\nc1,led,60\nc1,led,60\n")
    calls: list[tuple[str, int, int]] = []
    ingest_files(db_path, [source], progress=lambda *call: calls.append(call))
    assert [stage for stage, _, _ in calls] == sorted(stage for stage, _, _ in calls)
    reading = [(done, total) for stage, done, total in calls if stage == "reading"]
    storing = [(done, total) for stage, done, total in calls if stage == "storing"]
    assert reading[-1] == (4, 4) and storing[-1] == (3, 3)
    assert reading == sorted(reading) and storing == sorted(storing)


def test_ingest_files_of_an_empty_input_stores_nothing(db_path: Path, tmp_path: Path) -> None:
    """An input with no records makes an empty database and counts nothing."""
    source = tmp_path / "in.csv"
    source.write_text("")
    result = ingest_files(db_path, [source])
    assert result == IngestResult()
    assert snapshot(db_path) == ([], [])
