"""Reading outage report records from JSON Lines and from one JSON array."""

from __future__ import annotations

import json
import re

from outages_processor.errors import InputDataError
from outages_processor.inputs.record_fields import (
    RECORDS_PER_REPORT,
    RecordSink,
    json_float,
    json_int,
    record_of,
)

__all__ = ["parse_json_array", "parse_json_lines"]

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_TOO_DEEP = "invalid JSON: nested too deeply"


def _loads(text: str) -> object:
    # Decimal keeps epoch seconds such as 1704067800.123456 exact (a float would not);
    # both hooks leave overlong numbers unconverted (see MAX_EPOCH_CHARS).
    return json.loads(text, parse_float=json_float, parse_int=json_int)


def parse_json_lines(source: str, text: str, sink: RecordSink) -> None:
    """Parse JSON Lines (one object per line) into ``sink``."""
    # Split on '\n' only: JSON strings may hold other line separators such as U+2028.
    lines = text.split("\n")
    if not lines[-1]:
        lines.pop()  # the empty piece after a final line break is not a line
    for start in range(0, len(lines), RECORDS_PER_REPORT):
        for number, line in enumerate(lines[start : start + RECORDS_PER_REPORT], start + 1):
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
            record = record_of(value)
            if isinstance(record, str):
                sink.reject(source, number, record, line.rstrip("\r"))
            else:
                sink.add(*record)
        sink.report(min(RECORDS_PER_REPORT, len(lines) - start))


def parse_json_array(source: str, text: str, sink: RecordSink) -> None:
    """Parse one JSON array of objects into ``sink``, element by element.

    Decoding element by element tells the line where each one starts, so that a bad
    record is reported there rather than at the end of the file.

    Raises:
        InputDataError: the text is not one JSON array (records cannot be told apart then,
            so this is never skipped).
    """
    decoder = json.JSONDecoder(parse_float=json_float, parse_int=json_int)
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
    index = 0
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
            record = record_of(value)
            if isinstance(record, str):
                if _shares_line(text, position, end):
                    # A line holding several elements (a one-line array) does not tell
                    # which one is bad: the index does.
                    record = f"{record} (array element at index {index})"
                sink.reject(source, line, record, text[position:end])
            else:
                sink.add(*record)
            index += 1
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


def _shares_line(text: str, start: int, end: int) -> bool:
    """True when the JSON element at ``text[start:end]`` shares a line with other elements
    or with the array's ``[`` (a separator or the closing ``]`` after it does not count)."""
    before = text[text.rfind("\n", 0, start) + 1 : start]
    line_end = text.find("\n", end)
    after = text[end : len(text) if line_end < 0 else line_end]
    return bool(before.strip()) or after.strip(" \t\r,]") != ""


def _json_error(source: str, text: str, position: int, reason: str) -> InputDataError:
    return InputDataError(reason, path=source, line=text.count("\n", 0, position) + 1)


def _skip_space(text: str, position: int) -> int:
    match = _WHITESPACE.match(text, position)
    assert match is not None  # the pattern also matches the empty string
    return match.end()
