"""The outage event store: every accepted report and the events they form, in one SQLite file.

The schema, its SQL and the checks made on opening live in
:mod:`~outages_processor.stores._event_schema`; the ingest of a batch or a group of batches in
:mod:`~outages_processor.stores._event_ingest`.

Concurrency and durability: the file is in WAL mode (readers never block the writer). Each
ingest is one ``BEGIN IMMEDIATE`` transaction: it takes the write lock *before* reading the
events it will change, so writers in several processes queue (up to ``busy_timeout``) and
each sees the previous one's commit; nothing is lost, duplicated or left overlapping, and a
failure rolls the whole batch back. ``synchronous=NORMAL``: a committed batch survives a
crash of the process; a power cut may lose the last batches, never consistency.

Threads: one :class:`EventStore` may be shared by any number of threads (a web framework's
thread pool, say). Each thread gets its own connection, opened on its first call, so reads
run in parallel and an ingest in one thread is a transaction like another process's.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from outages_processor._time import as_instant
from outages_processor.core.events import tolerance_micros
from outages_processor.errors import EventStoreError, InputDataError, OutagesError
from outages_processor.models.common import ProgressCallback
from outages_processor.models.events import (
    Events,
    IngestResult,
    OutageEvent,
    OutageRecord,
    RecordBatch,
    RecordInput,
    epoch_micros,
    from_epoch_micros,
)
from outages_processor.stores import _event_ingest, _event_schema
from outages_processor.stores._event_schema import SCHEMA_VERSION
from outages_processor.stores._sqlite import (
    SQLiteFile,
    ThreadConnections,
    open_connection,
    read_only_uri,
    transaction,
    use_wal,
    user_version,
)

__all__ = [
    "DEFAULT_BUSY_TIMEOUT",
    "SCHEMA_VERSION",
    "EventStore",
]

DEFAULT_BUSY_TIMEOUT = 60.0
"""Seconds a writer waits for another process's transaction before giving up."""

_CLOSED = "Cannot operate on a closed database."
"""What sqlite3 says of a closed connection; a closed store says the same."""


class EventStore(SQLiteFile):
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
        self._connections = ThreadConnections(
            self._connect, lambda: sqlite3.ProgrammingError(_CLOSED)
        )
        try:
            self._tolerance = self._prepare(wanted, create)
        except BaseException:
            self.close()
            raise

    @property
    def tolerance(self) -> timedelta:
        """The tolerance recorded in the database (the largest gap inside an event)."""
        return timedelta(microseconds=self._tolerance)

    def _connect(self) -> sqlite3.Connection:
        """A new connection, set up (not yet registered).

        Raises:
            EventStoreError: the database cannot be opened.
        """
        if not self._read_only:
            return self._open(self.path, uri=False)
        connection = self._open(read_only_uri(self.path), uri=True)
        try:
            # A WAL database needs its -shm file even to be read: the first read fails
            # when that file is missing and cannot be made (a read-only folder).
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            connection.close()
            # Nobody can write the database without making that file either, so reading
            # it as immutable (no locks, no -shm) sees it as it is.
            return self._open(read_only_uri(self.path, immutable=True), uri=True)
        return connection

    def _open(self, target: str, *, uri: bool) -> sqlite3.Connection:
        """Connect to ``target`` (a path or a URI) and set the connection up."""
        return open_connection(
            target,
            uri=uri,
            timeout=self._busy_timeout,
            writable=not self._read_only,
            path=self.path,
            kind="event",
            error=EventStoreError,
        )

    def _prepare(self, wanted: int | None, create: bool) -> int:
        """Create or check the schema, return the tolerance (µs)."""
        try:
            version = self._user_version()
            if version == 0:
                if not create:
                    raise _event_schema.not_an_event_database(self.path)
                # WAL is a property of the file, kept once set; it cannot change inside
                # a transaction, so it is set first.
                use_wal(self._db)
                # Only creation takes the write lock: opening an existing database must not
                # wait for another process's long ingest. The check is repeated under the
                # lock because another process may have created the schema meanwhile.
                with self._transaction():
                    version = self._user_version()
                    if version == 0:
                        _event_schema.create_schema(self._db, self.path, wanted)
                        version = SCHEMA_VERSION
            _event_schema.check_version(self.path, version)
            recorded = _event_schema.read_setting(self._db, self.path, "tolerance_us")
        except sqlite3.Error as err:
            raise EventStoreError(
                f"cannot use {self.path} as an event database: {err}"
            ) from err
        _event_schema.check_tolerance(self.path, wanted, recorded)
        return recorded

    def _user_version(self) -> int:
        return user_version(self._db)

    def _transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction: the write lock first, then all or nothing."""
        return transaction(self._db)

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
        stamps = _event_ingest.group_by_key(batch.timestamps)
        total = len(batch)
        report = _event_ingest.progress_reporter(progress, total)
        counts = _event_ingest.Counts()
        if stamps:  # an empty batch needs no transaction
            try:
                with self._transaction():
                    counts = self._ingest_grouped([stamps], report)[0]
            except sqlite3.Error as err:
                raise _event_ingest.ingest_error(err, self.path) from err
        report(total)
        return _result(batch, counts)

    def ingest_many(
        self, batches: Sequence[Iterable[RecordInput]]
    ) -> list[IngestResult | OutagesError]:
        """Ingest several batches in ONE transaction, each all-or-nothing.

        A group commit: the store ends as if each batch had been ingested by :meth:`ingest`,
        one after the other, and each result counts what its batch did after the batches
        before it. The whole group is planned and written at once (its series, events and
        records are read once), which is what makes many small batches fast.

        A batch holding an id no record could hold is refused alone, before the
        transaction: its slot holds the :class:`InputDataError` and the others go on. A
        database failure fails the group's transaction as a whole: every batch with
        records to store holds that :class:`EventStoreError`, and nothing of the group is
        stored (so each batch is still stored whole or not at all).

        Args:
            batches: the batches, as :meth:`ingest` takes them (a :class:`RecordBatch` is
                ingested without building a model object per record).

        Returns:
            Per batch, in order: its :class:`IngestResult`, or the :class:`InputDataError`
            that refused it, or the :class:`EventStoreError` that rolled the group back
            (for example the write lock was not had within ``busy_timeout``).

        Raises:
            EventStoreError: the store is read-only.
            TypeError, KeyError, ValueError: an item of a batch is not a valid record (as
                :meth:`RecordBatch.from_records`); nothing was stored.
        """
        if self._read_only:
            raise EventStoreError(
                f"{self.path} was opened read-only; open it without read_only to ingest"
            )
        prepared = [_prepared(records) for records in batches]
        stored = [stamps for _, stamps in prepared if isinstance(stamps, dict) and stamps]
        if not stored:
            return [_empty_result(batch, stamps) for batch, stamps in prepared]
        try:
            with self._transaction():
                report = _event_ingest.progress_reporter(None, 0)
                counts = iter(self._ingest_grouped(stored, report))
        except sqlite3.Error as err:
            error = _event_ingest.ingest_error(err, self.path)
            return [
                error if isinstance(stamps, dict) and stamps else _empty_result(batch, stamps)
                for batch, stamps in prepared
            ]
        return [
            _result(batch, next(counts))
            if isinstance(stamps, dict) and stamps
            else _empty_result(batch, stamps)
            for batch, stamps in prepared
        ]

    def _ingest_grouped(
        self,
        batches: list[dict[_event_ingest.Key, list[int]]],
        report: Callable[[int], None],
    ) -> list[_event_ingest.Counts]:
        """The body of one ingest transaction: plan the batches, then write them at once.

        Returns:
            Each batch's counts, in order.
        """
        changes, counts = _event_ingest.plan_changes(self._db, self._tolerance, batches)
        self._insert_records(changes.inserts, report)
        _event_ingest.write_events(self._db, changes)
        return counts

    def _insert_records(
        self, inserts: list[tuple[int, list[int]]], report: Callable[[int], None]
    ) -> int:
        """Insert sorted timestamps per series id; return how many records were inserted."""
        return _event_ingest.insert_records(self._db, inserts, report)

    def events(
        self,
        controller_id: str | None = None,
        outage_type: str | None = None,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        *,
        after: tuple[datetime, str, str] | None = None,
        limit: int | None = None,
    ) -> Events:
        """The events that match every given filter.

        Args:
            controller_id: only this controller's events.
            outage_type: only events of this type.
            start: only events that end at or after this instant: a datetime or an ISO
                8601 string (naive or no offset = UTC).
            end: only events that start at or before this instant (the same forms). With
                ``start``, this selects the events that overlap ``[start, end]``.
            after: only the events after this ``(start_time, controller_id, outage_type)``
                in the order below: the key of the last event of the previous page (keyset
                pagination).
            limit: at most this many events (at least 1).

        Returns:
            The events sorted by start time, controller id, outage type: a list, with
            ``to_dicts()`` and ``to_pandas()``.

        Raises:
            TypeError: ``start`` or ``end`` is neither a string nor a datetime.
            ValueError: ``start`` or ``end`` is not a timestamp, ``start`` is after ``end``,
                or ``limit`` is less than 1.
            EventStoreError: the database failed.
        """
        lower = None if start is None else epoch_micros(as_instant(start, "start"))
        upper = None if end is None else epoch_micros(as_instant(end, "end"))
        if lower is not None and upper is not None and lower > upper:
            raise ValueError(f"the start ({start}) is after the end ({end})")
        if limit is not None and limit < 1:
            raise ValueError(f"the limit must be at least 1, not {limit}")
        key = None
        if after is not None:
            key = (epoch_micros(as_instant(after[0], "after")), after[1], after[2])
        sql, params = _event_schema.events_query(
            controller_id, outage_type, lower, upper, after=key, limit=limit
        )
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
        rows = self._db.execute(_event_schema.SELECT_RECORDS)
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


def _prepared(
    records: Iterable[RecordInput],
) -> tuple[RecordBatch, dict[_event_ingest.Key, list[int]] | OutagesError]:
    """A batch of a group commit and its grouped timestamps, or why it cannot be stored."""
    batch = records if isinstance(records, RecordBatch) else RecordBatch.from_records(records)
    try:
        return batch, _event_ingest.group_by_key(batch.timestamps)
    except InputDataError as err:
        return batch, err


def _empty_result(
    batch: RecordBatch, stamps: dict[_event_ingest.Key, list[int]] | OutagesError
) -> IngestResult | OutagesError:
    """The result of a batch that stores nothing: its error, or no change."""
    if isinstance(stamps, OutagesError):
        return stamps
    return IngestResult(records_duplicate=len(batch), rejects=batch.rejects)


def _result(batch: RecordBatch, counts: _event_ingest.Counts) -> IngestResult:
    """What ingesting ``batch`` did, from its counts."""
    return IngestResult(
        records_new=counts.records,
        records_duplicate=len(batch) - counts.records,
        events_created=counts.created,
        events_extended=counts.extended,
        events_merged=counts.merged,
        rejects=batch.rejects,
    )
