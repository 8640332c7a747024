"""The event database's schema, its SQL, and the checks made when a database is opened.

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

Identity: series are looked up by their exact ``(controller_id, outage_type)`` text, bound
as parameters, never through a JSON round trip (SQLite's JSON functions stop at NUL).

Everything here works on one open :class:`sqlite3.Connection`; the store
(:mod:`outages_processor.stores.event_store`) decides which one and when.
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache
from typing import Any

from outages_processor.core.events import DEFAULT_TOLERANCE, tolerance_micros
from outages_processor.errors import EventStoreError

__all__ = [
    "INSERT_RECORDS",
    "ORDER_EVENTS",
    "SCHEMA_VERSION",
    "SELECT_EVENTS",
    "SELECT_RECORDS",
    "STORED_RECORDS",
    "check_tolerance",
    "check_version",
    "create_schema",
    "events_query",
    "near_events",
    "not_an_event_database",
    "read_setting",
]

SCHEMA_VERSION = 1
"""The layout this code reads and writes (``PRAGMA user_version``)."""

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

# Integer batch inputs travel as one JSON parameter expanded by json_each (one statement per
# batch, never one round trip per record), or, where several fields per item are read, as
# plain parameters in a VALUES table (near_events: JSON text would be parsed again for each
# field). CROSS JOIN keeps the inputs as the outer loop, so each is one index lookup. Text
# never goes through JSON (see Identity above).
STORED_RECORDS = (
    "SELECT r.series_id, r.timestamp_us FROM json_each(?) AS j"
    " CROSS JOIN records AS r ON r.series_id = json_extract(j.value, '$[0]')"
    " AND r.timestamp_us = json_extract(j.value, '$[1]')"
)
INSERT_RECORDS = (
    "INSERT INTO records (series_id, timestamp_us) SELECT ?, value FROM json_each(?)"
)
SELECT_EVENTS = (
    "SELECT s.controller_id, s.outage_type, e.start_us, e.end_us, e.record_count"
    " FROM series AS s JOIN events AS e ON e.series_id = s.series_id"
)
ORDER_EVENTS = " ORDER BY e.start_us, s.controller_id, s.outage_type"
SELECT_RECORDS = (
    "SELECT s.controller_id, s.outage_type, r.timestamp_us FROM series AS s"
    " JOIN records AS r ON r.series_id = s.series_id"
    " ORDER BY s.controller_id, s.outage_type, r.timestamp_us"
)


@lru_cache(maxsize=16)
def near_events(count: int) -> str:
    """The events overlapping each of ``count`` ``(series_id, lo, hi)`` ranges (parameters).

    Events of one series are disjoint: they are the last one starting at or before lo and
    those starting in (lo, hi]. Rows: ``(series_id, start_us, end_us, record_count)``.
    """
    values = ", ".join(["(?, ?, ?)"] * count)
    return (
        f"WITH w(sid, lo, hi) AS (VALUES {values})"
        " SELECT e.series_id, e.start_us, e.end_us, e.record_count FROM w CROSS JOIN events AS e"
        " ON e.series_id = w.sid AND e.start_us >= coalesce((SELECT max(p.start_us)"
        " FROM events AS p WHERE p.series_id = w.sid AND p.start_us <= w.lo), w.lo)"
        " AND e.start_us <= w.hi WHERE e.end_us >= w.lo"
    )


def events_query(  # pylint: disable=too-many-arguments
    controller_id: str | None,
    outage_type: str | None,
    lower: int | None,
    upper: int | None,
    *,
    after: tuple[int, str, str] | None = None,
    limit: int | None = None,
) -> tuple[str, list[Any]]:
    """The query of the events that match every given filter, and its parameters.

    Args:
        controller_id: only this controller's events.
        outage_type: only events of this type.
        lower: only events that end at or after this instant (µs).
        upper: only events that start at or before this instant (µs).
        after: only events after this ``(start_us, controller_id, outage_type)`` key in
            :data:`ORDER_EVENTS` order (keyset pagination).
        limit: at most this many events.

    Returns:
        The SQL (rows as :data:`SELECT_EVENTS`, in :data:`ORDER_EVENTS`) and its parameters.
    """
    where: list[str] = []
    params: list[Any] = []
    if controller_id is not None:
        where.append("s.controller_id = ?")
        params.append(controller_id)
    if outage_type is not None:
        where.append("s.outage_type = ?")
        params.append(outage_type)
    if lower is not None:
        # The lower bound on start_us turns the scan into an index range: no event is
        # longer than max_event_us (see the module).
        where.append("e.end_us >= ?")
        where.append("e.start_us >= ? - (SELECT value FROM settings WHERE name = 'max_event_us')")
        params.extend([lower, lower])
    if upper is not None:
        where.append("e.start_us <= ?")
        params.append(upper)
    if after is not None:
        where.append("(e.start_us, s.controller_id, s.outage_type) > (?, ?, ?)")
        params.extend(after)
    sql = SELECT_EVENTS + (" WHERE " + " AND ".join(where) if where else "") + ORDER_EVENTS
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def not_an_event_database(path: str) -> EventStoreError:
    """The error for a file that holds no event store schema.

    Args:
        path: the database file, for the message.

    Returns:
        The error to raise.
    """
    return EventStoreError(
        f"{path} is not an event database (it has no event store schema); pass another path"
    )


def create_schema(db: sqlite3.Connection, path: str, wanted: int | None) -> None:
    """Create the tables in an empty database, inside the caller's write transaction.

    Args:
        db: the connection, in a write transaction.
        path: the database file, for messages.
        wanted: the tolerance to record (µs), or None for the default.

    Raises:
        EventStoreError: the database already holds other tables.
    """
    if db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        raise not_an_event_database(path)
    for statement in _SCHEMA:
        db.execute(statement)
    tolerance = tolerance_micros(DEFAULT_TOLERANCE) if wanted is None else wanted
    db.executemany(
        "INSERT INTO settings (name, value) VALUES (?, ?)",
        [("tolerance_us", tolerance), ("max_event_us", 0)],
    )
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def check_version(path: str, version: int) -> None:
    """Refuse a schema version this code does not read.

    Args:
        path: the database file, for the message.
        version: the version the database records.

    Raises:
        EventStoreError: the version is not :data:`SCHEMA_VERSION`.
    """
    if version != SCHEMA_VERSION:
        raise EventStoreError(
            f"{path} has event store schema version {version}, but this "
            f"version of outages_processor reads version {SCHEMA_VERSION}; "
            "upgrade outages_processor or use another database"
        )


def read_setting(db: sqlite3.Connection, path: str, name: str) -> int:
    """One value of the ``settings`` table.

    Args:
        db: the connection.
        path: the database file, for the message.
        name: the setting.

    Returns:
        Its value.

    Raises:
        EventStoreError: the setting is missing (the database is damaged).
    """
    row = db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
    if row is None:
        raise EventStoreError(f"{path} lacks the setting {name!r}; it is damaged")
    value: int = row[0]
    return value


def check_tolerance(path: str, wanted: int | None, recorded: int) -> None:
    """Refuse a tolerance other than the recorded one.

    Args:
        path: the database file, for the message.
        wanted: the tolerance asked for (µs), or None for whatever is recorded.
        recorded: the tolerance the database was created with (µs).

    Raises:
        EventStoreError: a tolerance was asked for and differs from the recorded one.
    """
    if wanted is not None and wanted != recorded:
        raise EventStoreError(
            f"{path} was created with a tolerance of {_minutes(recorded)} minutes, "
            f"not {_minutes(wanted)}; give no tolerance to use the recorded one, "
            "or use another database"
        )


def _minutes(micros: int) -> str:
    """A tolerance in minutes, as short as exact: 12, 7.5."""
    return f"{micros / 60_000_000:g}"
