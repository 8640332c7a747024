"""The outage event store: every accepted report and the events they form, in one SQLite file.

Schema (version 1, kept in ``PRAGMA user_version``)::

    settings (name PRIMARY KEY, value)          tolerance_us, max_event_us
    series   (series_id INTEGER PRIMARY KEY,    one row per (controller_id, outage_type)
              controller_id, outage_type)        UNIQUE (controller_id, outage_type)
                                                 INDEX series_by_type (outage_type)
    records  (series_id, timestamp_us)           PRIMARY KEY, WITHOUT ROWID
    events   (series_id, start_us, end_us,       PRIMARY KEY (series_id, start_us),
              record_count)                      WITHOUT ROWID; INDEX events_by_start

Times are whole microseconds since the Unix epoch (UTC), so no SQLite date adapter is
involved and comparisons are exact. Keying records and events by a small ``series_id``
keeps the rows short, and a batch sorted by ``(series_id, timestamp)`` is inserted as
appends to the B-tree. ``max_event_us`` (the longest event ever stored; events only grow)
bounds a time-range query to an index range.

Concurrency and durability: the file is in WAL mode (readers never block the writer). Each
ingest is one ``BEGIN IMMEDIATE`` transaction: it takes the write lock *before* reading the
events it will change, so writers in several processes queue (up to ``busy_timeout``) and
each sees the previous one's commit; nothing is lost, duplicated or left overlapping, and a
failure rolls the whole batch back. ``synchronous=NORMAL``: a committed batch survives a
crash of the process; a power cut may lose the last batches, never consistency.

Threads: one :class:`EventStore` may be shared by any number of threads (a web framework's
thread pool, say). Each thread gets its own connection, opened on its first call, so reads
run in parallel and an ingest in one thread is a transaction like another process's.

Identity: series are looked up by their exact ``(controller_id, outage_type)`` text, bound
as parameters, never through a JSON round trip (SQLite's JSON functions stop at NUL).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import sqlite3
import threading
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from outages_processor.core.events import (
    DEFAULT_TOLERANCE,
    Span,
    group_timestamps,
    merge_timestamps,
    tolerance_micros,
)
from outages_processor.errors import EventStoreBusyError, EventStoreError, InputDataError
from outages_processor._time import as_instant
from outages_processor.models.events import (
    Events,
    IngestResult,
    OutageEvent,
    OutageRecord,
    RecordBatch,
    RecordInput,
    epoch_micros,
    from_epoch_micros,
    identifier_problem,
)
from outages_processor.models.common import ProgressCallback

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "SCHEMA_VERSION",
    "EventStore",
]

SCHEMA_VERSION = 1
"""The layout this code reads and writes (``PRAGMA user_version``)."""

DEFAULT_BUSY_TIMEOUT = 60.0
"""Seconds a writer waits for another process's transaction before giving up."""

_SCHEMA = (
    "CREATE TABLE settings (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE series (series_id INTEGER PRIMARY KEY, controller_id TEXT NOT NULL,"
    " outage_type TEXT NOT NULL, UNIQUE (controller_id, outage_type))",
    "CREATE INDEX series_by_type ON series (outage_type)",
    "CREATE TABLE records (series_id INTEGER NOT NULL, timestamp_us INTEGER NOT NULL,"
    " PRIMARY KEY (series_id, timestamp_us)) WITHOUT ROWID",
    "CREATE TABLE events (series_id INTEGER NOT NULL, start_us INTEGER NOT NULL,"
    " end_us INTEGER NOT NULL, record_count INTEGER NOT NULL,"
    " PRIMARY KEY (series_id, start_us)) WITHOUT ROWID",
    "CREATE INDEX events_by_start ON events (start_us)",
)

# Integer batch inputs travel as one JSON parameter expanded by json_each: one statement
# per batch, never one round trip per record. CROSS JOIN keeps json_each as the outer loop,
# so each element is one index lookup. Text never goes through JSON (see the module).
_FIND_SERIES = "SELECT series_id FROM series WHERE controller_id = ? AND outage_type = ?"
# For each [series_id, lo, hi]: the events overlapping [lo, hi]. Events of one series are
# disjoint, so they are the last one starting at or before lo and those starting in (lo, hi].
_NEAR_EVENTS = (
    "SELECT e.series_id, e.start_us, e.end_us, e.record_count FROM json_each(?) AS j"
    " CROSS JOIN events AS e ON e.series_id = json_extract(j.value, '$[0]')"
    " AND e.start_us >= coalesce((SELECT max(p.start_us) FROM events AS p"
    " WHERE p.series_id = json_extract(j.value, '$[0]')"
    " AND p.start_us <= json_extract(j.value, '$[1]')), json_extract(j.value, '$[1]'))"
    " AND e.start_us <= json_extract(j.value, '$[2]')"
    " WHERE e.end_us >= json_extract(j.value, '$[1]')"
)
_STORED_RECORDS = (
    "SELECT r.series_id, r.timestamp_us FROM json_each(?) AS j"
    " CROSS JOIN records AS r ON r.series_id = json_extract(j.value, '$[0]')"
    " AND r.timestamp_us = json_extract(j.value, '$[1]')"
)
_INSERT_RECORDS = (
    "INSERT INTO records (series_id, timestamp_us) SELECT ?, value FROM json_each(?)"
)
_SELECT_EVENTS = (
    "SELECT s.controller_id, s.outage_type, e.start_us, e.end_us, e.record_count"
    " FROM series AS s JOIN events AS e ON e.series_id = s.series_id"
)
_ORDER_EVENTS = " ORDER BY e.start_us, s.controller_id, s.outage_type"

_Key = tuple[str, str]
_CLOSED = "Cannot operate on a closed database."
"""What sqlite3 says of a closed connection; a closed store says the same."""
_PROGRESS_CHUNK = 65_536
"""Records inserted between two progress reports."""


class EventStore:
    """Outage events in a SQLite file, fed by batches of reports from any number of processes.

    Use as a context manager, or call :meth:`close`::

        with EventStore("outages.db") as store:
            store.ingest(records)
            events = store.events(controller_id="ctrl-1")

    Thread-safe: one store may be shared by many threads (for example a web framework's
    thread pool). Each thread uses its own SQLite connection, opened on its first call and
    closed by :meth:`close` (or when a later thread opens one after that thread has ended);
    ingests from several threads queue for the write lock like ingests from several
    processes. Call :meth:`close` once the other threads are done with the store.

    Args:
        path: the database file; created with the schema when missing (``create=True``).
            In-memory databases (``":memory:"``, ``""``) are refused: each connection would
            see a different, empty one.
        tolerance: the largest gap between consecutive reports of one event (inclusive).
            It is recorded when the database is created; None means the default (12
            minutes) for a new database and the recorded value for an existing one.
        create: when False, a missing or empty file is an error instead of a new database.
        busy_timeout: seconds to wait for another process's ingest to finish.
        read_only: open an existing database for reading only (implies ``create=False``):
            nothing is ever written to it, and it works in a read-only folder. SQLite may
            make the database's ``-wal`` and ``-shm`` files next to it, as any reader of a
            WAL database does; where it cannot (a read-only folder, which no writer can use
            either), the database is read as immutable.

    Raises:
        EventStoreError: the path is in-memory, or the file cannot be opened, is not an
            event database, has a newer schema, or was created with another tolerance.
        ValueError: the tolerance is negative.
    """

    def __init__(  # pylint: disable=too-many-arguments
        self,
        path: str | os.PathLike[str],
        *,
        tolerance: timedelta | None = None,
        create: bool = True,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        read_only: bool = False,
    ) -> None:
        self.path = str(path)
        wanted = None if tolerance is None else tolerance_micros(tolerance)
        if self.path in ("", ":memory:"):
            raise EventStoreError(
                f"the event database must be a file, not {self.path!r}; give a file path"
            )
        create = create and not read_only
        if not create and not Path(path).is_file():
            raise EventStoreError(
                f"no event database at {self.path}; ingest records into it first, "
                "or give the path of an existing one"
            )
        self._busy_timeout = busy_timeout
        self._read_only = read_only
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self._closed = False
        try:
            self._tolerance = self._prepare(wanted, create)
        except BaseException:
            self.close()
            raise

    @property
    def tolerance(self) -> timedelta:
        """The tolerance recorded in the database (the largest gap inside an event)."""
        return timedelta(microseconds=self._tolerance)

    def __enter__(self) -> EventStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connections of every thread (idempotent)."""
        with self._lock:
            self._closed = True
            connections = list(self._connections.values())
            self._connections.clear()
        for connection in connections:
            connection.close()

    @property
    def _db(self) -> sqlite3.Connection:
        """The calling thread's connection, opened on its first use.

        Raises:
            sqlite3.ProgrammingError: the store was closed (each caller says what failed,
                as for any other SQLite error).
            EventStoreError: the database cannot be opened.
        """
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or self._closed:
            connection = self._open_connection()
        return connection

    def _open_connection(self) -> sqlite3.Connection:
        """Open a connection for the calling thread and register it for :meth:`close`."""
        connection = self._connect()
        with self._lock:
            if self._closed:
                connection.close()
                raise sqlite3.ProgrammingError(_CLOSED)
            # Threads that have ended will not use theirs again (thread pools keep theirs).
            for thread in [thread for thread in self._connections if not thread.is_alive()]:
                self._connections.pop(thread).close()
            self._connections[threading.current_thread()] = connection
        self._local.connection = connection
        return connection

    def _connect(self) -> sqlite3.Connection:
        """A new connection, set up (not yet registered).

        Raises:
            EventStoreError: the database cannot be opened.
        """
        if not self._read_only:
            return self._open(self.path, uri=False)
        base = Path(self.path).absolute().as_uri()
        connection = self._open(f"{base}?mode=ro", uri=True)
        try:
            # A WAL database needs its -shm file even to be read: the first read fails
            # when that file is missing and cannot be made (a read-only folder).
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            connection.close()
            # Nobody can write the database without making that file either, so reading
            # it as immutable (no locks, no -shm) sees it as it is.
            return self._open(f"{base}?mode=ro&immutable=1", uri=True)
        return connection

    def _open(self, target: str, *, uri: bool) -> sqlite3.Connection:
        """Connect to ``target`` (a path or a URI) and set the connection up."""
        try:
            connection = sqlite3.connect(
                target,
                timeout=self._busy_timeout,
                isolation_level=None,
                check_same_thread=False,  # only so that close() may close it from any thread
                uri=uri,
            )
        except sqlite3.Error as err:
            raise EventStoreError(f"cannot open the event database {self.path}: {err}") from err
        try:
            if not self._read_only:
                connection.execute("PRAGMA synchronous = NORMAL")
            connection.execute("PRAGMA cache_size = -65536")  # KiB: 64 MiB for large batches
        except sqlite3.Error as err:
            connection.close()
            raise EventStoreError(f"cannot use {self.path} as an event database: {err}") from err
        return connection

    def _prepare(self, wanted: int | None, create: bool) -> int:
        """Create or check the schema, return the tolerance (µs)."""
        try:
            version = self._user_version()
            if version == 0:
                if not create:
                    raise EventStoreError(
                        f"{self.path} is not an event database (it has no event store "
                        "schema); pass another path"
                    )
                # WAL is a property of the file, kept once set; it cannot change inside
                # a transaction, so it is set first.
                self._db.execute("PRAGMA journal_mode = WAL")
                # Only creation takes the write lock: opening an existing database must not
                # wait for another process's long ingest. The check is repeated under the
                # lock because another process may have created the schema meanwhile.
                with self._transaction():
                    version = self._user_version()
                    if version == 0:
                        self._create_schema(wanted)
                        version = SCHEMA_VERSION
            if version != SCHEMA_VERSION:
                raise EventStoreError(
                    f"{self.path} has event store schema version {version}, but this "
                    f"version of outages_processor reads version {SCHEMA_VERSION}; "
                    "upgrade outages_processor or use another database"
                )
            recorded = self._setting("tolerance_us")
        except sqlite3.Error as err:
            raise EventStoreError(
                f"cannot use {self.path} as an event database: {err}"
            ) from err
        if wanted is not None and wanted != recorded:
            raise EventStoreError(
                f"{self.path} was created with a tolerance of {_minutes(recorded)} minutes, "
                f"not {_minutes(wanted)}; give no tolerance to use the recorded one, "
                "or use another database"
            )
        return recorded

    def _create_schema(self, wanted: int | None) -> None:
        db = self._db
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if tables:
            raise EventStoreError(
                f"{self.path} is not an event database (it has no event store schema); "
                "pass another path"
            )
        for statement in _SCHEMA:
            db.execute(statement)
        tolerance = tolerance_micros(DEFAULT_TOLERANCE) if wanted is None else wanted
        db.executemany(
            "INSERT INTO settings (name, value) VALUES (?, ?)",
            [("tolerance_us", tolerance), ("max_event_us", 0)],
        )
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _user_version(self) -> int:
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        return version

    def _setting(self, name: str) -> int:
        row = self._db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise EventStoreError(f"{self.path} lacks the setting {name!r}; it is damaged")
        value: int = row[0]
        return value

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: the write lock first, then all or nothing."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def ingest(
        self,
        records: Iterable[RecordInput],
        *,
        progress: ProgressCallback | None = None,
    ) -> IngestResult:
        """Store new reports and update the events, as one all-or-nothing transaction.

        Duplicates (a controller, type and timestamp already stored or repeated in the
        batch) change nothing. The batch is grouped and sorted in memory first, then each
        affected ``(controller_id, outage_type)`` is touched once.

        Args:
            records: the reports, in any order: :class:`OutageRecord` values or mappings
                ``{controller_id, outage_type, timestamp}``; a :class:`RecordBatch` (what
                :func:`~outages_processor.inputs.record_inputs.read_records` returns) is
                ingested without building a model object per record, and its rejects are
                counted as skipped.
            progress: called as ``progress("storing", done, total)`` now and then, counting
                the records of the batch.

        Returns:
            The counts of new, duplicate and skipped records and of events created,
            extended and merged.

        Raises:
            EventStoreError: the database failed (for example it stayed locked by another
                process for longer than ``busy_timeout``), or the store is read-only;
                nothing was stored.
            InputDataError: a hand-made :class:`RecordBatch` holds an id that no record
                could hold (see :func:`~outages_processor.models.events.identifier_problem`);
                nothing was stored.
        """
        if self._read_only:
            raise EventStoreError(
                f"{self.path} was opened read-only; open it without read_only to ingest"
            )
        batch = records if isinstance(records, RecordBatch) else RecordBatch.from_records(records)
        stamps = _group_by_key(batch.timestamps)
        total = len(batch)
        report = _ignore if progress is None else functools.partial(_storing, progress, total)
        changes = _Changes()
        if stamps:  # an empty batch needs no transaction
            try:
                with self._transaction():
                    self._ingest_grouped(stamps, changes, report)
            except sqlite3.OperationalError as err:
                # By the code, not the text (another failure may mention "locked"); the low
                # byte of an extended code (SQLITE_BUSY_SNAPSHOT, ...) is its primary code.
                # An error raised by Python code rather than SQLite has no code at all.
                code = getattr(err, "sqlite_errorcode", 0) & 0xFF
                if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise EventStoreBusyError(
                        f"{self.path} stayed locked by another writer; nothing was stored, "
                        "try again (or raise the busy timeout)"
                    ) from err
                raise EventStoreError(self._failure(err)) from err
            except sqlite3.Error as err:
                raise EventStoreError(self._failure(err)) from err
        report(total)
        return IngestResult(
            records_new=changes.records,
            records_duplicate=total - changes.records,
            events_created=changes.created,
            events_extended=changes.extended,
            events_merged=changes.merged,
            rejects=batch.rejects,
        )

    def _failure(self, err: sqlite3.Error) -> str:
        return f"the event database {self.path} failed: {err}; nothing was stored"

    def _ingest_grouped(
        self, stamps: dict[_Key, list[int]], changes: _Changes, report: Callable[[int], None]
    ) -> None:
        """The body of one ingest transaction: compute the changes, then write them."""
        known = self._known_series(stamps)
        self._add_series(sorted(stamps.keys() - known.keys()), stamps, changes)
        if known:
            self._merge_known(stamps, known, changes)
        self._write(changes, report)

    def _known_series(self, stamps: dict[_Key, list[int]]) -> dict[_Key, int]:
        """The series ids of the batch's keys that are already stored."""
        db = self._db
        if db.execute("SELECT NOT EXISTS (SELECT 1 FROM series)").fetchone()[0]:
            return {}  # a new database: nothing to look up
        known: dict[_Key, int] = {}
        # One indexed lookup per key (not per record), with the exact text bound.
        for key in stamps:
            row = db.execute(_FIND_SERIES, key).fetchone()
            if row is not None:
                known[key] = row[0]
        return known

    def _add_series(
        self, keys: list[_Key], stamps: dict[_Key, list[int]], changes: _Changes
    ) -> None:
        """Store keys seen for the first time; all their events are new."""
        query = "SELECT coalesce(max(series_id), 0) + 1 FROM series"
        first: int = self._db.execute(query).fetchone()[0]
        # Ids follow the sorted keys, so the records of new keys are appended to the B-tree.
        ids = range(first, first + len(keys))
        self._db.executemany(
            "INSERT INTO series (series_id, controller_id, outage_type) VALUES (?, ?, ?)",
            [(series_id, key[0], key[1]) for series_id, key in zip(ids, keys)],
        )
        tolerance = self._tolerance
        for series_id, key in zip(ids, keys):
            values = stamps[key]
            changes.inserts.append((series_id, values))
            spans = group_timestamps(values, tolerance)
            changes.created += len(spans)
            changes.new_events.extend([(series_id, *span) for span in spans])

    def _merge_known(
        self, stamps: dict[_Key, list[int]], known: dict[_Key, int], changes: _Changes
    ) -> None:
        """Merge the batch into the stored events of keys that already have some."""
        by_id = {series_id: stamps[key] for key, series_id in known.items()}
        near = self._near_events(by_id)
        stored = self._stored_among(by_id, near)
        for series_id, values in by_id.items():
            seen = stored.get(series_id)
            fresh = [value for value in values if value not in seen] if seen else values
            if fresh:
                spans = near.get(series_id, [])
                outcome = merge_timestamps(spans, fresh, self._tolerance)
                changes.inserts.append((series_id, fresh))
                changes.old_events.extend((series_id, spans[i][0]) for i in outcome.replaced)
                changes.new_events.extend([(series_id, *span) for span in outcome.spans])
                changes.created += outcome.created
                changes.extended += outcome.extended
                changes.merged += outcome.merged

    def _near_events(self, by_id: dict[int, list[int]]) -> dict[int, list[Span]]:
        """Per series id, the stored events within the tolerance of the batch's timestamps."""
        tolerance = self._tolerance
        ranges = [
            [series_id, values[0] - tolerance, values[-1] + tolerance]
            for series_id, values in by_id.items()
        ]
        near: dict[int, list[Span]] = {}
        for series_id, start, end, count in self._db.execute(_NEAR_EVENTS, (json.dumps(ranges),)):
            near.setdefault(series_id, []).append((start, end, count))
        return near

    def _stored_among(
        self, by_id: dict[int, list[int]], near: dict[int, list[Span]]
    ) -> dict[int, set[int]]:
        """The batch timestamps that are already stored, per series id.

        Every stored record lies inside its event's [start, end], so only batch timestamps
        inside a nearby event can be stored already; only those are looked up.
        """
        candidates: list[tuple[int, int]] = []
        for series_id, spans in near.items():
            spans.sort()  # merge_timestamps needs them sorted too
            starts = [start for start, _, _ in spans]
            for value in by_id[series_id]:
                index = bisect_right(starts, value) - 1
                if index >= 0 and value <= spans[index][1]:
                    candidates.append((series_id, value))
        stored: dict[int, set[int]] = {}
        if candidates:
            for series_id, value in self._db.execute(_STORED_RECORDS, (json.dumps(candidates),)):
                stored.setdefault(series_id, set()).add(value)
        return stored

    def _write(self, changes: _Changes, report: Callable[[int], None]) -> None:
        """Write the records and events of one batch."""
        changes.inserts.sort()  # by series_id: the records B-tree then grows by appends
        changes.records = self._insert_records(changes.inserts, report)
        self._db.executemany(
            "DELETE FROM events WHERE series_id = ? AND start_us = ?", changes.old_events
        )
        self._db.executemany(
            "INSERT INTO events (series_id, start_us, end_us, record_count) VALUES (?, ?, ?, ?)",
            changes.new_events,
        )
        if changes.new_events:
            longest = max(end - start for _, start, end, _ in changes.new_events)
            self._db.execute(
                "UPDATE settings SET value = max(value, ?) WHERE name = 'max_event_us'",
                (longest,),
            )

    def _insert_records(
        self, inserts: list[tuple[int, list[int]]], report: Callable[[int], None]
    ) -> int:
        """Insert sorted timestamps per series id; return how many records were inserted."""
        done = 0
        start = 0
        while start < len(inserts):
            # Chunks of about _PROGRESS_CHUNK records, so progress can be shown.
            stop, size = start, 0
            while stop < len(inserts) and size < _PROGRESS_CHUNK:
                size += len(inserts[stop][1])
                stop += 1
            self._db.executemany(
                _INSERT_RECORDS,
                # str() of a list of ints is its JSON text, and quicker than json.dumps.
                [(series_id, str(values)) for series_id, values in inserts[start:stop]],
            )
            done += size
            report(done)
            start = stop
        return done

    def events(
        self,
        controller_id: str | None = None,
        outage_type: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
    ) -> Events:
        """The events that match every given filter.

        Args:
            controller_id: only this controller's events.
            outage_type: only events of this type.
            start: only events that end at or after this instant: a datetime or an ISO
                8601 string (naive or no offset = UTC).
            end: only events that start at or before this instant (the same forms). With
                ``start``, this selects the events that overlap ``[start, end]``.

        Returns:
            The events sorted by start time, controller id, outage type: a list, with
            ``to_dicts()`` and ``to_pandas()``.

        Raises:
            TypeError: ``start`` or ``end`` is neither a string nor a datetime.
            ValueError: ``start`` or ``end`` is not a timestamp, or ``start`` is after ``end``.
            EventStoreError: the database failed.
        """
        lower = None if start is None else epoch_micros(as_instant(start, "start"))
        upper = None if end is None else epoch_micros(as_instant(end, "end"))
        if lower is not None and upper is not None and lower > upper:
            raise ValueError(f"the start ({start}) is after the end ({end})")
        where: list[str] = []
        params: list[Any] = []
        if controller_id is not None:
            where.append("s.controller_id = ?")
            params.append(controller_id)
        if outage_type is not None:
            where.append("s.outage_type = ?")
            params.append(outage_type)
        if lower is not None:
            # The lower bound on start_us turns the scan into an index range (see module).
            where.append("e.end_us >= ?")
            where.append(
                "e.start_us >= ? - (SELECT value FROM settings WHERE name = 'max_event_us')"
            )
            params.extend([lower, lower])
        if upper is not None:
            where.append("e.start_us <= ?")
            params.append(upper)
        sql = _SELECT_EVENTS + (" WHERE " + " AND ".join(where) if where else "") + _ORDER_EVENTS
        try:
            rows = self._db.execute(sql, params).fetchall()
        except UnicodeEncodeError:
            return Events()  # a filter with a lone surrogate: no stored id can hold one
        except sqlite3.Error as err:
            raise EventStoreError(f"cannot read {self.path}: {err}") from err
        return Events(
            OutageEvent(
                controller, kind, from_epoch_micros(first), from_epoch_micros(last), count
            )
            for controller, kind, first, last, count in rows
        )

    def records(self) -> list[OutageRecord]:
        """Every stored report, sorted by controller id, outage type, timestamp.

        Returns:
            The records (one per distinct controller, type and timestamp).
        """
        rows = self._db.execute(
            "SELECT s.controller_id, s.outage_type, r.timestamp_us FROM series AS s"
            " JOIN records AS r ON r.series_id = s.series_id"
            " ORDER BY s.controller_id, s.outage_type, r.timestamp_us"
        )
        return [
            OutageRecord(controller, kind, from_epoch_micros(micros))
            for controller, kind, micros in rows
        ]

    def counts(self) -> dict[str, int]:
        """How much is stored: ``{"records": n, "events": n, "series": n}``."""
        return {
            name: self._db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for name in ("records", "events", "series")
        }


@dataclasses.dataclass
class _Changes:
    """What one batch changes: rows to write, and counts."""

    inserts: list[tuple[int, list[int]]] = dataclasses.field(default_factory=list)
    new_events: list[tuple[int, int, int, int]] = dataclasses.field(default_factory=list)
    old_events: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    created: int = 0
    extended: int = 0
    merged: int = 0
    records: int = 0


def _group_by_key(
    timestamps: Mapping[str, Mapping[str, Sequence[int]]],
) -> dict[_Key, list[int]]:
    """The sorted distinct timestamps of each (controller_id, outage_type) of a batch.

    Raises:
        InputDataError: an id is not fit to store (the readers and models never make one).
    """
    grouped: dict[_Key, list[int]] = {}
    for controller_id, by_type in timestamps.items():
        for outage_type, values in by_type.items():
            if values:
                for name, text in (("controller_id", controller_id), ("outage_type", outage_type)):
                    problem = identifier_problem(name, text)
                    if problem is not None:
                        raise InputDataError(f"{problem}; nothing was stored")
                grouped[(controller_id, outage_type)] = sorted(set(values))
    return grouped


def _ignore(_done: int) -> None:
    """A progress callback that shows nothing."""


def _storing(progress: ProgressCallback, total: int, done: int) -> None:
    """Report ``done`` of the batch's ``total`` records as the ``"storing"`` stage."""
    progress("storing", done, total)


def _minutes(micros: int) -> str:
    """A tolerance in minutes, as short as exact: 12, 7.5."""
    return f"{micros / 60_000_000:g}"
