"""Small CSV files read whole with a few C-level passes, when they are clean.

The business hours and time zones files are small (tens of thousands of rows): when such a
file is a path, UTF-8, without quotes, bare carriage returns or rows of the wrong width,
its columns come out of a handful of ``str.split`` calls. Anything else returns None, and
the caller reads the file row by row (:func:`~outages_processor.inputs.tables.open_table`),
which finds each bad row and its line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from operator import itemgetter
from typing import cast

from outages_processor.errors import InputDataError
from outages_processor.inputs.tables import Source, column_indices, header_line

__all__ = ["aligned_rows", "clean_columns"]


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


def aligned_rows(fields: list[str], width: int, lines: int) -> list[str] | None:
    """Check the fields of whole lines split on commas alone; the fields, or None.

    The text of ``lines`` lines, each ending with its line break, split as
    ``("\n" + text.replace("\n", ",\n")).split(",")`` (or with the line breaks moved
    after a comma in any other way) gives every row's fields with each row's first field
    keeping the line break before it, and one last field ``"\n"``. The check costs a few
    C-level passes over the list, none per row in Python.

    Args:
        fields: the split fields; the last one is removed.
        width: the fields each row must have.
        lines: the lines of the text.

    Returns:
        ``fields`` without its last, when every row has exactly ``width`` fields; else None.
    """
    if fields.pop() != "\n" or len(fields) != width * lines:
        return None
    # With the counts right, every line has exactly `width` fields when every first field
    # starts with the line break before it: the smallest and the largest do.
    firsts = fields[0::width]
    if firsts and (min(firsts)[:1] != "\n" or max(firsts)[:1] != "\n"):
        return None
    return fields


def _aligned_fields(body: str, width: int) -> list[str] | None:
    """The fields of rows that all have ``width`` fields, row after row; else None.

    Each row's first field keeps the line break before it.
    """
    if body and not body.endswith("\n"):
        body += "\n"
    fields = ("\n" + body.replace("\n", ",\n")).split(",")
    return aligned_rows(fields, width, body.count("\n"))


_after_first = itemgetter(slice(1, None))


def clean_columns(source: Source, required: Sequence[str]) -> dict[str, list[str]] | None:
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
