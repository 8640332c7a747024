"""Writing a report: its rows and its skipped rows as CSV, atomically; and the whole job.

A report written to a path goes to a temporary file renamed into place once complete, so
a failed or interrupted run never leaves a partial report; the report and its rejects file
appear together or not at all.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
from collections.abc import Iterable
from concurrent.futures import Executor
from datetime import datetime
from typing import TYPE_CHECKING, Final

from outages_processor.models.uptime import (
    Interpolation,
    OnError,
    RejectedRow,
    StoreUptime,
    UptimeReport,
)
from outages_processor.reports.building import ProgressCallback, build_report
from outages_processor.reports.inputs import HoursInput, StatusInput, TimezonesInput
from outages_processor.stores.output_files import atomic_open, output_files

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["run_report", "write_rejects_csv", "write_report_csv"]


def write_report_csv(
    rows: Iterable[StoreUptime],
    destination: str | os.PathLike[str] | SupportsWrite[str],
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
            stream: SupportsWrite[str] = stack.enter_context(atomic_open(destination, newline=""))
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


def write_rejects_csv(
    rejects: Iterable[RejectedRow], destination: str | os.PathLike[str] | SupportsWrite[str]
) -> int:
    """Write skipped rows (``file, line, reason, row``) as CSV.

    Args:
        rejects: the skipped rows.
        destination: a path, written atomically, or an open text stream.

    Returns:
        The number of rows written.
    """
    count = 0
    with contextlib.ExitStack() as stack:
        if isinstance(destination, (str, os.PathLike)):
            stream: SupportsWrite[str] = stack.enter_context(atomic_open(destination, newline=""))
        else:
            stream = destination
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
    output: str | os.PathLike[str] | SupportsWrite[str],
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
        rejects: where to write skipped rows, if anywhere (with ``on_error="skip"``); the
            report file and the rejects file appear together or not at all.
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
        OSError: an output cannot be written (naming it); no output file appears, and
            nothing reaches a stream ``output`` when the rejects file fails.
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
    with output_files() as outputs:
        destination = (
            outputs.open(output, newline="") if isinstance(output, (str, os.PathLike)) else output
        )
        if rejects is not None:
            # The rejects are flushed before the report is written, so that a rejects file
            # that cannot be written stops the job before anything reaches a stream output.
            rejects_stream = outputs.open(rejects, newline="")
            write_rejects_csv(report.rejects, rejects_stream)
            rejects_stream.flush()
        write_report_csv(report.rows, destination, progress=progress)
    return report
