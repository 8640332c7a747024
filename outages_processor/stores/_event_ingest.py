"""The ingest of batches into the event database: plan the changes, then write them.

A batch is grouped by ``(controller_id, outage_type)`` and sorted in memory first
(:func:`group_by_key`). Inside the store's write transaction, :func:`plan_changes` plans
one batch or a group of batches at once: it looks up the group's series together, reads
what they already hold once, then applies the batches in order in memory, so the store ends
and each batch counts exactly as if the batches had been ingested one after the other.
:func:`insert_records` and :func:`write_events` then write the group's rows once. Every
function works on the connection it is given; the transaction is the store's.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import NamedTuple

from outages_processor.core.events import Span, group_timestamps, merge_timestamps
from outages_processor.errors import EventStoreBusyError, EventStoreError, InputDataError
from outages_processor.models.common import ProgressCallback
from outages_processor.models.events import identifier_problem
from outages_processor.stores._event_schema import INSERT_RECORDS, STORED_RECORDS, near_events
from outages_processor.stores._sqlite import is_busy

__all__ = [
    "Changes",
    "Counts",
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

_KEYS_PER_LOOKUP = 300
"""Keys looked up by one statement (3 parameters each: under SQLite's oldest limit, 999)."""


@dataclasses.dataclass
class Counts:
    """What one batch did: records stored, events created, extended and merged."""

    records: int = 0
    created: int = 0
    extended: int = 0
    merged: int = 0


@dataclasses.dataclass
class Changes:
    """The rows one ingest transaction writes, for one batch or a whole group.

    Attributes:
        inserts: ``(series_id, timestamps)`` of the new records, sorted by series id, each
            list sorted.
        new_events: ``(series_id, start, end, record_count)`` of the events to insert.
        old_events: ``(series_id, start)`` of the stored events to delete first.
    """

    inserts: list[tuple[int, list[int]]] = dataclasses.field(default_factory=list)
    new_events: list[tuple[int, int, int, int]] = dataclasses.field(default_factory=list)
    old_events: list[tuple[int, int]] = dataclasses.field(default_factory=list)


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
    db: sqlite3.Connection, tolerance: int, batches: Sequence[dict[Key, list[int]]]
) -> tuple[Changes, list[Counts]]:
    """Plan the ingest of batches, in order, as one write; add the series they introduce.

    The series, stored events and stored records of the whole group are read once; the
    batches are then applied one after the other in memory, so the rows written and each
    batch's counts are those of ingesting the batches one by one.

    Args:
        db: the connection, inside the ingest's write transaction.
        tolerance: the database's tolerance (µs).
        batches: the batches, each from :func:`group_by_key`.

    Returns:
        The rows to write for the whole group, and each batch's counts, in order.
    """
    ids = _known_series(db, {key for stamps in batches for key in stamps})
    stored = _read_stored(db, tolerance, batches, ids)  # before the new series exist
    _add_series(db, batches, ids)
    plan = _Plan(tolerance, stored, batches, ids)
    counts = [plan.apply(stamps) for stamps in batches]
    return plan.changes(), counts


class _Stored(NamedTuple):
    """What the store holds near a group's timestamps, per series id."""

    spans: dict[int, list[Span]]
    """The events within the tolerance of the group's timestamps, sorted."""
    records: dict[int, set[int]]
    """The group's timestamps that are stored already."""


def _known_series(db: sqlite3.Connection, keys: set[Key]) -> dict[Key, int]:
    """The series ids of the keys that are already stored."""
    if db.execute("SELECT NOT EXISTS (SELECT 1 FROM series)").fetchone()[0]:
        return {}  # a new database: nothing to look up
    known: dict[Key, int] = {}
    ordered = list(keys)
    # A few keys per statement, the exact text bound (never through JSON: see
    # _event_schema); each row is one lookup in the series' unique index.
    for first in range(0, len(ordered), _KEYS_PER_LOOKUP):
        chunk = ordered[first : first + _KEYS_PER_LOOKUP]
        size = _padded(len(chunk))
        params = [item for index, key in enumerate(chunk) for item in (index, *key)]
        params.extend((-1, "", "") * (size - len(chunk)))  # no series has empty ids
        for index, series_id in db.execute(_find_series(size), params):
            known[chunk[index]] = series_id
    return known


@lru_cache(maxsize=16)
def _find_series(keys: int) -> str:
    """The lookup of ``keys`` series: rows ``(index, series_id)`` for the stored ones."""
    # The keys as a VALUES table, joined to the unique index of series key by key.
    values = ", ".join(["(?, ?, ?)"] * keys)
    return (
        f"SELECT k.column1, s.series_id FROM (VALUES {values}) AS k CROSS JOIN series AS s"
        " ON s.controller_id = k.column2 AND s.outage_type = k.column3"
    )


def _add_series(
    db: sqlite3.Connection, batches: Sequence[dict[Key, list[int]]], ids: dict[Key, int]
) -> None:
    """Store the keys seen for the first time, with ids in ``ids``.

    The ids are those one-by-one ingests would give: batch after batch, each batch's new
    keys in sorted order (so the records of new keys are appended to the B-tree).
    """
    first: int = db.execute("SELECT coalesce(max(series_id), 0) + 1 FROM series").fetchone()[0]
    rows: list[tuple[int, str, str]] = []
    for stamps in batches:
        for key in sorted(stamps.keys() - ids.keys()):
            ids[key] = first + len(rows)
            rows.append((ids[key], key[0], key[1]))
    db.executemany(
        "INSERT INTO series (series_id, controller_id, outage_type) VALUES (?, ?, ?)", rows
    )


def _read_stored(
    db: sqlite3.Connection,
    tolerance: int,
    batches: Sequence[dict[Key, list[int]]],
    known: dict[Key, int],
) -> _Stored:
    """The stored events and records the group's timestamps may meet, of known series."""
    values, ranges = _known_values(batches, known)
    near: dict[int, list[Span]] = {}
    for first in range(0, len(ranges), _KEYS_PER_LOOKUP):
        chunk = ranges[first : first + _KEYS_PER_LOOKUP]
        size = _padded(len(chunk))
        params = [
            item for sid, low, high in chunk for item in (sid, low - tolerance, high + tolerance)
        ]
        params.extend((0, 0, -1) * (size - len(chunk)))  # series 0 does not exist
        for series_id, start, end, count in db.execute(near_events(size), params):
            near.setdefault(series_id, []).append((start, end, count))
    return _Stored(near, _stored_among(db, values, near))


def _padded(count: int) -> int:
    """The statement size a lookup of ``count`` items uses: the next power of two (capped).

    A few sizes are prepared once and reused from the connection's statement cache; one
    statement per size would be prepared again and again. The padding's lookups of no series
    cost less than that (measured: 1.5 against 2.4 microseconds a range).
    """
    return min(_KEYS_PER_LOOKUP, 1 << (count - 1).bit_length())


def _known_values(
    batches: Sequence[dict[Key, list[int]]], known: dict[Key, int]
) -> tuple[dict[int, list[int]], list[list[int]]]:
    """The group's timestamps of each known series, and ``[series_id, first, last]`` of each."""
    values: dict[int, list[int]] = {}
    ranges: dict[int, list[int]] = {}
    for stamps in batches:
        for key, stamp_list in stamps.items():
            series_id = known.get(key)
            if series_id is None:
                continue
            span = ranges.get(series_id)
            if span is None:
                values[series_id] = stamp_list
                ranges[series_id] = [series_id, stamp_list[0], stamp_list[-1]]
            else:
                values[series_id] = values[series_id] + stamp_list
                span[1] = min(span[1], stamp_list[0])
                span[2] = max(span[2], stamp_list[-1])
    return values, list(ranges.values())


def _stored_among(
    db: sqlite3.Connection, values: dict[int, list[int]], near: dict[int, list[Span]]
) -> dict[int, set[int]]:
    """The given timestamps that are already stored, per series id; sorts ``near``.

    Every stored record lies inside its event's [start, end], so only timestamps inside a
    nearby event can be stored already; only those are looked up.
    """
    candidates: list[tuple[int, int]] = []
    for series_id, spans in near.items():
        spans.sort()  # merge_timestamps needs them sorted too
        starts = [start for start, _, _ in spans]
        for value in values[series_id]:
            index = bisect_right(starts, value) - 1
            if index >= 0 and value <= spans[index][1]:
                candidates.append((series_id, value))
    stored: dict[int, set[int]] = {}
    if candidates:
        for series_id, value in db.execute(STORED_RECORDS, (json.dumps(candidates),)):
            stored.setdefault(series_id, set()).add(value)
    return stored


class _Plan:
    """The batches of a group applied one after the other to their series, in memory.

    Per series, ``spans`` holds its events as they stand after the batches applied so far
    (starting from the stored events near the group) and ``taken`` the timestamps stored
    or added so far. A series that only one batch touches, the usual case, keeps neither up
    to date: nothing reads them again.
    """

    def __init__(
        self,
        tolerance: int,
        stored: _Stored,
        batches: Sequence[dict[Key, list[int]]],
        ids: dict[Key, int],
    ) -> None:
        self.tolerance = tolerance
        self.ids = ids
        self.spans = stored.spans
        self.taken = stored.records
        # One batch (the command line's ingest): every series is touched once, and the
        # bookkeeping below is skipped altogether.
        self.single = len(batches) == 1
        self.touches: dict[int, int] = {}
        for stamps in batches if not self.single else ():
            for key in stamps:
                series_id = ids[key]
                self.touches[series_id] = self.touches.get(series_id, 0) + 1
        # Of the series touched by several batches: the stored spans, to tell them apart
        # from the spans a batch of the group made.
        self.original = {
            series_id: set(self.spans.get(series_id, ()))
            for series_id, touches in self.touches.items()
            if touches > 1
        }
        self.made: dict[int, list[Span]] = {}
        self.gone: list[tuple[int, int]] = []
        self.fresh: dict[int, list[int]] = {}

    def apply(self, stamps: dict[Key, list[int]]) -> Counts:
        """Apply the next batch; return what it did.

        Args:
            stamps: the batch, from :func:`group_by_key`.

        Returns:
            Its counts, as if the earlier batches of the group were stored already.
        """
        counts = Counts()
        single = self.single
        for key, values in stamps.items():
            series_id = self.ids[key]
            taken = self.taken.get(series_id)
            fresh = [value for value in values if value not in taken] if taken else values
            if not single:
                self.touches[series_id] -= 1
            if fresh:
                counts.records += len(fresh)
                self._merge(series_id, fresh, counts)
        return counts

    def _merge(self, series_id: int, fresh: list[int], counts: Counts) -> None:
        """Merge a batch's new timestamps into the series' current events."""
        spans = self.spans.get(series_id)
        # A later batch of the group touches it too:
        again = not self.single and self.touches[series_id] > 0
        if spans:
            outcome = merge_timestamps(spans, fresh, self.tolerance)
            made = outcome.spans
            counts.created += outcome.created
            counts.extended += outcome.extended
            counts.merged += outcome.merged
            self._replace(series_id, spans, outcome.replaced)
            if again:
                replaced = set(outcome.replaced)
                kept = [span for index, span in enumerate(spans) if index not in replaced]
                self.spans[series_id] = sorted(kept + made)
        else:
            made = group_timestamps(fresh, self.tolerance)
            counts.created += len(made)
            if again:
                self.spans[series_id] = made
        if self.single:
            self.made[series_id] = made
            self.fresh[series_id] = fresh
            return
        self.made.setdefault(series_id, []).extend(made)
        earlier = self.fresh.get(series_id)
        self.fresh[series_id] = fresh if earlier is None else earlier + fresh
        if again:
            self.taken.setdefault(series_id, set()).update(fresh)

    def _replace(self, series_id: int, spans: list[Span], replaced: list[int]) -> None:
        """Note which events a merge replaced: stored ones to delete, others to not make."""
        original = self.original.get(series_id)
        for index in replaced:
            span = spans[index]
            if original is None or span in original:
                self.gone.append((series_id, span[0]))
            else:
                self.made[series_id].remove(span)  # made by an earlier batch of the group

    def changes(self) -> Changes:
        """The rows to write for the whole group (after every batch was applied).

        Returns:
            The records and events to insert and the stored events to delete, by series.
        """
        changes = Changes(old_events=self.gone)
        for series_id in sorted(self.fresh):  # the records B-tree then grows by appends
            values = self.fresh[series_id]
            made = self.made[series_id]
            if series_id in self.original:  # several batches: their rows one after the other
                values.sort()
                made.sort()
            changes.inserts.append((series_id, values))
            changes.new_events.extend((series_id, *span) for span in made)
        return changes


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
    """Replace the events an ingest changed, and widen ``max_event_us`` to the longest.

    Args:
        db: the connection, inside the ingest's write transaction.
        changes: the planned changes of the batch or group.
    """
    # An event that keeps its start is updated in place: its row stays where it is and the
    # index by start is not touched, where a delete and an insert would rewrite both.
    gone = set(changes.old_events)
    kept: list[tuple[int, int, int, int]] = []
    added: list[tuple[int, int, int, int]] = []
    for series_id, start, end, count in changes.new_events:
        if (series_id, start) in gone:
            gone.discard((series_id, start))
            kept.append((end, count, series_id, start))
        else:
            added.append((series_id, start, end, count))
    db.executemany(
        "UPDATE events SET end_us = ?, record_count = ? WHERE series_id = ? AND start_us = ?",
        kept,
    )
    db.executemany("DELETE FROM events WHERE series_id = ? AND start_us = ?", gone)
    db.executemany(
        "INSERT INTO events (series_id, start_us, end_us, record_count) VALUES (?, ?, ?, ?)",
        added,
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
    if is_busy(err):
        return EventStoreBusyError(
            f"{path} stayed locked by another writer; nothing was stored, "
            "try again (or raise the busy timeout)"
        )
    return EventStoreError(f"the event database {path} failed: {err}; nothing was stored")
