"""The rejects CSV file: the rows or records a job skipped, one per line, and how to read it back.

One format for every job (the uptime report and the event ingest)::

    file,line,reason,row
    status.csv,3,timestamp_utc: not a timestamp,"1,active,yesterday"

``line`` is empty when unknown. The writer and the reader live side by side so that the
format has one home.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

from outages_processor.errors import InputDataError
from outages_processor.models.common import Reject
from outages_processor.stores.output_files import write_csv

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["read_rejects_csv", "write_rejects_csv"]


def write_rejects_csv(
    rejects: Iterable[Reject], destination: str | os.PathLike[str] | SupportsWrite[str]
) -> int:
    """Write skipped rows or records (``file, line, reason, row``) as CSV.

    Args:
        rejects: the skipped rows or records.
        destination: a path, written atomically, or an open text stream (opened with
            ``newline=""``).

    Returns:
        The number of rejects written.

    Raises:
        OSError: a path cannot be written; no file appears then.
    """
    return write_csv(destination, Reject.COLUMNS, (reject.csv_values() for reject in rejects))


def read_rejects_csv(source: str | os.PathLike[str] | IO[str]) -> list[Reject]:
    """Read a rejects CSV file written by :func:`write_rejects_csv`.

    Args:
        source: a path, or an open text stream (opened with ``newline=""``).

    Returns:
        The rejects, in file order.

    Raises:
        InputDataError: the file is not a rejects CSV file (``file:line: reason``).
        OSError: the path cannot be read.
    """
    with contextlib.ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            name = os.fspath(source)
            stream: IO[str] = stack.enter_context(open(source, encoding="utf-8", newline=""))
        else:
            name = str(getattr(source, "name", "-"))
            stream = source
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None or tuple(header) != Reject.COLUMNS:
            raise InputDataError(
                f"not a rejects file: expected the header {','.join(Reject.COLUMNS)}",
                path=name,
                line=1,
            )
        rejects: list[Reject] = []
        for values in reader:
            if len(values) != len(Reject.COLUMNS):
                raise InputDataError(
                    f"expected {len(Reject.COLUMNS)} fields, found {len(values)}",
                    path=name,
                    line=reader.line_num,
                )
            path, line, reason, row = values
            if line and not line.isdigit():
                raise InputDataError(
                    f"line: expected a number, found {line!r}", path=name, line=reader.line_num
                )
            number = int(line) if line else None
            rejects.append(Reject(path=path, line=number, reason=reason, row=row))
    return rejects
