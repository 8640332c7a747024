"""SQLite failures are told apart by their error code, never by the words of the message."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from outages_processor.errors import EventStoreBusyError, EventStoreError
from outages_processor.models.events import OutageRecord
from outages_processor.stores.event_store import EventStore
from outages_processor.stores._sqlite import is_busy, transaction
from outages_processor.stores.status_store import StatusDatabase

RECORD = OutageRecord("c1", "led", datetime(2023, 1, 1, tzinfo=timezone.utc))
# SQLITE_LOCKED_SHAREDCACHE and SQLITE_BUSY_SNAPSHOT: extended codes of the busy family.
LOCKED_SHAREDCACHE = sqlite3.SQLITE_LOCKED | (1 << 8)
BUSY_SNAPSHOT = sqlite3.SQLITE_BUSY | (2 << 8)


@pytest.mark.parametrize(
    ("code", "message", "busy"),
    [
        (sqlite3.SQLITE_BUSY, "database is locked", True),
        (sqlite3.SQLITE_LOCKED, "database table is locked", True),
        (BUSY_SNAPSHOT, "database is locked", True),
        (LOCKED_SHAREDCACHE, "database table is locked: events", True),
        (sqlite3.SQLITE_BUSY, "busy", True),
        (sqlite3.SQLITE_ERROR, "no such column: locked", False),
        (sqlite3.SQLITE_FULL, "database or disk is full", False),
    ],
)
def test_busy_is_recognised_by_the_sqlite_error_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, message: str, busy: bool
) -> None:
    """Only SQLITE_BUSY and SQLITE_LOCKED (and their extended codes) are 'busy, retry'."""

    def failing(_self: EventStore, *_args: Any) -> None:
        err = sqlite3.OperationalError(message)
        err.sqlite_errorcode = code
        raise err

    monkeypatch.setattr(EventStore, "_ingest_grouped", failing)
    with EventStore(tmp_path / "events.db") as store:
        with pytest.raises(EventStoreError) as caught:
            store.ingest([RECORD])
    assert isinstance(caught.value, EventStoreBusyError) is busy


@pytest.mark.parametrize("kind", ["events", "status"])
def test_a_writer_checkpoints_every_64_mib_of_log_not_every_1000_pages(
    tmp_path: Path, kind: str
) -> None:
    """Both stores' writers checkpoint at 64 MiB of WAL and cut the log back to that size."""
    # pylint: disable=protected-access
    store = EventStore(tmp_path / "e.db") if kind == "events" else StatusDatabase(tmp_path / "s.db")
    with store:
        db = store._db
        assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 16384
        assert db.execute("PRAGMA journal_size_limit").fetchone()[0] == 64 << 20
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _holder(path: Path) -> sqlite3.Connection:
    """A connection holding the write lock of a WAL database at ``path``."""
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("CREATE TABLE IF NOT EXISTS t (x)")
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_waiting_writer_gets_the_lock_once_the_other_commits(tmp_path: Path) -> None:
    """A writer waits for another's transaction, then writes; its busy timeout stays as set."""
    path = tmp_path / "db.sqlite"
    holder = _holder(path)
    waiter = sqlite3.connect(path, isolation_level=None, timeout=30.0)
    release = threading.Timer(0.05, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        with transaction(waiter) as db:
            db.execute("INSERT INTO t VALUES (1)")
        assert waiter.execute("SELECT count(*) FROM t").fetchone()[0] == 1
        assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    finally:
        release.join()
        waiter.close()
        holder.close()


@pytest.mark.parametrize("timeout", [0.0, 0.05])
def test_a_writer_past_its_busy_timeout_fails_busy_and_keeps_its_timeout(
    tmp_path: Path, timeout: float
) -> None:
    """Past the busy timeout the wait ends in SQLite's busy error; nothing is left half-set."""
    path = tmp_path / "db.sqlite"
    holder = _holder(path)
    waiter = sqlite3.connect(path, isolation_level=None, timeout=timeout)
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            with transaction(waiter):
                pass
        assert is_busy(caught.value)
        assert not waiter.in_transaction
        assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == round(timeout * 1000)
    finally:
        waiter.close()
        holder.close()


@pytest.mark.parametrize("kind", ["events", "status"])
@pytest.mark.parametrize(
    "lock",
    [
        "BEGIN IMMEDIATE",  # another connection creating the file, write lock held
        "BEGIN EXCLUSIVE",  # another connection with the file to itself
        "BEGIN DEFERRED",  # another connection reading it in a transaction
    ],
)
def test_a_new_database_locked_by_another_connection_opens_once_the_lock_is_gone(
    tmp_path: Path, kind: str, lock: str
) -> None:
    """Opening waits for another connection's lock on a file not yet in WAL mode.

    Switching to WAL needs the file to itself, and SQLite answers "database is locked"
    at once, without waiting, while another connection holds a lock: two processes that
    created one database together failed that way.
    """
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute(lock)
    holder.execute("SELECT * FROM sqlite_master").fetchall()
    release = threading.Timer(0.1, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        store = EventStore(path) if kind == "events" else StatusDatabase(path)
        with store:
            # pylint: disable-next=protected-access
            assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        release.join()
        holder.close()
