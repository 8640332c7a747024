"""The command line's jobs on a status store: load it, report from it, prune it.

Each is one call for ``process_outages uptime ingest | report --db | prune``: open the
store, do the job, write what it produced, close.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from outages_processor.models.common import OnError, ProgressCallback
from outages_processor.models.status_ingest import StoreIngest
from outages_processor.models.uptime import Interpolation, UptimeReport
from outages_processor.reports.report_csv import write_report_csv
from outages_processor.reports.status_store import StatusStore
from outages_processor.stores.output_files import output_files
from outages_processor.stores.rejects_csv import write_rejects_csv

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["load_store", "prune_store", "run_store_report"]


def load_store(  # pylint: disable=too-many-arguments  # the three inputs, and options
    db: str | os.PathLike[str],
    *,
    status: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    hours: str | os.PathLike[str] | None = None,
    timezones: str | os.PathLike[str] | None = None,
    on_error: OnError = "fail",
    rejects: str | os.PathLike[str] | None = None,
) -> StoreIngest:
    """Add a status file's polls and replace the hours and time zones, as one transaction.

    Args:
        db: the status database (created when missing).
        status: a status file whose polls are added, or several (a list, a glob, URLs,
            CSV or Parquet: as the status of :func:`~outages_processor.reports.build_report`),
            or None.
        hours: a business hours CSV replacing the stored rows, or None to keep them.
        timezones: a time zones CSV replacing the stored rows, or None to keep them.
        on_error: as :meth:`StatusStore.load`.
        rejects: where to write the skipped rows (with ``on_error="skip"``), written
            once the data is stored.

    Returns:
        What was stored, and the skipped rows.

    Raises:
        InputDataError: a bad row (fail mode) or an unreadable file; nothing stored.
        StatusStoreError: the database failed; nothing stored.
        OSError: the rejects file could not be written (the data is stored).
    """
    with StatusStore(db) as store:
        result = store.load(status, hours, timezones, on_error=on_error)
    if rejects is not None:
        write_rejects_csv(result.rejects, rejects)
    return result


def run_store_report(
    db: str | os.PathLike[str],
    output: str | os.PathLike[str] | SupportsWrite[str],
    *,
    now: datetime | None = None,
    interpolation: Interpolation = "nearest",
    progress: ProgressCallback | None = None,
) -> UptimeReport:
    """Compute the report of a status store and write it as CSV: the command line's job.

    Args:
        db: the status database; it must exist and is only read.
        output: the report's path (written atomically) or a text stream.
        now: as :meth:`StatusStore.report`.
        interpolation: as :meth:`StatusStore.report`.
        progress: as :meth:`StatusStore.report`, plus the ``"writing"`` stage.

    Returns:
        The report that was written.

    Raises:
        StatusStoreError: there is no database at ``db``, it holds no polls, or it failed.
        OSError: the output cannot be written; no output file appears.
    """
    with StatusStore(db, read_only=True) as store:
        report = store.report(now=now, interpolation=interpolation, progress=progress)
    with output_files() as outputs:
        destination = (
            outputs.open(output, newline="") if isinstance(output, (str, os.PathLike)) else output
        )
        write_report_csv(report.rows, destination, progress=progress)
    return report


def prune_store(db: str | os.PathLike[str], before: datetime) -> int:
    """Drop the polls of an existing status store before an instant.

    Args:
        db: the status database; it must exist.
        before: the instant; polls at it are kept.

    Returns:
        How many polls were dropped.

    Raises:
        StatusStoreError: there is no database at ``db``, or it failed.
    """
    with StatusStore(db, create=False) as store:
        return store.prune(before)
