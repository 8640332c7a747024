"""The command line's whole job: build a report, write it and its skipped rows as CSV.

A report written to a path goes to a temporary file renamed into place once complete, so
a failed or interrupted run never leaves a partial report; the report and its rejects file
appear together or not at all.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor
from datetime import datetime
from typing import TYPE_CHECKING

from outages_processor.models.common import OnError
from outages_processor.models.uptime import Interpolation, UptimeReport
from outages_processor.reports.building import Engine, ProgressCallback, build_report
from outages_processor.reports.inputs import HoursInput, StatusInput, TimezonesInput
from outages_processor.reports.report_csv import write_report_csv
from outages_processor.stores.output_files import output_files
from outages_processor.stores.rejects_csv import write_rejects_csv

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["run_report"]


def run_report(  # pylint: disable=too-many-arguments,too-many-locals  # the options, and files
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
    cluster: object | None = None,
    engine: Engine = "auto",
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
        cluster: as :func:`build_report` (a Dask ``distributed.Client``).
        engine: as :func:`build_report`.

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
        cluster=cluster,
        engine=engine,
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
