"""The columnar reader of the status file: pyarrow parses, numpy checks, sorts and groups.

Optional (the ``fast`` extra: ``pip install 'outages_processor[fast]'``); pyarrow and numpy
are imported only when a file is read. :func:`read_status_columnar` gives what the pure
readers give (:class:`~outages_processor.inputs.poll_blocks.StatusPart`: each store's active
and inactive poll times, in file order, in one block per partition) for a file it can
*prove* clean, and None for any other file, which the caller then reads with the pure
readers: so every error (``file:line: what is wrong``), every reject and every CSV variant
keeps the pure path's behaviour exactly, and the fast path only has to recognise the
common, clean case.

A file is clean when it has no quotes and no bare carriage returns, pyarrow splits every
row into the header's number of valid UTF-8 fields, no store id is empty, every status is
``active`` or ``inactive`` (around spaces, as the pure check strips them) and every time
is ``YYYY-MM-DD HH:MM:SS[.f{1,6}] UTC`` naming a real date and time within the range a
report takes. Such a time is turned into microseconds with integer arithmetic, and into
seconds as ``datetime`` does (the microseconds divided by 10**6, rounded once): the same
float, bit for bit, as the pure readers'.
"""

# pyarrow and numpy are imported inside the functions: this module is imported with the
# core install, and they are the optional extra's.
# pylint: disable=import-outside-toplevel

from __future__ import annotations

import contextlib
import functools
import mmap
import os
import sys
from array import array
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import attrs

from outages_processor.inputs.poll_blocks import PollBlock, StatusPart, partition_of
from outages_processor.inputs.status_file import read_status_layout
from outages_processor.models.uptime import FIRST_INSTANT, LAST_INSTANT

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["FAST_EXTRA", "columnar_available", "read_status_columnar"]

FAST_EXTRA: Final = "pip install 'outages_processor[fast]'"
"""What installs the columnar engine's dependencies."""

_FIRST_MICROS: Final = round(FIRST_INSTANT.timestamp()) * 1_000_000
_LAST_MICROS: Final = round(LAST_INSTANT.timestamp()) * 1_000_000
_EXACT: Final = 1 << 53  # integers below this (in magnitude) are exact doubles
_SHORT: Final = len("2023-01-22 12:09:39 UTC")
_WIDTH: Final = 32  # bytes looked at per time: the longest accepted (30) and padding
_SUFFIX: Final = b" UTC"
_STATUSES: Final = {"active": 0, "inactive": 1}
_BLOCK_BYTES: Final = 1 << 24
"""The smallest block pyarrow parses at once (one chunk of the columns each)."""
_BLOCKS: Final = 16
"""Blocks a large file is cut into, at most: each block's dictionary of store ids is
unified with the others' afterwards, which costs more the more blocks there are."""
_MAX_BLOCK_BYTES: Final = 1 << 28
_SLICE_ROWS: Final = 1 << 16
_PARSE_THREADS: Final = min(os.cpu_count() or 1, 4)
"""Threads parsing time slices at once (numpy releases the GIL in its loops)."""


def columnar_available() -> bool:
    """True when pyarrow and numpy can be imported (the ``fast`` extra is installed)."""
    _allocator_settings()
    try:
        import numpy  # noqa: F401  # pylint: disable=unused-import
        import pyarrow  # noqa: F401  # pylint: disable=unused-import
    except ImportError:
        return False
    return True


_LARGE_PAGES: Final = "MIMALLOC_ALLOW_LARGE_OS_PAGES"


def _allocator_settings() -> None:
    """Let pyarrow's allocator (mimalloc) ask the system for large pages, unless the
    environment says otherwise or pyarrow is already loaded.

    A gigabyte of columns is otherwise hundreds of thousands of first touches of 4 KiB
    pages; measured on an 18M-poll file, the report took 0.91 of the time with them
    (paired median of interleaved runs), the same at 1.8M polls.
    """
    if "pyarrow" not in sys.modules:
        os.environ.setdefault(_LARGE_PAGES, "1")


def read_status_columnar(
    path: str | os.PathLike[str], *, partitions: int = 1
) -> StatusPart | None:
    """Read a clean status file in native code; None for a file that is not clean.

    Args:
        path: a local status file.
        partitions: how many blocks to split the stores into (see
            :func:`~outages_processor.inputs.poll_blocks.partition_of`).

    Returns:
        The file's polls by partition, as the pure readers give them (the block's stores
        in order of their first poll); or None when the file is not clean (see the module
        docstring): read it with the pure readers, which say what is wrong and where.

    Raises:
        InputDataError: the file cannot be read, is empty, or lacks a required column
            (the pure readers' own check of the header).
        ImportError: pyarrow or numpy is not installed.
    """
    columns = _read_columns(path)
    if columns is None:
        return None
    store_ids = columns.store_ids
    rank, ranked, sizes = _store_order(store_ids, partitions)
    keyed = _keyed_times(columns.stores, columns.statuses, columns.stamps, rank, columns.status_of)
    del columns  # the text, before the sort
    return None if keyed is None else _part(store_ids, *keyed, ranked, sizes)


def _keyed_times(
    stores: Any,
    statuses: Any,
    stamps: Any,
    rank: npt.NDArray[np.int64],
    status_of: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.integer[Any]], npt.NDArray[np.float64]] | None:
    """Each poll's key (its store's rank, then its status) and time in seconds; None when
    a time is not clean."""
    import numpy as np

    seconds = np.empty(len(stamps), dtype=np.float64)
    key: npt.NDArray[np.integer[Any]] = np.empty(
        len(stamps), dtype=np.uint16 if len(rank) <= 1 << 15 else np.uint32
    )
    done = 0
    # The three columns come from one table: their chunks line up. (Not ``pa.table`` of
    # them: building a table from arrays imports pandas when it is installed, 0.3 s.)
    for chunks in zip(stores.chunks, statuses.chunks, stamps.chunks):
        store_codes, status_codes = _codes(chunks[0]), _codes(chunks[1])
        # Slices small enough for the CPU caches: numpy's temporaries are then reused,
        # where whole columns' temporaries would each be new pages from the system.
        for first in range(0, len(chunks[2]), _SLICE_ROWS):
            micros = _chunk_micros(chunks[2].slice(first, _SLICE_ROWS))
            if micros is None:
                return None
            rows = slice(first, first + len(micros))
            seconds[done : done + len(micros)] = _seconds(micros)
            key[done : done + len(micros)] = (
                rank[store_codes[rows]] * 2 + status_of[status_codes[rows]]
            )
            done += len(micros)
    return key, seconds


def _codes(chunk: Any) -> npt.NDArray[np.integer[Any]]:
    """The dictionary codes of a chunk of a dictionary array (no nulls), without a copy.

    (Read from the buffer: ``numpy.asarray`` of an Arrow array imports pandas when it is
    installed, which takes 0.3 s.)
    """
    import numpy as np

    indices = chunk.indices
    dtype = np.dtype(f"int{indices.type.bit_width}")
    codes: npt.NDArray[np.integer[Any]] = np.frombuffer(indices.buffers()[1], dtype=dtype)
    return codes[indices.offset : indices.offset + len(indices)]


def _status_lookup(values: list[str]) -> npt.NDArray[np.int64] | None:
    """0 (active) or 1 (inactive) for each distinct status; None when one is neither.

    The pure check strips the status: so does this, once per distinct value.
    """
    import numpy as np

    known = [_STATUSES.get(value.strip()) for value in values]
    if None in known:
        return None
    return np.array(known, dtype=np.int64)


def _store_order(
    store_ids: list[str], partitions: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[int]]:
    """Where each store goes: its rank in block order, the stores in that order, the blocks'
    sizes in stores.

    Block order is by partition (:func:`partition_of`), then by first poll: sorting the polls
    by ``(rank, status)`` lays the blocks out one after the other.
    """
    import numpy as np

    count = max(partitions, 1)
    of_store = np.array([partition_of(store, count) for store in store_ids], dtype=np.int64)
    ranked = np.argsort(of_store, kind="stable")
    rank = np.empty(len(store_ids), dtype=np.int64)
    rank[ranked] = np.arange(len(store_ids))
    return rank, ranked, np.bincount(of_store, minlength=count).tolist()


@attrs.define
class _Columns:
    """A clean-looking status file's columns (Arrow chunked arrays whose chunks line up).

    Attributes:
        store_ids: the distinct store ids, in order of first appearance.
        status_of: 0 (active) or 1 (inactive) for each distinct status.
        stores: each row's store, a dictionary array over ``store_ids``.
        statuses: each row's status, a dictionary array.
        stamps: each row's time, as text.
    """

    store_ids: list[str]
    status_of: npt.NDArray[np.int64]
    stores: Any
    statuses: Any
    stamps: Any


def _read_columns(path: str | os.PathLike[str]) -> _Columns | None:
    """The file's columns; None when the pure readers are to read it (not clean, or no
    rows: they word the message).

    Raises:
        InputDataError: the file cannot be read, is empty, or lacks a required column.
    """
    layout = read_status_layout(path)
    if layout.sequential:
        return None
    names = [f"c{index}" for index in range(layout.columns)]
    try:
        table = _read_table(path, layout.data_start, names, (layout.store, layout.status))
    except OSError:
        return None  # the pure reader says what is wrong
    if table is None or not table.num_rows:
        return None
    # Each chunk was encoded against a dictionary of its own: one for all of them now.
    table = table.unify_dictionaries()
    stores = table.column(names[layout.store])
    statuses = table.column(names[layout.status])
    store_ids: list[str] = stores.chunks[0].dictionary.to_pylist()
    status_of = _status_lookup(statuses.chunks[0].dictionary.to_pylist())
    if "" in store_ids or status_of is None:
        return None
    return _Columns(store_ids, status_of, stores, statuses, table.column(names[layout.timestamp]))


def _read_table(
    path: str | os.PathLike[str], start: int, names: list[str], encoded: tuple[int, ...]
) -> Any:
    """Every field of the rows after the header, as strings, the ``encoded`` columns as
    dictionary arrays; None when pyarrow cannot split them (or they may be split
    differently by the CSV module: quotes, bare carriage returns).

    (Encoded as they are parsed, on every core: ``dictionary_encode`` afterwards would
    run on one, and import ``pyarrow.compute``, 0.2 s.)

    Raises:
        OSError: the file cannot be read.
    """
    _allocator_settings()
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    with open(path, "rb") as stream, _mapped(stream) as mapped:
        if mapped is None or len(mapped) <= start:
            return None  # no rows: the pure readers word the message
        # Quotes may hide commas and line breaks; a bare carriage return ends a line for
        # the CSV module but not for pyarrow: both go to the pure readers.
        if mapped.find(b'"', start) >= 0:
            return None
        if mapped.find(b"\r", start) >= 0 and _bare_return(mapped, start):
            return None
    types = {
        name: pa.dictionary(pa.int32(), pa.string()) if index in encoded else pa.string()
        for index, name in enumerate(names)
    }
    try:
        # pyarrow maps the file itself: its buffer lives as long as pyarrow needs it.
        with pa.memory_map(os.fspath(path)) as source:
            rows = source.read_buffer().slice(start)
            return pa_csv.read_csv(
                rows,
                read_options=pa_csv.ReadOptions(
                    column_names=names, block_size=_block_bytes(rows.size)
                ),
                parse_options=pa_csv.ParseOptions(quote_char=False, newlines_in_values=False),
                convert_options=pa_csv.ConvertOptions(
                    column_types=types,
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # a row with the wrong number of fields, bytes not UTF-8, ...


def _block_bytes(size: int) -> int:
    """The block size for ``size`` bytes of rows: :data:`_BLOCK_BYTES`, or larger so that
    there are at most :data:`_BLOCKS` blocks, up to :data:`_MAX_BLOCK_BYTES`."""
    return min(max(_BLOCK_BYTES, -(-size // _BLOCKS)), _MAX_BLOCK_BYTES)


@contextlib.contextmanager
def _mapped(stream: BinaryIO) -> Iterator[mmap.mmap | None]:
    """The file mapped into memory (read only); None for an empty file."""
    if not os.fstat(stream.fileno()).st_size:
        yield None
        return
    with mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        yield mapped


def _bare_return(mapped: mmap.mmap, start: int) -> bool:
    """True when a carriage return after ``start`` is not followed by a line feed."""
    import numpy as np

    data = np.frombuffer(mapped, dtype=np.uint8)[start:]
    returns = np.flatnonzero(data == ord("\r")) + 1
    return bool(returns[-1] == len(data) or (data[returns] != ord("\n")).any())


def _chunk_micros(chunk: Any) -> npt.NDArray[np.int64] | None:
    """Microseconds since the epoch of each time of a string array; None when one is not
    in the clean style.

    Each time is read as four little-endian 64-bit words (bytes 0-7, 8-15, 16-23, 24-31)
    and checked and converted a word at a time, eight characters at once.
    """
    import numpy as np

    raw_offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)
    offsets = raw_offsets[chunk.offset : chunk.offset + len(chunk) + 1].astype(np.int64)
    lengths = np.diff(offsets)
    if not ((lengths == _SHORT) | ((lengths >= _SHORT + 2) & (lengths <= _SHORT + 7))).all():
        return None
    words = _words(chunk, offsets, lengths)
    if words is None:
        return None
    date_time = _date_time(words[:3])
    fraction = _fraction(words[2], words[3], lengths)
    if date_time is None or fraction is None:
        return None
    days, clock = date_time
    micros: npt.NDArray[np.int64] = (days * 86_400 + clock) * 1_000_000 + fraction
    if not ((micros >= _FIRST_MICROS) & (micros <= _LAST_MICROS)).all():
        return None
    return micros


def _words(
    chunk: Any, offsets: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> list[npt.NDArray[np.uint64]] | None:
    """The four words of each string (bytes after its end are the next string's, or zero);
    None when a string does not end with `` UTC``."""
    import numpy as np

    data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)
    starts = offsets[:-1]
    if offsets[-1] + _WIDTH > len(data):
        # The last strings of the buffer: copied with padding, so no word runs past it.
        padded = np.zeros(offsets[-1] - offsets[0] + _WIDTH, dtype=np.uint8)
        padded[: offsets[-1] - offsets[0]] = data[offsets[0] : offsets[-1]]
        data, starts = padded, starts - offsets[0]
    ends = np.ndarray(shape=(len(data) - 3,), dtype="<u4", buffer=data, strides=(1,))
    if not (ends[starts + lengths - 4] == int.from_bytes(_SUFFIX, "little")).all():
        return None
    # Unaligned views of the bytes: each row's words gathered at once.
    view = np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, strides=(1,))
    return [view[starts + 8 * index] for index in range(_WIDTH // 8)]


def _date_time(
    words: list[npt.NDArray[np.uint64]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """The days since 1970-01-01 and the seconds since midnight of each time's first 19
    characters (``YYYY-MM-DD HH:MM:SS``); None when one is not a real date and time."""
    import numpy as np

    rows = _two_digit_bytes(words)
    if rows is None:
        return None

    def field(word: int, byte: int) -> npt.NDArray[np.int32]:
        return rows[word][:, byte].astype(np.int32)

    year = field(0, 0) * 100 + field(0, 2)
    month, day = field(0, 5), field(1, 0)
    hour, minute, second = field(1, 3), field(1, 6), field(2, 1)
    tables = _calendar()
    leap = tables.leap[year]
    month_row = leap * 100 + month
    if not (
        (year >= 1) & (day >= 1) & (day <= tables.month_days[month_row])
        & (hour <= 23) & (minute <= 59) & (second <= 59)
    ).all():  # fmt: skip
        return None
    days = tables.year_days[year] + tables.days_before[month_row] + day - 1
    return days, hour * 3_600 + minute * 60 + second


def _two_digit_bytes(words: list[npt.NDArray[np.uint64]]) -> list[npt.NDArray[np.uint8]] | None:
    """Each word checked against :data:`_TEMPLATE`, as a row of bytes per time, each byte
    the two-digit number its own digit and the next make; None when one does not match."""
    import numpy as np

    rows = []
    for word, (literal_mask, literal, digit_mask) in zip(words, _TEMPLATE):
        if not ((word & literal_mask) == literal).all():
            return None
        value = _digit_values(word, digit_mask)
        if value is None:
            return None
        pairs = value * np.uint64(10) + (value >> np.uint64(8))
        rows.append(pairs.astype("<u8", copy=False).view(np.uint8).reshape(-1, 8))
    return rows


def _fraction(
    third: npt.NDArray[np.uint64], fourth: npt.NDArray[np.uint64], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64] | None:
    """The microseconds of each time (``.5`` is 500000); None when a fraction is not clean.

    Its digits are bytes 20 to 25; those past a time's own digits count as zeros.
    """
    import numpy as np

    places = np.maximum(lengths - (_SHORT + 1), 0)  # the fraction's digits: 0 to 6
    if not ((places == 0) | (((third >> np.uint64(24)) & np.uint64(0xFF)) == ord("."))).all():
        return None
    keep = _calendar().fraction_keep[places]
    six = (third >> np.uint64(32)) | ((fourth & np.uint64(0xFFFF)) << np.uint64(32))
    six = (six & keep) | (np.uint64(_ZEROS & _SIX_BYTES) & ~keep)
    value = _digit_values(six, _SIX_BYTES)
    if value is None:
        return None
    pairs = value * np.uint64(10) + (value >> np.uint64(8))
    fraction: npt.NDArray[np.int64] = (
        ((pairs & np.uint64(0xFF)) * np.uint64(10_000)
         + ((pairs >> np.uint64(16)) & np.uint64(0xFF)) * np.uint64(100)
         + ((pairs >> np.uint64(32)) & np.uint64(0xFF)))
    ).astype(np.int64)  # fmt: skip
    return fraction


def _digit_values(
    word: npt.NDArray[np.uint64], digit_mask: int
) -> npt.NDArray[np.uint64] | None:
    """Each digit byte of ``word`` (those of ``digit_mask``) as its value 0-9, the other
    bytes zero; None when one of them is not an ASCII digit."""
    import numpy as np

    # "0" to "9" are 0x30 to 0x39: high nibble 3, low nibble at most 9.
    value = (word ^ np.uint64(_ZEROS)) & np.uint64(digit_mask)
    if (value & np.uint64(_HIGH_NIBBLES)).any():
        return None
    if ((value + np.uint64(_SIXES & digit_mask)) & np.uint64(_HIGH_NIBBLES)).any():
        return None
    return value


def _template(text: str) -> tuple[tuple[int, int, int], ...]:
    """Per 8 bytes of ``text`` (``d``: a digit, any other character itself): the mask of
    its literal bytes, their value, and the mask of its digit bytes."""
    words = []
    for first in range(0, len(text), 8):
        literal_mask = literal = digit_mask = 0
        for index, character in enumerate(text[first : first + 8]):
            if character == "d":
                digit_mask |= 0xFF << (8 * index)
            else:
                literal_mask |= 0xFF << (8 * index)
                literal |= ord(character) << (8 * index)
        words.append((literal_mask, literal, digit_mask))
    return tuple(words)


_TEMPLATE: Final = _template("dddd-dd-dd dd:dd:dd")
_ZEROS: Final = int.from_bytes(b"0" * 8, "little")
_SIXES: Final = 0x0606060606060606
_HIGH_NIBBLES: Final = 0xF0F0F0F0F0F0F0F0
_SIX_BYTES: Final = (1 << 48) - 1


@functools.cache
def _calendar() -> _Calendar:
    """The tables :func:`_date_time` looks dates up in (made once)."""
    import numpy as np

    years = np.arange(10_000, dtype=np.int64)
    leap = ((years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))).astype(np.int64)
    # Days from 1970-01-01 to each year's 1 January (H. Hinnant's days_from_civil).
    shifted = years - 1
    era = shifted // 400
    of_era = shifted - era * 400
    year_days = era * 146_097 + of_era * 365 + of_era // 4 - of_era // 100 + 306 - 719_468
    lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    month_days = np.zeros(200, dtype=np.int64)  # by leap * 100 + month; 0: no such month
    days_before = np.zeros(200, dtype=np.int64)
    for is_leap in (0, 1):
        row = [*lengths[:1], lengths[1] + is_leap, *lengths[2:]]
        month_days[is_leap * 100 + 1 : is_leap * 100 + 13] = row
        days_before[is_leap * 100 + 1 : is_leap * 100 + 13] = np.cumsum([0, *row[:-1]])
    keep = np.array([(1 << (8 * places)) - 1 for places in range(7)], dtype=np.uint64)
    return _Calendar(leap, year_days, month_days, days_before, keep)


@attrs.frozen
class _Calendar:
    """Lookup tables of the proleptic Gregorian calendar for years 0 to 9999, and of the
    fractions' digits.

    Attributes:
        leap: 1 for a leap year, else 0, by year.
        year_days: days from 1970-01-01 to the year's 1 January, by year.
        month_days: the month's days, by ``leap * 100 + month`` (0: no such month).
        days_before: the days of the year before the month's first, by the same.
        fraction_keep: by a fraction's number of digits (0-6), the mask of its bytes
            among the six that may hold them.
    """

    leap: npt.NDArray[np.int64]
    year_days: npt.NDArray[np.int64]
    month_days: npt.NDArray[np.int64]
    days_before: npt.NDArray[np.int64]
    fraction_keep: npt.NDArray[np.uint64]


def _seconds(micros: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Microseconds as float seconds, exactly as ``timedelta.total_seconds`` rounds them.

    Python divides the integers and rounds once; dividing their doubles does the same
    while they are exact (below 2**53 in magnitude, 1685 to 2255): the few others are
    divided by Python.
    """
    import numpy as np

    seconds: npt.NDArray[np.float64] = micros.astype(np.float64)
    seconds /= 1e6
    if len(micros) and (int(micros.min()) <= -_EXACT or int(micros.max()) >= _EXACT):
        far = np.flatnonzero(np.abs(micros) >= _EXACT)
        seconds[far] = [value / 1_000_000 for value in micros[far].tolist()]
    return seconds


def _part(
    store_ids: list[str],
    key: npt.NDArray[np.integer[Any]],
    seconds: npt.NDArray[np.float64],
    ranked: npt.NDArray[np.int64],
    sizes: list[int],
) -> StatusPart:
    """Group the polls by ``key`` (store rank, status) with one sort; pack them in blocks.

    Each store's active times, then its inactive ones, each in file order (the sort is
    stable; on 16-bit keys numpy's is a radix sort).
    """
    import numpy as np

    counts = np.bincount(key, minlength=2 * len(store_ids))
    times = seconds[np.argsort(key, kind="stable")]
    blocks = []
    first = polls = 0
    for size in sizes:
        members = ranked[first : first + size].tolist()
        block_counts = counts[2 * first : 2 * (first + size)]
        block_polls = int(block_counts.sum())
        blocks.append(
            PollBlock(
                [store_ids[member] for member in members],
                array("q", block_counts.astype(np.int64).tobytes()),
                array("d", times[polls : polls + block_polls].tobytes()),
            )
        )
        first += size
        polls += block_polls
    return StatusPart(tuple(blocks), float(seconds.max()), len(seconds))


@attrs.frozen
class PollColumns:
    """A clean status file's polls as columns, sorted by store, then time, then status.

    Attributes:
        store_ids: the stores; a poll's ``store`` indexes this list.
        store: each poll's store (non-decreasing).
        micros: each poll's time, whole microseconds since the epoch, as in the file.
        inactive: True for an inactive poll.
    """

    store_ids: list[str]
    store: Any
    micros: Any
    inactive: Any

    @property
    def latest(self) -> float:
        """The latest poll's time, seconds since the epoch."""
        return int(self.micros.max()) / 1_000_000  # divided and rounded once, as _seconds

    def seconds(self) -> npt.NDArray[np.float64]:
        """Each poll's time in seconds since the epoch, the float the pure readers give."""
        return _seconds(self.micros)


def read_status_micros(path: str | os.PathLike[str]) -> PollColumns | None:
    """Read a clean status file into columns sorted with one sort of a 64-bit key (store,
    microseconds, status) when the times span few enough bits, else with a lexicographic
    sort; None for a file that is not clean (see :func:`read_status_columnar`).

    Raises:
        InputDataError: as :func:`read_status_columnar`.
        ImportError: pyarrow or numpy is not installed.
    """
    import numpy as np

    columns = _read_columns(path)
    if columns is None:
        return None
    store_ids = columns.store_ids
    identity = np.arange(len(store_ids), dtype=np.int64)
    keyed = _keyed_micros(
        columns.stores, columns.statuses, columns.stamps, identity, columns.status_of
    )
    del columns  # the text, before the sort
    if keyed is None:
        return None
    return _sorted(store_ids, *keyed)


def _keyed_micros(
    stores: Any,
    statuses: Any,
    stamps: Any,
    rank: npt.NDArray[np.int64],
    status_of: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """Each poll's key (its store's rank, then its status) and time in microseconds; None
    when a time is not clean."""
    import numpy as np

    micros = np.empty(len(stamps), dtype=np.int64)
    key = np.empty(len(stamps), dtype=np.int64)
    codes = [
        (_codes(store_chunk), _codes(status_chunk))
        for store_chunk, status_chunk in zip(stores.chunks, statuses.chunks)
    ]

    def parse(place: tuple[int, int, int]) -> bool:
        number, first, at = place
        found = _chunk_micros(stamps.chunks[number].slice(first, _SLICE_ROWS))
        if found is None:
            return False
        rows = slice(first, first + len(found))
        store_codes, status_codes = codes[number]
        micros[at : at + len(found)] = found
        key[at : at + len(found)] = rank[store_codes[rows]] * 2 + status_of[status_codes[rows]]
        return True

    # numpy lets go of the GIL in its loops, so slices parse on every core at once, each
    # into its own rows.
    with ThreadPoolExecutor(max_workers=_PARSE_THREADS) as threads:
        clean = all(threads.map(parse, _slices([len(chunk) for chunk in stamps.chunks])))
    return (key, micros) if clean else None


def _slices(chunk_lengths: list[int]) -> list[tuple[int, int, int]]:
    """Every slice of every chunk: (chunk number, first row in it, first row in the whole)."""
    slices: list[tuple[int, int, int]] = []
    done = 0
    for number, length in enumerate(chunk_lengths):
        for first in range(0, length, _SLICE_ROWS):
            slices.append((number, first, done))
            done += min(_SLICE_ROWS, length - first)
    return slices


def _sorted(
    store_ids: list[str], key: npt.NDArray[np.int64], micros: npt.NDArray[np.int64]
) -> PollColumns:
    """The polls sorted by store, time and status."""
    import numpy as np

    low = int(micros.min())
    time_bits = (int(micros.max()) - low).bit_length()
    store_bits = max(len(store_ids) - 1, 1).bit_length()
    if store_bits + time_bits + 1 <= 63:
        # One sort of values (not of indices): store, then microseconds, then status.
        # In place where it can be: each new array of the polls' size is new pages.
        packed = micros
        packed -= low
        packed <<= 1
        packed |= key & 1
        key >>= 1
        key <<= time_bits + 1
        packed |= key
        del key, micros
        packed.sort()
        store = packed >> (time_bits + 1)
        inactive = (packed & 1).astype(bool)
        packed >>= 1
        packed &= (1 << time_bits) - 1
        packed += low
        return PollColumns(store_ids, store, packed, inactive)
    order = np.lexsort((key & 1, micros, key >> 1))
    return PollColumns(
        store_ids, (key >> 1)[order], micros[order], (key & 1)[order].astype(bool)
    )
