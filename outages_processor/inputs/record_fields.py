"""One outage report record as the readers check it, and where checked records go.

Shared by the CSV reader (its slow path) and the JSON readers: the fields, the rules of a
valid record (``record_of``), JSON numbers too long to convert, and :class:`RecordSink`,
which keeps valid records grouped and sets bad ones aside (or raises).
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from decimal import Decimal

from outages_processor._time import (
    MAX_EPOCH_CHARS,
    epoch_seconds_micros,
    overlong_epoch,
    parse_instant_micros,
    shortened,
)
from outages_processor.errors import InputDataError
from outages_processor.models.common import OnError, ProgressCallback, Reject
from outages_processor.models.events import identifier_problem

__all__ = [
    "FIELDS",
    "RECORDS_PER_REPORT",
    "LongNumber",
    "RecordSink",
    "json_float",
    "json_int",
    "json_type",
    "record_of",
    "utf8_text",
    "record_problem",
]

FIELDS = ("controller_id", "outage_type", "timestamp")
"""The fields of a record, in every format."""
RECORDS_PER_REPORT = 65_536
"""Records between two progress reports (large enough to cost nothing per record)."""


class LongNumber:
    """A JSON number literal too long to convert (what the JSON hooks make of one)."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal

    def __str__(self) -> str:
        return shortened(self.literal)


def utf8_text(data: bytes) -> str:
    """UTF-8 bytes as text, without a leading byte order mark (as ``utf-8-sig`` reads them).

    Raises:
        UnicodeDecodeError: the bytes are not UTF-8; its ``start`` and ``end`` count from the
            first byte of ``data``, the mark included (``utf-8-sig`` counts from after it).
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        shift = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
        raise UnicodeDecodeError(
            "utf-8", data, err.start + shift, err.end + shift, err.reason
        ) from None


def json_int(literal: str) -> int | LongNumber:
    """json's ``parse_int``: an int, unless the literal is too long to convert cheaply."""
    return int(literal) if len(literal) <= MAX_EPOCH_CHARS else LongNumber(literal)


def json_float(literal: str) -> Decimal | LongNumber:
    """json's ``parse_float``: an exact Decimal, unless the literal is too long."""
    return Decimal(literal) if len(literal) <= MAX_EPOCH_CHARS else LongNumber(literal)


class RecordSink:
    """Where parsed records go: timestamps per key, and bad records (raised or set aside)."""

    def __init__(self, on_error: OnError, progress: ProgressCallback | None, total: int) -> None:
        # controller_id -> outage_type -> timestamps: two small lookups per record are
        # quicker than one on a (controller_id, outage_type) tuple built for each record.
        self.groups: dict[str, dict[str, list[int]]] = {}
        self.rejects: list[Reject] = []
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
        self.rejects.append(Reject(path=source, line=line, reason=reason, row=text))

    def add(self, controller_id: str, outage_type: str, micros: int) -> None:
        """Keep one valid record."""
        self.groups.setdefault(controller_id, {}).setdefault(outage_type, []).append(micros)

    def report(self, lines: int) -> None:
        """Tell the progress callback that ``lines`` more input lines were read."""
        self.done += lines
        if self.progress is not None:
            self.progress("reading", self.done, self.total)


def record_problem(record: Mapping[str, object]) -> str | None:
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
    return f"{name} must be a string, not {json_type(value)} ({json.dumps(value, default=str)})"


def json_type(value: object) -> str:
    """Name the JSON type of a decoded value, for messages (``"a number"``)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal, LongNumber)):
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
        return parse_instant_micros(value)
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return epoch_seconds_micros(value)
    if value is None:
        raise ValueError("missing field 'timestamp'")
    if isinstance(value, LongNumber):
        raise ValueError(overlong_epoch(str(value), len(value.literal)))
    if isinstance(value, float):
        # json only makes floats of NaN and the infinities here (parse_float is Decimal).
        raise ValueError(f"timestamp {value} is not a finite number of seconds")
    raise ValueError(
        f"timestamp must be an ISO 8601 string or a number of epoch seconds, "
        f"not {json_type(value)}"
    )


def record_of(value: object) -> tuple[str, str, int] | str:
    """A decoded JSON value as a row, or the reason it is not a valid record."""
    if not isinstance(value, dict):
        return (
            f"expected a JSON object with {', '.join(FIELDS)}, found {json_type(value)}"
        )
    problem = record_problem(value)
    if problem is not None:
        return problem
    return (value["controller_id"], value["outage_type"], _timestamp_of(value["timestamp"]))
