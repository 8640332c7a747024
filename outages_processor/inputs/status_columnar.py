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
import mmap
import os
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
_DIGITS: Final = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)
_SEPARATORS: Final = ((4, b"-"), (7, b"-"), (10, b" "), (13, b":"), (16, b":"))
_SUFFIX: Final = b" UTC"
_STATUSES: Final = {"active": 0, "inactive": 1}
_BLOCK_BYTES: Final = 1 << 24
_SLICE_ROWS: Final = 1 << 16
_PARSE_THREADS: Final = min(os.cpu_count() or 1, 4)
"""Threads parsing time slices at once (numpy releases the GIL in its loops)."""


def columnar_available() -> bool:
    """True when pyarrow and numpy can be imported (the ``fast`` extra is installed)."""
    try:
        import numpy  # noqa: F401  # pylint: disable=unused-import
        import pyarrow  # noqa: F401  # pylint: disable=unused-import
    except ImportError:
        return False
    return True


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
                read_options=pa_csv.ReadOptions(column_names=names, block_size=_BLOCK_BYTES),
                parse_options=pa_csv.ParseOptions(quote_char=False, newlines_in_values=False),
                convert_options=pa_csv.ConvertOptions(
                    column_types=types,
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # a row with the wrong number of fields, bytes not UTF-8, ...


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
    in the clean style."""
    import numpy as np

    raw_offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int32)
    offsets = raw_offsets[chunk.offset : chunk.offset + len(chunk) + 1].astype(np.int64)
    lengths = np.diff(offsets)
    if not ((lengths == _SHORT) | ((lengths >= _SHORT + 2) & (lengths <= _SHORT + 7))).all():
        return None
    text = _fixed_width(chunk, offsets, lengths)
    if text is None:
        return None
    for position, expected in _SEPARATORS:
        if not (text[:, position] == expected[0]).all():
            return None
    digits = text[:, _DIGITS] - np.uint8(48)  # wraps around below "0"
    if not (digits <= 9).all():
        return None
    fraction = _fraction(text, lengths)
    if fraction is None:
        return None
    return _civil_micros(digits.astype(np.int64), fraction)


def _fixed_width(
    chunk: Any, offsets: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint8] | None:
    """The first 32 bytes of each string (zeros after its end) as a matrix; None when a
    string does not end with `` UTC``."""
    import numpy as np

    # The strings' bytes, copied with padding so that no word read runs past their end;
    # each row is then four 8-byte words gathered at once (unaligned views of the bytes).
    raw = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    padded = np.zeros(len(raw) + _WIDTH, dtype=np.uint8)
    padded[: len(raw)] = raw
    starts = offsets[:-1] - offsets[0]
    ends = np.ndarray(shape=(len(padded) - 3,), dtype="<u4", buffer=padded, strides=(1,))
    if not (ends[starts + lengths - 4] == int.from_bytes(_SUFFIX, "little")).all():
        return None
    words = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    rows = np.stack([words[starts + 8 * index] for index in range(_WIDTH // 8)], axis=1)
    # (Bytes after a string's end are the next string's: only its own are looked at.)
    text: npt.NDArray[np.uint8] = rows.view(np.uint8).reshape(len(starts), _WIDTH)
    return text


def _fraction(
    text: npt.NDArray[np.uint8], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64] | None:
    """The microseconds of each time (``.5`` is 500000); None when a fraction is not clean."""
    import numpy as np

    places = lengths - (_SHORT + 1)  # the fraction's digits: 0 (no fraction) to 6
    has_point = places > 0
    if not (text[has_point, 19] == ord(".")).all():
        return None
    fraction = np.zeros(len(lengths), dtype=np.int64)
    for place in range(6):
        used = place < places
        digit = text[:, 20 + place] - np.uint8(48)
        if not (digit[used] <= 9).all():
            return None
        fraction = fraction * 10 + np.where(used, digit, 0)
    return fraction


def _civil_micros(
    digits: npt.NDArray[np.int64], fraction: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64] | None:
    """Microseconds since the epoch of checked digits; None for an impossible date or time,
    or one out of a report's range (the pure reader rejects the row)."""
    year = _pair(digits, 0) * 100 + _pair(digits, 2)
    month, day = _pair(digits, 4), _pair(digits, 6)
    hour, minute, second = _pair(digits, 8), _pair(digits, 10), _pair(digits, 12)
    days = _days_from_civil(year, month, day)
    if days is None or not ((hour <= 23) & (minute <= 59) & (second <= 59)).all():
        return None
    micros = ((days * 86_400 + hour * 3_600 + minute * 60 + second) * 1_000_000) + fraction
    if not ((micros >= _FIRST_MICROS) & (micros <= _LAST_MICROS)).all():
        return None
    return micros


def _pair(digits: npt.NDArray[np.int64], first: int) -> npt.NDArray[np.int64]:
    """The two-digit numbers in columns ``first`` and ``first + 1``."""
    pair: npt.NDArray[np.int64] = digits[:, first] * 10 + digits[:, first + 1]
    return pair


def _days_from_civil(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64] | None:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's days_from_civil);
    None when one is not a real date."""
    import numpy as np

    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
    valid = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    valid &= day <= month_days[np.clip(month, 0, 12)] + (leap & (month == 2))
    if not valid.all():
        return None
    shifted = year - (month <= 2)
    era = shifted // 400
    of_era = shifted - era * 400
    of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    days: npt.NDArray[np.int64] = era * 146_097 + of_era * 365 + of_era // 4 - of_era // 100
    return days + of_year - 719_468


def _seconds(micros: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Microseconds as float seconds, exactly as ``timedelta.total_seconds`` rounds them.

    Python divides the integers and rounds once; dividing their doubles does the same
    while they are exact (below 2**53 in magnitude, 1685 to 2255): the few others are
    divided by Python.
    """
    import numpy as np

    seconds: npt.NDArray[np.float64] = micros.astype(np.float64) / 1e6
    far = np.flatnonzero(np.abs(micros) >= _EXACT)
    if len(far):
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
class SortedPolls:
    """A clean status file's polls as columns, sorted by store then time.

    Attributes:
        store_ids: the stores; a poll's ``store`` indexes this list.
        store: each poll's store (non-decreasing).
        seconds: each poll's time, seconds since the epoch (non-decreasing within a store).
        inactive: True for an inactive poll.
    """

    store_ids: list[str]
    store: Any
    seconds: Any
    inactive: Any

    @property
    def latest(self) -> float:
        """The latest poll's time."""
        return float(self.seconds.max())


def read_status_sorted(path: str | os.PathLike[str]) -> SortedPolls | None:
    """Read a clean status file into sorted columns; None for a file that is not clean.

    As :func:`read_status_columnar` (the same file is clean for both, with the same
    times), but the polls stay in numpy arrays, sorted with one sort of a 64-bit key
    (store, microseconds, status) when the times span few enough bits, else with a
    lexicographic sort.

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
) -> SortedPolls:
    """The polls sorted by store, time and status."""
    import numpy as np

    low = int(micros.min())
    time_bits = (int(micros.max()) - low).bit_length()
    store_bits = max(len(store_ids) - 1, 1).bit_length()
    if store_bits + time_bits + 1 <= 63:
        # One sort of values (not of indices): store, then microseconds, then status.
        status_bit = key & 1
        packed = ((key >> 1) << (time_bits + 1)) | ((micros - low) << 1) | status_bit
        del status_bit
        packed.sort()
        store = packed >> (time_bits + 1)
        inactive = (packed & 1).astype(bool)
        times = ((packed >> 1) & ((1 << time_bits) - 1)) + low
        return SortedPolls(store_ids, store, _seconds(times), inactive)
    order = np.lexsort((key & 1, micros, key >> 1))
    return SortedPolls(
        store_ids, (key >> 1)[order], _seconds(micros[order]), (key & 1)[order].astype(bool)
    )
