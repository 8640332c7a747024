"""Use case: outage events, grouped from the periodic reports of controllers.

* :func:`ingest_files` reads report files and stores them in an event database as one
  all-or-nothing batch, writing the skipped records to a rejects CSV file if asked;
* :func:`list_events` returns the stored events that match some filters;
* :func:`write_events_csv` writes events as CSV (the command line's ``events list --csv``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Final

from outages_processor.errors import InputDataError
from outages_processor.inputs.record_inputs import RecordFormat, read_records
from outages_processor.models.common import OnError, ProgressCallback
from outages_processor.models.events import IngestResult, OutageEvent
from outages_processor.stores.event_store import EventStore
from outages_processor.stores.output_files import output_files, write_csv
from outages_processor.stores.rejects_csv import write_rejects_csv

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["EVENT_COLUMNS", "ingest_files", "list_events", "write_events_csv"]

EVENT_COLUMNS: Final = ("controller_id", "outage_type", "start_time", "end_time", "record_count")
"""The header of an events CSV file, and the keys of :meth:`OutageEvent.to_dict`."""


def ingest_files(
    db_path: str | os.PathLike[str],
    sources: Sequence[str | os.PathLike[str]],
    *,
    fmt: RecordFormat | None = None,
    tolerance: timedelta | None = None,
    on_error: OnError = "fail",
    rejects_path: str | os.PathLike[str] | None = None,
    stdin: IO[str] | None = None,
    progress: ProgressCallback | None = None,
) -> IngestResult:
    """Read report files and ingest them into an event database as ONE batch.

    All the files form one transaction: if any record is bad (in fail mode) or the
    database fails, nothing of any file is stored. The inputs are read completely before
    the database is opened, so bad input never creates or changes a database.

    Args:
        db_path: the event database; created when missing.
        sources: the files to read; ``"-"`` is standard input.
        fmt: the format of every input, or None to decide by extension or content.
        tolerance: the tolerance of a new database, or the one an existing database must
            have; None accepts what is recorded (12 minutes for a new database).
        on_error: ``"fail"`` stops at the first bad record; ``"skip"`` skips bad records.
        rejects_path: where to write the skipped records as a rejects CSV file
            (``file,line,reason,row``); written, even when empty, before the database is
            touched, and put in place only once the batch is stored.
        stdin: where ``"-"`` reads from; None means :data:`sys.stdin`.
        progress: called as ``progress(stage, done, total)`` now and then: stage
            ``"reading"`` counts input lines, then ``"storing"`` counts records.

    Returns:
        What the ingest did; its ``rejects`` are the skipped records (skip mode). When
        there is no record to store and no database at ``db_path``, none is created.

    Raises:
        InputDataError: an input is bad (``file:line: reason``) or the rejects file
            cannot be written; nothing was stored.
        EventStoreError: the database cannot be used (for example it was created with
            another tolerance); nothing was stored, no rejects file appears.
        OSError: the rejects file, already written, could not be renamed into place after
            the batch was stored (names the file).
    """
    batch = read_records(sources, fmt=fmt, on_error=on_error, stdin=stdin, progress=progress)
    # The rejects are written (and flushed) before the database is touched, but the file
    # appears only once the batch is stored: both outputs, or neither.
    with output_files() as outputs:
        if rejects_path is not None:
            try:
                stream = outputs.open(rejects_path, newline="")
                write_rejects_csv(batch.rejects, stream)
                stream.flush()
            except OSError as err:
                raise InputDataError(
                    f"cannot write the rejects file: {err.strerror or err}",
                    path=str(rejects_path),
                ) from err
        if not batch and not os.path.lexists(db_path):
            # Nothing to store (every record skipped, or empty inputs): no new database.
            if progress is not None:
                progress("storing", 0, 0)
            return IngestResult(rejects=batch.rejects)
        with EventStore(db_path, tolerance=tolerance) as store:
            return store.ingest(batch, progress=progress)


def list_events(
    db_path: str | os.PathLike[str],
    *,
    controller_id: str | None = None,
    outage_type: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[OutageEvent]:
    """Return the stored events that match every given filter, without changing the file.

    The database is opened read-only: listing works in a read-only folder and leaves no
    file behind.

    Args:
        db_path: the event database.
        controller_id: only this controller's events.
        outage_type: only events of this type.
        start: only events that end at or after this instant (naive = UTC).
        end: only events that start at or before this instant (naive = UTC).

    Returns:
        The events sorted by start time, controller id, outage type.

    Raises:
        ValueError: ``start`` is after ``end``.
        EventStoreError: the database is missing or cannot be read.
    """
    with EventStore(db_path, read_only=True) as store:
        return store.events(controller_id, outage_type, start, end)


def write_events_csv(
    events: Iterable[OutageEvent], destination: str | os.PathLike[str] | SupportsWrite[str]
) -> int:
    """Write events as CSV with a header row (:data:`EVENT_COLUMNS`), times in UTC ``Z``.

    Args:
        events: the events.
        destination: a path, written atomically, or an open text stream (opened with
            ``newline=""``).

    Returns:
        The number of events written.

    Raises:
        OSError: a path cannot be written; no file appears then.
    """
    dicts = (event.to_dict() for event in events)
    rows = ([str(values[name]) for name in EVENT_COLUMNS] for values in dicts)
    return write_csv(destination, EVENT_COLUMNS, rows)
