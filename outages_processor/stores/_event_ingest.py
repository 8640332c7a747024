"""The ingest of one batch into the event database: plan the changes, then write them.

A batch is grouped by ``(controller_id, outage_type)`` and sorted in memory first
(:func:`group_by_key`); inside the store's write transaction, :func:`plan_changes` reads
what each affected series already holds and computes the records and events to write, and
:func:`insert_records` and :func:`write_events` write them. Every function works on the
connection it is given; the transaction is the store's.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence

from outages_processor.core.events import Span, group_timestamps, merge_timestamps
from outages_processor.errors import EventStoreBusyError, EventStoreError, InputDataError
from outages_processor.models.common import ProgressCallback
from outages_processor.models.events import identifier_problem
from outages_processor.stores._event_schema import (
    FIND_SERIES,
    INSERT_RECORDS,
    NEAR_EVENTS,
    STORED_RECORDS,
)

__all__ = [
    "Changes",
    "Key",
    "group_by_key",
    "ingest_error",
    "insert_records",
    "plan_changes",
    "progress_reporter",
    "write_events",
]

Key = tuple[str, str]
"""A series: ``(controller_id, outage_type)``."""

_PROGRESS_CHUNK = 65_536
"""Records inserted between two progress reports."""


@dataclasses.dataclass
class Changes:
    """What one batch changes: rows to write, and counts."""

    inserts: list[tuple[int, list[int]]] = dataclasses.field(default_factory=list)
    new_events: list[tuple[int, int, int, int]] = dataclasses.field(default_factory=list)
    old_events: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    created: int = 0
    extended: int = 0
    merged: int = 0
    records: int = 0


def group_by_key(
    timestamps: Mapping[str, Mapping[str, Sequence[int]]],
) -> dict[Key, list[int]]:
    """The sorted distinct timestamps of each (controller_id, outage_type) of a batch.

    Args:
        timestamps: a batch's timestamps (µs), by controller id then outage type.

    Returns:
        The non-empty series of the batch, each sorted without repeats.

    Raises:
        InputDataError: an id is not fit to store (the readers and models never make one).
    """
    grouped: dict[Key, list[int]] = {}
    for controller_id, by_type in timestamps.items():
        for outage_type, values in by_type.items():
            if values:
                for name, text in (("controller_id", controller_id), ("outage_type", outage_type)):
                    problem = identifier_problem(name, text)
                    if problem is not None:
                        raise InputDataError(f"{problem}; nothing was stored")
                grouped[(controller_id, outage_type)] = sorted(set(values))
    return grouped


def progress_reporter(progress: ProgressCallback | None, total: int) -> Callable[[int], None]:
    """A callback taking the records stored so far, reported as the ``"storing"`` stage.

    Args:
        progress: the caller's progress callback, or None.
        total: the records of the batch.

    Returns:
        A function of the count done so far (doing nothing when ``progress`` is None).
    """
    if progress is None:
        return _ignore

    def report(done: int) -> None:
        progress("storing", done, total)

    return report


def _ignore(_done: int) -> None:
    """A progress callback that shows nothing."""


def plan_changes(
    db: sqlite3.Connection, tolerance: int, stamps: dict[Key, list[int]], changes: Changes
) -> None:
    """Compute what a grouped batch adds and changes, into ``changes``.

    Args:
        db: the connection, inside the ingest's write transaction.
        tolerance: the database's tolerance (µs).
        stamps: the batch, from :func:`group_by_key`.
        changes: where the rows to write and the counts go.
    """
    known = _known_series(db, stamps)
    _add_series(db, tolerance, sorted(stamps.keys() - known.keys()), stamps, changes)
    if known:
        by_id = {series_id: stamps[key] for key, series_id in known.items()}
        _merge_known(db, tolerance, by_id, changes)
    changes.inserts.sort()  # by series_id: the records B-tree then grows by appends


def _known_series(db: sqlite3.Connection, stamps: dict[Key, list[int]]) -> dict[Key, int]:
    """The series ids of the batch's keys that are already stored."""
    if db.execute("SELECT NOT EXISTS (SELECT 1 FROM series)").fetchone()[0]:
        return {}  # a new database: nothing to look up
    known: dict[Key, int] = {}
    # One indexed lookup per key (not per record), with the exact text bound.
    for key in stamps:
        row = db.execute(FIND_SERIES, key).fetchone()
        if row is not None:
            known[key] = row[0]
    return known


def _add_series(
    db: sqlite3.Connection,
    tolerance: int,
    keys: list[Key],
    stamps: dict[Key, list[int]],
    changes: Changes,
) -> None:
    """Store keys seen for the first time; all their events are new."""
    first: int = db.execute("SELECT coalesce(max(series_id), 0) + 1 FROM series").fetchone()[0]
    # Ids follow the sorted keys, so the records of new keys are appended to the B-tree.
    ids = range(first, first + len(keys))
    db.executemany(
        "INSERT INTO series (series_id, controller_id, outage_type) VALUES (?, ?, ?)",
        [(series_id, key[0], key[1]) for series_id, key in zip(ids, keys)],
    )
    for series_id, key in zip(ids, keys):
        values = stamps[key]
        changes.inserts.append((series_id, values))
        spans = group_timestamps(values, tolerance)
        changes.created += len(spans)
        changes.new_events.extend([(series_id, *span) for span in spans])


def _merge_known(
    db: sqlite3.Connection, tolerance: int, by_id: dict[int, list[int]], changes: Changes
) -> None:
    """Merge the batch into the stored events of series (by id) that already have some."""
    near = _near_events(db, tolerance, by_id)
    stored = _stored_among(db, by_id, near)
    for series_id, values in by_id.items():
        seen = stored.get(series_id)
        fresh = [value for value in values if value not in seen] if seen else values
        if fresh:
            spans = near.get(series_id, [])
            outcome = merge_timestamps(spans, fresh, tolerance)
            changes.inserts.append((series_id, fresh))
            changes.old_events.extend((series_id, spans[i][0]) for i in outcome.replaced)
            changes.new_events.extend([(series_id, *span) for span in outcome.spans])
            changes.created += outcome.created
            changes.extended += outcome.extended
            changes.merged += outcome.merged


def _near_events(
    db: sqlite3.Connection, tolerance: int, by_id: dict[int, list[int]]
) -> dict[int, list[Span]]:
    """Per series id, the stored events within the tolerance of the batch's timestamps."""
    ranges = [
        [series_id, values[0] - tolerance, values[-1] + tolerance]
        for series_id, values in by_id.items()
    ]
    near: dict[int, list[Span]] = {}
    for series_id, start, end, count in db.execute(NEAR_EVENTS, (json.dumps(ranges),)):
        near.setdefault(series_id, []).append((start, end, count))
    return near


def _stored_among(
    db: sqlite3.Connection, by_id: dict[int, list[int]], near: dict[int, list[Span]]
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
        for series_id, value in db.execute(STORED_RECORDS, (json.dumps(candidates),)):
            stored.setdefault(series_id, set()).add(value)
    return stored


def insert_records(
    db: sqlite3.Connection, inserts: list[tuple[int, list[int]]], report: Callable[[int], None]
) -> int:
    """Insert sorted timestamps per series id, reporting progress now and then.

    Args:
        db: the connection, inside the ingest's write transaction.
        inserts: ``(series_id, timestamps)`` pairs, sorted by series id.
        report: called with the records inserted so far.

    Returns:
        How many records were inserted.
    """
    done = 0
    start = 0
    while start < len(inserts):
        # Chunks of about _PROGRESS_CHUNK records, so progress can be shown.
        stop, size = start, 0
        while stop < len(inserts) and size < _PROGRESS_CHUNK:
            size += len(inserts[stop][1])
            stop += 1
        db.executemany(
            INSERT_RECORDS,
            # str() of a list of ints is its JSON text, and quicker than json.dumps.
            [(series_id, str(values)) for series_id, values in inserts[start:stop]],
        )
        done += size
        report(done)
        start = stop
    return done


def write_events(db: sqlite3.Connection, changes: Changes) -> None:
    """Replace the events a batch changed, and widen ``max_event_us`` to the longest.

    Args:
        db: the connection, inside the ingest's write transaction.
        changes: the batch's planned changes.
    """
    db.executemany("DELETE FROM events WHERE series_id = ? AND start_us = ?", changes.old_events)
    db.executemany(
        "INSERT INTO events (series_id, start_us, end_us, record_count) VALUES (?, ?, ?, ?)",
        changes.new_events,
    )
    if changes.new_events:
        longest = max(end - start for _, start, end, _ in changes.new_events)
        db.execute(
            "UPDATE settings SET value = max(value, ?) WHERE name = 'max_event_us'",
            (longest,),
        )


def ingest_error(err: sqlite3.Error, path: str) -> EventStoreError:
    """The error to raise for a failed ingest transaction (rolled back).

    Args:
        err: what SQLite (or the code inside the transaction) raised.
        path: the database file, for the message.

    Returns:
        :class:`EventStoreBusyError` when another writer held the lock too long, else an
        :class:`EventStoreError`.
    """
    # By the code, not the text (another failure may mention "locked"); the low byte of an
    # extended code (SQLITE_BUSY_SNAPSHOT, ...) is its primary code. An error raised by
    # Python code rather than SQLite has no code at all.
    code = getattr(err, "sqlite_errorcode", 0) & 0xFF
    if isinstance(err, sqlite3.OperationalError) and code in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    ):
        return EventStoreBusyError(
            f"{path} stayed locked by another writer; nothing was stored, "
            "try again (or raise the busy timeout)"
        )
    return EventStoreError(f"the event database {path} failed: {err}; nothing was stored")
