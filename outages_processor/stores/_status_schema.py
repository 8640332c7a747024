"""The status database's schema, its SQL, and the checks made when a database is opened.

Schema (version 1, kept in ``PRAGMA user_version``)::

    stores    (store_id PRIMARY KEY)              every store with a poll; WITHOUT ROWID
    polls     (store_id, at, active)              PRIMARY KEY (store_id, at), WITHOUT ROWID
    hours     (store_id, day, start_s, end_s)     PRIMARY KEY (all four), WITHOUT ROWID
    timezones (store_id PRIMARY KEY, zone)        WITHOUT ROWID

``at`` is whole microseconds since the Unix epoch (UTC): comparisons are exact, and
``at / 1e6`` (correctly rounded) is the float seconds the report's core computes with.
``active`` is 1 or 0; one row per store and instant, where an inactive poll wins over an
active one (the core reads two polls at one instant so). ``start_s`` and ``end_s`` are
seconds after local midnight, ``day`` 0 = Monday.

A report reads, per store, the polls of its week plus the one before and the one after:
:data:`WINDOW_POLLS` does that with two index seeks and one index range per store, so a
store holding years of history reads as fast as one holding a week.

Everything here works on one open :class:`sqlite3.Connection`; the store
(:mod:`outages_processor.stores.status_store`) decides which one and when.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from outages_processor.errors import StatusStoreError

__all__ = [
    "APPLICATION_ID",
    "INSERT_HOURS",
    "INSERT_POLLS",
    "INSERT_STORES",
    "INSERT_TIMEZONES",
    "LATEST",
    "MARK_INACTIVE",
    "SCHEMA_VERSION",
    "SELECT_HOURS",
    "SELECT_TIMEZONES",
    "WINDOW_POLLS",
    "check_version",
    "create_schema",
    "not_a_status_database",
]

SCHEMA_VERSION: Final = 1
"""The layout this code reads and writes (``PRAGMA user_version``)."""
APPLICATION_ID: Final = 0x4F505353
"""``PRAGMA application_id`` of a status database ("OPSS"): tells it from an event
database, whose schema version is 1 too."""

_SCHEMA: Final = (
    "CREATE TABLE stores (store_id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID",
    "CREATE TABLE polls (store_id TEXT NOT NULL, at INTEGER NOT NULL,"
    " active INTEGER NOT NULL, PRIMARY KEY (store_id, at)) WITHOUT ROWID",
    "CREATE TABLE hours (store_id TEXT NOT NULL, day INTEGER NOT NULL,"
    " start_s INTEGER NOT NULL, end_s INTEGER NOT NULL,"
    " PRIMARY KEY (store_id, day, start_s, end_s)) WITHOUT ROWID",
    "CREATE TABLE timezones (store_id TEXT PRIMARY KEY NOT NULL, zone TEXT NOT NULL)"
    " WITHOUT ROWID",
)

INSERT_STORES: Final = "INSERT OR IGNORE INTO stores (store_id) VALUES (?)"
# A duplicate is ignored here, so the row count is the new polls; an inactive poll at an
# instant stored as active then turns it inactive (MARK_INACTIVE): inactive wins.
INSERT_POLLS: Final = "INSERT OR IGNORE INTO polls (store_id, at, active) VALUES (?, ?, ?)"
MARK_INACTIVE: Final = "UPDATE polls SET active = 0 WHERE store_id = ? AND at = ? AND active"
INSERT_HOURS: Final = (
    "INSERT OR IGNORE INTO hours (store_id, day, start_s, end_s) VALUES (?, ?, ?, ?)"
)
INSERT_TIMEZONES: Final = "INSERT INTO timezones (store_id, zone) VALUES (?, ?)"
# The latest poll: one index seek per store instead of a scan of every poll.
LATEST: Final = (
    "SELECT max((SELECT max(p.at) FROM polls AS p WHERE p.store_id = s.store_id))"
    " FROM stores AS s"
)
# Per store (in store id order), its polls from the last one before :lo to the first one
# after :hi; a store without polls in [lo, hi] still gives its last poll before lo (and
# its first after hi). CROSS JOIN keeps stores as the outer loop: each store is one index
# range of polls, bounded by two index seeks.
WINDOW_POLLS: Final = (
    "SELECT p.store_id, p.at, p.active FROM stores AS s CROSS JOIN polls AS p"
    " ON p.store_id = s.store_id"
    " AND p.at >= coalesce((SELECT max(q.at) FROM polls AS q"
    " WHERE q.store_id = s.store_id AND q.at < :lo), :lo)"
    " AND p.at <= coalesce((SELECT min(q.at) FROM polls AS q"
    " WHERE q.store_id = s.store_id AND q.at > :hi), :hi)"
    " ORDER BY s.store_id, p.at"
)
SELECT_HOURS: Final = "SELECT store_id, day, start_s, end_s FROM hours"
SELECT_TIMEZONES: Final = "SELECT store_id, zone FROM timezones"


def not_a_status_database(path: str) -> StatusStoreError:
    """The error for a file that holds no status store schema.

    Args:
        path: the database file, for the message.

    Returns:
        The error to raise.
    """
    return StatusStoreError(
        f"{path} is not a status database (it has no status store schema); pass another path"
    )


def create_schema(db: sqlite3.Connection, path: str) -> None:
    """Create the tables in an empty database, inside the caller's write transaction.

    Args:
        db: the connection, in a write transaction.
        path: the database file, for messages.

    Raises:
        StatusStoreError: the database already holds other tables.
    """
    if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise not_a_status_database(path)
    for statement in _SCHEMA:
        db.execute(statement)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def check_version(db: sqlite3.Connection, path: str, version: int) -> None:
    """Refuse a database of another kind, or a schema version this code does not read.

    Args:
        db: the connection.
        path: the database file, for the message.
        version: the version the database records.

    Raises:
        StatusStoreError: the database is not a status database, or its version is not
            :data:`SCHEMA_VERSION`.
    """
    if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        raise not_a_status_database(path)
    if version != SCHEMA_VERSION:
        raise StatusStoreError(
            f"{path} has status store schema version {version}, but this "
            f"version of outages_processor reads version {SCHEMA_VERSION}; "
            "upgrade outages_processor or use another database"
        )
