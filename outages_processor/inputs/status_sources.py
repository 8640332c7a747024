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

import glob
import os
import re
from collections.abc import Iterator
from typing import Final

import attrs

from outages_processor.errors import InputDataError
from outages_processor.inputs.optional_deps import FAST_HINT, one_line, optional_module
from outages_processor.inputs.poll_blocks import PollCollector, StatusPart, StopRead
from outages_processor.inputs.status_file import (
    read_status_layout,
    read_status_part,
    read_status_sequential,
)
from outages_processor.inputs.status_rows import STATUS_COLUMNS, parse_status_row
from outages_processor.inputs.remote_files import HTTP_SCHEMES, RemoteText
from outages_processor.inputs.status_parquet import parquet_rows
from outages_processor.inputs.tables import RowErrors
from outages_processor.models.common import OnError

__all__ = [
    "FAST_HINT",
    "PARQUET_SUFFIXES",
    "Shard",
    "StatusShards",
    "iter_shard_rows",
    "read_shard",
    "shard_error",
    "status_shards",
]

PARQUET_SUFFIXES: Final = (".parquet", ".pq")
"""Names ending so are Parquet shards (case-insensitive); any other name is CSV."""

_URL: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_GLOB_CHARACTERS: Final = re.compile(r"[*?[]")


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
    elif scheme.group(1).lower() in HTTP_SCHEMES:
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
    fsspec = optional_module("fsspec", "reading s3://, gs:// and other URLs", pattern)
    try:
        filesystem, path = fsspec.core.url_to_fs(pattern)
        found = filesystem.glob(path)
    except (ImportError, ValueError, OSError) as err:
        raise InputDataError(f"cannot list the URL glob: {one_line(err)}", path=pattern) from err
    return sorted(str(filesystem.unstrip_protocol(item)) for item in found)


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
            for number, fields in parquet_rows(shard.location, url=shard.url):
                collector.row(fields, number, 0, 1, 2)
        except StopRead:
            pass
        return collector.part(partitions)
    if shard.url:
        with RemoteText(shard.location) as stream:
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
        with RemoteText(shard.location) as stream:
            yield from iter_poll_rows(stream, errors=errors)
        return
    width = len(STATUS_COLUMNS)
    for number, fields in parquet_rows(shard.location, url=shard.url):
        try:
            yield parse_status_row(fields, width, 0, 1, 2)
        except ValueError as err:
            if errors.on_error == "fail":
                raise InputDataError(str(err), path=shard.location, row=number) from None
            errors.bad_row(str(err), path=shard.location, line=number, row=",".join(fields))
