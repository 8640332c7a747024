"""Use case: store uptime reports, built at once or triggered and served in the background.

* :func:`build_report` reads the three inputs and computes one row per store;
* :func:`write_report_csv` writes the rows atomically (a failed or interrupted run never
  leaves a partial report); :func:`run_report` does both, as the command line does;
* :class:`ReportService` lets a web service trigger a report, answer at once with an id,
  and tell later (or from another process) whether it is Running, Complete or Failed.

Work is split by store. Reading a large status file is split into byte ranges, each read by
a worker into per-store arrays; the stores are then split into partitions by a stable hash,
and each partition is computed by a worker. ``executor`` takes any
:class:`concurrent.futures.Executor` (a Dask cluster's ``client.get_executor()`` included;
its workers must be able to open the input path). Without one, large inputs use a process
pool over the machine's cores, and small ones run in the calling thread.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import multiprocessing
import os
import pickle
import re
import stat
import tempfile
import threading
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from datetime import datetime, timezone
from typing import IO, Any, Final, TypeAlias, TypeVar, cast

import attrs

from outages_processor.core.business_hours import (
    DEFAULT_TIMEZONE,
    BusinessClock,
    BusinessClocks,
)
from outages_processor.core.uptime import WEEK, UptimeCalculator
from outages_processor.errors import InputDataError
from outages_processor.models.uptime import (
    BusinessHours,
    Interpolation,
    OnError,
    Poll,
    RejectedRow,
    ReportState,
    ReportStatus,
    StoreTimezone,
    StoreUptime,
    UptimeReport,
    WeeklyHours,
)
from outages_processor.storage import csv_inputs, status_ranges
from outages_processor.storage.csv_inputs import MEMORY, RowErrors, Source
from outages_processor.storage.report_files import atomic_open
from outages_processor.storage.report_states import HELD, FileLock, ReportFiles
from outages_processor.storage.status_ranges import PollBlock, StatusPart, split_signed

__all__ = [
    "PARALLEL_MIN_BYTES",
    "ProgressCallback",
    "ReportService",
    "build_report",
    "run_report",
    "write_rejects_csv",
    "write_report_csv",
]

logger = logging.getLogger(__name__)

ProgressCallback: TypeAlias = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``; stages, in order: ``"reading"`` (bytes of
the status file), ``"computing"`` (stores) and ``"writing"`` (rows). Work done by other
processes is reported as each piece of it completes."""

_PROGRESS_STORES: Final = 1024
# Stores computed between two progress reports, when computing in this thread.

StatusInput: TypeAlias = Source | Iterable[Poll]
HoursInput: TypeAlias = Source | Iterable[BusinessHours]
TimezonesInput: TypeAlias = Source | Iterable[StoreTimezone]

PARALLEL_MIN_BYTES: Final = 4 << 20
"""Status files at least this large (bytes) use a process pool when no executor is given."""

_RANGES_PER_WORKER: Final = 1
# One byte range per worker: each range adds a block to every partition to merge.

Schedule: TypeAlias = "tuple[str, tuple[tuple[int, int, int], ...]]"
"""A time zone name and the sorted ``(day_of_week, start, end)`` slots of a week (plain
tuples travel to workers faster than models)."""
Tables: TypeAlias = "tuple[dict[str, int], list[Schedule]]"
"""Each store's index into the distinct schedules, and the schedules."""

_T = TypeVar("_T")


# --------------------------------------------------------------------------- running work


def _done(func: Callable[..., _T], *args: Any, **kwargs: Any) -> Future[_T]:
    """Run ``func`` now, in this thread, and return its outcome as a finished future."""
    future: Future[_T] = Future()
    try:
        future.set_result(func(*args, **kwargs))
    except Exception as err:  # pylint: disable=broad-exception-caught
        future.set_exception(err)
    return future


def _process_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool; forked (fastest) only while this process has a single thread."""
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        method = "fork"
    elif "forkserver" in methods:
        # Forking a process that runs other threads may copy a held lock into the child.
        method = "forkserver"
    else:  # pragma: no cover - Windows
        method = "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))


class _Runner:
    """Submits work to the executor, or runs it in this thread when there is none.

    Attributes:
        executor: where work goes; None runs it in this thread.
        workers: how many partitions to split the work into.
        spill: a folder for poll data passed between processes of this machine, or None
            to pass it through the executor (which may be a cluster).
    """

    def __init__(self, executor: Executor | None, workers: int, spill: str | None = None) -> None:
        self.executor = executor
        self.workers = workers
        self.spill = spill

    def submit(self, func: Callable[..., _T], *args: Any, **kwargs: Any) -> Future[_T]:
        """Start ``func(*args, **kwargs)`` and return its future."""
        if self.executor is None:
            return _done(func, *args, **kwargs)
        return self.executor.submit(func, *args, **kwargs)


def _as_source(value: object) -> Source | None:
    """The value as a CSV source (a path or a text stream), or None for in-memory rows."""
    if isinstance(value, (str, os.PathLike)) or hasattr(value, "read"):
        return cast(Source, value)
    return None


# --------------------------------------------------------------------------- schedules


def _schedules(hours: HoursInput, timezones: TimezonesInput, errors: RowErrors) -> Tables:
    """Read hours and time zones into distinct schedules and each store's schedule.

    Thousands of stores share a few thousand distinct schedules, so each is computed once.

    Returns:
        The index of each store's schedule, and the distinct schedules (index 0:
        America/Chicago, open 24x7, for stores in neither file).
    """
    hours_source = _as_source(hours)
    if hours_source is not None:
        slots = csv_inputs.read_business_hours(hours_source, errors=errors)
    else:
        slots = {}
        for row in cast("Iterable[BusinessHours]", hours):
            slots.setdefault(row.store_id, []).extend(WeeklyHours.from_rows([row]).slots)
    zones_source = _as_source(timezones)
    if zones_source is not None:
        zones = csv_inputs.read_timezones(zones_source, errors=errors)
    else:
        zones = _memory_zones(cast("Iterable[StoreTimezone]", timezones), errors)
    schedules: list[Schedule] = [(DEFAULT_TIMEZONE, ())]
    index: dict[Schedule, int] = {schedules[0]: 0}
    store_schedule: dict[str, int] = {}
    for store_id in slots.keys() | zones.keys():
        week = slots.get(store_id)
        key = (
            zones.get(store_id, DEFAULT_TIMEZONE),
            tuple(sorted(set(week))) if week else (),
        )
        number = index.get(key)
        if number is None:
            number = index[key] = len(schedules)
            schedules.append(key)
        store_schedule[store_id] = number
    return store_schedule, schedules


def _memory_zones(rows: Iterable[StoreTimezone], errors: RowErrors) -> dict[str, str]:
    """Check in-memory time zones as the time zones file reader does."""
    zones: dict[str, str] = {}
    valid: dict[str, bool] = {}
    for row in rows:
        if row.timezone not in valid:
            valid[row.timezone] = csv_inputs.is_time_zone(row.timezone)
        text = f"{row.store_id},{row.timezone}"
        if not valid[row.timezone]:
            errors.bad_row(f"unknown time zone {row.timezone!r}", path=MEMORY, line=None, row=text)
        elif zones.setdefault(row.store_id, row.timezone) != row.timezone:
            reason = f"store {row.store_id} already has time zone {zones[row.store_id]}"
            errors.bad_row(reason, path=MEMORY, line=None, row=text)
    return zones


# --------------------------------------------------------------------------- partitions


def _compute_partition(
    blocks: Sequence[PollBlock],
    tables: Tables | str,
    now: float,
    interpolation: Interpolation,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[str], array[float]]:
    """Compute the report values of one partition of the stores (runs in a worker).

    Args:
        blocks: the partition's polls, one block per byte range read.
        tables: each store's schedule index (missing: index 0) and the distinct
            (time zone, week) schedules, or the pickle file that holds them.
        now: the instant the windows end at, seconds since the epoch.
        interpolation: ``"nearest"`` or ``"previous"``.
        progress: called with the number of stores done, now and then (in this thread).

    Returns:
        The store ids, sorted, and their values: six per store, in report column order.
    """
    store_schedule, schedules = _load_tables(tables)
    calculator = UptimeCalculator(now, interpolation)
    clock_of = _ScheduleClocks(schedules, now)
    merged = _merge_blocks(blocks)
    store_ids = sorted(merged)
    values: array[float] = array("d")
    for done, store_id in enumerate(store_ids, 1):
        signed = merged.pop(store_id)
        values.extend(_store_values(calculator, signed, clock_of(store_schedule.get(store_id, 0))))
        if progress is not None and not done % _PROGRESS_STORES:
            progress(done)
    return store_ids, values


def _load_tables(tables: Tables | str) -> Tables:
    """The tables themselves, read from their pickle file if given its path."""
    if isinstance(tables, str):
        with open(tables, "rb") as stream:
            return cast(Tables, pickle.load(stream))
    return tables


def _store_values(
    calculator: UptimeCalculator, signed: array[float], clock: BusinessClock
) -> tuple[float, float, float, float, float, float]:
    """One store's report values from its signed poll times."""
    if min(signed) > 0.0:
        # Only active polls: the status is active throughout, no need to sort.
        return calculator.values(signed, (), clock)
    return calculator.values(*split_signed(signed), clock)


def _merge_blocks(blocks: Sequence[PollBlock]) -> dict[str, array[float]]:
    """Each store's signed poll times from every block, joined."""
    merged: dict[str, array[float]] = {}
    for block in blocks:
        for store_id, signed in block.signed():
            known = merged.get(store_id)
            if known is None:
                merged[store_id] = signed
            else:
                known.extend(signed)
    return merged


class _ScheduleClocks:
    """The business clock of each schedule (by index), built on first use."""

    def __init__(self, schedules: Sequence[Schedule], now: float) -> None:
        self._schedules = schedules
        self._clocks = BusinessClocks(now - WEEK, now)
        self._known: dict[int, BusinessClock] = {}

    def __call__(self, number: int) -> BusinessClock:
        clock = self._known.get(number)
        if clock is None:
            clock = self._known[number] = self._clocks.clock(*self._schedules[number])
        return clock


# --------------------------------------------------------------------------- build


@attrs.frozen
class _Options:
    """The checked options of one report."""

    interpolation: Interpolation
    on_error: OnError
    now: float | None
    progress: ProgressCallback | None

    @classmethod
    def check(
        cls,
        now: datetime | None,
        interpolation: str,
        on_error: str,
        progress: ProgressCallback | None,
    ) -> _Options:
        """Check the options a caller gave.

        Raises:
            ValueError: an unknown interpolation or on_error, or a naive ``now``.
        """
        if interpolation not in ("nearest", "previous"):
            raise ValueError(f"unknown interpolation {interpolation!r}: use nearest or previous")
        if on_error not in ("fail", "skip"):
            raise ValueError(f"'on_error' must be in ('fail', 'skip'), not {on_error!r}")
        if now is not None and (now.tzinfo is None or now.utcoffset() is None):
            raise ValueError("now must be an aware datetime (add a UTC offset or Z)")
        return cls(
            cast(Interpolation, interpolation),
            cast(OnError, on_error),
            None if now is None else now.timestamp(),
            progress,
        )


def _read_part(
    layout: status_ranges.StatusLayout,
    start: int,
    end: int,
    partitions: int,
    on_error: OnError,
    spill: str | None,
) -> StatusPart:
    """Read one byte range of the status file (runs in a worker).

    With ``spill``, the poll times go to files there and only store ids come back: sending
    megabytes through a process pool's pipes costs more than the page cache.
    """
    part = status_ranges.read_status_part(
        layout, start, end, partitions=partitions, on_error=on_error
    )
    if spill is None:
        return part
    blocks = tuple(
        block.spill(os.path.join(spill, f"{start}-{number}.polls"))
        for number, block in enumerate(part.blocks)
    )
    return attrs.evolve(part, blocks=blocks)


class _StatusReading:
    """Reading the status polls: started at once (on the executor), gathered later."""

    def __init__(self, status: StatusInput, runner: _Runner, options: _Options) -> None:
        self.status = status
        self.runner = runner
        self.on_error = options.on_error
        self.progress = options.progress
        self.done = 0
        self.partitions = runner.workers if runner.executor is not None else 1
        self.parts: list[StatusPart] = []
        self.futures: dict[Future[StatusPart], int] = {}
        self.total = 0
        source = _as_source(status)
        if source is None:
            polls = cast("Iterable[Poll]", status)
            self.parts = [status_ranges.group_polls(polls, partitions=self.partitions)]
        elif not isinstance(source, (str, os.PathLike)) or not _is_regular_file(source):
            # A stream, or a pipe: it can be read only once, from start to end.
            self.parts = [self._sequential(source)]
        else:
            self._start(source)

    def _sequential(self, source: Source) -> StatusPart:
        return status_ranges.read_status_sequential(
            source, partitions=self.partitions, on_error=self.on_error
        )

    def _advance(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress("reading", self.done, self.total)

    def _start(self, path: str | os.PathLike[str]) -> None:
        layout = status_ranges.read_status_layout(path)
        self.total = layout.size - layout.data_start
        if not self.runner.executor is not None:
            self.parts = [
                status_ranges.read_status_part(
                    layout,
                    layout.data_start,
                    layout.size,
                    on_error=self.on_error,
                    progress=self._advance,
                )
            ]
            return
        ranges = status_ranges.split_status(layout, self.runner.workers * _RANGES_PER_WORKER)
        for start, end in ranges:
            future = self.runner.submit(
                _read_part,
                layout,
                start,
                end,
                self.partitions,
                self.on_error,
                self.runner.spill,
            )
            self.futures[future] = end - start

    def result(self) -> list[StatusPart]:
        """Wait for the reading to finish; return its parts in input order."""
        if self.futures:
            for future in as_completed(self.futures):
                self._advance(self.futures[future])
            self.parts = [future.result() for future in self.futures]
            if any(part.needs_sequential for part in self.parts):
                logger.info(
                    "%s has quoted fields or bare carriage returns: read whole", self.status
                )
                self.parts = [self._sequential(cast(Source, self.status))]
        return self.parts


def build_report(  # pylint: disable=too-many-arguments  # the documented keyword options
    status: StatusInput,
    hours: HoursInput,
    timezones: TimezonesInput,
    *,
    now: datetime | None = None,
    interpolation: Interpolation = "nearest",
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
    jobs: int | None = None,
    on_error: OnError = "fail",
) -> UptimeReport:
    """Compute each store's uptime and downtime within business hours.

    Args:
        status: the status polls: a CSV path or text stream (``store_id, status,
            timestamp_utc``), or :class:`~outages_processor.models.uptime.Poll` values.
        hours: business hours: a CSV path or stream (``store_id, dayOfWeek`` or ``day``,
            ``start_time_local, end_time_local``), or ``BusinessHours`` values.
        timezones: time zones: a CSV path or stream (``store_id, timezone_str``), or
            ``StoreTimezone`` values.
        now: the instant the windows end at (aware); default: the latest poll.
        interpolation: ``"nearest"`` (default): the status of the nearest poll;
            ``"previous"``: the status of the latest poll before.
        executor: where to run the work (any :class:`concurrent.futures.Executor`);
            default: a process pool of ``jobs`` workers for status files of at least
            :data:`PARALLEL_MIN_BYTES`, else this thread.
        progress: called as ``progress(stage, done, total)`` as the work advances.
        jobs: workers to use (default: the machine's cores); 1 runs in this thread.
        on_error: ``"fail"`` (default) stops at the first bad row; ``"skip"`` leaves bad
            rows out and returns them in the report's ``rejects``.

    Returns:
        One row per store with at least one poll, sorted by store id.

    Raises:
        InputDataError: a bad row (in fail mode) as ``file:line: what is wrong``, a file
            that cannot be read, lacks a column, or has no valid status rows.
        ValueError: an invalid argument (interpolation, on_error, jobs, naive now).
    """
    options = _Options.check(now, interpolation, on_error, progress)
    if jobs is not None and jobs < 1:
        raise ValueError("jobs must be at least 1")
    workers = jobs or os.cpu_count() or 1
    with contextlib.ExitStack() as stack:
        spill = None
        if executor is None and workers > 1 and _is_large(status):
            spill = stack.enter_context(tempfile.TemporaryDirectory(prefix="uptime-"))
            executor = stack.enter_context(_process_pool(workers))
        return _build(_Runner(executor, workers, spill), status, hours, timezones, options)


def _build(
    runner: _Runner,
    status: StatusInput,
    hours: HoursInput,
    timezones: TimezonesInput,
    options: _Options,
) -> UptimeReport:
    """Read the inputs and compute the report, on the runner's executor."""
    errors = RowErrors(options.on_error)
    reading = _StatusReading(status, runner, options)
    # The hours and time zones are read here while the workers read the status file.
    schedule_error: InputDataError | None = None
    tables: Tables = ({}, [])
    try:
        tables = _schedules(hours, timezones, errors)
    except InputDataError as err:
        schedule_error = err
    parts = reading.result()
    polls = _check_parts(parts, status, schedule_error)
    end = options.now if options.now is not None else max(part.latest for part in parts)
    logger.debug("computing the report of %d polls", polls)
    rows = _compute(runner, parts, tables, end=end, options=options)
    rejects = [reject for part in parts for reject in part.rejects]
    rejects.extend(errors.rejects)
    return UptimeReport(
        rows, datetime.fromtimestamp(end, timezone.utc), options.interpolation, rejects
    )


def _is_regular_file(path: str | os.PathLike[str]) -> bool:
    """True for a file that can be read in byte ranges (not a pipe or a device)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # let the reader report what is wrong with it


def _is_large(status: object) -> bool:
    """True for a status file large enough to be worth a process pool."""
    if not isinstance(status, (str, os.PathLike)):
        return False
    try:
        return os.path.getsize(status) >= PARALLEL_MIN_BYTES
    except OSError:
        return False


def _check_parts(
    parts: Sequence[StatusPart], status: object, schedule_error: InputDataError | None
) -> int:
    """Raise the first bad status row, then a bad hours or zones row; count the polls."""
    path = csv_inputs.source_name(status)
    for part in parts:
        if part.error is not None:
            raise InputDataError(part.error[0], path=path, line=part.error[1])
    if schedule_error is not None:
        raise schedule_error
    polls = sum(part.polls for part in parts)
    if not polls:
        skipped = sum(len(part.rejects) for part in parts)
        reason = (
            f"no valid status rows ({skipped} bad rows skipped)"
            if skipped
            else "no status rows: the status file has a header but no polls"
        )
        raise InputDataError(reason, path=path)
    return polls


def _compute(
    runner: _Runner,
    parts: Sequence[StatusPart],
    tables: Tables,
    *,
    end: float,
    options: _Options,
) -> list[StoreUptime]:
    """Compute every partition and gather the rows, sorted by store id."""
    partitions = len(parts[0].blocks)
    shared: Tables | str = tables
    if runner.spill is not None:
        # Both workers need the same tables: one file beats one pickle per task.
        shared = os.path.join(runner.spill, "tables.pickle")
        with open(shared, "wb") as stream:
            pickle.dump(tables, stream, pickle.HIGHEST_PROTOCOL)
    total = len(
        {store_id for part in parts for block in part.blocks for store_id in block.store_ids}
    )
    report = options.progress
    inline = _stores_done(report, total) if runner.executor is None else None
    futures = [
        runner.submit(
            _compute_partition,
            [part.blocks[number] for part in parts],
            shared,
            end,
            options.interpolation,
            inline,
        )
        for number in range(partitions)
    ]
    rows: list[StoreUptime] = []
    for future in as_completed(futures):
        rows.extend(_rows(*future.result()))
        if report is not None:
            report("computing", len(rows), total)
    # Each partition comes sorted, so this merges a few sorted runs.
    rows.sort(key=_store_key)
    return rows


def _stores_done(report: ProgressCallback | None, total: int) -> Callable[[int], None] | None:
    """A callback reporting the stores computed so far out of ``total``, if reporting."""
    if report is None:
        return None
    return lambda done: report("computing", done, total)


def _rows(store_ids: list[str], values: array[float]) -> Iterator[StoreUptime]:
    """Report rows from a partition's store ids and their six values each."""
    for index, store_id in enumerate(store_ids):
        yield StoreUptime(store_id, *values[6 * index : 6 * index + 6])


def _store_key(row: StoreUptime) -> str:
    return row.store_id


# --------------------------------------------------------------------------- writing


def write_report_csv(
    rows: Iterable[StoreUptime],
    destination: str | os.PathLike[str] | IO[str],
    *,
    progress: ProgressCallback | None = None,
) -> int:
    """Write report rows as CSV, values rounded to 2 decimals.

    Args:
        rows: the rows (an :class:`~outages_processor.models.uptime.UptimeReport` works).
        destination: a path, written atomically (temporary file, then rename), or an open
            text stream such as ``sys.stdout``.
        progress: called as ``progress("writing", done, total)``.

    Returns:
        The number of rows written.
    """
    items = list(rows)
    with contextlib.ExitStack() as stack:
        if isinstance(destination, (str, os.PathLike)):
            stream: IO[str] = stack.enter_context(atomic_open(destination, newline=""))
        else:
            stream = destination
        stream.write(",".join(StoreUptime.COLUMNS) + "\n")
        step = max(len(items) // 20, 1)
        for first in range(0, len(items), step):
            stream.write("".join(map(_csv_line, items[first : first + step])))
            if progress is not None:
                progress("writing", min(first + step, len(items)), len(items))
    return len(items)


_NEEDS_QUOTES: Final = re.compile(r'[",\r\n]')


def _csv_line(row: StoreUptime) -> str:
    """One report row as a CSV line, values with 2 decimals."""
    store_id = row.store_id
    if _NEEDS_QUOTES.search(store_id):
        store_id = '"' + store_id.replace('"', '""') + '"'
    return (
        f"{store_id},{row.uptime_last_hour:.2f},{row.uptime_last_day:.2f},"
        f"{row.uptime_last_week:.2f},{row.downtime_last_hour:.2f},"
        f"{row.downtime_last_day:.2f},{row.downtime_last_week:.2f}\n"
    )


def write_rejects_csv(rejects: Iterable[RejectedRow], path: str | os.PathLike[str]) -> int:
    """Write skipped rows (``file, line, reason, row``) as CSV, atomically.

    Returns:
        The number of rows written.
    """
    count = 0
    with atomic_open(path, newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(RejectedRow.COLUMNS)
        for reject in rejects:
            writer.writerow(reject.csv_values())
            count += 1
    return count


def run_report(  # pylint: disable=too-many-arguments  # build_report's options, and files
    status: StatusInput,
    hours: HoursInput,
    timezones: TimezonesInput,
    output: str | os.PathLike[str] | IO[str],
    *,
    rejects: str | os.PathLike[str] | None = None,
    now: datetime | None = None,
    interpolation: Interpolation = "nearest",
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
    jobs: int | None = None,
    on_error: OnError = "fail",
) -> UptimeReport:
    """Build a report and write it (and the skipped rows) as CSV: the command line's job.

    Args:
        status: as :func:`build_report`.
        hours: as :func:`build_report`.
        timezones: as :func:`build_report`.
        output: the report's path (written atomically) or a text stream.
        rejects: where to write skipped rows, if anywhere (with ``on_error="skip"``).
        now: as :func:`build_report`.
        interpolation: as :func:`build_report`.
        executor: as :func:`build_report`.
        progress: as :func:`build_report`, plus the ``"writing"`` stage.
        jobs: as :func:`build_report`.
        on_error: as :func:`build_report`.

    Returns:
        The report that was written.

    Raises:
        InputDataError: as :func:`build_report`; nothing is written then.
    """
    report = build_report(
        status,
        hours,
        timezones,
        now=now,
        interpolation=interpolation,
        executor=executor,
        progress=progress,
        jobs=jobs,
        on_error=on_error,
    )
    write_report_csv(report.rows, output, progress=progress)
    if rejects is not None:
        write_rejects_csv(report.rejects, rejects)
    return report


# --------------------------------------------------------------------------- service


class ReportService:
    """Trigger reports that compute in the background, and ask how they are doing.

    Each report's state is a small JSON file in ``directory`` beside its CSV, so another
    process, or this one after a restart, sees the same states. A report whose process
    died while Running reads as Failed: the running process holds a lock on the report,
    which the operating system releases when the process ends, however it ends.

    Example, in a web service::

        service = ReportService("reports/")
        report_id = service.trigger("status.csv", "hours.csv", "timezones.csv")
        service.get(report_id).state   # ReportState.RUNNING, then COMPLETE
    """

    def __init__(self, directory: str | os.PathLike[str], executor: Executor | None = None) -> None:
        """Serve reports kept in ``directory`` (created if missing).

        Args:
            directory: where states and reports are kept.
            executor: where reports compute (see :func:`build_report`); default: each report
                decides, by the size of its input.
        """
        self.files = ReportFiles(directory)
        self.directory = self.files.directory
        self.executor = executor
        self._threads: dict[str, threading.Thread] = {}

    def trigger(
        self,
        status: StatusInput,
        hours: HoursInput,
        timezones: TimezonesInput,
        *,
        now: datetime | None = None,
        interpolation: Interpolation = "nearest",
        on_error: OnError = "fail",
    ) -> str:
        """Start a report in the background and return its id at once.

        Args:
            status: as :func:`build_report` (read in the background).
            hours: as :func:`build_report`.
            timezones: as :func:`build_report`.
            now: as :func:`build_report`.
            interpolation: as :func:`build_report`.
            on_error: as :func:`build_report`.

        Returns:
            The report id: 32 hexadecimal characters.
        """
        report_id = uuid.uuid4().hex
        lock = FileLock.hold(self.files.path(report_id, ".lock"))
        state = {
            "report_id": report_id,
            "state": ReportState.RUNNING.value,
            "created_at": _utc_now(),
            "pid": os.getpid(),
        }
        self.files.write_state(state)
        thread = threading.Thread(
            target=self._compute,
            args=(state, lock, (status, hours, timezones)),
            kwargs={"now": now, "interpolation": interpolation, "on_error": on_error},
            name=f"uptime-report-{report_id}",
        )
        self._threads[report_id] = thread
        thread.start()
        return report_id

    def _compute(
        self,
        state: dict[str, Any],
        lock: FileLock,
        inputs: tuple[StatusInput, HoursInput, TimezonesInput],
        **options: Any,
    ) -> None:
        report_id = state["report_id"]
        try:
            report = build_report(*inputs, executor=self.executor, **options)
            write_report_csv(report.rows, self.files.path(report_id, ".csv"))
        except Exception as err:  # pylint: disable=broad-exception-caught
            # Whatever went wrong belongs in the report's state, where get() shows it.
            logger.info("report %s failed", report_id, exc_info=True)
            state.update(state=ReportState.FAILED.value, error=str(err) or type(err).__name__)
        else:
            state.update(
                state=ReportState.COMPLETE.value,
                csv=f"{report_id}.csv",
                rows=len(report.rows),
                now=report.now.isoformat(),
            )
        finally:
            state.update(finished_at=_utc_now())
            self.files.write_state(state)
            lock.release()

    def get(self, report_id: str, *, include_rows: bool = False) -> ReportStatus:
        """Return a report's state: Running, Complete (with its CSV) or Failed (with why).

        Args:
            report_id: an id :meth:`trigger` returned.
            include_rows: also read the rows of a Complete report (values as written, 2
                decimals).

        Raises:
            ReportError: the id is malformed, or no report has it in this directory.
        """
        state = self.files.read_state(report_id)
        if state["state"] == ReportState.RUNNING.value:
            state = self._check_running(report_id, state)
        csv_path = self.files.path(report_id, ".csv") if state.get("csv") else None
        finished = state.get("finished_at")
        return ReportStatus(
            report_id,
            ReportState(state["state"]),
            datetime.fromisoformat(state["created_at"]),
            None if finished is None else datetime.fromisoformat(finished),
            csv_path,
            state.get("error"),
            tuple(csv_inputs.read_report_csv(csv_path)) if include_rows and csv_path else None,
        )

    def _check_running(self, report_id: str, state: dict[str, Any]) -> dict[str, Any]:
        """Turn a Running state whose process has gone into Failed."""
        lock = FileLock.try_take(self.files.path(report_id, ".lock"))
        if lock is HELD:
            return state
        try:
            # Read again: the report may have finished since the first read.
            state = self.files.read_state(report_id)
            if state["state"] == ReportState.RUNNING.value:
                state.update(
                    state=ReportState.FAILED.value,
                    finished_at=_utc_now(),
                    error=f"the process computing the report (pid {state.get('pid')}) "
                    "stopped before it finished; trigger the report again",
                )
                self.files.write_state(state)
        finally:
            if lock is not None:
                lock.release()
        return state

    def wait(self, report_id: str, timeout: float | None = None) -> ReportStatus:
        """Wait for a report triggered by this service object to finish; return its state.

        Raises:
            ReportError: as :meth:`get`.
        """
        thread = self._threads.get(report_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(report_id)

    def close(self) -> None:
        """Wait for every report this object triggered to finish."""
        for thread in list(self._threads.values()):
            thread.join()

    def __enter__(self) -> ReportService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()
