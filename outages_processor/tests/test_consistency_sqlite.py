"""SQLite failures are told apart by their error code, never by the words of the message."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from outages_processor.errors import EventStoreBusyError, EventStoreError
from outages_processor.models.events import OutageRecord
from outages_processor.stores.event_store import EventStore
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
