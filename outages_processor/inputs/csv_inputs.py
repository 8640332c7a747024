"""Reading the uptime report's CSV inputs: status polls, business hours and time zones.

Columns are found by name in the header row (``day`` is an alias of ``dayOfWeek``); extra
columns are ignored; store ids stay text; a UTF-8 byte order mark and CRLF line ends are
fine, and so are blank lines (before the header too). Status timestamps are either
``2023-01-22 12:09:39.388884 UTC`` (0 to 6 fraction digits) or ISO 8601 with ``Z`` or an
offset.

A bad row either stops the read with an :class:`~outages_processor.errors.InputDataError`
saying ``file:line: what is wrong`` (``on_error="fail"``, the default) or is skipped and kept
as a :class:`~outages_processor.models.uptime.RejectedRow` (``on_error="skip"``). A row that
is not UTF-8 is a bad row like any other (``file:line: not valid UTF-8``), whichever reader
meets it: the bytes are decoded row by row, so one bad row never stops a read in skip mode.

This module reads any of the files row by row, and the small hours and time zones files
whole; the large status file has a fast reader of its own in
:mod:`outages_processor.inputs.status_ranges`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import re
from collections import deque
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from operator import itemgetter
from typing import IO, Final, TypeAlias, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from outages_processor.errors import InputDataError
from outages_processor.models.uptime import (
    BusinessHours,
    OnError,
    Poll,
    PollStatus,
    RejectedRow,
    StoreTimezone,
    StoreUptime,
    instant_problem,
)

__all__ = [
    "HOURS_COLUMNS",
    "MEMORY",
    "NOT_UTF8",
    "STATUS_COLUMNS",
    "TIMEZONE_COLUMNS",
    "RowErrors",
    "Source",
    "Table",
    "column_indices",
    "header_line",
    "is_time_zone",
    "iter_business_hours",
    "iter_polls",
    "iter_timezones",
    "open_table",
    "parse_status_row",
    "parse_time_of_day",
    "parse_timestamp",
    "read_business_hours",
    "read_report_csv",
    "read_timezones",
    "source_name",
]

Source: TypeAlias = str | os.PathLike[str] | IO[str]
"""A CSV input: a file path, or an open text stream (read from its current position)."""

STATUS_COLUMNS: Final = ("store_id", "status", "timestamp_utc")
"""The columns the status file must have."""
HOURS_COLUMNS: Final = ("store_id", "dayOfWeek", "start_time_local", "end_time_local")
"""The columns the business hours file must have (``day`` may stand for ``dayOfWeek``)."""
TIMEZONE_COLUMNS: Final = ("store_id", "timezone_str")
"""The columns the time zones file must have."""

MEMORY: Final = "<memory>"
"""The file name given to rows of a stream that has no name."""

NOT_UTF8: Final = "not valid UTF-8"
"""The reason given for a row whose bytes are not UTF-8, by every reader."""

_ALIASES: Final = {"day": "dayOfWeek"}
_STATUSES: Final = frozenset(("active", "inactive"))
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_TIME_OF_DAY: Final = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
# One physical line: ended by CRLF, a bare CR or LF, or the end of the text.
_PHYSICAL_LINE: Final = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")
_TIMESTAMP_HINT: Final = (
    "expected a UTC time like 2023-01-22 12:09:39.388884 UTC, or ISO 8601 with Z or an offset"
)
_BOM: Final = b"\xef\xbb\xbf"
_UTF8_CODECS: Final = frozenset(("utf-8", "utf-8-sig"))
_fromisoformat = datetime.fromisoformat


# --------------------------------------------------------------------------- bad rows


class RowErrors:
    """What happens to bad rows: stop at the first (``fail``) or keep them aside (``skip``).

    Attributes:
        on_error: ``"fail"`` or ``"skip"``.
        rejects: the rows skipped so far, with file, line and reason.
    """

    def __init__(self, on_error: OnError = "fail") -> None:
        """Choose what bad rows do.

        Raises:
            ValueError: ``on_error`` is neither ``"fail"`` nor ``"skip"``.
        """
        if on_error not in ("fail", "skip"):
            raise ValueError(f"'on_error' must be in ('fail', 'skip'), not {on_error!r}")
        self.on_error: OnError = on_error
        self.rejects: list[RejectedRow] = []

    def bad_row(self, reason: str, *, path: str, line: int | None, row: str) -> None:
        """Report a bad row.

        Raises:
            InputDataError: with ``on_error="fail"``, saying ``path:line: reason``.
        """
        if self.on_error == "fail":
            raise InputDataError(reason, path=path, line=line)
        self.rejects.append(RejectedRow(path, line, reason, row))


# --------------------------------------------------------------------------- field parsers


def parse_timestamp(text: str) -> float:
    """Parse a status timestamp into seconds since the Unix epoch.

    Args:
        text: ``2023-01-22 12:09:39.388884 UTC`` (0-6 fraction digits), or ISO 8601 with
            ``Z`` or an offset. Surrounding spaces are ignored.

    Returns:
        Seconds since 1970-01-01T00:00:00Z, with microseconds.

    Raises:
        ValueError: the text is neither style, or has no time zone.
    """
    stripped = text.strip()
    utc = stripped.endswith(" UTC")
    try:
        value = _fromisoformat(stripped[:-4].rstrip() if utc else stripped)
    except ValueError:
        raise ValueError(f"bad timestamp {text!r}: {_TIMESTAMP_HINT}") from None
    if utc:
        if value.tzinfo is not None:
            raise ValueError(f"bad timestamp {text!r}: it has both an offset and UTC")
        return (value.replace(tzinfo=timezone.utc) - _EPOCH).total_seconds()
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"bad timestamp {text!r}: no time zone; add ' UTC', 'Z' or an offset")
    return (value - _EPOCH).total_seconds()


def is_time_zone(name: str) -> bool:
    """True when ``name`` is an IANA time zone this system knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # A folder of the time zone database (``America``) or a name too long for a file
        # is an OSError, not ZoneInfoNotFoundError.
        return False
    return True


def parse_time_of_day(text: str) -> int:
    """Parse a local time ``HH:MM`` or ``HH:MM:SS`` into seconds after midnight.

    Raises:
        ValueError: the text is not such a time (hours 0-23, minutes and seconds 0-59).
    """
    match = _TIME_OF_DAY.fullmatch(text.strip())
    if match:
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        if hour < 24 and minute < 60 and second < 60:
            return hour * 3600 + minute * 60 + second
    raise ValueError(f"bad time {text!r}: expected HH:MM or HH:MM:SS (00:00 to 23:59:59)")


def _parse_weekday(text: str) -> int:
    stripped = text.strip()
    if stripped.isdecimal() and len(stripped) == 1 and stripped < "7":
        return int(stripped)
    raise ValueError(f"bad day of week {text!r}: expected 0 (Monday) to 6 (Sunday)")


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
    seconds = parse_timestamp(fields[stamp])
    problem = instant_problem(seconds)
    if problem is not None:
        raise ValueError(f"timestamp {fields[stamp]!r} is {problem}")
    return store_id, state == "active", seconds


# --------------------------------------------------------------------------- headers


def header_line(stream: IO[bytes]) -> tuple[bytes, int, int]:
    """Find the header of a CSV file: its first line that is not blank.

    Every reader of the inputs skips blank lines before the header by this one rule: a
    line is blank when nothing but its line break (and, on the first line, a byte order
    mark) is on it.

    Args:
        stream: the file, opened in binary mode at its start.

    Returns:
        The header (without its line break or byte order mark; empty at the end of the
        file), its line number, and the offset of the byte after it.
    """
    data_start = 0
    number = 0
    while raw := stream.readline():
        number += 1
        data_start += len(raw)
        body = raw.removesuffix(b"\n").removesuffix(b"\r")
        if number == 1:
            body = body.removeprefix(_BOM)
        if body:
            return body, number, data_start
    return b"", number, data_start


def source_name(source: object) -> str:
    """The name of an input for messages: its path, or its stream's name, or ``<memory>``."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else MEMORY


def column_indices(
    header: Sequence[str], required: Sequence[str], path: str, line: int = 1
) -> dict[str, int]:
    """Find the required columns in a header row, by name (``day`` for ``dayOfWeek``).

    Args:
        header: the header's fields.
        required: the columns the file must have.
        path: the file, for messages.
        line: the header's line number (blank lines may come before it).

    Returns:
        The index of each required column.

    Raises:
        InputDataError: a required column is missing (reported at the header's line).
    """
    names = [name.strip().lstrip("\ufeff") for name in header]
    found: dict[str, int] = {}
    for index, name in enumerate(names):
        found.setdefault(_ALIASES.get(name, name), index)
    missing = [name for name in required if name not in found]
    if missing:
        raise InputDataError(
            f"missing column {', '.join(repr(name) for name in missing)} "
            f"(the header has: {', '.join(names) or 'nothing'}); "
            f"expected the columns {', '.join(required)}",
            path=path,
            line=line,
        )
    return {name: found[name] for name in required}


# --------------------------------------------------------------------------- sequential


@attrs.frozen
class Table:
    """A CSV input opened for reading row by row, its header checked.

    Attributes:
        path: the file's name as given (``<memory>`` for a stream without one).
        header: the header row's fields.
        columns: the index of each required column.
        rows: ``(line, fields)`` of each non-blank row after the header.
    """

    path: str
    header: list[str]
    columns: dict[str, int]
    rows: Iterator[tuple[int, list[str]]]


def _physical_lines(stream: IO[str]) -> Iterator[str]:
    """The lines of a text stream as a file opened with ``newline=""`` gives them.

    A stream opened otherwise (``io.StringIO`` splits on LF only) may hold bare carriage
    returns inside its lines; a byte order mark at its start is dropped, as ``utf-8-sig``
    drops it from a file.
    """
    first = True
    for line in stream:
        if first:
            line = line.removeprefix("\ufeff")
            first = False
        if "\r" in line and not (line.endswith("\r\n") and line.count("\r") == 1):
            yield from _PHYSICAL_LINE.findall(line)
        else:
            yield line


def _table_rows(stream: IO[str], path: str, source: Source) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` of each non-blank record, its first physical line's number.

    Raises:
        InputDataError: not valid CSV, or a stream that cannot be decoded (see
            :func:`_undecodable_kept`).
    """
    lines = stream if isinstance(source, (str, os.PathLike)) else _physical_lines(stream)
    reader = csv.reader(lines)
    try:
        previous = reader.line_num
        for row in reader:
            if row:
                yield previous + 1, row
            previous = reader.line_num
    except csv.Error as err:
        raise InputDataError(f"not valid CSV: {err}", path=path, line=reader.line_num) from err
    except UnicodeDecodeError as err:
        # Only a stream the caller had read from before decodes strictly.
        raise InputDataError(
            f"{NOT_UTF8}, in a text stream that had been read from before (so its bad rows "
            "cannot be skipped); save the data as UTF-8, or pass its path",
            path=path,
        ) from err


def _is_text(row: Sequence[str]) -> bool:
    """False for a row holding bytes that were not UTF-8 (decoded as surrogate escapes)."""
    text = "".join(row)
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _row_bytes(row: Sequence[str]) -> str:
    """A row that is not UTF-8, shown as the fast reader shows it: the repr of its bytes."""
    text = ",".join(row)
    try:
        return repr(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:  # a lone surrogate a text stream held, not a byte
        return repr(text.encode("utf-8", "backslashreplace"))


def _text_rows(
    rows: Iterator[tuple[int, list[str]]], path: str, errors: RowErrors
) -> Iterator[tuple[int, list[str]]]:
    """The rows that are text; the others go to ``errors`` as :data:`NOT_UTF8`.

    The bytes are decoded with surrogate escapes, so that a bad byte spoils only its own
    record: the CSV syntax (commas, quotes, line breaks) is ASCII and reads the same.
    """
    for line, row in rows:
        if _is_text(row):
            yield line, row
        else:
            errors.bad_row(NOT_UTF8, path=path, line=line, row=_row_bytes(row))


@contextlib.contextmanager
def _undecodable_kept(stream: IO[str]) -> Iterator[None]:
    """Let a UTF-8 text stream over bytes (``sys.stdin``) pass bad bytes on as escapes.

    Such a stream would stop at the first byte that is not UTF-8, in a block read ahead of
    the rows; decoded with ``surrogateescape`` instead, that byte spoils only its row, as
    it does when the file is read by its path. The stream's error handler is restored
    afterwards. A stream already read from cannot change its handler: it stays strict.
    """
    if (
        not isinstance(stream, io.TextIOWrapper)
        or stream.errors != "strict"
        or codecs.lookup(stream.encoding).name not in _UTF8_CODECS
    ):
        yield
        return
    try:
        stream.reconfigure(errors="surrogateescape")
    except io.UnsupportedOperation:
        changed = False
    else:
        changed = True
    try:
        yield
    finally:
        if changed:
            with contextlib.suppress(io.UnsupportedOperation, ValueError):
                stream.reconfigure(errors="strict")


@contextlib.contextmanager
def open_table(
    source: Source, required: Sequence[str], what: str, *, errors: RowErrors | None = None
) -> Iterator[Table]:
    """Open a CSV input for reading row by row, after checking its header.

    Blank lines are skipped, before the header too (the rule of :func:`header_line`).

    Args:
        source: a path, or a text stream (read from its current position).
        required: the columns it must have.
        what: what the file holds, for messages (``"business hours"``).
        errors: where rows that are not UTF-8 go (default: the first one raises).

    Yields:
        The table, its rows not read yet; rows that are not UTF-8 are left out of
        ``rows`` and given to ``errors``.

    Raises:
        InputDataError: the file cannot be read, is empty, lacks a required column, or
            its header is not UTF-8; (while reading the rows) not valid CSV, or a row
            that is not UTF-8 in fail mode.
    """
    path = source_name(source)
    with contextlib.ExitStack() as stack:
        if isinstance(source, (str, os.PathLike)):
            try:
                stream: IO[str] = stack.enter_context(
                    open(source, encoding="utf-8-sig", errors="surrogateescape", newline="")
                )
            except OSError as err:
                raise InputDataError(
                    f"cannot read the file: {err.strerror or err}", path=path
                ) from err
        else:
            stream = source
            stack.enter_context(_undecodable_kept(stream))
        rows = _table_rows(stream, path, source)
        first = next(rows, None)
        if first is None:
            raise InputDataError(
                f"the {what} file is empty: expected a header row ({', '.join(required)})",
                path=path,
            )
        line, header = first
        if not _is_text(header):
            raise InputDataError(f"the header is {NOT_UTF8}", path=path, line=line)
        columns = column_indices(header, required, path, line)
        yield Table(path, header, columns, _text_rows(rows, path, errors or RowErrors()))


def iter_polls(source: Source, *, errors: RowErrors | None = None) -> Iterator[Poll]:
    """Yield the polls of a status CSV one at a time.

    Args:
        source: a path, or a text stream.
        errors: where bad rows go (default: the first one raises).

    Raises:
        InputDataError: a bad row (in fail mode), or the file cannot be read, is empty or
            lacks a required column.
    """
    errors = errors if errors is not None else RowErrors()
    with open_table(source, STATUS_COLUMNS, "status", errors=errors) as table:
        columns = table.columns
        store, status, stamp = (columns[name] for name in STATUS_COLUMNS)
        width = len(table.header)
        for line, row in table.rows:
            try:
                store_id, active, instant = parse_status_row(row, width, store, status, stamp)
            except ValueError as err:
                errors.bad_row(str(err), path=table.path, line=line, row=",".join(row))
                continue
            state: PollStatus = "active" if active else "inactive"
            yield Poll(store_id, state, datetime.fromtimestamp(instant, timezone.utc))


# --------------------------------------------------------------------------- hours, zones


def _hours_rows(source: Source, errors: RowErrors) -> Iterator[tuple[str, int, int, int]]:
    with open_table(source, HOURS_COLUMNS, "business hours", errors=errors) as table:
        indices = [table.columns[name] for name in HOURS_COLUMNS]
        width = len(table.header)
        times = _TimesOfDay()
        for line, row in table.rows:
            try:
                if len(row) != width:
                    raise ValueError(f"expected {width} fields, found {len(row)}")
                store_id, day, opens, closes = (row[index] for index in indices)
                if not store_id:
                    raise ValueError("empty store_id")
                yield store_id, _parse_weekday(day), times[opens], times[closes]
            except ValueError as err:
                errors.bad_row(str(err), path=table.path, line=line, row=",".join(row))


def _clean_text(source: Source) -> tuple[str, int, str] | None:
    """A small file's header, its line and the rows after it, when they can be split with
    C-level passes: a path, UTF-8, no quotes or bare carriage returns (CRLF becomes LF);
    otherwise None.

    Blank lines before the header are skipped (:func:`header_line`).

    Raises:
        InputDataError: the file cannot be read.
    """
    if not isinstance(source, (str, os.PathLike)):
        return None
    try:
        with open(source, "rb") as stream:
            header_bytes, line, _ = header_line(stream)
            body_bytes = stream.read()
    except OSError as err:
        raise InputDataError(
            f"cannot read the file: {err.strerror or err}", path=os.fspath(source)
        ) from err
    try:
        header, text = header_bytes.decode("utf-8"), body_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if '"' in header or "\r" in header or '"' in text or "\r" in text:
        return None
    return header, line, text


def _aligned_fields(body: str, width: int) -> list[str] | None:
    """The fields of rows that all have ``width`` fields, row after row; else None.

    Each row's first field keeps the line break before it.
    """
    if body and not body.endswith("\n"):
        body += "\n"
    lines = body.count("\n")
    fields = ("\n" + body.replace("\n", ",\n")).split(",")
    if fields.pop() != "\n" or len(fields) != width * lines:
        return None
    # With the counts right, every line has exactly `width` fields when every first field
    # starts with the line break before it: the smallest and the largest do.
    firsts = fields[0::width]
    if firsts and (min(firsts)[:1] != "\n" or max(firsts)[:1] != "\n"):
        return None
    return fields


def _fast_columns(source: Source, required: Sequence[str]) -> dict[str, list[str]] | None:
    """Read a small clean CSV file whole into its required columns, with C-level passes.

    Returns:
        Each required column's values, or None when the file needs the row-by-row reader
        (not a path, not UTF-8, quoted fields, blank lines among the rows, a row with the
        wrong number of fields).

    Raises:
        InputDataError: the file cannot be read, or lacks a required column.
    """
    clean = _clean_text(source)
    if clean is None:
        return None
    header, line, body = clean
    if not header:
        return None
    names = header.split(",")
    columns = column_indices(names, required, os.fspath(cast("str", source)), line)
    fields = _aligned_fields(body, len(names))
    if fields is None:
        return None
    found = {name: fields[index :: len(names)] for name, index in columns.items()}
    for name, index in columns.items():
        if index == 0:
            found[name] = list(map(_after_first, found[name]))
    return found


_after_first = itemgetter(slice(1, None))


class _TimesOfDay(dict[str, int]):
    """Seconds after midnight of each distinct ``HH:MM[:SS]`` text, parsed on first use."""

    def __missing__(self, key: str) -> int:
        value = self[key] = parse_time_of_day(key)
        return value


_WEEKDAYS: Final = {str(day): day for day in range(7)}


def _fast_hours(source: Source) -> dict[str, list[tuple[int, int, int]]] | None:
    """Read a clean hours file with C-level passes; None when a row needs a closer look."""
    found = _fast_columns(source, HOURS_COLUMNS)
    if found is None:
        return None
    stores = found["store_id"]
    if "" in stores:
        return None
    times = _TimesOfDay()
    try:
        days = list(map(_WEEKDAYS.__getitem__, found["dayOfWeek"]))
        starts = list(map(times.__getitem__, found["start_time_local"]))
        ends = list(map(times.__getitem__, found["end_time_local"]))
    except (KeyError, ValueError):
        return None
    slots: dict[str, list[tuple[int, int, int]]] = _Lists()
    deque(map(list.append, map(slots.__getitem__, stores), zip(days, starts, ends)), 0)
    return dict(slots)


class _Lists(dict[str, list[tuple[int, int, int]]]):
    """A list per key, made on first use."""

    def __missing__(self, key: str) -> list[tuple[int, int, int]]:
        value: list[tuple[int, int, int]] = []
        self[key] = value
        return value


def read_business_hours(
    source: Source, *, errors: RowErrors | None = None
) -> dict[str, list[tuple[int, int, int]]]:
    """Read a business hours CSV into each store's ``(day_of_week, start, end)`` slots.

    Times are seconds after local midnight.

    Raises:
        InputDataError: a bad row (in fail mode), or the file cannot be read, is empty or
            lacks a required column.
    """
    fast = _fast_hours(source)
    if fast is not None:
        return fast
    slots: dict[str, list[tuple[int, int, int]]] = {}
    for store_id, day, start, end in _hours_rows(source, errors or RowErrors()):
        slots.setdefault(store_id, []).append((day, start, end))
    return slots


def iter_business_hours(
    source: Source, *, errors: RowErrors | None = None
) -> Iterator[BusinessHours]:
    """Yield the rows of a business hours CSV one at a time.

    Raises:
        InputDataError: as :func:`read_business_hours`.
    """
    for store_id, day, start, end in _hours_rows(source, errors or RowErrors()):
        yield BusinessHours(
            store_id,
            day,
            datetime.fromtimestamp(start, timezone.utc).time(),
            datetime.fromtimestamp(end, timezone.utc).time(),
        )


def _timezone_rows(source: Source, errors: RowErrors) -> Iterator[tuple[str, str]]:
    with open_table(source, TIMEZONE_COLUMNS, "time zones", errors=errors) as table:
        columns = table.columns
        store, zone = columns["store_id"], columns["timezone_str"]
        width = len(table.header)
        known: dict[str, bool] = {}
        seen: dict[str, str] = {}
        for line, row in table.rows:
            reason = _timezone_problem(row, width, store, zone, known, seen)
            if reason is None:
                yield row[store], row[zone].strip()
            else:
                errors.bad_row(reason, path=table.path, line=line, row=",".join(row))


def _timezone_problem(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    row: Sequence[str],
    width: int,
    store: int,
    zone: int,
    known: dict[str, bool],
    seen: dict[str, str],
) -> str | None:
    """What is wrong with a time zones row, or None; records the store's zone in ``seen``.

    ``known`` caches which zone names exist.
    """
    if len(row) != width:
        return f"expected {width} fields, found {len(row)}"
    store_id, name = row[store], row[zone].strip()
    if not store_id:
        return "empty store_id"
    valid = known.get(name)
    if valid is None:
        valid = known[name] = is_time_zone(name)
    if not valid:
        return f"unknown time zone {row[zone]!r}: expected an IANA name such as America/New_York"
    if seen.setdefault(store_id, name) != name:
        return f"store {store_id} already has time zone {seen[store_id]}"
    return None


def _fast_timezones(source: Source) -> dict[str, str] | None:
    """Read a clean time zones file with C-level passes; None when a row needs a closer look."""
    found = _fast_columns(source, TIMEZONE_COLUMNS)
    if found is None:
        return None
    stores, names = found["store_id"], found["timezone_str"]
    zones = dict(zip(stores, names))
    if len(zones) != len(stores) or "" in zones:
        return None
    return zones if all(map(is_time_zone, set(names))) else None


def read_timezones(source: Source, *, errors: RowErrors | None = None) -> dict[str, str]:
    """Read a time zones CSV into each store's IANA time zone name.

    Raises:
        InputDataError: a bad row (unknown time zone, a second different zone for a store)
            in fail mode, or the file cannot be read, is empty or lacks a required column.
    """
    fast = _fast_timezones(source)
    if fast is not None:
        return fast
    return dict(_timezone_rows(source, errors or RowErrors()))


def iter_timezones(source: Source, *, errors: RowErrors | None = None) -> Iterator[StoreTimezone]:
    """Yield the rows of a time zones CSV one at a time.

    Raises:
        InputDataError: as :func:`read_timezones`.
    """
    for store_id, name in _timezone_rows(source, errors or RowErrors()):
        yield StoreTimezone(store_id, name)


# --------------------------------------------------------------------------- report files


def read_report_csv(path: str | os.PathLike[str]) -> list[StoreUptime]:
    """Read a report CSV written by :func:`outages_processor.reports.write_report_csv`.

    Raises:
        InputDataError: the file is missing, or is not a report.
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
