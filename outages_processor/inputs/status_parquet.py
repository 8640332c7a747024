"""Parquet status files: their rows as the text a status CSV file holds (extra ``fast``).

A Parquet shard holds the columns ``store_id``, ``status`` and ``timestamp_utc``, the last
either text (as in the CSV files) or a timestamp type (a naive timestamp is UTC; units finer
than the microsecond are cut to it); other columns are ignored. Each row is then checked by
the CSV rule (:func:`~outages_processor.inputs.status_rows.parse_status_row`).
"""

from __future__ import annotations

import contextlib
import importlib
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, Final

from outages_processor.errors import InputDataError
from outages_processor.inputs.optional_deps import one_line, optional_module
from outages_processor.inputs.remote_files import RemoteText
from outages_processor.inputs.status_rows import STATUS_COLUMNS
from outages_processor.inputs.tables import column_indices

__all__ = ["parquet_rows"]

_PARQUET_BATCH_ROWS: Final = 1 << 16


def parquet_rows(location: str, *, url: bool) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row number, [store_id, status, timestamp_utc])`` of a Parquet shard, as text.

    Raises:
        InputDataError: pyarrow is missing, the file cannot be read or is not Parquet, or
            it lacks a column.
    """
    parquet = optional_module("pyarrow.parquet", "reading Parquet", location)
    with contextlib.ExitStack() as stack:
        try:
            if url:
                source: Any = io.BytesIO(_remote_bytes(location))
            else:
                source = stack.enter_context(open(location, "rb"))
            table = parquet.ParquetFile(source)
            stack.callback(table.close)
            names = [str(name) for name in table.schema_arrow.names]
        except OSError as err:
            reason = err.strerror or one_line(err)
            raise InputDataError(f"cannot read the file: {reason}", path=location) from err
        except ValueError as err:  # pyarrow's ArrowInvalid: not a Parquet file
            raise InputDataError(
                f"not a Parquet file: {one_line(err)}", path=location
            ) from err
        try:
            indices = column_indices(names, STATUS_COLUMNS, location)
        except InputDataError as err:
            raise InputDataError(err.reason, path=location) from None
        columns = [names[indices[name]] for name in STATUS_COLUMNS]
        number = 0
        try:
            for batch in table.iter_batches(batch_size=_PARQUET_BATCH_ROWS, columns=columns):
                texts = [_column_texts(batch.column(index)) for index in range(3)]
                for fields in zip(*texts):
                    number += 1
                    yield number, list(fields)
        except (OSError, ValueError) as err:
            raise InputDataError(
                f"cannot read the Parquet file: {one_line(err)}", path=location
            ) from err


def _remote_bytes(url: str) -> bytes:
    """The whole file at a URL (Parquet needs to seek: its footer comes last)."""
    with RemoteText(url) as stream:
        return bytes(stream.buffer.read())


def _column_texts(column: Any) -> list[str]:
    """A Parquet column's values as a CSV file would hold them (a null is an empty field)."""
    pyarrow: Any = importlib.import_module("pyarrow")  # imported by the caller already

    kind = column.type
    if pyarrow.types.is_timestamp(kind):
        if kind.unit == "ns":
            column = column.cast(pyarrow.timestamp("us", kind.tz), safe=False)
        return [_instant_text(value) for value in column.to_pylist()]
    return ["" if value is None else str(value) for value in column.to_pylist()]


def _instant_text(value: datetime | None) -> str:
    """A timestamp value as a status file's text: naive or UTC as ``... UTC``."""
    if value is None:
        return ""
    offset: timedelta | None = value.utcoffset()
    if not offset:
        return f"{value.replace(tzinfo=None).isoformat(' ')} UTC"
    return value.isoformat(" ")
