"""The fast reader of the status file: byte ranges read in whole chunks, polls by store.

The status file of a real chain holds millions of rows. :func:`read_status_part` reads one
byte range of it (see :func:`split_status`), whole chunks at a time, with a handful of
C-level passes per chunk instead of Python code per row, and groups the poll times by
store into :class:`~outages_processor.inputs.poll_blocks.PollBlock` values. Each range can
be read by a different worker.

A chunk the fast path cannot take whole (a bad row, an unusual timestamp style, a blank
line) is read again row by row, which finds each bad row and its line. A file with quoted
fields or bare carriage returns (anywhere, the header included) cannot be cut into byte
ranges safely: a reader that meets one gives up and says so (``needs_sequential``, with no
polls), and the whole file is read from start to end by :func:`read_status_sequential`,
with the CSV module. Blank lines are skipped everywhere, before the header too.
"""

from __future__ import annotations

import os
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Final

import attrs

from outages_processor._time import status_stamps_to_iso
from outages_processor.errors import InputDataError
from outages_processor.inputs.clean_tables import aligned_rows
from outages_processor.inputs.poll_blocks import (
    Groups,
    PollBlock,
    PollCollector,
    StatusPart,
    StopRead,
)
from outages_processor.inputs.status_rows import STATUS_COLUMNS
from outages_processor.inputs.tables import (
    NOT_UTF8,
    RowErrors,
    Source,
    column_indices,
    header_line,
    open_table,
)
from outages_processor.models.common import OnError
from outages_processor.models.uptime import FIRST_INSTANT, LAST_INSTANT

__all__ = [
    "StatusLayout",
    "read_status_layout",
    "read_status_part",
    "read_status_sequential",
    "split_status",
]

_CHUNK_BYTES: Final = 1 << 15
# Chunks of ~32 KiB keep each chunk's temporary strings in the CPU caches and let the
# allocator reuse the same memory chunk after chunk.

# A chunk with a time outside these is read row by row, which rejects the row.
_FIRST_SECONDS: Final = FIRST_INSTANT.timestamp()
_LAST_SECONDS: Final = LAST_INSTANT.timestamp()

_fromisoformat = datetime.fromisoformat
_to_epoch = datetime.timestamp
_tzinfo = attrgetter("tzinfo")
_group = Groups.__getitem__  # (dict's own lookup: a missing store gets a new array)


@attrs.frozen
class StatusLayout:
    """Where the data of a status file is and which column holds what.

    Attributes:
        path: the file, as the user named it (used in messages).
        size: its size in bytes.
        data_start: the byte offset of the first row after the header.
        columns: the number of columns in the header.
        store: the index of ``store_id``.
        status: the index of ``status``.
        timestamp: the index of ``timestamp_utc``.
        sequential: the header has quoted fields or bare carriage returns: the file must
            be read by :func:`read_status_sequential` (the other fields mean nothing).
    """

    path: str
    size: int
    data_start: int
    columns: int
    store: int
    status: int
    timestamp: int
    sequential: bool = False


def read_status_layout(path: str | os.PathLike[str]) -> StatusLayout:
    """Read the header of a status file: its first line that is not blank.

    Returns:
        The layout; with ``sequential`` set when the header cannot be read line by line.

    Raises:
        InputDataError: the file cannot be read, is empty, or lacks a required column.
    """
    display = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            header_bytes, line, data_start = header_line(stream)
            size = os.fstat(stream.fileno()).st_size
    except OSError as err:
        raise InputDataError(f"cannot read the file: {err.strerror or err}", path=display) from err
    if not header_bytes:
        raise InputDataError(
            "the status file is empty: expected a header row "
            f"({', '.join(STATUS_COLUMNS)}) and at least one row",
            path=display,
        )
    if b"\r" in header_bytes or b'"' in header_bytes:
        # A bare carriage return ends a line for the CSV module, and a quoted field may
        # hold a comma or a line break: only the CSV module reads those right.
        return StatusLayout(display, size, data_start, 0, -1, -1, -1, sequential=True)
    try:
        header_text = header_bytes.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputDataError(f"the header is {NOT_UTF8}", path=display, line=line) from err
    header = header_text.split(",")
    indices = column_indices(header, STATUS_COLUMNS, display, line)
    return StatusLayout(
        display,
        size,
        data_start,
        len(header),
        indices["store_id"],
        indices["status"],
        indices["timestamp_utc"],
    )


def split_status(layout: StatusLayout, parts: int) -> list[tuple[int, int]]:
    """Cut a status file's rows into about ``parts`` byte ranges of whole lines.

    Returns:
        ``(start, end)`` byte offsets, in file order, covering every row once.
    """
    bounds = [layout.data_start]
    span = layout.size - layout.data_start
    with open(layout.path, "rb") as stream:
        for part in range(1, max(parts, 1)):
            stream.seek(layout.data_start + span * part // parts - 1)
            stream.readline()
            position = stream.tell()
            if bounds[-1] < position < layout.size:
                bounds.append(position)
    bounds.append(layout.size)
    return [(start, end) for start, end in zip(bounds, bounds[1:]) if end > start]


class _NeedsSequential(StopRead):
    """The bytes cannot be cut into ranges: quoted fields or bare carriage returns."""


def _split_chunk(text: str, layout: StatusLayout) -> tuple[list[str], bool] | None:
    """Split a chunk of whole lines into fields, the timestamp being the last column.

    Returns:
        The fields, row after row (each row's first field keeps the line break before it),
        and whether the timestamps are ISO 8601 rather than ``... UTC``; or None when some
        row has not exactly the header's number of fields, or the styles are mixed.
    """
    width = layout.columns
    lines = text.count("\n")
    # `2023-01-22 12:09:39.38 UTC` becomes `...39.38Z`, which fromisoformat reads, and its
    # line break gets a comma, so that one split cuts rows as well as fields.
    fields = status_stamps_to_iso("\n" + text, ",\n").split(",")
    iso = len(fields) != width * lines + 1
    if iso:
        # ISO 8601 timestamps carry their own zone: only the line breaks change.
        fields = ("\n" + text.replace("\n", ",\n")).split(",")
    aligned = aligned_rows(fields, width, lines)
    return None if aligned is None else (aligned, iso)


class _RangeReader:
    """Reads one byte range of a status file chunk by chunk."""

    def __init__(self, layout: StatusLayout, start: int, collector: PollCollector) -> None:
        self.layout = layout
        self.start = start
        self.collector = collector
        self._first_line: int | None = None
        # The fast path splits on commas only, so the first column keeps the line break
        # before it: the status is then looked up with a "\n" prefix, and the store ids
        # keyed with it.
        glued = layout.store == 0
        prefix = "\n" if layout.status == 0 else ""
        self._groups_of = {
            prefix + "active": collector.active_nl if glued else collector.active,
            prefix + "inactive": collector.inactive_nl if glued else collector.inactive,
        }.__getitem__

    def first_line(self) -> int:
        """The line number of the range's first row (counted only when a message needs it)."""
        if self._first_line is None:
            count = 1
            with open(self.layout.path, "rb") as stream:
                remaining = self.start
                while remaining > 0 and (block := stream.read(min(remaining, 1 << 22))):
                    count += block.count(b"\n")
                    remaining -= len(block)
            self._first_line = count
        return self._first_line

    def chunk(self, raw: bytes, lines_before: int) -> None:
        """Read one chunk of whole lines (ending with a line break).

        Args:
            raw: the chunk's bytes.
            lines_before: lines of this range before the chunk.

        Raises:
            StopRead: a bad row in fail mode (recorded in the collector), or bytes that
                cannot be split (the collector's part is then read sequentially).
        """
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            # A quote or a bare CR anywhere, on a bad line too, sends the file to the CSV
            # module as it does in a clean chunk: a quote may open a field that spans lines
            # and a bare CR ends a line there, so only that reader counts lines right.
            if b'"' in raw or b"\r" in raw.replace(b"\r\n", b"\n"):
                raise _NeedsSequential from None
            self._careful(raw.split(b"\n")[:-1], lines_before)
            return
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        if "\r" in text or '"' in text:
            raise _NeedsSequential
        if not self._fast(text):
            self._careful(text.split("\n")[:-1], lines_before)

    def _fast(self, text: str) -> bool:
        """Read a chunk with C-level passes; False (nothing added) when it is not clean."""
        layout = self.layout
        split = _split_chunk(text, layout) if layout.timestamp == layout.columns - 1 else None
        if split is None:
            return False
        fields, iso = split
        width = layout.columns
        stores = fields[layout.store :: width]
        if ("\n" if layout.store == 0 else "") in stores:
            return False
        try:
            groups = list(map(self._groups_of, fields[layout.status :: width]))
            stamps = list(map(_fromisoformat, fields[layout.timestamp :: width]))
        except (KeyError, ValueError):
            return False
        if iso and not all(map(_tzinfo, stamps)):
            return False
        seconds = list(map(_to_epoch, stamps))
        del stamps
        latest = max(seconds)
        if min(seconds) < _FIRST_SECONDS or latest > _LAST_SECONDS:
            return False
        # Each poll's time goes to its store's array of its status, in C-level passes.
        deque(map(array.append, map(_group, groups, stores), seconds), 0)
        collector = self.collector
        collector.polls += len(stores)
        collector.latest = max(collector.latest, latest)
        return True

    def _careful(self, lines: Sequence[bytes | str], lines_before: int) -> None:
        """Read a chunk row by row: slower, and it knows each row's line number."""
        collector = self.collector
        layout = self.layout
        first = self.first_line() + lines_before
        for index, line in enumerate(lines):
            if isinstance(line, bytes):
                # (Quotes and bare CRs were sent to the sequential reader by the caller.)
                line = line.removesuffix(b"\r")
                try:
                    line = line.decode("utf-8")
                except UnicodeDecodeError:
                    if collector.errors.on_error == "fail":
                        collector.error = (NOT_UTF8, first + index)
                        raise StopRead from None
                    # The row as the sequential reader shows it too: its bytes' repr.
                    collector.errors.bad_row(
                        NOT_UTF8, path=layout.path, line=first + index, row=repr(line)
                    )
                    continue
            if line:
                collector.row(
                    line.split(","), first + index, layout.store, layout.status, layout.timestamp
                )


def read_status_part(
    layout: StatusLayout,
    start: int,
    end: int,
    *,
    partitions: int = 1,
    on_error: OnError = "fail",
    progress: Callable[[int], None] | None = None,
) -> StatusPart:
    """Read the rows of one byte range of a status file (see :func:`split_status`).

    Args:
        layout: the file's header, from :func:`read_status_layout`.
        start: the range's first byte (the start of a line).
        end: the byte after the range (the start of a line, or the file's size).
        partitions: how many blocks to split the stores into (see :func:`partition_of`).
        on_error: ``"fail"`` stops at the first bad row (reported in ``error``), ``"skip"``
            keeps bad rows in ``rejects``.
        progress: called with the number of bytes read after each chunk.

    Returns:
        The range's polls by partition, with their latest time, count and bad rows; or,
        when the file has quoted fields or bare carriage returns, a part without polls
        that ``needs_sequential``.

    Raises:
        InputDataError: the file cannot be read.
    """
    if layout.sequential:
        return _sequential_part(partitions)
    collector = PollCollector(layout.path, layout.columns, on_error)
    reader = _RangeReader(layout, start, collector)
    lines_before = 0
    try:
        with open(layout.path, "rb") as stream:
            stream.seek(start)
            position = start
            while position < end and (raw := stream.read(min(_CHUNK_BYTES, end - position))):
                if not raw.endswith(b"\n") and position + len(raw) < end:
                    raw += stream.readline()
                position += len(raw)
                if not raw.endswith(b"\n"):
                    raw += b"\n"
                reader.chunk(raw, lines_before)
                lines_before += raw.count(b"\n")
                if progress is not None:
                    progress(len(raw))
    except _NeedsSequential:
        return _sequential_part(partitions)
    except StopRead:
        pass
    except OSError as err:
        raise InputDataError(
            f"cannot read the file: {err.strerror or err}", path=layout.path
        ) from err
    return collector.part(partitions)


def _sequential_part(partitions: int) -> StatusPart:
    """A part that holds no polls and says the file must be read sequentially."""
    blocks = tuple(PollBlock([], array("q"), array("d")) for _ in range(max(partitions, 1)))
    return StatusPart(blocks, needs_sequential=True)


def read_status_sequential(
    source: Source, *, partitions: int = 1, on_error: OnError = "fail"
) -> StatusPart:
    """Read a whole status file row by row (any CSV: quoted fields, bare carriage returns).

    Args:
        source: a path, or a text stream.
        partitions: how many blocks to split the stores into.
        on_error: ``"fail"`` or ``"skip"`` (see :func:`read_status_part`).

    Returns:
        All the polls by partition (``error`` set at the first bad row in fail mode).
        Rows that are not UTF-8 are bad rows, reported as :func:`read_status_part` does.

    Raises:
        InputDataError: the file cannot be read, is empty, lacks a required column, or
            is not valid CSV; or, in fail mode, a row is not UTF-8
            (``file:line: not valid UTF-8``).
    """
    errors = RowErrors(on_error)
    with open_table(source, STATUS_COLUMNS, "status", errors=errors) as table:
        collector = PollCollector(table.path, len(table.header), on_error, errors)
        store, status, stamp = (table.columns[name] for name in STATUS_COLUMNS)
        try:
            for line, row in table.rows:
                collector.row(row, line, store, status, stamp)
        except StopRead:
            pass
    return collector.part(partitions)
