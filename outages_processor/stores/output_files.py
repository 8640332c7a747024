"""Output files written safely: a reader sees the old file or the whole new one, never a part;
and all the outputs of a job appear together, or none does.

A regular file (or a new path) is written to a temporary file in its folder, flushed to disk
and renamed over the target at the end. A failure or an interrupt before that removes the
temporary file and leaves the target as it was. New files get the mode the umask allows, as
``open`` would give them; a replaced file keeps its mode.

A symbolic link is followed to its end: the file it points to is written, the link stays. A
character device (``/dev/null``, a terminal) or a FIFO is written straight through: renaming a
file over it would replace the device (as root, the system's ``/dev/null``) and a reader of the
FIFO would never see the data.

:func:`output_files` stages several outputs: every temporary file is written first and the
renames all happen at the end, so when one output fails no other one appears.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = [
    "OutputFiles",
    "atomic_open",
    "open_destination",
    "output_files",
    "resolve_output",
    "write_json_lines",
    "write_text_atomic",
    "write_csv",
    "writes_in_place",
]

MAX_SYMLINKS = 40
"""Symbolic links followed before giving up with ELOOP (Linux's own limit)."""


def resolve_output(path: str | os.PathLike[str]) -> str:
    """The path that writing to ``path`` changes: symbolic links followed to their end.

    Only links are followed (a path that is not a link comes back as given), so messages
    can name the folders the user wrote.

    Args:
        path: an output path; it need not exist.

    Returns:
        The last path of the chain of links starting at ``path`` (it may not exist).

    Raises:
        OSError: ``ELOOP`` (naming ``path``) when the links go round in a circle.
    """
    current = os.fspath(path)
    for _ in range(MAX_SYMLINKS):
        if not os.path.islink(current):
            return current
        current = os.path.join(os.path.dirname(current), os.readlink(current))
    raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), os.fspath(path))


def writes_in_place(target: str | os.PathLike[str]) -> bool:
    """True when ``target`` is written straight through (a character device or a FIFO).

    Args:
        target: a path with its links already followed (:func:`resolve_output`).

    Returns:
        False for a regular file or a missing path (written atomically).

    Raises:
        IsADirectoryError: ``target`` is a folder.
        OSError: ``target`` is another kind of file (a socket, a block device), or cannot
            be examined; the error names ``target``.
    """
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return False
    if stat.S_ISREG(mode):
        return False
    if stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return True
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(target))
    raise OSError(
        errno.EINVAL, "not a regular file, character device or FIFO", os.fspath(target)
    )


class _NamedFile(io.FileIO):
    """A raw output file whose write errors name the output the user asked for.

    Errors from writing (``ENOSPC``, ``EPIPE``) carry no file name; buffered writes reach
    this class only when a buffer fills, so naming them costs nothing per line.
    """

    def __init__(self, file: str | int, label: str) -> None:
        super().__init__(file, "w")
        self.label = label

    def write(self, data: Any) -> int:
        """Write bytes, naming the output in an error."""
        try:
            written: int = super().write(data)
        except OSError as err:
            raise _named(err, self.label) from err
        return written


def _named(error: OSError, label: str) -> OSError:
    """``error`` naming ``label`` (the path the user gave) instead of a temporary file."""
    return type(error)(error.errno, error.strerror, label)


class _Output:
    """One staged output: its stream and, when written atomically, its temporary file."""

    def __init__(self, label: str, target: str, newline: str | None) -> None:
        self.label = label
        self.target = target
        self.temporary: str | None = None
        if writes_in_place(target):
            raw = _NamedFile(target, label)
        else:
            raw = _NamedFile(self._create_temporary(), label)
        self.stream = io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", newline=newline)

    def _create_temporary(self) -> int:
        """Create the temporary file next to the target, with the mode the target gets."""
        folder, name = os.path.split(self.target)
        try:
            kept: int | None = stat.S_IMODE(os.stat(self.target).st_mode)
        except FileNotFoundError:
            kept = None
        while True:
            candidate = os.path.join(folder, f".{name}.{os.urandom(4).hex()}.tmp")
            try:
                # 0o666 lets the kernel apply the umask (and a folder's default ACL), as for
                # any new file; mkstemp would force 0o600.
                descriptor = os.open(
                    candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666
                )
            except FileExistsError:
                continue
            self.temporary = candidate
            if kept is not None:
                try:
                    os.fchmod(descriptor, kept)
                except OSError:
                    os.close(descriptor)
                    self.discard_temporary()
                    raise
            return descriptor

    def finish(self) -> None:
        """Flush the data (to disk, for a temporary file) and close the stream."""
        self.stream.flush()
        if self.temporary is not None:
            os.fsync(self.stream.fileno())
        self.stream.close()

    def discard(self) -> None:
        """Close the stream, ignoring errors, and remove the temporary file."""
        with contextlib.suppress(OSError):
            self.stream.close()
        self.discard_temporary()

    def discard_temporary(self) -> None:
        """Remove the temporary file, if any."""
        if self.temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.temporary)
            self.temporary = None


class OutputFiles:
    """The outputs of one job, committed together: use as ``with output_files() as o``.

    The block's end flushes every output and renames every temporary file into place; an
    error in the block (or while committing) removes the temporary files instead.
    """

    def __init__(self) -> None:
        self._outputs: list[_Output] = []

    def __enter__(self) -> OutputFiles:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_details: object) -> None:
        if kind is not None:
            self.discard()
            return
        try:
            self.commit()
        except BaseException:
            self.discard()
            raise

    def open(self, path: str | os.PathLike[str], *, newline: str | None = None) -> IO[str]:
        """Open an output for writing; a file appears at ``path`` only at the commit.

        Args:
            path: the file to create or replace, a symbolic link to one, a character
                device or a FIFO (opening a FIFO waits for its reader).
            newline: passed to :class:`io.TextIOWrapper` (use ``""`` for the csv module).

        Returns:
            A text stream (UTF-8) to write to; do not close it.

        Raises:
            OSError: the output cannot be created; the error names ``path``.
        """
        label = os.fspath(path)
        try:
            output = _Output(label, resolve_output(path), newline)
        except OSError as err:
            raise _named(err, label) from err
        self._outputs.append(output)
        return output.stream

    def commit(self) -> None:
        """Flush every output, then rename every temporary file over its target.

        Raises:
            OSError: an output cannot be completed; the error names it.
        """
        for output in self._outputs:
            try:
                output.finish()
            except OSError as err:
                raise _named(err, output.label) from err
        for output in self._outputs:
            if output.temporary is not None:
                try:
                    os.replace(output.temporary, output.target)
                except OSError as err:
                    raise _named(err, output.label) from err
                output.temporary = None

    def discard(self) -> None:
        """Close every output and remove every temporary file not yet renamed."""
        for output in self._outputs:
            output.discard()


def output_files() -> OutputFiles:
    """Stage a job's outputs: all appear when the ``with`` block ends, none when it fails.

    Returns:
        An :class:`OutputFiles` to use as a context manager and open each output with.
        Leaving the block raises :class:`OSError` (naming the output) when an output
        cannot be completed; the temporary files are removed then and no output that is
        a file appears (outputs written straight through, devices and FIFOs, keep what
        they were sent).
    """
    return OutputFiles()


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], *, newline: str | None = None) -> Iterator[IO[str]]:
    """Open one output for writing that appears at ``path`` only when the block succeeds.

    Args:
        path: as :meth:`OutputFiles.open`.
        newline: passed to :class:`io.TextIOWrapper` (use ``""`` for the csv module).

    Yields:
        A text stream (UTF-8) to write to.

    Raises:
        OSError: the file cannot be created or written (its ``filename`` is ``path``).
    """
    with OutputFiles() as outputs:
        yield outputs.open(path, newline=newline)


@contextlib.contextmanager
def open_destination(
    destination: str | os.PathLike[str] | SupportsWrite[str],
) -> Iterator[SupportsWrite[str]]:
    """Where a CSV writer writes: a path, opened atomically, or an open stream as it is.

    Args:
        destination: a path, which appears only when the block succeeds (opened with
            ``newline=""``, for the csv module), or an open text stream, left open.

    Yields:
        The stream to write to.

    Raises:
        OSError: the path cannot be created or written (no file appears then).
    """
    if isinstance(destination, (str, os.PathLike)):
        with atomic_open(destination, newline="") as stream:
            yield stream
    else:
        yield destination


def write_csv(
    destination: str | os.PathLike[str] | SupportsWrite[str],
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
) -> int:
    """Write a header row and ``rows`` as CSV, lines ending with ``"\n"``.

    Args:
        destination: as :func:`open_destination`.
        header: the column names.
        rows: the rows' text fields.

    Returns:
        The number of rows written (the header not counted).

    Raises:
        OSError: a path cannot be written; no file appears then.
    """
    count = 0
    with open_destination(destination) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        # The csv module quotes a field holding "\n" (the line terminator) but not one
        # holding a bare "\r", which a reader then takes for a line break: such rows are
        # written fully quoted.
        quoted = csv.writer(stream, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(header)
        for values in rows:
            (quoted if any("\r" in value for value in values) else writer).writerow(values)
            count += 1
    return count


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_open(path) as stream:
        stream.write(text)


def write_json_lines(stream: SupportsWrite[str], rows: Iterable[Any]) -> None:
    """Write one compact JSON value per line to ``stream``."""
    for row in rows:
        stream.write(json.dumps(row, separators=(", ", ": ")))
        stream.write("\n")
