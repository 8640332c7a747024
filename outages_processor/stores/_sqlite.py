"""What the SQLite stores share: a connection per thread, how one is opened, transactions.

Both stores (:mod:`~outages_processor.stores.event_store`,
:mod:`~outages_processor.stores.status_store`) keep one file in WAL mode, shared by any
number of threads and processes: each thread gets its own connection
(:class:`ThreadConnections`), each write is one ``BEGIN IMMEDIATE`` transaction
(:func:`transaction`), and a writer that waited too long for another is told apart by
SQLite's error code (:func:`is_busy`), never by the message's text.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from outages_processor.errors import OutagesError

__all__ = [
    "SQLiteFile",
    "ThreadConnections",
    "configure",
    "connect",
    "open_connection",
    "is_busy",
    "read_only_uri",
    "transaction",
    "use_wal",
    "user_version",
]

_WAL_LIMIT_BYTES: Final = 64 << 20
"""The write-ahead log's size at which a writer checkpoints, and to which it is cut back."""
_CHECKPOINT_PAGES: Final = _WAL_LIMIT_BYTES // 4096  # SQLite's default page size


class ThreadConnections:
    """One connection per thread to one database, every one closed by :meth:`close`.

    Args:
        opener: opens a new connection, set up (called once per thread).
        closed: the exception to raise when a thread asks for a connection after
            :meth:`close`.
    """

    def __init__(
        self, opener: Callable[[], sqlite3.Connection], closed: Callable[[], Exception]
    ) -> None:
        self._connect = opener
        self._closed_error = closed
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: dict[threading.Thread, sqlite3.Connection] = {}
        self.closed = False

    def get(self) -> sqlite3.Connection:
        """The calling thread's connection, opened on its first use.

        Raises:
            Exception: what ``closed()`` gives, after :meth:`close`; whatever ``connect``
                raises.
        """
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or self.closed:
            connection = self._open()
        return connection

    def _open(self) -> sqlite3.Connection:
        """Open a connection for the calling thread and register it for :meth:`close`."""
        connection = self._connect()
        with self._lock:
            if self.closed:
                connection.close()
                raise self._closed_error()
            # Threads that have ended will not use theirs again (thread pools keep theirs).
            for thread in [thread for thread in self._connections if not thread.is_alive()]:
                self._connections.pop(thread).close()
            self._connections[threading.current_thread()] = connection
        self._local.connection = connection
        return connection

    def close(self) -> None:
        """Close the connections of every thread (idempotent)."""
        with self._lock:
            self.closed = True
            connections = list(self._connections.values())
            self._connections.clear()
        for connection in connections:
            connection.close()


class SQLiteFile:
    """What each store is: a database file's per-thread connections, closed on exit.

    A subclass sets ``_connections`` in its ``__init__``; use it as a context manager, or
    call :meth:`close` once the other threads are done with it.
    """

    _connections: ThreadConnections

    def __enter__(self) -> Self:
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
        self._connections.close()

    @property
    def _db(self) -> sqlite3.Connection:
        """The calling thread's connection, opened on its first use.

        Raises:
            Exception: the store's own error once it was closed, or when the database
                cannot be opened.
        """
        return self._connections.get()


def connect(target: str, *, uri: bool, timeout: float) -> sqlite3.Connection:
    """Connect to ``target`` (a path or a ``file:`` URI), in autocommit mode.

    The stores open their transactions themselves (:func:`transaction`).

    Raises:
        sqlite3.Error: the database cannot be opened.
    """
    return sqlite3.connect(
        target,
        timeout=timeout,
        isolation_level=None,
        check_same_thread=False,  # only so that close() may close it from any thread
        uri=uri,
    )


def configure(connection: sqlite3.Connection, *, writable: bool) -> sqlite3.Connection:
    """Set a new connection up: ``synchronous=NORMAL`` for a writer, 64 MiB of page cache.

    With WAL, ``NORMAL`` loses no committed transaction in a crash of the process, and at
    most the last ones in a power cut.

    Returns:
        The connection.

    Raises:
        sqlite3.Error: the file is not a database, say (the connection is closed).
    """
    try:
        if writable:
            connection.execute("PRAGMA synchronous = NORMAL")
            # A commit of many small random writes (a service's requests) dirties about a
            # thousand pages; at SQLite's default (a checkpoint, with its fsyncs, past 1000
            # pages of WAL) nearly every commit would checkpoint. Every 64 MiB instead,
            # and the WAL file cut back to that size after a checkpoint.
            connection.execute(f"PRAGMA wal_autocheckpoint = {_CHECKPOINT_PAGES}")
            connection.execute(f"PRAGMA journal_size_limit = {_WAL_LIMIT_BYTES}")
        connection.execute("PRAGMA cache_size = -65536")  # KiB: 64 MiB for large batches
    except sqlite3.Error:
        connection.close()
        raise
    return connection


def open_connection(  # pylint: disable=too-many-arguments  # one store's whole setup
    target: str,
    *,
    uri: bool,
    timeout: float,
    writable: bool,
    path: str,
    kind: str,
    error: type[OutagesError],
) -> sqlite3.Connection:
    """:func:`connect`, then :func:`configure`, each failure said as the store's own error.

    Args:
        target: a path or a ``file:`` URI.
        uri: ``target`` is a URI.
        timeout: seconds to wait for another connection's lock.
        writable: the connection writes (see :func:`configure`).
        path: the database file as the user named it, for the messages.
        kind: what the database holds (``"event"``, ``"status"``), for the messages.
        error: the store's error type.

    Raises:
        OutagesError: of type ``error``: the file cannot be opened, or is not a database.
    """
    try:
        connection = connect(target, uri=uri, timeout=timeout)
    except sqlite3.Error as err:
        raise error(f"cannot open the {kind} database {path}: {err}") from err
    try:
        return configure(connection, writable=writable)
    except sqlite3.Error as err:
        article = "an" if kind[:1] in ("a", "e", "i", "o", "u") else "a"
        raise error(f"cannot use {path} as {article} {kind} database: {err}") from err


def read_only_uri(path: str, *, immutable: bool = False) -> str:
    """The ``file:`` URI that opens ``path`` for reading only (and as immutable if asked)."""
    uri = f"{Path(path).absolute().as_uri()}?mode=ro"
    return f"{uri}&immutable=1" if immutable else uri


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
    """One transaction, all or nothing; ``IMMEDIATE`` takes the write lock first.

    Raises:
        sqlite3.Error: the lock was not had within the busy timeout, or a statement or the
            commit failed (the transaction is rolled back).
    """
    if mode == "IMMEDIATE":
        _begin_immediate(db)
    else:
        db.execute(f"BEGIN {mode}")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


_LOCK_POLL_SECONDS: Final = (0.0002, 0.0005, 0.001)
"""The waits between tries for a lock: short, then at most a millisecond."""


def _begin_immediate(db: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE``, waiting for another writer by trying again every millisecond.

    SQLite's own busy handler sleeps 1, 2, 5, 10, then 25 to 100 ms between tries: a
    writer that waits on another's 10 ms transaction sleeps on long after the lock is free,
    and two processes of a service then spend most of their time asleep. Tried here every
    millisecond at most, the lock passes from one process to the next at once; the wait
    still ends with SQLite's busy error at the connection's busy timeout.

    Raises:
        sqlite3.Error: the lock was not had within the busy timeout, or BEGIN failed.
    """
    _execute_waiting(db, "BEGIN IMMEDIATE")


def use_wal(db: sqlite3.Connection) -> None:
    """Put the database in WAL mode, waiting as a transaction would for other connections.

    The switch needs the file to itself, and SQLite answers "database is locked" at once,
    without its busy handler, while another connection holds a lock on it: two processes
    creating one database at the same moment would see it.

    Raises:
        sqlite3.Error: the file stayed locked for the busy timeout, or the switch failed.
    """
    _execute_waiting(db, "PRAGMA journal_mode = WAL")


def _execute_waiting(db: sqlite3.Connection, statement: str) -> None:
    """Run ``statement``, tried again while it is busy, until the connection's busy timeout."""
    timeout_ms: int = db.execute("PRAGMA busy_timeout").fetchone()[0]
    deadline = time.monotonic() + timeout_ms / 1000
    db.execute("PRAGMA busy_timeout = 0")
    try:
        for attempt in itertools.count():
            try:
                db.execute(statement).fetchall()
                return
            except sqlite3.OperationalError as err:
                if not is_busy(err) or time.monotonic() >= deadline:
                    raise
            time.sleep(_LOCK_POLL_SECONDS[min(attempt, len(_LOCK_POLL_SECONDS) - 1)])
    finally:
        db.execute(f"PRAGMA busy_timeout = {timeout_ms}")


def user_version(db: sqlite3.Connection) -> int:
    """The schema version recorded in the database (``PRAGMA user_version``; 0: none yet)."""
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    return version


def is_busy(err: BaseException) -> bool:
    """True when SQLite gave up waiting for another connection's lock (busy or locked).

    By the code, not the text (another failure may mention "locked"); the low byte of an
    extended code (``SQLITE_BUSY_SNAPSHOT``, ...) is its primary code. An error raised by
    Python code rather than SQLite has no code at all.
    """
    code = getattr(err, "sqlite_errorcode", 0) & 0xFF
    return isinstance(err, sqlite3.OperationalError) and code in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )
