"""Reading a CSV input row by row: its header checked, its rows with their line numbers.

Columns are found by name in the header row (``day`` is an alias of ``dayOfWeek``); extra
columns are ignored; a UTF-8 byte order mark and CRLF line ends are fine, and so are blank
lines (before the header too).

A bad row either stops the read with an :class:`~outages_processor.errors.InputDataError`
saying ``file:line: what is wrong`` (``on_error="fail"``, the default) or is skipped and kept
as a :class:`~outages_processor.models.common.Reject` (``on_error="skip"``): see
:class:`RowErrors`. A row that is not UTF-8 is a bad row like any other (``file:line: not
valid UTF-8``), whichever reader meets it: the bytes are decoded row by row, so one bad row
never stops a read in skip mode.

The readers of each file are in :mod:`~outages_processor.inputs.hours`,
:mod:`~outages_processor.inputs.timezones` and :mod:`~outages_processor.inputs.status_rows`;
clean small files are read whole by :mod:`~outages_processor.inputs.clean_tables`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import os
import re
from collections.abc import Iterator, Sequence
from typing import IO, Final, TypeAlias

import attrs

from outages_processor.errors import InputDataError
from outages_processor.models.common import OnError, Reject, check_on_error

__all__ = [
    "MEMORY",
    "NOT_UTF8",
    "RowErrors",
    "Source",
    "Table",
    "column_indices",
    "header_line",
    "open_table",
    "source_name",
]

Source: TypeAlias = str | os.PathLike[str] | IO[str]
"""A CSV input: a file path, or an open text stream (read from its current position)."""

MEMORY: Final = "<memory>"
"""The file name given to rows of a stream that has no name."""

NOT_UTF8: Final = "not valid UTF-8"
"""The reason given for a row whose bytes are not UTF-8, by every reader."""

_ALIASES: Final = {"day": "dayOfWeek"}
_ALIASES_OF: Final = {
    column: tuple(alias for alias, name in _ALIASES.items() if name == column)
    for column in set(_ALIASES.values())
}
# One physical line: ended by CRLF, a bare CR or LF, or the end of the text.
_PHYSICAL_LINE: Final = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+")
_BOM: Final = b"\xef\xbb\xbf"
_UTF8_CODECS: Final = frozenset(("utf-8", "utf-8-sig"))


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
        self.on_error: OnError = check_on_error(on_error)
        self.rejects: list[Reject] = []

    def bad_row(self, reason: str, *, path: str, line: int | None, row: str) -> None:
        """Report a bad row.

        Raises:
            InputDataError: with ``on_error="fail"``, saying ``path:line: reason``.
        """
        if self.on_error == "fail":
            raise InputDataError(reason, path=path, line=line)
        self.rejects.append(Reject(path=path, line=line, reason=reason, row=row))


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


def _with_aliases(name: str, *, quote: bool = False) -> str:
    """A column's name for messages, with the other names it may go by: ``dayOfWeek (or day)``."""
    shown = [repr(item) if quote else item for item in (name, *_ALIASES_OF.get(name, ()))]
    return shown[0] if len(shown) == 1 else f"{shown[0]} (or {' or '.join(shown[1:])})"


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
            f"missing column {', '.join(_with_aliases(name, quote=True) for name in missing)} "
            f"(the header has: {', '.join(names) or 'nothing'}); "
            f"expected the columns {', '.join(_with_aliases(name) for name in required)}",
            path=path,
            line=line,
        )
    return {name: found[name] for name in required}


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
