"""The status store: polls, business hours and time zones that flow into a SQLite file, and
uptime reports computed from it.

:class:`StatusStore` reads its inputs with the report's own readers (the same rows are
valid, with the same ``file:line`` messages and rejects) and keeps them through the narrow
storage interface of :class:`~outages_processor.stores.status_store.StatusDatabase`. A
report reads only what its windows need: per store, the polls of the last week and the
polls that bound it (the last one before, the first one after ``now``), and computes them
with :func:`~outages_processor.reports.build_report`, so that it equals the report of the
same data read from CSV files, byte for byte.

Why those polls suffice: either interpolation reads the status at an instant from the
polls next to it, so a store's spans of inactivity inside the week start and end at the
same instants whether the polls before the last one before the week (or after the first
one after ``now``) are there or not; the spans that reach outside are cut at the window's
edges. A margin of a second on each side keeps that true for the float seconds the core
computes with.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, repeat
from operator import itemgetter, truediv
from datetime import datetime
from types import TracebackType
from typing import Final, cast

from outages_processor._time import as_instant, epoch_seconds_datetime
from outages_processor.core.uptime import WEEK
from outages_processor.errors import InputDataError, StatusStoreError
from outages_processor.inputs.poll_blocks import PollBlock, PollCollector, StatusPart
from outages_processor.inputs.status_columnar import PollColumns, read_status_micros
from outages_processor.inputs.status_file import read_status_layout, read_status_part
from outages_processor.inputs.status_rows import iter_poll_rows
from outages_processor.inputs.status_sources import StatusShards, iter_shard_rows
from outages_processor.inputs.tables import RowErrors
from outages_processor.models.common import OnError, ProgressCallback
from outages_processor.models.schedules import Schedule, Slot
from outages_processor.models.events import epoch_micros
from outages_processor.models.status_ingest import PollIngest, StoreIngest
from outages_processor.models.uptime import (
    Interpolation,
    Poll,
    UptimeReport,
    report_now,
)
from outages_processor.reports.building import report_from_part
from outages_processor.reports.engines import columnar_wanted
from outages_processor.reports.inputs import (
    accepted_inputs,
    as_source,
    read_schedules,
    schedules_of,
)
from outages_processor.stores.status_store import DEFAULT_TIMEOUT, StatusDatabase

__all__ = ["DEFAULT_STORE", "StatusStore"]

DEFAULT_STORE: Final = "uptime.db"
"""The status database a store opens when given no path."""

_MARGIN: Final = 1_000_000
"""µs read beyond each edge of the week: far more than the float seconds' rounding."""
_WEEK: Final = int(WEEK) * 1_000_000


class StatusStore:
    """Store polls, business hours and time zones in a SQLite file, and report from them.

    Use as a context manager, or call :meth:`close`::

        with StatusStore("uptime.db") as store:
            store.ingest_polls("status.csv")
            store.replace_hours("hours.csv")
            store.replace_timezones("timezones.csv")
            report = store.report()

    Every write is one transaction, all or nothing; the same poll stored twice is stored
    once, and of two polls of a store at one instant the inactive one wins (as a report
    reads them). Thread-safe and safe with several writer processes, as
    :class:`~outages_processor.stores.event_store.EventStore`.

    Args:
        path: the database file; created when missing (unless ``read_only``).
        timeout: seconds a write waits for another process's write to finish.
        read_only: open an existing database for reading only (reports, counts).
        create: when False, a missing file is an error instead of a new database.

    Attributes:
        path: the database file.
        database: the storage interface under this store (plain values in and out).

    Raises:
        StatusStoreError: the file cannot be opened, is not a status database, has a
            newer schema, or is missing (``read_only`` or not ``create``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_STORE,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        read_only: bool = False,
        create: bool = True,
    ) -> None:
        self.path = os.fspath(path)
        self.database = StatusDatabase(
            path, timeout=timeout, read_only=read_only, create=create
        )

    def __enter__(self) -> StatusStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database connections (idempotent)."""
        self.database.close()

    def __repr__(self) -> str:
        return f"StatusStore({self.path!r})"

    def ingest_polls(self, polls: object, *, on_error: OnError = "fail") -> PollIngest:
        """Store status polls, as one all-or-nothing transaction; idempotent.

        Args:
            polls: a status CSV path or text stream (``store_id, status,
                timestamp_utc``), :class:`~outages_processor.models.uptime.Poll` values,
                a pandas DataFrame or row mappings or tuples (as
                :func:`~outages_processor.reports.build_report` accepts them).
            on_error: ``"fail"`` stops at the first bad row and stores nothing;
                ``"skip"`` stores the valid rows and returns the bad ones as rejects.

        Returns:
            How many polls were received, new and duplicates, and the rejects.

        Raises:
            InputDataError: a bad row in fail mode (``file:line: reason``; rows in memory
                are ``<status rows>:N``), or a file that cannot be read; nothing stored.
            StatusStoreError: the database failed or is read-only (nothing stored);
                :class:`~outages_processor.errors.StatusStoreBusyError` when another
                writer held it too long (try again).
            TypeError: an input of a type not accepted.
        """
        return self.load(polls, on_error=on_error).polls

    def replace_hours(self, hours: object, *, on_error: OnError = "fail") -> int:
        """Replace every stored business hours row, as one transaction.

        Args:
            hours: a business hours CSV path or stream, ``BusinessHours`` values, a
                DataFrame or rows (as :func:`~outages_processor.reports.build_report`).
            on_error: as :meth:`ingest_polls`.

        Returns:
            The rows now stored (repeated rows of a store are stored once).

        Raises:
            InputDataError: as :meth:`ingest_polls`.
            StatusStoreError: as :meth:`ingest_polls`.
            TypeError: an input of a type not accepted.
        """
        return cast(int, self.load(hours=hours, on_error=on_error).hours)

    def replace_timezones(self, timezones: object, *, on_error: OnError = "fail") -> int:
        """Replace every stored time zone, as one transaction.

        Args:
            timezones: a time zones CSV path or stream, ``StoreTimezone`` values, a
                DataFrame or rows (as :func:`~outages_processor.reports.build_report`).
            on_error: as :meth:`ingest_polls`.

        Returns:
            The time zones now stored.

        Raises:
            InputDataError: as :meth:`ingest_polls`.
            StatusStoreError: as :meth:`ingest_polls`.
            TypeError: an input of a type not accepted.
        """
        return cast(int, self.load(timezones=timezones, on_error=on_error).timezones)

    def load(
        self,
        status: object = None,
        hours: object = None,
        timezones: object = None,
        *,
        on_error: OnError = "fail",
    ) -> StoreIngest:
        """Store polls and replace the hours and time zones given, as ONE transaction.

        Args:
            status: polls to add (as :meth:`ingest_polls`), or None.
            hours: business hours replacing the stored ones (as :meth:`replace_hours`),
                or None to keep them.
            timezones: time zones replacing the stored ones, or None to keep them.
            on_error: as :meth:`ingest_polls`.

        Returns:
            What was stored, and every skipped row.

        Raises:
            InputDataError: as :meth:`ingest_polls` (nothing stored).
            StatusStoreError: as :meth:`ingest_polls` (nothing stored).
            TypeError: an input of a type not accepted.
            ValueError: an unknown ``on_error``.
        """
        status_errors, schedule_errors = RowErrors(on_error), RowErrors(on_error)
        # The small inputs are read first, outside the transaction: a bad row there costs
        # no lock. The polls are read inside it, chunk by chunk.
        hours_rows = None if hours is None else _hours_rows(hours, schedule_errors)
        zone_rows = None if timezones is None else _zone_rows(timezones, schedule_errors)
        counted = _Counted()
        polls = None if status is None else counted.rows(_poll_rows(status, status_errors))
        new, stored_hours, stored_zones = self.database.write(polls, hours_rows, zone_rows)
        return StoreIngest(
            PollIngest(counted.count, new, counted.count - new, status_errors.rejects),
            None if hours is None else stored_hours,
            None if timezones is None else stored_zones,
            [*status_errors.rejects, *schedule_errors.rejects],
        )

    def report(
        self,
        *,
        now: datetime | str | None = None,
        interpolation: Interpolation = "nearest",
        progress: ProgressCallback | None = None,
    ) -> UptimeReport:
        """Compute each store's uptime report from the stored data.

        Reads only the last week's polls and those that bound it; the result equals
        :func:`~outages_processor.reports.build_report` on the same data as files.

        Args:
            now: the instant the windows end at (a datetime or ISO 8601 string, naive or
                no offset = UTC); default: the latest stored poll.
            interpolation: ``"nearest"`` (default) or ``"previous"``.
            progress: called as ``progress(stage, done, total)`` as the work advances.

        Returns:
            One row per store with a poll, sorted by store id.

        Raises:
            StatusStoreError: the store holds no polls, or the database failed.
            ValueError: an unknown interpolation, or a ``now`` that is not a timestamp
                or is out of range.
            TypeError: ``now`` is neither a string nor a datetime.
        """
        moment = None if now is None else report_now(now)
        if interpolation not in ("nearest", "previous"):
            raise ValueError(f"unknown interpolation {interpolation!r}: use nearest or previous")
        window = self.database.window(
            None if moment is None else epoch_micros(moment), _WEEK + _MARGIN, _MARGIN
        )
        if window is None:
            raise StatusStoreError(
                f"{self.path} holds no polls; ingest a status file first "
                "(process_outages uptime ingest --status FILE)"
            )
        # now=None: the report takes the latest poll, which is among those read.
        return report_from_part(
            _grouped_polls(self.path, window.polls),
            _schedules(window.hours, window.timezones),
            now=moment,
            interpolation=interpolation,
            progress=progress,
        )

    def prune(self, before: datetime | str) -> int:
        """Drop the polls before an instant (later reports see only the polls left).

        Args:
            before: a datetime or ISO 8601 string (naive or no offset = UTC); polls at
                that instant are kept.

        Returns:
            How many polls were dropped.

        Raises:
            StatusStoreError: the database failed or is read-only (nothing dropped).
            ValueError: ``before`` is not a timestamp.
            TypeError: ``before`` is neither a string nor a datetime.
        """
        return self.database.prune(epoch_micros(as_instant(before, "before")))

    def has_polls(self) -> bool:
        """True when at least one poll is stored: a report can be made."""
        return self.database.has_polls()

    def counts(self) -> dict[str, int]:
        """How much is stored: ``{"polls": n, "stores": n, "hours": n, "timezones": n}``."""
        return self.database.counts()


class _Counted:
    """Counts the rows an iterator yields (consumed later, inside the transaction)."""

    def __init__(self) -> None:
        self.count = 0

    def rows(self, rows: Iterable[tuple[str, int, bool]]) -> Iterator[tuple[str, int, bool]]:
        """Yield ``rows``, counting them."""
        for row in rows:
            self.count += 1
            yield row


def _poll_rows(status: object, errors: RowErrors) -> Iterator[tuple[str, int, bool]]:
    """The polls of a status input as ``(store_id, at_us, active)``, read by the readers."""
    accepted = accepted_inputs(status, (), ())[0]
    if isinstance(accepted, StatusShards):
        # Many files (a glob, a list, URLs, Parquet): their polls, shard after shard.
        for shard in accepted.shards:
            for store_id, active, seconds in iter_shard_rows(shard, errors=errors):
                yield store_id, _stored_micros(seconds), active
        return
    if isinstance(accepted, (str, os.PathLike)):
        clean = _columnar_rows(accepted)
        if clean is None:
            clean = _part_rows(accepted)
        if clean is not None:
            yield from clean
            return
    source = as_source(accepted)
    if source is None:
        for poll in cast(Iterable[Poll], accepted):
            yield poll.store_id, epoch_micros(poll.timestamp), poll.status == "active"
        return
    for store_id, active, seconds in iter_poll_rows(source, errors=errors):
        yield store_id, _stored_micros(seconds), active


def _stored_micros(seconds: float) -> int:
    """The instant a report reads from a file, to the microsecond, as a Poll would hold it."""
    return epoch_micros(epoch_seconds_datetime(seconds))


def _micros_of(seconds: float) -> int:
    """:func:`_stored_micros`, with arithmetic where it gives the same (1901 to 2038).

    A file's time is read as the float nearest its whole microseconds ``k / 1e6``; within
    :data:`_CLOSE_MICROS` of the epoch that float times 1e6 is within half a microsecond of
    ``k``, which is also what the round trip through a datetime gives.
    """
    if -_CLOSE_SECONDS < seconds < _CLOSE_SECONDS:
        return round(seconds * 1_000_000)
    return _stored_micros(seconds)


def _part_rows(path: str | os.PathLike[str]) -> Iterator[tuple[str, int, bool]] | None:
    """The polls of a clean local status file, read by the report's own range reader.

    No extra is needed: this is how the pure engine reads a file for a report, several
    times faster than row by row. The polls come store by store in store id order, each
    store's by time, so that they are inserted as appends. A file that is not clean (a bad
    row, quoted fields, no such file) gives None: the row reader then reads it, with its
    own messages and rejects.
    """
    try:
        layout = read_status_layout(path)
    except InputDataError:
        return None
    if layout.sequential:
        return None
    part = read_status_part(layout, layout.data_start, layout.size, on_error="fail")
    if part.error is not None or part.needs_sequential:
        return None
    return _block_rows(part.blocks[0])


def _block_rows(block: PollBlock) -> Iterator[tuple[str, int, bool]]:
    """``(store_id, at_us, active)`` of a block's polls, by store id, then time."""
    for store_id, active, inactive in sorted(block.polls(), key=itemgetter(0)):
        polls = sorted(
            chain(zip(map(_micros_of, active), repeat(True)),
                  zip(map(_micros_of, inactive), repeat(False)))
        )  # fmt: skip
        for at, is_active in polls:
            yield store_id, at, is_active


def _columnar_rows(path: str | os.PathLike[str]) -> Iterator[tuple[str, int, bool]] | None:
    """The polls of a local status file read by the columnar engine, when ``auto`` picks
    it and the file is clean (see :mod:`~outages_processor.reports.engines`); else None.

    The rows are those the pure readers give: a time far from 1970, which float seconds
    do not hold to the microsecond, is stored as it comes back from its seconds.
    """
    if not columnar_wanted(path, "auto"):
        return None
    columns = read_status_micros(path)
    return None if columns is None else _column_rows(columns)


_CLOSE_MICROS: Final = (1 << 31) * 1_000_000
"""Times within this of the epoch (1901 to 2038) come back from float seconds unchanged:
half a unit in the last place of such seconds is under half a microsecond."""
_CLOSE_SECONDS: Final = float(1 << 31)
"""The same bound in seconds."""
_ROWS_AT_ONCE: Final = 1 << 16


def _column_rows(columns: PollColumns) -> Iterator[tuple[str, int, bool]]:
    """``(store_id, at_us, active)`` of sorted columns, a slice of them at a time."""
    # pylint: disable-next=import-outside-toplevel  # numpy: the optional extra
    import numpy as np

    store_ids = columns.store_ids
    for first in range(0, len(columns.micros), _ROWS_AT_ONCE):
        rows = slice(first, first + _ROWS_AT_ONCE)
        micros = columns.micros[rows]
        at = micros.tolist()
        for index in np.flatnonzero(np.abs(micros) >= _CLOSE_MICROS).tolist():
            at[index] = _stored_micros(at[index] / 1_000_000)
        names = [store_ids[store] for store in columns.store[rows].tolist()]
        yield from zip(names, at, np.logical_not(columns.inactive[rows]).tolist())


def _hours_rows(hours: object, errors: RowErrors) -> list[tuple[str, int, int, int]]:
    """The rows of a business hours input, read and checked as a report reads them."""
    schedules = read_schedules(accepted_inputs((), hours, ())[1], (), errors)
    return [
        (store_id, *slot) for store_id, schedule in schedules.items() for slot in schedule.slots
    ]


def _zone_rows(timezones: object, errors: RowErrors) -> list[tuple[str, str]]:
    """The rows of a time zones input, read and checked as a report reads them."""
    schedules = read_schedules((), accepted_inputs((), (), timezones)[2], errors)
    return [(store_id, schedule.timezone) for store_id, schedule in schedules.items()]


def _grouped_polls(path: str, rows: Sequence[tuple[str, int, int]]) -> StatusPart:
    """Stored polls ``(store_id, at_us, active)`` grouped as a file's are, in C-level passes.

    Microseconds over an int divisor are the seconds ``datetime.timestamp()`` gives for the
    same instant read from a file.
    """
    polls = PollCollector(path, 0, "fail")
    if rows:
        store_ids, micros, active = zip(*rows)
        polls.add_many(store_ids, active, list(map(truediv, micros, repeat(1_000_000))))
    return polls.part(1)


def _schedules(
    hours: Iterable[tuple[str, int, int, int]], zones: Iterable[tuple[str, str]]
) -> dict[str, Schedule]:
    """Stored hours ``(store_id, day, start_s, end_s)`` and zones as each store's schedule."""
    slots: dict[str, list[Slot]] = {}
    for store_id, day, start, end in hours:
        slots.setdefault(store_id, []).append((day, start, end))
    return schedules_of(slots, dict(zones))
