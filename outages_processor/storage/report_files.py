"""Atomic file writes: a reader sees the old file or the whole new one, never a part.

Each writer writes a temporary file in the target's folder, flushes it to disk and renames
it over the target. A failure or an interrupt before the rename removes the temporary file
and leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_open", "write_csv_atomic", "write_json_lines_atomic", "write_text_atomic"]


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], *, newline: str | None = None) -> Iterator[IO[str]]:
    """Open a text file for writing that appears at ``path`` only when the block succeeds.

    Args:
        path: the file to create or replace.
        newline: passed to :func:`open` (use ``""`` for the csv module).

    Yields:
        A text stream (UTF-8) to write to.

    Raises:
        OSError: the file cannot be created (its ``filename`` is ``path``).
    """
    target = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
        )
    except OSError as err:
        # Name the file the caller asked for, not the temporary one.
        raise OSError(err.errno, err.strerror, os.fspath(path)) from err
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_open(path) as stream:
        stream.write(text)


def write_json_lines_atomic(path: str | os.PathLike[str], rows: Iterable[Any]) -> None:
    """Write one compact JSON value per line to ``path`` atomically."""
    with atomic_open(path) as stream:
        for row in rows:
            stream.write(json.dumps(row, separators=(", ", ": ")))
            stream.write("\n")


def write_csv_atomic(
    path: str | os.PathLike[str], header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """Write a header row and ``rows`` as CSV to ``path`` atomically."""
    with atomic_open(path, newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
