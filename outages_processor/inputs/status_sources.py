"""The status input as shards: paths, globs and URLs, each a CSV or a Parquet file.

A report's status polls may be split over many files: :func:`status_shards` turns what a
user gives (a path, a list of paths, a glob, URLs) into an ordered list of
:class:`Shard` values, and :func:`read_shard` reads one of them into a
:class:`~outages_processor.inputs.poll_blocks.StatusPart`. The polls of every shard are
then combined as if they came from one file: a store's polls may span shards, and two
polls of a store at one instant (in one shard or two) behave as in one file.

* A **path** is read from the local file system; a **glob** (``polls/*.csv``, ``**`` for
  any depth of folders) stands for the files it matches, sorted by name; one that matches
  no file is an error naming it. A path that exists is a path even when its name holds
  glob characters.
* A **URL**: ``http://`` and ``https://`` are read with httpx, streaming; any other
  ``scheme://`` (``s3://``, ``gs://``, ``memory://``, ...) through fsspec, from the
  optional extra ``fast`` (with the fsspec backend of that scheme installed). A glob in
  such a URL is expanded by fsspec.
* The format is told by the name: ``.parquet`` or ``.pq`` is **Parquet** (read with
  pyarrow, from the extra ``fast``), anything else CSV. A Parquet shard holds the columns
  ``store_id``, ``status`` (``active`` or ``inactive``) and ``timestamp_utc``, the last
  either text (as in the CSV files) or a timestamp type (a naive timestamp is UTC; units
  finer than the microsecond are cut to it). Each row is checked as a CSV row is, by the
  same rule; a bad row is named by its row number, ``polls.parquet:row 3`` (1 = the first
  row; in skip mode a reject's ``line`` holds that row number). Other columns are ignored.

A missing optional dependency is one clear error naming
``pip install 'outages_processor[fast]'``.
"""

from __future__ import annotations

import contextlib
import glob
import importlib
import io
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

import attrs

from outages_processor.errors import InputDataError, InputUnavailableError
from outages_processor.inputs.poll_blocks import PollCollector, StatusPart, StopRead
from outages_processor.inputs.status_file import (
    read_status_layout,
    read_status_part,
    read_status_sequential,
)
from outages_processor.inputs.status_rows import STATUS_COLUMNS, parse_status_row
from outages_processor.inputs.tables import RowErrors, column_indices
from outages_processor.models.common import OnError

if TYPE_CHECKING:
    import httpx

__all__ = [
    "FAST_HINT",
    "HTTP_TIMEOUT_SECONDS",
    "PARQUET_SUFFIXES",
    "Shard",
    "StatusShards",
    "http_status_error",
    "iter_shard_rows",
    "read_shard",
    "shard_error",
    "status_shards",
    "url_error",
]

FAST_HINT: Final = "pip install 'outages_processor[fast]'"
"""What to run when an optional dependency of the extra ``fast`` is missing."""

PARQUET_SUFFIXES: Final = (".parquet", ".pq")
"""Names ending so are Parquet shards (case-insensitive); any other name is CSV."""

HTTP_TIMEOUT_SECONDS: Final = 60.0
"""The longest wait for an HTTP server to connect or send the next bytes, in seconds."""

_PARQUET_BATCH_ROWS: Final = 1 << 16
_URL: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_GLOB_CHARACTERS: Final = re.compile(r"[*?[]")
_HTTP_SCHEMES: Final = frozenset(("http", "https"))


@attrs.frozen
class Shard:
    """One file of the status input.

    Attributes:
        location: its path or URL (after glob expansion), as named in messages.
        parquet: a Parquet file (by its name's suffix) rather than CSV.
        url: a URL rather than a path of the local file system.
    """

    location: str
    parquet: bool = False
    url: bool = False

    @classmethod
    def of(cls, location: str) -> Shard:
        """The shard at a path or URL, its format and kind told by the text."""
        parquet = location.lower().endswith(PARQUET_SUFFIXES)
        return cls(location, parquet, _URL.match(location) is not None)

    @property
    def local_csv(self) -> bool:
        """True for a local CSV file, which can be read in byte ranges by several workers."""
        return not self.parquet and not self.url


@attrs.frozen
class StatusShards:
    """The shards a status input stands for, in order (at least one).

    Attributes:
        shards: the shards.
        name: how the whole input is named in messages (the shards' names, joined).
    """

    shards: tuple[Shard, ...]
    name: str


def status_shards(value: object) -> StatusShards | None:
    """The shards of a status input, or None for an input read as it always was.

    A single path of a local CSV file (not a glob, not a URL, not Parquet) gives None, as do
    text streams and values in memory: the report reads those itself.

    Args:
        value: a path or URL (``str`` or ``os.PathLike``), a glob, or a list or tuple of
            them; anything else is not a list of sources.

    Returns:
        The shards, globs expanded (each glob's matches sorted), in the order given; or None.

    Raises:
        InputDataError: a glob that matches no file, or a URL glob whose file system
            cannot be used.
    """
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        single = Shard.of(text)
        if single.local_csv and not _is_glob(text):
            return None
        return StatusShards(tuple(_expanded(text)), text)
    if not isinstance(value, (list, tuple)) or not value:
        return None
    if not all(isinstance(item, (str, os.PathLike)) for item in value):
        return None
    texts = [os.fspath(item) for item in value]
    shards = tuple(shard for text in texts for shard in _expanded(text))
    return StatusShards(shards, ", ".join(texts))


def _is_glob(text: str) -> bool:
    """True for a pattern: glob characters, and no file of that very name."""
    return _GLOB_CHARACTERS.search(text) is not None and not os.path.exists(text)


def _expanded(text: str) -> list[Shard]:
    """The shards one path, URL or glob stands for."""
    if not _is_glob(text):
        return [Shard.of(text)]
    scheme = _URL.match(text)
    if scheme is None:
        matches = sorted(
            path for path in glob.glob(text, recursive=True) if os.path.isfile(path)
        )
    elif scheme.group(1).lower() in _HTTP_SCHEMES:
        return [Shard.of(text)]  # HTTP has no listing: the URL is taken as it is
    else:
        matches = _url_glob(text)
    if not matches:
        raise InputDataError(
            "the status glob matches no file; check the pattern (quote it, so that the "
            "shell leaves it to us) and the folder",
            path=text,
        )
    return [Shard.of(match) for match in matches]


def _url_glob(pattern: str) -> list[str]:
    """The URLs an fsspec URL glob matches, sorted."""
    fsspec = _optional("fsspec", "reading s3://, gs:// and other URLs", pattern)
    try:
        filesystem, path = fsspec.core.url_to_fs(pattern)
        found = filesystem.glob(path)
    except (ImportError, ValueError, OSError) as err:
        raise InputDataError(f"cannot list the URL glob: {_one_line(err)}", path=pattern) from err
    return sorted(str(filesystem.unstrip_protocol(item)) for item in found)


def _optional(module: str, purpose: str, location: str) -> ModuleType:
    """Import an optional dependency of the extra ``fast``, or say how to install it.

    Raises:
        InputDataError: the module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise InputDataError(
            f"{purpose} needs {module.split('.')[0]}, which is not installed: {FAST_HINT}",
            path=location,
        ) from err


def _one_line(err: BaseException) -> str:
    """An exception's message on one line (the type's name when it has none)."""
    text = " ".join(str(err).split())
    return text or type(err).__name__


def shard_error(shard: Shard, part: StatusPart) -> InputDataError | None:
    """The error of a bad row a shard's part stopped at (fail mode), or None.

    A CSV row is named ``file:line``, a Parquet row ``file:row N``.
    """
    if part.error is None:
        return None
    reason, number = part.error
    if shard.parquet:
        return InputDataError(reason, path=shard.location, row=number)
    return InputDataError(reason, path=shard.location, line=number)


def read_shard(shard: Shard, *, partitions: int = 1, on_error: OnError = "fail") -> StatusPart:
    """Read one shard whole, in this thread (a local CSV file too, in one byte range).

    Args:
        shard: the shard.
        partitions: how many blocks to split the stores into.
        on_error: ``"fail"`` stops at the first bad row (in the part's ``error``: see
            :func:`shard_error`); ``"skip"`` keeps bad rows in ``rejects``.

    Returns:
        The shard's polls.

    Raises:
        InputDataError: the shard cannot be read or is not a status file (empty, a
            column missing); its URL cannot be reached; an optional dependency is missing.
    """
    if shard.parquet:
        collector = PollCollector(shard.location, len(STATUS_COLUMNS), on_error)
        try:
            for number, fields in _parquet_rows(shard):
                collector.row(fields, number, 0, 1, 2)
        except StopRead:
            pass
        return collector.part(partitions)
    if shard.url:
        with _RemoteText(shard.location) as stream:
            return read_status_sequential(stream, partitions=partitions, on_error=on_error)
    layout = read_status_layout(shard.location)
    part = read_status_part(
        layout, layout.data_start, layout.size, partitions=partitions, on_error=on_error
    )
    if part.needs_sequential:
        return read_status_sequential(shard.location, partitions=partitions, on_error=on_error)
    return part


def iter_shard_rows(
    shard: Shard, *, errors: RowErrors | None = None
) -> Iterator[tuple[str, bool, float]]:
    """Yield the valid rows of a shard as ``(store_id, is_active, seconds)``.

    Args:
        shard: the shard.
        errors: where bad rows go (default: the first one raises).

    Raises:
        InputDataError: as :func:`read_shard`, and a bad row in fail mode.
    """
    # pylint: disable-next=import-outside-toplevel  # status_rows is what a CSV row is
    from outages_processor.inputs.status_rows import iter_poll_rows

    errors = errors if errors is not None else RowErrors()
    if not shard.parquet:
        if not shard.url:
            yield from iter_poll_rows(shard.location, errors=errors)
            return
        with _RemoteText(shard.location) as stream:
            yield from iter_poll_rows(stream, errors=errors)
        return
    width = len(STATUS_COLUMNS)
    for number, fields in _parquet_rows(shard):
        try:
            yield parse_status_row(fields, width, 0, 1, 2)
        except ValueError as err:
            if errors.on_error == "fail":
                raise InputDataError(str(err), path=shard.location, row=number) from None
            errors.bad_row(str(err), path=shard.location, line=number, row=",".join(fields))


# --------------------------------------------------------------------------- remote CSV


class _RemoteText:
    """A URL's text, streamed, closed on leaving (a context manager over a text stream)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._closers: list[Any] = []

    def __enter__(self) -> io.TextIOWrapper:
        scheme = self.url.split("://", 1)[0].lower()
        try:
            raw = self._http() if scheme in _HTTP_SCHEMES else self._fsspec()
        except BaseException:
            self.__exit__()
            raise
        stream = io.TextIOWrapper(
            io.BufferedReader(raw),
            encoding="utf-8-sig",
            errors="surrogateescape",
            newline="",
        )
        self._closers.insert(0, stream)
        return stream

    def __exit__(self, *_: object) -> None:
        for closer in self._closers:
            closer.close()
        self._closers.clear()

    def _http(self) -> io.RawIOBase:
        """Start a streaming GET of the URL; its body as a binary stream.

        Raises:
            InputDataError: the server cannot be reached, or answers other than 200.
        """
        # pylint: disable-next=import-outside-toplevel  # loaded only when a URL is read
        import httpx

        client = httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=True)
        self._closers.append(client)
        try:
            response = client.send(client.build_request("GET", self.url), stream=True)
        except httpx.HTTPError as err:
            raise url_error(self.url, err) from err
        self._closers.insert(0, response)
        if response.status_code != 200:
            raise http_status_error(self.url, response.status_code, response.reason_phrase)
        return _HttpBody(self.url, response)

    def _fsspec(self) -> io.RawIOBase:
        """Open the URL through fsspec.

        Raises:
            InputDataError: fsspec is missing, the scheme is unknown or its backend is
                not installed, or the file cannot be opened.
        """
        fsspec = _optional("fsspec", "reading s3://, gs:// and other URLs", self.url)
        try:
            raw = fsspec.open(self.url, "rb").open()
        except (ImportError, ValueError, OSError) as err:
            raise url_error(self.url, err) from err
        self._closers.append(raw)
        return _Named(raw, self.url)


_RETRY_LATER_STATUSES: Final = frozenset((408, 429))


def url_error(url: str, err: BaseException) -> InputDataError:
    """A URL that cannot be read, as one line; transient for a network failure or timeout.

    Args:
        url: the URL, as named in the message.
        err: what reading it raised.

    Returns:
        An :class:`InputUnavailableError` for a network failure, else an
        :class:`InputDataError`.
    """
    message = f"cannot read the URL: {_one_line(err)}"
    # httpx's transport errors and fsspec's network errors may pass; a missing file, a
    # refused permission or an unknown scheme will not.
    if _is_network_failure(err):
        return InputUnavailableError(message, path=url)
    return InputDataError(message, path=url)


def _is_network_failure(err: BaseException) -> bool:
    """True for a failure of the network rather than of the request."""
    if isinstance(err, (ConnectionError, TimeoutError)):
        return True
    # pylint: disable-next=import-outside-toplevel  # loaded with the URL's reading
    import httpx

    return isinstance(err, httpx.TransportError)


def http_status_error(url: str, status: int, reason: str) -> InputDataError:
    """The error of a URL answered with an HTTP error status (transient for 408, 429, 5xx).

    Args:
        url: the URL, as named in the message.
        status: the HTTP status code.
        reason: the reason phrase (may be empty).

    Returns:
        An :class:`InputUnavailableError` when trying again later may help, else an
        :class:`InputDataError`.
    """
    message = f"cannot read the URL: HTTP {status} {reason}".rstrip()
    if status >= 500 or status in _RETRY_LATER_STATUSES:
        return InputUnavailableError(message, path=url)
    return InputDataError(message, path=url)


class _HttpBody(io.RawIOBase):
    """A streaming HTTP response's body as a raw binary stream (read once, in order)."""

    def __init__(self, url: str, response: httpx.Response) -> None:
        super().__init__()
        self.name = url
        self._chunks = response.iter_bytes()
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` with the next bytes of the body; 0 at its end.

        Raises:
            InputDataError: the connection failed while the body was read.
        """
        # pylint: disable-next=import-outside-toplevel  # loaded with the response
        import httpx

        while not self._pending:
            try:
                self._pending = next(self._chunks, b"")
            except httpx.HTTPError as err:
                raise url_error(self.name, err) from err
            if not self._pending:
                return 0
        view = memoryview(buffer).cast("B")
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


class _Named(io.RawIOBase):
    """A binary stream under the name of its URL (what the readers name in messages)."""

    def __init__(self, raw: Any, name: str) -> None:
        super().__init__()
        self.name = name
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the stream underneath."""
        data = self._raw.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


# --------------------------------------------------------------------------- Parquet


def _parquet_rows(shard: Shard) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(row number, [store_id, status, timestamp_utc])`` of a Parquet shard, as text.

    Raises:
        InputDataError: pyarrow is missing, the file cannot be read or is not Parquet, or
            it lacks a column.
    """
    parquet = _optional("pyarrow.parquet", "reading Parquet", shard.location)
    with contextlib.ExitStack() as stack:
        try:
            if shard.url:
                source: Any = io.BytesIO(_remote_bytes(shard.location))
            else:
                source = stack.enter_context(open(shard.location, "rb"))
            table = parquet.ParquetFile(source)
            stack.callback(table.close)
            names = [str(name) for name in table.schema_arrow.names]
        except OSError as err:
            reason = err.strerror or _one_line(err)
            raise InputDataError(f"cannot read the file: {reason}", path=shard.location) from err
        except ValueError as err:  # pyarrow's ArrowInvalid: not a Parquet file
            raise InputDataError(
                f"not a Parquet file: {_one_line(err)}", path=shard.location
            ) from err
        try:
            indices = column_indices(names, STATUS_COLUMNS, shard.location)
        except InputDataError as err:
            raise InputDataError(err.reason, path=shard.location) from None
        columns = [names[indices[name]] for name in STATUS_COLUMNS]
        number = 0
        try:
            for batch in table.iter_batches(batch_size=_PARQUET_BATCH_ROWS, columns=columns):
                texts = [_column_texts(batch.column(index)) for index in range(3)]
                for fields in zip(*texts):
                    number += 1
                    yield number, list(fields)
        except (OSError, ValueError) as err:
            raise InputDataError(
                f"cannot read the Parquet file: {_one_line(err)}", path=shard.location
            ) from err


def _remote_bytes(url: str) -> bytes:
    """The whole file at a URL (Parquet needs to seek: its footer comes last)."""
    with _RemoteText(url) as stream:
        return bytes(stream.buffer.read())


def _column_texts(column: Any) -> list[str]:
    """A Parquet column's values as a CSV file would hold them (a null is an empty field)."""
    pyarrow: Any = importlib.import_module("pyarrow")  # imported by the caller already

    kind = column.type
    if pyarrow.types.is_timestamp(kind):
        if kind.unit == "ns":
            column = column.cast(pyarrow.timestamp("us", kind.tz), safe=False)
        return [_instant_text(value) for value in column.to_pylist()]
    return ["" if value is None else str(value) for value in column.to_pylist()]


def _instant_text(value: datetime | None) -> str:
    """A timestamp value as a status file's text: naive or UTC as ``... UTC``."""
    if value is None:
        return ""
    offset: timedelta | None = value.utcoffset()
    if not offset:
        return f"{value.replace(tzinfo=None).isoformat(' ')} UTC"
    return value.isoformat(" ")
