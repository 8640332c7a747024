"""Reading outage reports from CSV, JSON Lines or JSON array files (or standard input).

Every format carries three fields per record: ``controller_id``, ``outage_type`` and
``timestamp``; other fields are ignored. Identifiers are kept exactly as written (a
non-empty string). A timestamp is either ISO 8601 (an offset converts to UTC; no offset
means UTC) or Unix epoch seconds (an integer or decimal number; in CSV and in JSON strings
a value made only of a number). A number of epoch seconds is at most 40 characters long:
longer or far out-of-range literals are refused before they are converted, so a hostile
value such as ``1e999990`` costs no more than a valid one. Identifiers must not hold control
characters (NUL, tab, line breaks) or lone surrogates.

* CSV: a header row names the columns, in any order.
* JSON Lines (``.jsonl``, ``.ndjson``): one JSON object per line; blank lines are ignored.
* JSON (``.json``): one array of objects. A bad element is reported at the line where the
  element starts; when other elements share that line (a one-line array), its index in the
  array (from 0) is named too: ``(array element at index 2)``.

The format comes from ``fmt`` when given, else from the file extension, else (standard
input, other extensions) from the first character: ``[`` JSON, ``{`` JSON Lines, else CSV.
A file that holds only white space has no records.

A bad record raises :class:`~outages_processor.errors.InputDataError` with ``file:line``,
or, with ``on_error="skip"``, is kept aside as a
:class:`~outages_processor.models.common.Reject`. Problems with a whole file (it
cannot be read, is not UTF-8, lacks a CSV column, is not valid JSON, or nests an element
of a JSON array too deeply) always raise.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import IO, Any, Literal, get_args

from outages_processor._time import (
    EPOCH,
    MAX_MICROS,
    MIN_MICROS,
    NAIVE_EPOCH,
    ONE_MICROSECOND,
    parse_instant_micros,
)
from outages_processor.errors import InputDataError
from outages_processor.inputs.record_fields import (
    FIELDS,
    RECORDS_PER_REPORT,
    RecordSink,
    record_of,
    utf8_text,
)
from outages_processor.inputs.record_json import parse_json_array, parse_json_lines
from outages_processor.models.common import ON_ERROR_CHOICES, OnError, ProgressCallback
from outages_processor.models.events import RecordBatch

__all__ = [
    "FIELDS",
    "RecordFormat",
    "format_of",
    "read_records",
]

RecordFormat = Literal["csv", "jsonl", "json"]
"""The input formats: CSV with a header, JSON Lines, one JSON array."""


_EXTENSIONS: dict[str, RecordFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
_MAX_ROW_LINES = 10_000
"""How far back to look for the first line of a bad CSV row (quoted line breaks)."""
# The hot CSV loop inlines parse_instant_micros's ISO 8601 fast path (same rules: naive =
# UTC, years 1 to 9999) through these names; every other value goes to the function.
_fromisoformat = datetime.fromisoformat


def format_of(source: str, text: str, fmt: RecordFormat | None = None) -> RecordFormat:
    """Decide the format of one input.

    Args:
        source: the file name, or ``"-"`` for standard input.
        text: the content (only its first non-blank character is looked at).
        fmt: the format the caller asked for, if any; it always wins.

    Returns:
        ``"csv"``, ``"jsonl"`` or ``"json"``.
    """
    if fmt is not None:
        return fmt
    by_extension = _EXTENSIONS.get(os.path.splitext(source)[1].lower())
    if by_extension is not None and source != "-":
        return by_extension
    first = text.lstrip()[:1]
    if first == "[":
        return "json"
    if first == "{":
        return "jsonl"
    return "csv"


def read_records(
    sources: Sequence[str | os.PathLike[str]],
    *,
    fmt: RecordFormat | None = None,
    on_error: OnError = "fail",
    stdin: IO[str] | None = None,
    progress: ProgressCallback | None = None,
) -> RecordBatch:
    """Read the records of one or more inputs into one batch.

    Args:
        sources: files to read, in order; ``"-"`` reads standard input.
        fmt: the format of every input; None decides per input (see the module docs).
        on_error: ``"fail"`` raises at the first bad record; ``"skip"`` sets bad records
            aside in :attr:`RecordBatch.rejects` and goes on.
        stdin: where ``"-"`` reads from; None means :data:`sys.stdin`.
        progress: called as ``progress("reading", lines_read, total_lines)`` now and then.

    Returns:
        The records (timestamps in microseconds since the epoch) and the rejects.

    Raises:
        InputDataError: an input cannot be read, is not UTF-8, is malformed as a whole, or
            (in fail mode) holds a bad record; the message starts with ``file:line:``.
        ValueError: ``fmt`` or ``on_error`` is not one of the documented values.
    """
    if fmt is not None and fmt not in get_args(RecordFormat):
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(get_args(RecordFormat))}")
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    # Every input is read before any is parsed, so that the total is known for progress.
    inputs = [(str(source), _read_bytes(source, stdin)) for source in sources]
    sink = RecordSink(on_error, progress, sum(_line_count(data) for _, data in inputs))
    for source, data in inputs:
        text = _decode(source, data)
        if not text or text.isspace():
            sink.report(_line_count(data))
            continue
        kind = format_of(source, text, fmt)
        if kind == "csv":
            del text  # the CSV reader decodes as it goes: no second copy of a large file
            _parse_csv(source, data, sink)
        elif kind == "jsonl":
            parse_json_lines(source, text, sink)
        else:
            parse_json_array(source, text, sink)
    return RecordBatch(sink.groups, sink.rejects)


def _line_count(data: bytes) -> int:
    return data.count(b"\n") + (bool(data) and not data.endswith(b"\n"))


def _read_bytes(source: str | os.PathLike[str], stdin: IO[str] | None) -> bytes:
    """The whole content of one input, as UTF-8 bytes.

    Raises:
        InputDataError: the file cannot be read.
    """
    if str(source) == "-":
        return _read_stdin(stdin if stdin is not None else sys.stdin)
    try:
        return Path(source).read_bytes()
    except OSError as err:
        reason = err.strerror or str(err)
        raise InputDataError(f"cannot read the file: {reason}", path=str(source)) from err


def _read_stdin(stream: IO[str]) -> bytes:
    """The bytes of standard input (or of a text stream standing for it).

    The bytes underneath a text stream are read when there are any, so that bad UTF-8 is
    reported by :func:`_decode` with its byte and line rather than by the stream.

    Raises:
        InputDataError: the stream holds text that is not valid Unicode.
    """
    raw = getattr(stream, "buffer", None)
    if raw is not None:
        data: bytes = raw.read()
        return data
    try:
        # surrogateescape gives back the bytes a stream decoded with that handler.
        return stream.read().encode("utf-8", "surrogateescape")
    except UnicodeError as err:
        raise InputDataError(
            "not UTF-8 text (it holds a lone surrogate); save it as UTF-8", path="-"
        ) from err


def _decode(source: str, data: bytes) -> str:
    """The text of one input, without a BOM.

    Raises:
        InputDataError: the bytes are not UTF-8; the line of the first bad byte is given.
    """
    try:
        return utf8_text(data)
    except UnicodeDecodeError as err:
        raise InputDataError(
            f"not UTF-8 text (byte 0x{data[err.start]:02x}); save the file as UTF-8",
            path=source,
            line=data.count(b"\n", 0, err.start) + 1,
        ) from err


def _text_stream(data: bytes) -> IO[str]:
    """Decoded lines of UTF-8 bytes, split as the csv module wants (newline="")."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")


def _parse_csv(source: str, data: bytes, sink: RecordSink) -> None:
    """Parse a CSV input (UTF-8 bytes, a header row first) into ``sink``."""
    reader = csv.reader(_text_stream(data))
    csv_input = _CsvInput(source, data, reader, sink)
    try:
        header = next(reader)
        columns = _csv_columns(source, [name.strip() for name in header])
        sink.report(reader.line_num)
        previous = -1
        while reader.line_num != previous:
            previous = reader.line_num
            _parse_csv_rows(csv_input, *columns)
            sink.report(reader.line_num - previous)
    except csv.Error as err:
        raise InputDataError(f"malformed CSV: {err}", path=source, line=reader.line_num) from err


class _CsvInput:
    """One CSV input being read: what the slow path needs to report a bad row."""

    def __init__(self, source: str, data: bytes, reader: Any, sink: RecordSink) -> None:
        self.source = source
        self.data = data
        self.reader = reader  # a csv reader; its type is private to the csv module
        self.sink = sink

    @functools.cached_property
    def lines(self) -> list[str]:
        """The lines of the input, split as the reader splits them; made on first use only."""
        return _text_stream(self.data).readlines()


def _parse_csv_rows(csv_input: _CsvInput, controller_at: int, type_at: int, time_at: int) -> None:
    """Parse up to RECORDS_PER_REPORT rows of a CSV input (at its reader's position) into its sink.

    This loop runs once per record and is most of the time spent reading a large file,
    so it is kept lean: the ISO 8601 fast path of parse_instant_micros is inlined, validity is
    checked with a few cheap tests, and any other row goes to the slow path, which
    applies every rule and says exactly what is wrong.
    """
    groups = csv_input.sink.groups
    for row in islice(csv_input.reader, RECORDS_PER_REPORT):
        try:
            controller_id = row[controller_at]
            outage_type = row[type_at]
            stamp = row[time_at]
            if stamp[4:5] == "-":
                moment = _fromisoformat(stamp)
                micros = (
                    moment - (NAIVE_EPOCH if moment.tzinfo is None else EPOCH)
                ) // ONE_MICROSECOND
            else:
                micros = parse_instant_micros(stamp)
            if controller_id and outage_type and MIN_MICROS <= micros <= MAX_MICROS:
                # Identifiers are checked only when a key is first seen: every later record
                # of a stored key has the same, already checked, text.
                types = groups.get(controller_id)
                if types is None:
                    if controller_id.isprintable() and outage_type.isprintable():
                        groups[controller_id] = {outage_type: [micros]}
                        continue
                else:
                    values = types.get(outage_type)
                    if values is not None:
                        values.append(micros)
                        continue
                    if outage_type.isprintable():
                        types[outage_type] = [micros]
                        continue
        except (IndexError, ValueError):
            pass
        _csv_slow_path(csv_input, row, (controller_at, type_at, time_at))


def _csv_columns(source: str, header: list[str]) -> tuple[int, int, int]:
    """The positions of the record fields in a CSV header.

    Raises:
        InputDataError: a field is missing or named twice.
    """
    for name in FIELDS:
        if header.count(name) > 1:
            raise InputDataError(f"the header names column {name!r} twice", path=source, line=1)
    missing = [name for name in FIELDS if name not in header]
    if missing:
        raise InputDataError(
            f"the header lacks column(s) {', '.join(missing)}; the first row must name "
            f"{', '.join(FIELDS)}",
            path=source,
            line=1,
        )
    return header.index(FIELDS[0]), header.index(FIELDS[1]), header.index(FIELDS[2])


def _csv_slow_path(csv_input: _CsvInput, row: list[str], columns: tuple[int, int, int]) -> None:
    """Check one CSV row that the fast path refused, by every rule, and keep or reject it.

    Blank rows are not records. A row the fast path could not take may still be valid
    (an epoch value such as ``1.5e-06`` looks like an ISO date at first); it is kept.
    """
    if not any(field.strip() for field in row):
        return
    source, sink = csv_input.source, csv_input.sink
    last = csv_input.reader.line_num
    needed = max(columns) + 1
    if len(row) >= needed:
        record = record_of({name: row[at] for name, at in zip(FIELDS, columns)})
        if not isinstance(record, str):
            sink.add(*record)
            return
        problem = record
    else:
        problem = f"expected {needed} fields, found {len(row)}"
    lines = csv_input.lines
    first = _first_line(row, lines, last)
    sink.reject(source, first, problem, "".join(lines[first - 1 : last]).rstrip("\r\n"))


def _first_line(row: list[str], lines: list[str], last: int) -> int:
    """The line where a CSV row starts; it ends at line ``last``.

    A quoted field may hold line breaks, so a row can span lines. Rows are rarely bad,
    so rather than tracking every row's first line, this finds it again for bad rows:
    the shortest run of lines ending at ``last`` that parses as exactly ``row``.
    """
    for first in range(last, max(last - _MAX_ROW_LINES, 0), -1):
        if next(csv.reader(lines[first - 1 : last]), None) == row:
            return first
    return last  # pragma: no cover - a row of more than _MAX_ROW_LINES lines
