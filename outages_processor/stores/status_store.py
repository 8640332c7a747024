"""The status database: store polls, business hours and time zones, in one SQLite file.

This is the narrow storage interface under
:class:`~outages_processor.reports.status_store.StatusStore` (which reads the input files
and computes reports): plain values in, plain values out. A server database later is one
more module with the same methods. The schema and its SQL live in
:mod:`~outages_processor.stores._status_schema`.

Concurrency and durability, as the event store: the file is in WAL mode (readers never
block the writer); each write is one ``BEGIN IMMEDIATE`` transaction, all or nothing,
and writers in several processes queue for the lock (up to ``timeout``);
``synchronous=NORMAL``. A report's reads are one read transaction: one snapshot.

Threads: one :class:`StatusDatabase` may be shared by any number of threads; each thread
gets its own connection, opened on its first call and closed by :meth:`close`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import attrs

from outages_processor.errors import StatusStoreBusyError, StatusStoreError
from outages_processor.stores import _status_schema as schema
from outages_processor.stores._sqlite import (
    SQLiteFile,
    ThreadConnections,
    is_busy,
    open_connection,
    read_only_uri,
    transaction,
    use_wal,
    user_version,
)

__all__ = ["DEFAULT_TIMEOUT", "StatusDatabase", "StoredWindow"]

DEFAULT_TIMEOUT: Final = 30.0
"""Seconds a writer waits for another process's transaction before giving up."""

_CHUNK: Final = 50_000
"""Polls inserted per statement batch: a large input is never held in memory whole."""


@attrs.frozen
class StoredWindow:
    """What a report needs from the database, read in one snapshot.

    Attributes:
        latest: the latest poll of all stores (µs since the epoch).
        polls: ``(store_id, at_us, active)`` sorted by store and time: per store, its
            polls in the window asked for, the last one before it and the first after.
        hours: ``(store_id, day, start_s, end_s)`` rows.
        timezones: ``(store_id, zone)`` rows.
    """

    latest: int
    polls: list[tuple[str, int, int]]
    hours: list[tuple[str, int, int, int]]
    timezones: list[tuple[str, str]]


class StatusDatabase(SQLiteFile):
    """Polls, business hours and time zones in a SQLite file, shared by threads and processes.

    Args:
        path: the database file; created with the schema when missing (unless
            ``read_only``). In-memory databases are refused: each connection would see a
            different, empty one.
        timeout: seconds to wait for another process's write to finish.
        read_only: open an existing database for reading only; writes raise.
        create: when False, a missing file is an error instead of a new database.

    Raises:
        StatusStoreError: the path is in-memory, or the file is missing (``read_only`` or
            not ``create``), cannot be opened, is not a status database or has a newer
            schema.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT,
        read_only: bool = False, create: bool = True,
    ) -> None:
        self.path = str(path)
        if self.path in ("", ":memory:"):
            raise StatusStoreError(
                f"the status database must be a file, not {self.path!r}; give a file path"
            )
        if (read_only or not create) and not Path(path).is_file():
            raise StatusStoreError(
                f"no status database at {self.path}; ingest polls into it first, "
                "or give the path of an existing one"
            )
        self.read_only = read_only
        self._timeout = timeout
        self._connections = ThreadConnections(
            self._connect,
            lambda: StatusStoreError(f"the status database {self.path} was closed"),
        )
        try:
            self._prepare()
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- connections

    def _connect(self) -> sqlite3.Connection:
        """A new connection, set up."""
        target, uri = self.path, False
        if self.read_only:
            target, uri = read_only_uri(self.path), True
        return open_connection(
            target,
            uri=uri,
            timeout=self._timeout,
            writable=not self.read_only,
            path=self.path,
            kind="status",
            error=StatusStoreError,
        )

    def _prepare(self) -> None:
        """Create or check the schema."""
        try:
            version = user_version(self._db)
            if version == 0:
                if self.read_only:
                    raise schema.not_a_status_database(self.path)
                # WAL cannot change inside a transaction, so it is set first.
                use_wal(self._db)
                # Checked again under the write lock: another process may have created
                # the schema meanwhile.
                with self._transaction():
                    version = user_version(self._db)
                    if version == 0:
                        schema.create_schema(self._db, self.path)
                        version = schema.SCHEMA_VERSION
            schema.check_version(self._db, self.path, version)
        except sqlite3.Error as err:
            raise _failure(err, self.path, "cannot use it as a status database") from err

    def _transaction(
        self, mode: str = "IMMEDIATE"
    ) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One transaction: with IMMEDIATE, the write lock first, then all or nothing."""
        return transaction(self._db, mode)

    def _writable(self) -> None:
        if self.read_only:
            raise StatusStoreError(
                f"{self.path} was opened read-only; open it without read_only to write"
            )

    # ---------------------------------------------------------------- writes

    def write(
        self,
        polls: Iterable[tuple[str, int, bool]] | None = None,
        hours: Iterable[tuple[str, int, int, int]] | None = None,
        timezones: Iterable[tuple[str, str]] | None = None,
    ) -> tuple[int, int, int]:
        """Add polls and replace the hours and time zones, as one transaction.

        The iterables are consumed inside the transaction: an exception they raise (a bad
        input row) rolls everything back and propagates unchanged.

        Args:
            polls: ``(store_id, at_us, active)``; a poll already stored (same store and
                instant) is a duplicate, except that an inactive one turns a stored
                active one inactive.
            hours: ``(store_id, day, start_s, end_s)`` rows replacing every stored row;
                None leaves them as they are.
            timezones: ``(store_id, zone)`` rows replacing every stored row (None: kept).

        Returns:
            ``(new polls, hours rows stored, time zones stored)`` (0 for what was None).

        Raises:
            StatusStoreError: the store is read-only, or the database failed (nothing
                was stored); :class:`StatusStoreBusyError` when another writer held the
                lock longer than the timeout.
        """
        self._writable()
        try:
            with self._transaction() as db:
                new = 0 if polls is None else _insert_polls(db, polls)
                stored_hours = stored_zones = 0
                if hours is not None:
                    db.execute("DELETE FROM hours")
                    stored_hours = db.executemany(schema.INSERT_HOURS, hours).rowcount
                if timezones is not None:
                    db.execute("DELETE FROM timezones")
                    stored_zones = db.executemany(schema.INSERT_TIMEZONES, timezones).rowcount
        except sqlite3.Error as err:
            raise _failure(err, self.path, "nothing was stored") from err
        return new, stored_hours, stored_zones

    def prune(self, before: int) -> int:
        """Drop every poll before an instant, and the stores left without polls.

        Args:
            before: the instant (µs since the epoch); polls at it are kept.

        Returns:
            How many polls were dropped.

        Raises:
            StatusStoreError: as :meth:`write` (nothing was dropped).
        """
        self._writable()
        try:
            with self._transaction() as db:
                dropped = db.execute("DELETE FROM polls WHERE at < ?", (before,)).rowcount
                db.execute(
                    "DELETE FROM stores WHERE NOT EXISTS"
                    " (SELECT 1 FROM polls AS p WHERE p.store_id = stores.store_id)"
                )
        except sqlite3.Error as err:
            raise _failure(err, self.path, "nothing was dropped") from err
        return dropped

    # ---------------------------------------------------------------- reads

    def window(self, now: int | None, before: int, after: int) -> StoredWindow | None:
        """Read what a report of the week before ``now`` needs, in one snapshot.

        Args:
            now: the instant the windows end at (µs), or None for the latest poll.
            before: how far before ``now`` the polls are wanted (µs): the window starts
                at ``now - before``.
            after: how far after ``now`` (µs).

        Returns:
            The latest poll, the polls of ``[now - before, now + after]`` with the last
            one before and the first one after, per store; every hours and time zones
            row. None when there are no polls at all.

        Raises:
            StatusStoreError: the database failed.
        """
        try:
            with self._transaction("DEFERRED") as db:
                latest = db.execute(schema.LATEST).fetchone()[0]
                if latest is None:
                    return None
                end = latest if now is None else now
                bounds = {"lo": end - before, "hi": end + after}
                return StoredWindow(
                    latest,
                    db.execute(schema.WINDOW_POLLS, bounds).fetchall(),
                    db.execute(schema.SELECT_HOURS).fetchall(),
                    db.execute(schema.SELECT_TIMEZONES).fetchall(),
                )
        except sqlite3.Error as err:
            raise _failure(err, self.path, "cannot read it") from err

    def polls(self) -> list[tuple[str, int, int]]:
        """Every stored poll ``(store_id, at_us, active)``, by store and time."""
        return self._read("SELECT store_id, at, active FROM polls ORDER BY store_id, at")

    def hours(self) -> list[tuple[str, int, int, int]]:
        """Every stored hours row ``(store_id, day, start_s, end_s)``, sorted."""
        return self._read(schema.SELECT_HOURS + " ORDER BY store_id, day, start_s, end_s")

    def timezones(self) -> list[tuple[str, str]]:
        """Every stored time zone ``(store_id, zone)``, by store."""
        return self._read(schema.SELECT_TIMEZONES + " ORDER BY store_id")

    def has_polls(self) -> bool:
        """True when at least one poll is stored (one index probe, whatever the size)."""
        rows = self._read("SELECT EXISTS (SELECT 1 FROM polls)")
        return bool(rows[0][0])

    def counts(self) -> dict[str, int]:
        """How much is stored: ``{"polls": n, "stores": n, "hours": n, "timezones": n}``."""
        names = ("polls", "stores", "hours", "timezones")
        try:
            with self._transaction("DEFERRED") as db:
                return {
                    name: db.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                    for name in names
                }
        except sqlite3.Error as err:
            raise _failure(err, self.path, "cannot read it") from err

    def _read(self, sql: str) -> list[Any]:
        try:
            rows: list[Any] = self._db.execute(sql).fetchall()
        except sqlite3.Error as err:
            raise _failure(err, self.path, "cannot read it") from err
        return rows


def _insert_polls(db: sqlite3.Connection, polls: Iterable[tuple[str, int, bool]]) -> int:
    """Insert polls chunk by chunk (each sorted, for appends to the B-tree); return the new."""
    new = 0
    source = iter(polls)
    while chunk := sorted(itertools.islice(source, _CHUNK)):
        db.executemany(schema.INSERT_STORES, [(store,) for store in {row[0] for row in chunk}])
        new += db.executemany(
            schema.INSERT_POLLS, [(store, at, int(active)) for store, at, active in chunk]
        ).rowcount
        db.executemany(
            schema.MARK_INACTIVE, [(store, at) for store, at, active in chunk if not active]
        )
    return new


def _failure(err: sqlite3.Error, path: str, what: str) -> StatusStoreError:
    """The error to raise for a failed database call (a transaction was rolled back).

    Args:
        err: what SQLite raised.
        path: the database file, for the message.
        what: what that means for the caller ("nothing was stored").

    Returns:
        :class:`StatusStoreBusyError` when another writer held the lock too long, a
        :class:`StatusStoreError` for a store given two time zones, else a
        :class:`StatusStoreError` with SQLite's reason.
    """
    if is_busy(err):
        return StatusStoreBusyError(
            f"{path} stayed locked by another writer; {what}, try again "
            "(or raise the timeout)"
        )
    return StatusStoreError(f"the status database {path} failed: {err}; {what}")
