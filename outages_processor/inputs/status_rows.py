"""The rows of the status file, one at a time: ``store_id, status, timestamp_utc``.

Status timestamps are either ``2023-01-22 12:09:39.388884 UTC`` (0 to 6 fraction digits) or
ISO 8601 with ``Z`` or an offset. :func:`parse_status_row` is the one check of a row, used
by every status reader; the large file has a fast reader of its own in
:mod:`outages_processor.inputs.status_file`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

from outages_processor._time import epoch_seconds_datetime, parse_instant_seconds
from outages_processor.inputs.tables import RowErrors, Source, open_table
from outages_processor.models.uptime import Poll, PollStatus, instant_problem

__all__ = [
    "STATUS_COLUMNS",
    "iter_poll_rows",
    "iter_polls",
    "parse_status_row",
]

STATUS_COLUMNS: Final = ("store_id", "status", "timestamp_utc")
"""The columns the status file must have."""
_STATUSES: Final = frozenset(("active", "inactive"))


def parse_status_row(
    fields: Sequence[str], columns: int, store: int, status: int, stamp: int
) -> tuple[str, bool, float]:
    """Check one status row: ``(store_id, is_active, seconds)``, or ValueError(reason).

    The timestamp must lie in the range a report can take (see
    :func:`~outages_processor.models.uptime.instant_problem`).
    """
    if len(fields) != columns:
        raise ValueError(f"expected {columns} fields, found {len(fields)}")
    store_id = fields[store]
    if not store_id:
        raise ValueError("empty store_id")
    state = fields[status].strip()
    if state not in _STATUSES:
        raise ValueError(f"unknown status {fields[status]!r}: expected active or inactive")
    seconds = parse_instant_seconds(fields[stamp])
    problem = instant_problem(seconds)
    if problem is not None:
        raise ValueError(f"timestamp {fields[stamp]!r} is {problem}")
    return store_id, state == "active", seconds


def iter_polls(source: Source, *, errors: RowErrors | None = None) -> Iterator[Poll]:
    """Yield the polls of a status CSV one at a time.

    Args:
        source: a path, or a text stream.
        errors: where bad rows go (default: the first one raises).

    Raises:
        InputDataError: a bad row (in fail mode), or the file cannot be read, is empty or
            lacks a required column.
    """
    for store_id, active, instant in iter_poll_rows(source, errors=errors):
        state: PollStatus = "active" if active else "inactive"
        yield Poll(store_id, state, epoch_seconds_datetime(instant))


def iter_poll_rows(
    source: Source, *, errors: RowErrors | None = None
) -> Iterator[tuple[str, bool, float]]:
    """Yield the valid rows of a status CSV as ``(store_id, is_active, seconds)``.

    What :func:`iter_polls` yields, without building a checked model per row (the rows are
    checked here already).

    Raises:
        InputDataError: as :func:`iter_polls`.
    """
    errors = errors if errors is not None else RowErrors()
    with open_table(source, STATUS_COLUMNS, "status", errors=errors) as table:
        columns = table.columns
        store, status, stamp = (columns[name] for name in STATUS_COLUMNS)
        width = len(table.header)
        for line, row in table.rows:
            try:
                yield parse_status_row(row, width, store, status, stamp)
            except ValueError as err:
                errors.bad_row(str(err), path=table.path, line=line, row=",".join(row))
