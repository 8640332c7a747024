"""The report CSV file: one row per store, values with 2 decimals, and how to read it back.

::

    store_id,uptime_last_hour,uptime_last_day,uptime_last_week,downtime_last_hour,...
    8419537941919820732,60.00,12.50,80.25,0.00,1.50,4.75

The writer and the reader live side by side so that the format has one home: the command
line, the library (:func:`~outages_processor.reports.run_report`) and the report service
write with :func:`write_report_csv`, and the service reads its reports back with
:func:`read_report_csv`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from outages_processor.errors import InputDataError
from outages_processor.inputs.tables import open_table
from outages_processor.models.common import ProgressCallback
from outages_processor.models.uptime import StoreUptime
from outages_processor.stores.output_files import open_destination

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["read_report_csv", "write_report_csv"]

_NEEDS_QUOTES: Final = re.compile(r'[",\r\n]')


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
    with open_destination(destination) as stream:
        stream.write(",".join(StoreUptime.COLUMNS) + "\n")
        step = max(len(items) // 20, 1)
        for first in range(0, len(items), step):
            stream.write("".join(map(_csv_line, items[first : first + step])))
            if progress is not None:
                progress("writing", min(first + step, len(items)), len(items))
    return len(items)


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


def read_report_csv(path: str | os.PathLike[str]) -> list[StoreUptime]:
    """Read a report CSV written by :func:`write_report_csv`.

    Args:
        path: the report file.

    Returns:
        Its rows, values as written (2 decimals).

    Raises:
        InputDataError: the file is missing, or is not a report (``file:line``).
    """
    rows: list[StoreUptime] = []
    with open_table(path, StoreUptime.COLUMNS, "report") as table:
        columns = table.columns
        indices = [columns[name] for name in StoreUptime.COLUMNS]
        for line, row in table.rows:
            try:
                rows.append(
                    StoreUptime(row[indices[0]], *(float(row[index]) for index in indices[1:]))
                )
            except (ValueError, IndexError) as err:
                raise InputDataError(
                    f"not a report row: {err}", path=table.path, line=line
                ) from err
    return rows
