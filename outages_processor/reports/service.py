"""A report service: trigger reports that compute in the background, and ask about them.

This is the interface a web service exposes as ``/trigger_report`` and ``/get_report``.
A service computes at most ``workers`` reports at once (more wait their turn, reading as
Running) and gives all of them one pool of at most ``workers`` worker processes, started
when a large report first needs it and stopped by :meth:`ReportService.close`. The workers
are fresh interpreters: the host program is never imported again, and they end when the
host process dies.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any

import attrs

from outages_processor.errors import InputDataError, ReportError
from outages_processor.models.uptime import (
    Interpolation,
    OnError,
    ReportState,
    ReportStatus,
    UptimeReport,
)
from outages_processor.reports.building import _Options, build_report, uses_pool
from outages_processor.reports.inputs import (
    HoursInput,
    StatusInput,
    TimezonesInput,
    accepted_inputs,
)
from outages_processor.reports.pool import CancellableExecutor, WorkerPool
from outages_processor.reports.report_csv import read_report_csv, write_report_csv
from outages_processor.inputs.hours import HOURS_COLUMNS
from outages_processor.inputs.status_rows import STATUS_COLUMNS
from outages_processor.inputs.tables import open_table
from outages_processor.inputs.timezones import TIMEZONE_COLUMNS
from outages_processor.reports.status_store import StatusStore
from outages_processor.reports.states import HELD, FileLock, ReportFiles, ReportRecord

__all__ = ["ReportService"]

logger = logging.getLogger(__name__)


class _Cancelled(Exception):
    """Stops a report's computation at its next step once the report was cancelled."""


@attrs.define(eq=False)
class _Report:
    """A report triggered by this service object, until it finishes."""

    record: ReportRecord
    lock: FileLock
    cancelled: threading.Event = attrs.field(factory=threading.Event)
    executor: CancellableExecutor | None = None
    future: Future[None] | None = None
    finished: bool = False

    def check(self, *_progress: object) -> None:
        """Stop the computation if the report was cancelled (a progress callback)."""
        if self.cancelled.is_set():
            raise _Cancelled("the report was cancelled")


class ReportService:
    """Trigger reports that compute in the background, and ask how they are doing.

    Each report's state is a small JSON file in ``directory`` beside its CSV, so another
    process, or this one after a restart, sees the same states. A report whose process
    died while Running reads as Failed: the running process holds a lock on the report,
    which the operating system releases when the process ends, however it ends.

    At most ``workers`` reports compute at once; more wait their turn (Running). Reports
    of a large status file (:data:`~outages_processor.reports.PARALLEL_MIN_BYTES` or more)
    share one pool of ``workers`` worker processes; smaller ones compute in a thread.

    Example, in a web service::

        service = ReportService("reports/")
        report_id = service.trigger("status.csv", "hours.csv", "timezones.csv")
        service.get(report_id).state   # ReportState.RUNNING, then COMPLETE
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        executor: Executor | None = None,
        *,
        workers: int | None = None,
    ) -> None:
        """Serve reports kept in ``directory`` (created if missing).

        Args:
            directory: where states and reports are kept.
            executor: where every report computes (see :func:`build_report`); default:
                this service's own pool of ``workers`` processes for large status files,
                a thread for small ones.
            workers: how many reports compute at once, and the size of the service's own
                pool; default: the machine's cores.

        Raises:
            ValueError: ``workers`` is less than 1.
        """
        if workers is not None and workers < 1:
            raise ValueError("workers must be at least 1")
        self.files = ReportFiles(directory)
        self.directory = self.files.directory
        self.executor = executor
        self.workers = workers or os.cpu_count() or 1
        self._lock = threading.Lock()
        self._reports: dict[str, _Report] = {}  # triggered here and not finished yet
        self._threads: ThreadPoolExecutor | None = None
        self._pool: WorkerPool | None = None

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
        """Check the inputs, start a report in the background and return its id at once.

        Args:
            status: as :func:`build_report` (its rows are read in the background).
            hours: as :func:`build_report`.
            timezones: as :func:`build_report`.
            now: as :func:`build_report`.
            interpolation: as :func:`build_report`.
            on_error: as :func:`build_report`.

        Returns:
            The report id: 32 hexadecimal characters.

        Raises:
            InputDataError: an input file is missing, cannot be read, or its header lacks
                a required column (no report is made then).
            ValueError: an invalid option (interpolation, on_error, a now that is not a
                timestamp).
            TypeError: an input of a type not accepted (DataFrames and rows are checked
                here and read in the background).
        """
        _Options.check(now, interpolation, on_error, None)
        status, hours, timezones = accepted_inputs(status, hours, timezones)
        _check_file(status, STATUS_COLUMNS, "status")
        _check_file(hours, HOURS_COLUMNS, "business hours")
        _check_file(timezones, TIMEZONE_COLUMNS, "time zones")
        options = {"now": now, "interpolation": interpolation, "on_error": on_error}
        inputs = (status, hours, timezones)
        return self._start(lambda report: self._build(report, inputs, options))

    def trigger_store(
        self,
        store: str | os.PathLike[str],
        *,
        now: datetime | str | None = None,
        interpolation: Interpolation = "nearest",
    ) -> str:
        """Start a report of a status store in the background and return its id at once.

        The report is :meth:`StatusStore.report
        <outages_processor.reports.status_store.StatusStore.report>` of the store opened
        read-only, computed as :meth:`trigger` computes (same states, same bounded pool
        of report threads).

        Args:
            store: the status database file.
            now: as :meth:`StatusStore.report`.
            interpolation: as :meth:`StatusStore.report`.

        Returns:
            The report id: 32 hexadecimal characters.

        Raises:
            InputDataError: there is no file at ``store``, or it holds no polls yet (no
                report is made then).
            StatusStoreError: the file is not a status database.
            ValueError: an invalid option (interpolation, a now that is not a timestamp).
            TypeError: ``now`` is neither a string nor a datetime.
        """
        _Options.check(now, interpolation, "fail", None)
        path = os.fspath(store)
        if not os.path.isfile(path):
            raise InputDataError(
                "no status database there; ingest polls into it first "
                "(process_outages uptime ingest)",
                path=path,
            )
        with StatusStore(path, read_only=True) as opened:
            if not opened.has_polls():
                raise InputDataError(
                    "the status store holds no polls yet; ingest polls into it first "
                    "(process_outages uptime ingest)",
                    path=path,
                )
        return self._start(lambda report: _store_report(path, now, interpolation, report))

    def _start(self, build: Callable[[_Report], UptimeReport]) -> str:
        """Record a new Running report and compute ``build(report)`` in a report thread."""
        report_id = uuid.uuid4().hex
        lock = FileLock.hold(self.files.path(report_id, ".lock"))
        record = ReportRecord.running(report_id)
        self.files.write_state(record)
        report = _Report(record, lock)
        with self._lock:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(self.workers, "uptime-report")
            self._reports[report_id] = report
            report.future = self._threads.submit(self._compute, report, build)
        return report_id

    def _build(
        self,
        report: _Report,
        inputs: tuple[StatusInput, HoursInput, TimezonesInput],
        options: dict[str, Any],
    ) -> UptimeReport:
        """Build a report of input files on the service's executor (a report thread)."""
        executor, jobs = self._executor_for(report, inputs[0])
        return build_report(*inputs, executor=executor, jobs=jobs, progress=report.check, **options)

    def _compute(self, report: _Report, build: Callable[[_Report], UptimeReport]) -> None:
        """Compute a report and write its CSV and final state (runs in a report thread)."""
        report_id = report.record.report_id
        csv_path = self.files.path(report_id, ".csv")
        final: ReportRecord
        try:
            report.check()
            result = build(report)
            report.check()
            write_report_csv(result.rows, csv_path)
        except Exception as err:  # pylint: disable=broad-exception-caught
            # Whatever went wrong belongs in the report's state, where get() shows it.
            if not report.cancelled.is_set():
                logger.info("report %s failed", report_id, exc_info=True)
            final = report.record.finished(
                ReportState.FAILED, error=str(err) or type(err).__name__
            )
        else:
            final = report.record.finished(
                ReportState.COMPLETE, csv=f"{report_id}.csv", rows=len(result.rows), now=result.now
            )
        if not self._finish(report, final):
            # Cancelled meanwhile: the result is discarded.
            with contextlib.suppress(FileNotFoundError):
                csv_path.unlink()

    def _executor_for(self, report: _Report, status: StatusInput) -> tuple[Executor | None, int]:
        """Where a report computes, and into how many partitions its work is split."""
        if self.executor is not None:
            shared: Executor = self.executor
            jobs = os.cpu_count() or 1
        elif self.workers > 1 and uses_pool(status):
            shared = self._shared_pool()
            jobs = self.workers
        else:
            return None, 1
        report.executor = CancellableExecutor(shared)
        if report.cancelled.is_set():  # cancel() may have come before the executor
            report.executor.cancel()
        return report.executor, jobs

    def _shared_pool(self) -> WorkerPool:
        with self._lock:
            if self._pool is None:
                self._pool = WorkerPool(self.workers)
            return self._pool

    def _finish(self, report: _Report, final: ReportRecord) -> bool:
        """Write a report's final state once; False if it had finished already."""
        with self._lock:
            if report.finished:
                return False
            report.finished = True
            self._reports.pop(final.report_id, None)
        report.record = final
        try:
            self.files.write_state(final)
        finally:
            report.lock.release()
        return True

    def cancel(self, report_id: str) -> bool:
        """Cancel a report this service object triggered, if it has not finished.

        A report waiting for its turn never starts; a computing one stops at its next step
        (work already running in a worker process ends there and is discarded). Its state
        is Cancelled at once, with no CSV.

        Args:
            report_id: an id :meth:`trigger` returned.

        Returns:
            True if the report was cancelled; False if it had finished already (Complete,
            Failed or Cancelled).

        Raises:
            ReportError: the id is malformed or unknown, or the report is computed by
                another process or service object (only the one that triggered it can
                cancel it).
        """
        self.files.path(report_id, ".json")  # check the id first
        with self._lock:
            report = self._reports.get(report_id)
        if report is None:
            status = self.get(report_id)
            if status.state is ReportState.RUNNING:
                raise ReportError(
                    f"report {report_id!r} is computed by another process or service object; "
                    "only the ReportService that triggered it can cancel it"
                )
            return False
        report.cancelled.set()
        if report.future is not None:
            report.future.cancel()  # it never starts if it was still waiting
        if report.executor is not None:
            report.executor.cancel()
        return self._finish(report, report.record.finished(ReportState.CANCELLED))

    def get(self, report_id: str, *, include_rows: bool = False) -> ReportStatus:
        """Return a report's state: Running, Complete (with its CSV), Failed (with why) or
        Cancelled.

        Args:
            report_id: an id :meth:`trigger` returned.
            include_rows: also read the rows of a Complete report (values as written, 2
                decimals).

        Raises:
            ReportError: the id is malformed, no report has it in this directory, or its
                state file is damaged.
        """
        record = self.files.read_state(report_id)
        if record.state is ReportState.RUNNING:
            record = self._check_running(report_id, record)
        csv_path = self.files.path(report_id, ".csv") if record.csv else None
        status = ReportStatus(
            report_id, record.state, record.created_at, record.finished_at, csv_path, record.error
        )
        if include_rows and csv_path:
            return attrs.evolve(status, rows=tuple(read_report_csv(csv_path)))
        return status

    def _check_running(self, report_id: str, record: ReportRecord) -> ReportRecord:
        """Turn a Running state whose process has gone into Failed."""
        lock = FileLock.try_take(self.files.path(report_id, ".lock"))
        if lock is HELD:
            return record
        try:
            # Read again: the report may have finished since the first read.
            record = self.files.read_state(report_id)
            if record.state is ReportState.RUNNING:
                record = record.finished(
                    ReportState.FAILED,
                    error=f"the process computing the report (pid {record.pid}) "
                    "stopped before it finished; trigger the report again",
                )
                self.files.write_state(record)
        finally:
            if lock is not None:
                lock.release()
        return record

    def wait(self, report_id: str, timeout: float | None = None) -> ReportStatus:
        """Wait for a report triggered by this service object to finish; return its state.

        Raises:
            ReportError: as :meth:`get`.
        """
        with self._lock:
            report = self._reports.get(report_id)
        if report is not None and report.future is not None:
            wait([report.future], timeout)
        return self.get(report_id)

    def close(self) -> None:
        """Wait for every report this object triggered to finish; stop its worker processes.

        The service can still be used: a later :meth:`trigger` starts what it needs again.
        """
        with self._lock:
            threads, self._threads = self._threads, None
        if threads is not None:
            threads.shutdown(wait=True)
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __enter__(self) -> ReportService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _store_report(
    path: str, now: datetime | str | None, interpolation: Interpolation, report: _Report
) -> UptimeReport:
    """The report of a status store, opened read-only for it (runs in a report thread)."""
    with StatusStore(path, read_only=True) as store:
        return store.report(now=now, interpolation=interpolation, progress=report.check)


def _check_file(source: object, required: Sequence[str], what: str) -> None:
    """Check that an input given as a path can be opened and has the required columns.

    Streams and values are read once, in the background; so are pipes.

    Raises:
        InputDataError: the file is missing, cannot be read, or lacks a column.
    """
    if not isinstance(source, (str, os.PathLike)):
        return
    try:
        mode = os.stat(source).st_mode
    except OSError as err:
        raise InputDataError(
            f"cannot read the file: {err.strerror or err}", path=os.fspath(source)
        ) from err
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode):
        return
    with open_table(source, required, what):
        pass
