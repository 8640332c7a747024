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
  element starts.

The format comes from ``fmt`` when given, else from the file extension, else (standard
input, other extensions) from the first character: ``[`` JSON, ``{`` JSON Lines, else CSV.
A file that holds only white space has no records.

A bad record raises :class:`~outages_processor.errors.InputDataError` with ``file:line``,
or, with ``on_error="skip"``, is kept aside as a
:class:`~outages_processor.models.events.RejectedRecord`. Problems with a whole file (it
cannot be read, is not UTF-8, lacks a CSV column, is not valid JSON, or nests an element
of a JSON array too deeply) always raise.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import islice
from pathlib import Path
from typing import IO, Any, Literal, get_args

from outages_processor.errors import InputDataError
from outages_processor.models.events import (
    RecordBatch,
    RejectedRecord,
    epoch_micros,
    identifier_problem,
)

__all__ = [
    "FIELDS",
    "OnError",
    "Progress",
    "RecordFormat",
    "format_of",
    "parse_timestamp",
    "read_records",
]

RecordFormat = Literal["csv", "jsonl", "json"]
"""The input formats: CSV with a header, JSON Lines, one JSON array."""

OnError = Literal["fail", "skip"]
"""What a bad record does: stop everything (``fail``) or set it aside (``skip``)."""

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` while reading; both count input lines."""

FIELDS = ("controller_id", "outage_type", "timestamp")
"""The fields of a record, in every format."""

_EXTENSIONS: dict[str, RecordFormat] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_ONE_MICROSECOND = timedelta(microseconds=1)
_MIN_MICROS = epoch_micros(datetime.min)
_MAX_MICROS = epoch_micros(datetime.max)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_MAX_NUMBER_CHARS = 40
"""The longest epoch seconds literal read: ample for 12 digits, a fraction and an exponent.

Converting a long literal costs time quadratic in its length (``1e999990`` would cost a
minute), so longer ones are refused before any conversion."""
_MAX_EXPONENT = 11
"""The largest decimal exponent of a number of seconds in the years 1 to 9999 (2.5e11)."""
_SHOWN_CHARS = 24
"""How much of an overlong value an error message shows."""
_CHUNK = 65_536
"""Records between two progress reports (large enough to cost nothing per record)."""
_MAX_ROW_LINES = 10_000
"""How far back to look for the first line of a bad CSV row (quoted line breaks)."""
_fromisoformat = datetime.fromisoformat
_TOO_DEEP = "invalid JSON: nested too deeply"


def parse_timestamp(text: str) -> int:
    """Parse an ISO 8601 timestamp or a number of Unix epoch seconds.

    Args:
        text: such as ``"2024-01-01T00:10:00Z"``, ``"2024-01-01 00:10:00"`` (no offset:
            UTC), ``"1704067800"`` or ``"1704067800.5"`` (seconds since the Unix epoch).

    Returns:
        The instant in whole microseconds since the Unix epoch (UTC); epoch seconds are
        rounded to the nearest microsecond.

    Raises:
        ValueError: with the reason, when ``text`` is neither form or is out of range
            (before year 1 or after year 9999).
    """
    # Fast path: the common ISO 8601 form has its first '-' after a four-digit year.
    if text[4:5] == "-":
        try:
            moment = _fromisoformat(text)
        except ValueError:
            pass
        else:
            return _in_range(epoch_micros(moment), text)
    if _NUMBER.fullmatch(text):
        if len(text) > _MAX_NUMBER_CHARS:
            raise ValueError(_overlong(repr(_shortened(text)), len(text)))
        return _epoch_seconds(text)
    try:
        moment = _fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"timestamp {_shortened(text)!r} is neither ISO 8601 (e.g. 2024-01-01T00:10:00Z) "
            "nor Unix epoch seconds"
        ) from None
    return _in_range(epoch_micros(moment), text)


def _shortened(text: str) -> str:
    """``text``, cut to a length an error message can show."""
    if len(text) <= 2 * _SHOWN_CHARS:
        return text
    return text[:_SHOWN_CHARS] + "..."


def _overlong(shown: str, length: int) -> str:
    return (
        f"timestamp {shown} ({length} characters): epoch seconds are at most "
        f"{_MAX_NUMBER_CHARS} characters long"
    )


class _LongNumber:
    """A JSON number literal too long to convert (what the JSON hooks make of one)."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def __str__(self) -> str:
        return _shortened(self.literal)


def _json_int(literal: str) -> int | _LongNumber:
    """json's ``parse_int``: an int, unless the literal is too long to convert cheaply."""
    return int(literal) if len(literal) <= _MAX_NUMBER_CHARS else _LongNumber(literal)


def _json_float(literal: str) -> Decimal | _LongNumber:
    """json's ``parse_float``: an exact Decimal, unless the literal is too long."""
    return Decimal(literal) if len(literal) <= _MAX_NUMBER_CHARS else _LongNumber(literal)


def _epoch_seconds(value: str | int | Decimal) -> int:
    """Microseconds of a number of epoch seconds (at most 40 characters), half to even."""
    if isinstance(value, int):
        micros = value * 1_000_000
    else:
        try:
            number = Decimal(value)
            # A huge exponent (1e999990) makes a huge integer: refuse it before converting.
            if number.is_finite() and number.adjusted() > _MAX_EXPONENT:
                raise ValueError
            micros = int((number * 1_000_000).to_integral_value(rounding=ROUND_HALF_EVEN))
        except (ArithmeticError, ValueError):
            # Exponents beyond Decimal's range (e.g. 1e1000000) reach here too; JSON NaN
            # and infinities are floats and never get this far.
            raise ValueError(f"timestamp {value} is outside the years 1 to 9999") from None
    return _in_range(micros, value)


def _in_range(micros: int, shown: object) -> int:
    if _MIN_MICROS <= micros <= _MAX_MICROS:
        return micros
    raise ValueError(f"timestamp {shown} is outside the years 1 to 9999")


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


class _Sink:
    """Where parsed records go: timestamps per key, and bad records (raised or set aside)."""

    def __init__(self, on_error: OnError, progress: Progress | None, total: int) -> None:
        # controller_id -> outage_type -> timestamps: two small lookups per record are
        # quicker than one on a (controller_id, outage_type) tuple built for each record.
        self.groups: dict[str, dict[str, list[int]]] = {}
        self.rejects: list[RejectedRecord] = []
        self.skip = on_error == "skip"
        self.progress = progress
        self.total = total
        self.done = 0

    def reject(self, source: str, line: int, reason: str, text: str) -> None:
        """Set a bad record aside, or raise when bad records stop the batch.

        Raises:
            InputDataError: in fail mode.
        """
        if not self.skip:
            raise InputDataError(reason, path=source, line=line)
        self.rejects.append(RejectedRecord(source, line, reason, text))

    def add(self, controller_id: str, outage_type: str, micros: int) -> None:
        """Keep one valid record."""
        self.groups.setdefault(controller_id, {}).setdefault(outage_type, []).append(micros)

    def report(self, lines: int) -> None:
        """Tell the progress callback that ``lines`` more input lines were read."""
        self.done += lines
        if self.progress is not None:
            self.progress(self.done, self.total)


def read_records(
    sources: Sequence[str | os.PathLike[str]],
    *,
    fmt: RecordFormat | None = None,
    on_error: OnError = "fail",
    stdin: IO[str] | None = None,
    progress: Progress | None = None,
) -> RecordBatch:
    """Read the records of one or more inputs into one batch.

    Args:
        sources: files to read, in order; ``"-"`` reads standard input.
        fmt: the format of every input; None decides per input (see the module docs).
        on_error: ``"fail"`` raises at the first bad record; ``"skip"`` sets bad records
            aside in :attr:`RecordBatch.rejects` and goes on.
        stdin: where ``"-"`` reads from; None means :data:`sys.stdin`.
        progress: called as ``progress(lines_read, total_lines)`` now and then.

    Returns:
        The records (timestamps in microseconds since the epoch) and the rejects.

    Raises:
        InputDataError: an input cannot be read, is not UTF-8, is malformed as a whole, or
            (in fail mode) holds a bad record; the message starts with ``file:line:``.
        ValueError: ``fmt`` or ``on_error`` is not one of the documented values.
    """
    if fmt is not None and fmt not in get_args(RecordFormat):
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(get_args(RecordFormat))}")
    if on_error not in get_args(OnError):
        raise ValueError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    # Every input is read before any is parsed, so that the total is known for progress.
    inputs = [(str(source), _read_bytes(source, stdin)) for source in sources]
    sink = _Sink(on_error, progress, sum(_line_count(data) for _, data in inputs))
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
            _parse_json_lines(source, text, sink)
        else:
            _parse_json_array(source, text, sink)
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
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputDataError(
            f"not UTF-8 text (byte 0x{data[err.start]:02x}); save the file as UTF-8",
            path=source,
            line=data.count(b"\n", 0, err.start) + 1,
        ) from err


def _text_stream(data: bytes) -> IO[str]:
    """Decoded lines of UTF-8 bytes, split as the csv module wants (newline="")."""
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")


def _parse_csv(source: str, data: bytes, sink: _Sink) -> None:
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

    def __init__(self, source: str, data: bytes, reader: Any, sink: _Sink) -> None:
        self.source = source
        self.data = data
        self.reader = reader  # a csv reader; its type is private to the csv module
        self.sink = sink

    @functools.cached_property
    def lines(self) -> list[str]:
        """The lines of the input, split as the reader splits them; made on first use only."""
        return _text_stream(self.data).readlines()


def _parse_csv_rows(csv_input: _CsvInput, controller_at: int, type_at: int, time_at: int) -> None:
    """Parse up to _CHUNK rows of a CSV input (at its reader's position) into its sink.

    This loop runs once per record and is most of the time spent reading a large file,
    so it is kept lean: the ISO 8601 fast path of parse_timestamp is inlined, validity is
    checked with a few cheap tests, and any other row goes to the slow path, which
    applies every rule and says exactly what is wrong.
    """
    groups = csv_input.sink.groups
    for row in islice(csv_input.reader, _CHUNK):
        try:
            controller_id = row[controller_at]
            outage_type = row[type_at]
            stamp = row[time_at]
            if stamp[4:5] == "-":
                moment = _fromisoformat(stamp)
                micros = (
                    moment - (_NAIVE_EPOCH if moment.tzinfo is None else _EPOCH)
                ) // _ONE_MICROSECOND
            else:
                micros = parse_timestamp(stamp)
            if controller_id and outage_type and _MIN_MICROS <= micros <= _MAX_MICROS:
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
        record = _record_of({name: row[at] for name, at in zip(FIELDS, columns)})
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


def _record_problem(record: Mapping[str, object]) -> str | None:
    """What is wrong with a decoded record, or None when it is valid."""
    for name in FIELDS[:2]:
        value = record.get(name)
        if not isinstance(value, str):
            return _field_type_problem(name, value)
        if not value:
            return f"{name} is empty"
    try:
        _timestamp_of(record.get("timestamp"))
    except ValueError as err:
        return str(err)
    for name in FIELDS[:2]:
        problem = identifier_problem(name, str(record[name]))
        if problem is not None:
            return problem
    return None


def _field_type_problem(name: str, value: object) -> str:
    if value is None:
        return f"missing field {name!r}"
    return f"{name} must be a string, not {_json_type(value)} ({json.dumps(value, default=str)})"


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal, _LongNumber)):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _timestamp_of(value: object) -> int:
    """Microseconds of a decoded timestamp: a string, or a JSON number of epoch seconds.

    Raises:
        ValueError: with the reason.
    """
    if isinstance(value, str):
        return parse_timestamp(value)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return _epoch_seconds(value)
    if value is None:
        raise ValueError("missing field 'timestamp'")
    if isinstance(value, _LongNumber):
        raise ValueError(_overlong(str(value), len(value.literal)))
    if isinstance(value, float):
        # json only makes floats of NaN and the infinities here (parse_float is Decimal).
        raise ValueError(f"timestamp {value} is not a finite number of seconds")
    raise ValueError(
        f"timestamp must be an ISO 8601 string or a number of epoch seconds, "
        f"not {_json_type(value)}"
    )


def _record_of(value: object) -> tuple[str, str, int] | str:
    """A decoded JSON value as a row, or the reason it is not a valid record."""
    if not isinstance(value, dict):
        return (
            f"expected a JSON object with {', '.join(FIELDS)}, found {_json_type(value)}"
        )
    problem = _record_problem(value)
    if problem is not None:
        return problem
    return (value["controller_id"], value["outage_type"], _timestamp_of(value["timestamp"]))


def _loads(text: str) -> object:
    # Decimal keeps epoch seconds such as 1704067800.123456 exact (a float would not);
    # both hooks leave overlong numbers unconverted (see _MAX_NUMBER_CHARS).
    return json.loads(text, parse_float=_json_float, parse_int=_json_int)


def _parse_json_lines(source: str, text: str, sink: _Sink) -> None:
    """Parse JSON Lines (one object per line) into ``sink``."""
    # Split on '\n' only: JSON strings may hold other line separators such as U+2028.
    lines = text.split("\n")
    if not lines[-1]:
        lines.pop()  # the empty piece after a final line break is not a line
    for start in range(0, len(lines), _CHUNK):
        for number, line in enumerate(lines[start : start + _CHUNK], start + 1):
            if not line.strip():
                continue
            try:
                value = _loads(line)
            except json.JSONDecodeError as err:
                sink.reject(source, number, f"invalid JSON: {err.msg}", line.rstrip("\r"))
                continue
            except RecursionError:
                sink.reject(source, number, _TOO_DEEP, line.rstrip("\r"))
                continue
            record = _record_of(value)
            if isinstance(record, str):
                sink.reject(source, number, record, line.rstrip("\r"))
            else:
                sink.add(*record)
        sink.report(min(_CHUNK, len(lines) - start))


def _parse_json_array(source: str, text: str, sink: _Sink) -> None:
    """Parse one JSON array of objects into ``sink``, element by element.

    Decoding element by element tells the line where each one starts, so that a bad
    record is reported there rather than at the end of the file.

    Raises:
        InputDataError: the text is not one JSON array (records cannot be told apart then,
            so this is never skipped).
    """
    decoder = json.JSONDecoder(parse_float=_json_float, parse_int=_json_int)
    position = _skip_space(text, 0)
    if text[position] != "[":
        raise _json_error(
            source,
            text,
            position,
            "expected a JSON array of records; for one object per line use JSON Lines "
            "(--format jsonl)",
        )
    position = _skip_space(text, position + 1)
    counted, line = 0, 1  # ``line`` is the line of text[counted]
    if text.startswith("]", position):
        position += 1
    else:
        while True:
            line += text.count("\n", counted, position)
            counted = position
            try:
                value, end = decoder.raw_decode(text, position)
            except json.JSONDecodeError as err:
                raise InputDataError(
                    f"invalid JSON: {err.msg} (column {err.colno})", path=source, line=err.lineno
                ) from err
            except RecursionError:
                # Where a too deep element ends is unknown, so the rest cannot be read.
                raise InputDataError(_TOO_DEEP, path=source, line=line) from None
            record = _record_of(value)
            if isinstance(record, str):
                sink.reject(source, line, record, text[position:end])
            else:
                sink.add(*record)
            position = _skip_space(text, end)
            separator = text[position : position + 1]
            if separator == "]":
                position += 1
                break
            if separator != ",":
                raise _json_error(
                    source, text, position, "invalid JSON: expected ',' or ']' after a record"
                )
            position = _skip_space(text, position + 1)
    position = _skip_space(text, position)
    if position < len(text):
        raise _json_error(
            source, text, position, "invalid JSON: unexpected text after the array"
        )
    sink.report(text.count("\n") + (not text.endswith("\n")))


def _json_error(source: str, text: str, position: int, reason: str) -> InputDataError:
    return InputDataError(reason, path=source, line=text.count("\n", 0, position) + 1)


def _skip_space(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)
    assert match is not None  # the pattern also matches the empty string
    return match.end()
