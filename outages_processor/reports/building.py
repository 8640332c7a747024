"""Building a report: read the inputs, compute each store's row, on any executor.

Without an executor, large status files use a process pool over the machine's cores, and
small ones run in the calling thread; ``executor`` takes any
:class:`concurrent.futures.Executor` (a Dask cluster's ``client.get_executor()`` included;
its workers must be able to open the input path). ``cluster`` takes a Dask
``distributed.Client``: the workers then read the status shards themselves and only report
rows come back (:mod:`outages_processor.reports.cluster`).

A status input of several shards (files, globs, URLs: see
:mod:`~outages_processor.inputs.status_sources`) is read shard by shard: each local CSV
file in byte ranges on the executor, as a single file is, and the others (URLs, Parquet)
in this thread, while the workers read; the polls of all shards are then combined.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from datetime import datetime
from typing import Final, TypeAlias, cast

import attrs

from outages_processor._time import epoch_seconds_datetime, format_utc_text
from outages_processor.errors import InputDataError
from outages_processor.models.common import Reject
from outages_processor.models.schedules import Schedule
from outages_processor.models.uptime import (
    Interpolation,
    OnError,
    Poll,
    StoreUptime,
    UptimeReport,
    report_now,
)

from outages_processor.reports.inputs import (
    HoursInput,
    StatusInput,
    TimezonesInput,
    accepted_inputs,
    as_source,
    read_schedules_aside,
)
from outages_processor.reports.engines import (
    ENGINES,
    Engine,
    check_engine,
    columnar_part,
    columnar_wanted,
)
from outages_processor.reports.pool import is_local_pool, process_pool, worker_deaths
from outages_processor.reports.spill import save_schedules, spill_folder
from outages_processor.reports.workers import (
    Runner,
    compute_partition,
    partition_rows,
    read_part,
)
from outages_processor.inputs import status_file
from outages_processor.inputs.poll_blocks import StatusPart, group_polls
from outages_processor.inputs.status_columnar import PollColumns, read_status_micros
from outages_processor.inputs.status_sources import StatusShards, read_shard, shard_error
from outages_processor.inputs.tables import RowErrors, Source, source_name

__all__ = ["ENGINES", "PARALLEL_MIN_BYTES", "Engine", "ProgressCallback", "build_report"]

logger = logging.getLogger(__name__)

ProgressCallback: TypeAlias = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``; stages, in order: ``"reading"`` (bytes of
the status file), ``"computing"`` (stores) and ``"writing"`` (rows). Work done by other
processes is reported as each piece of it completes."""

PARALLEL_MIN_BYTES: Final = 4 << 20
"""Status files at least this large (bytes) use a process pool when no executor is given."""

_RANGES_PER_WORKER: Final = 1
# One byte range per worker: each range adds a block to every partition to merge.


@attrs.frozen
class _Options:
    """The checked options of one report."""

    interpolation: Interpolation
    on_error: OnError
    now: float | None
    progress: ProgressCallback | None
    engine: Engine = "auto"

    @classmethod
    def check(
        cls,
        now: datetime | str | None,
        interpolation: str,
        on_error: str,
        progress: ProgressCallback | None,
        engine: str = "auto",
    ) -> _Options:
        """Check the options a caller gave.

        Raises:
            ValueError: an unknown interpolation, on_error or engine, a ``now`` that is not
                a timestamp, or one out of the range a report can take.
        """
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}: use auto, python or columnar")
        if interpolation not in ("nearest", "previous"):
            raise ValueError(f"unknown interpolation {interpolation!r}: use nearest or previous")
        if on_error not in ("fail", "skip"):
            raise ValueError(f"'on_error' must be in ('fail', 'skip'), not {on_error!r}")
        seconds = None
        if now is not None:
            seconds = report_now(now).timestamp()
        return cls(
            cast(Interpolation, interpolation),
            cast(OnError, on_error),
            seconds,
            progress,
            engine,
        )


class _ReadMeter:
    """Bytes of the status input read so far, reported as the ``reading`` stage."""

    def __init__(self, progress: ProgressCallback | None, total: int = 0) -> None:
        self.progress = progress
        self.done = 0
        self.total = total

    def advance(self, count: int) -> None:
        """Count ``count`` more bytes read, and report them."""
        self.done += count
        if self.progress is not None:
            self.progress("reading", self.done, self.total)


class _StatusReading:
    """Reading the status polls: started at once (on the executor), gathered later.

    Whichever way a file is read, a part that ``needs_sequential`` (quoted fields, bare
    carriage returns) sends the whole file to the CSV module, in :meth:`result`.
    """

    def __init__(
        self,
        status: StatusInput,
        runner: Runner,
        options: _Options,
        meter: _ReadMeter | None = None,
    ) -> None:
        self.status = status
        self.runner = runner
        self.on_error = options.on_error
        # A shard of several shares their meter, which knows the total of them all.
        self.meter = meter if meter is not None else _ReadMeter(options.progress)
        self.own_meter = meter is None
        self.partitions = runner.workers if runner.executor is not None else 1
        self.parts: list[StatusPart] = []
        self.futures: dict[Future[StatusPart], int] = {}
        self.engine = options.engine
        source = as_source(status)
        if source is None:
            polls = cast(Iterable[Poll], status)
            self.parts = [group_polls(polls, partitions=self.partitions)]
        elif not isinstance(source, (str, os.PathLike)) or not _is_regular_file(source):
            # A stream, or a pipe: it can be read only once, from start to end.
            self.parts = [self._sequential(source)]
        elif not self._columnar(source):
            self._start(source)

    def _columnar(self, path: str | os.PathLike[str]) -> bool:
        """Read a clean file with the columnar engine, if chosen; False: read it purely."""
        part = columnar_part(path, self.engine, self.partitions)
        if part is None:
            return False
        self.parts = [part]
        layout = status_file.read_status_layout(path)  # the bytes the pure reader counts
        if self.own_meter:
            self.meter.total = layout.size - layout.data_start
        self._advance(layout.size - layout.data_start)
        return True

    def _sequential(self, source: Source) -> StatusPart:
        return status_file.read_status_sequential(
            source, partitions=self.partitions, on_error=self.on_error
        )

    def _advance(self, count: int) -> None:
        self.meter.advance(count)

    def _start(self, path: str | os.PathLike[str]) -> None:
        layout = status_file.read_status_layout(path)
        if self.own_meter:
            self.meter.total = layout.size - layout.data_start
        if self.runner.executor is None or layout.sequential:
            self.parts = [
                status_file.read_status_part(
                    layout,
                    layout.data_start,
                    layout.size,
                    partitions=self.partitions,
                    on_error=self.on_error,
                    progress=self._advance,
                )
            ]
            return
        ranges = status_file.split_status(layout, self.runner.workers * _RANGES_PER_WORKER)
        for start, end in ranges:
            future = self.runner.submit(
                read_part,
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
        # Every way of reading the file ends here, so none can skip the fallback.
        if any(part.needs_sequential for part in self.parts):
            logger.info("%s has quoted fields or bare carriage returns: read whole", self.status)
            self.parts = [self._sequential(cast(Source, self.status))]
        return self.parts


class _ShardsReading:
    """Reading a status input of several shards, gathered in shard order.

    Each local CSV shard is a :class:`_StatusReading` (byte ranges on the executor); the
    other shards (URLs, Parquet) are read in this thread, one after another, after the
    local ones are started. A bad row (fail mode) is raised as its shard's ``file:line``.
    """

    def __init__(self, status: StatusShards, runner: Runner, options: _Options) -> None:
        self.status = status
        shards = status.shards
        # Every local file's header first: a missing file fails before any is read.
        layouts = [
            status_file.read_status_layout(shard.location)
            for shard in shards
            if shard.local_csv
        ]
        meter = _ReadMeter(
            options.progress, sum(layout.size - layout.data_start for layout in layouts)
        )
        partitions = runner.workers if runner.executor is not None else 1
        self.readings: dict[int, _StatusReading | StatusPart] = {}
        for index, shard in enumerate(shards):
            if shard.local_csv:
                own = Runner(runner.executor, runner.workers, _shard_spill(runner.spill, index))
                self.readings[index] = _StatusReading(shard.location, own, options, meter)
        for index, shard in enumerate(shards):
            if not shard.local_csv:
                self.readings[index] = read_shard(
                    shard, partitions=partitions, on_error=options.on_error
                )

    def result(self) -> list[StatusPart]:
        """Wait for the reading to finish; return the parts of every shard, in order.

        Raises:
            InputDataError: the first bad row (fail mode) of the first shard holding one.
        """
        parts: list[StatusPart] = []
        for index, shard in enumerate(self.status.shards):
            reading = self.readings[index]
            shard_parts = reading.result() if isinstance(reading, _StatusReading) else [reading]
            for part in shard_parts:
                error = shard_error(shard, part)
                if error is not None:
                    raise error
            parts.extend(shard_parts)
        return parts


def _shard_spill(spill: str | None, index: int) -> str | None:
    """A spill folder of one shard's own: its byte ranges' files are named by offset."""
    if spill is None:
        return None
    folder = os.path.join(spill, f"shard-{index}")
    os.makedirs(folder, exist_ok=True)
    return folder


def build_report(  # pylint: disable=too-many-arguments,too-many-locals  # the documented options
    status: StatusInput,
    hours: HoursInput,
    timezones: TimezonesInput,
    *,
    now: datetime | str | None = None,
    interpolation: Interpolation = "nearest",
    executor: Executor | None = None,
    progress: ProgressCallback | None = None,
    jobs: int | None = None,
    on_error: OnError = "fail",
    cluster: object | None = None,
    engine: Engine = "auto",
) -> UptimeReport:
    """Compute each store's uptime and downtime within business hours.

    Args:
        status: the status polls: a CSV path or text stream (``store_id, status,
            timestamp_utc``), or :class:`~outages_processor.models.uptime.Poll` values;
            or many files: a glob (``"polls/*.csv"``, ``**`` for any depth), URLs
            (``https://``, or ``s3://`` and others with the extra ``fast``), or a list or
            tuple of paths, globs and URLs; each a CSV or a Parquet (``.parquet``, ``.pq``)
            file (see :mod:`~outages_processor.inputs.status_sources`). Their polls are
            combined: a store's polls may span files.
        hours: business hours: a CSV path or stream (``store_id, dayOfWeek`` or ``day``,
            ``start_time_local, end_time_local``), or ``BusinessHours`` values.
        timezones: time zones: a CSV path or stream (``store_id, timezone_str``), or
            ``StoreTimezone`` values.
            Each may also be a pandas DataFrame or an iterable of row mappings or tuples,
            read as the CSV a file of them holds (a bad row 2 is ``<status rows>:3``): see
            :func:`~outages_processor.reports.inputs.accepted_inputs`.
        now: the instant the windows end at: a datetime or an ISO 8601 string (naive or
            no offset = UTC, as on the command line); default: the latest poll.
        interpolation: ``"nearest"`` (default): the status of the nearest poll;
            ``"previous"``: the status of the latest poll before.
        executor: where to run the work (any :class:`concurrent.futures.Executor`);
            default: a process pool of ``jobs`` workers for status files of at least
            :data:`PARALLEL_MIN_BYTES`, else this thread.
        progress: called as ``progress(stage, done, total)`` as the work advances.
        jobs: workers to use (default: the machine's cores); 1 runs in this thread.
        on_error: ``"fail"`` (default) stops at the first bad row; ``"skip"`` leaves bad
            rows out and returns them in the report's ``rejects``.
        cluster: a Dask ``distributed.Client`` to run on instead (not with ``executor``;
            ``jobs`` does not apply): ``status`` is then a path or an ``http(s)`` URL, or a
            list of them (shards), each opened by a worker; see
            :func:`~outages_processor.reports.cluster.report_on_cluster`.
        engine: how a status file is read: ``"python"``, the pure readers;
            ``"columnar"``, pyarrow and numpy (``pip install 'outages_processor[fast]'``),
            for a local file whose rows are all clean (any other file, and any other
            input, is read by the pure readers, so the report, the errors and the rejects
            are the same); ``"auto"`` (default): columnar when installed.

    Returns:
        One row per store with at least one poll, sorted by store id.

    Raises:
        InputDataError: a bad row (in fail mode) as ``file:line: what is wrong`` (the
            shard's file; ``file:row N`` in Parquet), a file or URL that cannot be read,
            lacks a column, or has no valid status rows; a glob that matches no file; an
            optional dependency missing for a URL or Parquet shard.
        ReportError: a worker process died (killed when memory ran out, for example):
            run with ``jobs=1`` or more memory.
        ValueError: an invalid argument (interpolation, on_error, engine, jobs, a ``now``
            that is not a timestamp), or both ``executor`` and ``cluster``.
        ConfigError: ``engine="columnar"`` without the ``fast`` extra installed.
        TypeError: ``now`` or an input of a type not accepted (the message says which are).
    """
    options = _Options.check(now, interpolation, on_error, progress, engine)
    check_engine(options.engine)
    if cluster is not None:
        return _on_cluster(cluster, executor, status, hours, timezones, options)
    status, hours, timezones = accepted_inputs(status, hours, timezones)
    if jobs is not None and jobs < 1:
        raise ValueError("jobs must be at least 1")
    workers = jobs or os.cpu_count() or 1
    read_first = (
        None if executor is not None else _read_columnar_first(status, hours, timezones, options)
    )
    if read_first is not None and read_first.polls is not None:
        return read_first.report(read_first.polls, options)
    with contextlib.ExitStack() as stack:
        # Entered first, left last: a pool that lost a worker breaks every future and
        # submit, wherever the work is gathered, and its shutdown too.
        stack.enter_context(worker_deaths())
        spill = None
        if executor is None and workers > 1 and _is_large(status):
            spill = stack.enter_context(spill_folder())
            executor = stack.enter_context(process_pool(workers))
        elif executor is not None and is_local_pool(executor) and _is_large(status):
            # A report service's own pool: its workers share this machine's files. Any
            # other executor (it may be a cluster) gets the data through itself.
            spill = stack.enter_context(spill_folder())
        return _build(
            Runner(executor, workers, spill),
            status,
            hours,
            timezones,
            options,
            None if read_first is None else read_first.schedules,
        )


@attrs.frozen
class _SchedulesRead:
    """The hours and time zones read: the schedules, the error kept aside, the rejects."""

    schedules: dict[str, Schedule]
    error: InputDataError | None
    rejects: list[Reject]

    @classmethod
    def read(
        cls, hours: HoursInput, timezones: TimezonesInput, on_error: OnError
    ) -> _SchedulesRead:
        """Read them (see :func:`~outages_processor.reports.inputs.read_schedules_aside`)."""
        errors = RowErrors(on_error)
        schedules, error = read_schedules_aside(hours, timezones, errors)
        return cls(schedules, error, errors.rejects)



@attrs.frozen
class _ReadFirst:
    """A status file tried by the columnar engine first, and the schedules read meanwhile.

    Attributes:
        polls: the polls; None when the file is not clean (the pure readers read it).
        schedules: the hours and time zones, read whatever the part.
    """

    polls: PollColumns | None
    schedules: _SchedulesRead

    def report(self, polls: PollColumns, options: _Options) -> UptimeReport:
        """The report of the polls read, computed in this process by the vectorised twin
        of the core (:mod:`~outages_processor.reports.columnar_compute`).

        (Forking a pool after pyarrow is loaded and sending it the polls would cost more
        memory, a copy per process, than the time its compute saves.)

        Raises:
            InputDataError: a bad hours or time zones row (in fail mode).
        """
        # pylint: disable-next=import-outside-toplevel  # numpy: the optional extra
        from outages_processor.reports.columnar_compute import store_rows

        if self.schedules.error is not None:
            raise self.schedules.error
        latest = polls.latest
        end = options.now if options.now is not None else latest
        _warn_if_stale(end, latest)
        rows = store_rows(polls, self.schedules.schedules, end, options.interpolation)
        if options.progress is not None:
            options.progress("computing", len(rows), len(rows))
        return UptimeReport(
            rows, epoch_seconds_datetime(end), options.interpolation, self.schedules.rejects
        )



def _read_columnar_first(
    status: StatusInput, hours: HoursInput, timezones: TimezonesInput, options: _Options
) -> _ReadFirst | None:
    """Read a local status file with the columnar engine, if it is the one, and the
    schedules in a thread meanwhile (pyarrow and most of numpy's work release the GIL).

    Returns:
        What was read; None when the columnar engine is not to try this input.

    Raises:
        InputDataError: the status file cannot be read, is empty or lacks a column.
    """
    if not isinstance(status, (str, os.PathLike)) or not _is_regular_file(status):
        return None
    if not columnar_wanted(status, options.engine):
        return None
    with ThreadPoolExecutor(1, thread_name_prefix="schedules") as aside:
        schedules = aside.submit(_SchedulesRead.read, hours, timezones, options.on_error)
        part = _read_columnar(status, options)
        return _ReadFirst(part, schedules.result())


def _read_columnar(path: str | os.PathLike[str], options: _Options) -> PollColumns | None:
    """The sorted polls of a clean local status file, reporting its bytes read; None when
    it is not clean."""
    polls = read_status_micros(path)
    if polls is not None:
        layout = status_file.read_status_layout(path)  # the bytes the pure reader counts
        _ReadMeter(options.progress, layout.size - layout.data_start).advance(
            layout.size - layout.data_start
        )
    return polls


def _on_cluster(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    cluster: object,
    executor: Executor | None,
    status: StatusInput,
    hours: HoursInput,
    timezones: TimezonesInput,
    options: _Options,
) -> UptimeReport:
    """``build_report(..., cluster=client)``: the shards are read by the cluster's workers."""
    if executor is not None:
        raise ValueError("give either executor or cluster, not both")
    # pylint: disable-next=import-outside-toplevel  # imports this module
    from outages_processor.reports.cluster import report_on_cluster

    _, hours, timezones = accepted_inputs((), hours, timezones)
    return report_on_cluster(
        cluster,
        status,
        hours,
        timezones,
        now=options.now,
        interpolation=options.interpolation,
        on_error=options.on_error,
        progress=options.progress,
        check_now=_warn_if_stale,
    )


def report_from_part(
    part: StatusPart,
    schedules: Mapping[str, Schedule],
    *,
    now: datetime | str | None = None,
    interpolation: Interpolation = "nearest",
    progress: ProgressCallback | None = None,
) -> UptimeReport:
    """Compute the report of polls and schedules read already (a store's), in this thread.

    Args:
        part: the polls, from a :class:`~outages_processor.inputs.poll_blocks.PollCollector`
            (one partition).
        schedules: each store's schedule (see
            :func:`~outages_processor.reports.inputs.schedules_of`).
        now: as :func:`build_report`.
        interpolation: as :func:`build_report`.
        progress: as :func:`build_report`.

    Returns:
        What :func:`build_report` returns for the same polls, hours and time zones.

    Raises:
        InputDataError: no polls.
        ValueError: an invalid argument.
    """
    options = _Options.check(now, interpolation, "fail", progress)
    _check_parts([part], part, None)
    return _report(Runner(None, 1, None), [part], schedules, options, [])


def _build(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    runner: Runner,
    status: StatusInput,
    hours: HoursInput,
    timezones: TimezonesInput,
    options: _Options,
    schedules_read: _SchedulesRead | None = None,
) -> UptimeReport:
    """Read the inputs (the schedules unless read already) and compute the report, on
    the runner's executor."""
    reading = (
        _ShardsReading(status, runner, options)
        if isinstance(status, StatusShards)
        else _StatusReading(status, runner, options)
    )
    # The hours and time zones are read here while the workers read the status file.
    read = schedules_read or _SchedulesRead.read(hours, timezones, options.on_error)
    parts = reading.result()
    _check_parts(parts, status, read.error)
    return _report(runner, parts, read.schedules, options, read.rejects)


def _report(
    runner: Runner,
    parts: Sequence[StatusPart],
    schedules: Mapping[str, Schedule],
    options: _Options,
    schedule_rejects: Sequence[Reject],
) -> UptimeReport:
    """Compute the report of the polls read (checked already) and the schedules."""
    latest = max(part.latest for part in parts)
    end = options.now if options.now is not None else latest
    _warn_if_stale(end, latest)
    logger.debug("computing the report of %d polls", sum(part.polls for part in parts))
    rows = _compute(runner, parts, schedules, end=end, options=options)
    rejects = [reject for part in parts for reject in part.rejects]
    rejects.extend(schedule_rejects)
    return UptimeReport(rows, epoch_seconds_datetime(end), options.interpolation, rejects)


_STALE_NOW_SECONDS: Final = 7 * 86_400.0
"""A ``now`` this long after the latest poll (the longest window) is likely a typo."""


def _warn_if_stale(now: float, latest: float) -> None:
    """Log a WARNING when ``now`` is more than a week after the latest poll (a year typo?)."""
    if now - latest <= _STALE_NOW_SECONDS:
        return

    def shown(seconds: float) -> str:
        return format_utc_text(epoch_seconds_datetime(seconds))

    logger.warning(
        "now %s is %.1f days after the latest poll (%s): the windows hold no polls after "
        "that; check the year and date of now",
        shown(now),
        (now - latest) / 86_400,
        shown(latest),
    )


def _is_regular_file(path: str | os.PathLike[str]) -> bool:
    """True for a file that can be read in byte ranges (not a pipe or a device)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # let the reader report what is wrong with it


def uses_pool(status: StatusInput) -> bool:
    """True for a status input large enough for a process pool (used with ``jobs`` > 1).

    That is a status file of at least :data:`PARALLEL_MIN_BYTES`.
    """
    return _is_large(status)


def _is_large(status: object) -> bool:
    """True for a status file (or local CSV shards) large enough to be worth a process pool."""
    if isinstance(status, StatusShards):
        return _local_bytes(status) >= PARALLEL_MIN_BYTES
    if not isinstance(status, (str, os.PathLike)):
        return False
    try:
        return os.path.getsize(status) >= PARALLEL_MIN_BYTES
    except OSError:
        return False


def _local_bytes(status: StatusShards) -> int:
    """The bytes of a status input's local CSV shards (the ones read in byte ranges)."""
    total = 0
    for shard in status.shards:
        if shard.local_csv:
            with contextlib.suppress(OSError):
                total += os.path.getsize(shard.location)
    return total


def _check_parts(
    parts: Sequence[StatusPart], status: object, schedule_error: InputDataError | None
) -> int:
    """Raise the first bad status row, then a bad hours or zones row; count the polls."""
    path = source_name(status)
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
    runner: Runner,
    parts: Sequence[StatusPart],
    schedules: Mapping[str, Schedule],
    *,
    end: float,
    options: _Options,
) -> list[StoreUptime]:
    """Compute every partition and gather the rows, sorted by store id."""
    partitions = len(parts[0].blocks)
    shared: Mapping[str, Schedule] | str = (
        schedules if runner.spill is None else save_schedules(schedules, runner.spill)
    )
    report = options.progress
    # The number of stores is needed only to report progress: a set of every store id.
    total = (
        0
        if report is None
        else len({store for part in parts for block in part.blocks for store in block.store_ids})
    )
    inline = _stores_done(report, total) if runner.executor is None else None
    futures = [
        runner.submit(
            compute_partition,
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
        rows.extend(partition_rows(*future.result()))
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


def _store_key(row: StoreUptime) -> str:
    return row.store_id
