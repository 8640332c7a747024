"""The inputs of a report: what ``build_report`` accepts, and the schedules of the stores.

Each input may be a CSV path or text stream, the model values (``Poll``, ``BusinessHours``,
``StoreTimezone``), a pandas DataFrame, or any iterable of rows: mappings with the CSV
column names, or tuples in the CSV column order. DataFrames and rows are read as the CSV
text a file of them would hold (see :func:`accepted_input`), so every rule of the files
holds for them too, from one definition.

Thousands of stores share a few thousand distinct schedules (time zone and weekly hours):
the hours and time zones are read into one :class:`~outages_processor.models.schedules.
Schedule` value per distinct schedule, shared by its stores, so that business intervals are
computed once per schedule (and a pickle of the stores' schedules holds each once).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, time, timedelta, timezone
from typing import IO, Any, Final, TypeAlias, TypeVar, cast

import attrs

from outages_processor.errors import InputDataError
from outages_processor.models.schedules import DEFAULT_TIMEZONE, Schedule, Slot, slot_of
from outages_processor.models.uptime import BusinessHours, Poll, StoreTimezone
from outages_processor.inputs.hours import HOURS_COLUMNS, read_business_hours
from outages_processor.inputs.status_rows import STATUS_COLUMNS
from outages_processor.inputs.status_sources import StatusShards, status_shards
from outages_processor.inputs.tables import MEMORY, RowErrors, Source
from outages_processor.inputs.timezones import TIMEZONE_COLUMNS, is_time_zone, read_timezones

__all__ = [
    "HoursInput",
    "RowsInput",
    "StatusInput",
    "TimezonesInput",
    "accepted_inputs",
    "as_source",
    "read_schedules",
    "read_schedules_aside",
    "schedules_of",
]

RowsInput: TypeAlias = Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]]
"""Rows in memory: mappings with the CSV column names, or tuples in the CSV column order (a
pandas DataFrame is accepted too; pandas is not a dependency, so it is not named here)."""
StatusInput: TypeAlias = (
    Source | Sequence[str | os.PathLike[str]] | StatusShards | Iterable[Poll] | RowsInput
)
"""The status polls: a CSV path or text stream, a glob, a URL, a list or tuple of paths,
globs and URLs (CSV or Parquet: see :mod:`~outages_processor.inputs.status_sources`), polls,
or rows."""
HoursInput: TypeAlias = Source | Iterable[BusinessHours] | RowsInput
TimezonesInput: TypeAlias = Source | Iterable[StoreTimezone] | RowsInput

_Model = TypeVar("_Model")


@attrs.frozen
class _Kind:
    """One of the three inputs: its name in messages, CSV columns and model type."""

    name: str
    columns: tuple[str, ...]
    model: type[Any]


_STATUS: Final = _Kind("status", STATUS_COLUMNS, Poll)
_HOURS: Final = _Kind("hours", HOURS_COLUMNS, BusinessHours)
_TIMEZONES: Final = _Kind("timezones", TIMEZONE_COLUMNS, StoreTimezone)
_END: Final = object()


def as_source(value: object) -> Source | None:
    """The value as a CSV source (a path or a text stream), or None for in-memory rows."""
    if isinstance(value, (str, os.PathLike)) or hasattr(value, "read"):
        return cast(Source, value)
    return None


def accepted_inputs(
    status: object, hours: object, timezones: object
) -> tuple[StatusInput, HoursInput, TimezonesInput]:
    """Check the three inputs' types; DataFrames and rows become CSV text streams.

    A CSV path or text stream is kept as it is, and so are model values. A status input
    that names several files, a glob, a URL or a Parquet file becomes its
    :class:`~outages_processor.inputs.status_sources.StatusShards` (globs expanded). A pandas
    DataFrame (detected without importing pandas) and an iterable of row mappings or
    tuples become a lazy text stream of the CSV a file of them would hold, read by the
    file readers, so the rules of the files (column names, the ``day`` alias, extra
    columns ignored, what a bad row is) are the same. The header is written first:

    * a DataFrame: its column names, then its rows (``itertuples``, one at a time);
    * mappings: the first row's keys, then each row's values of those keys (a row
      lacking one is a row with fewer fields, a bad row);
    * tuples (or lists): the CSV columns (``store_id, status, timestamp_utc``; ``store_id,
      dayOfWeek, start_time_local, end_time_local``; ``store_id, timezone_str``).

    Values are written as text: strings as they are; ``None`` and pandas' missing values
    (NaN, NaT, NA) as empty fields; a datetime (a ``pandas.Timestamp`` too, so datetime64
    columns) to the microsecond, naive = UTC as on the command line;
    a ``time`` as ``HH:MM:SS``; anything else by ``str()``. So a UTC or naive datetime is
    written ``2023-01-25 10:14:00 UTC`` (as a rejected row shows it), another offset kept.

    Bad rows are named ``<status rows>``, ``<hours rows>`` or ``<timezones rows>`` with
    the line the row would have in a file with a header: row ``n`` (counting from 1) is
    line ``n + 1``. A field holding a line break is written quoted, as a file holds it,
    and the rows after it are then numbered by the lines of that text.

    Args:
        status: the status input of :func:`~outages_processor.reports.build_report`.
        hours: its business hours input.
        timezones: its time zones input.

    Returns:
        The inputs, as the readers take them. An iterator given is read lazily, later.

    Raises:
        TypeError: an input of a type not accepted, or rows (the first one is looked at
            here; a later one when read) that are neither mappings, tuples nor models.
        InputDataError: a status glob that matches no file.
    """
    return (
        cast(StatusInput, _accepted_status(status)),
        cast(HoursInput, _accepted(hours, _HOURS)),
        cast(TimezonesInput, _accepted(timezones, _TIMEZONES)),
    )


def _accepted_status(value: object) -> object:
    """The status input as the readers take it: its shards when it names files to expand."""
    shards = value if isinstance(value, StatusShards) else status_shards(value)
    return shards if shards is not None else _accepted(value, _STATUS)


def _accepted(value: object, kind: _Kind) -> object:
    """One input as a readers take it (see :func:`accepted_inputs`)."""
    source = as_source(value)
    if source is not None:
        return source
    if _is_data_frame(value):
        frame: Any = value
        header = [str(column) for column in frame.columns]
        return _rows_stream(kind, header, frame.itertuples(index=False, name=None))
    if isinstance(value, (bytes, bytearray, Mapping)) or not isinstance(value, Iterable):
        raise TypeError(
            f"{kind.name} must be a CSV path or text stream, a pandas DataFrame, or an "
            f"iterable of row mappings, row tuples or {kind.model.__name__} values; "
            f"got {type(value).__name__}"
        )
    rows = iter(value)
    first = next(rows, _END)
    if first is _END:
        return ()
    rows = itertools.chain([first], rows)
    if isinstance(first, kind.model):
        return _models(rows, kind)
    if isinstance(first, Mapping):
        keys = list(first)
        return _rows_stream(kind, [str(key) for key in keys], _mapping_rows(rows, keys, kind))
    if _is_tuple_row(first):
        return _rows_stream(kind, list(kind.columns), _tuple_rows(rows, kind))
    raise _row_type_error(kind, first, 1)


def _is_data_frame(value: object) -> bool:
    """True for a pandas DataFrame, told apart without importing pandas."""
    return type(value).__module__.startswith("pandas") and hasattr(value, "itertuples")


def _is_tuple_row(row: object) -> bool:
    return isinstance(row, (tuple, list))


def _row_type_error(kind: _Kind, row: object, number: int) -> TypeError:
    return TypeError(
        f"{kind.name} row {number} is a {type(row).__name__}: expected rows that are all "
        f"mappings (the CSV column names), all tuples (the columns {', '.join(kind.columns)}) "
        f"or all {kind.model.__name__} values"
    )


def _models(rows: Iterable[_Model], kind: _Kind) -> Iterator[_Model]:
    for number, row in enumerate(rows, 1):
        if not isinstance(row, kind.model):
            raise _row_type_error(kind, row, number)
        yield row


def _mapping_rows(
    rows: Iterable[object], keys: Sequence[object], kind: _Kind
) -> Iterator[list[object]]:
    for number, row in enumerate(rows, 1):
        if not isinstance(row, Mapping):
            raise _row_type_error(kind, row, number)
        yield [row[key] for key in keys if key in row]


def _tuple_rows(rows: Iterable[object], kind: _Kind) -> Iterator[Sequence[object]]:
    for number, row in enumerate(rows, 1):
        if not _is_tuple_row(row):
            raise _row_type_error(kind, row, number)
        yield cast("Sequence[object]", row)


class _RowsText:
    """Rows in memory as a text stream of CSV lines, each made when it is read.

    The readers only iterate over a stream's lines (and take its ``name``), so that is all
    this holds: no seeking, no size limits.
    """

    def __init__(self, name: str, lines: Iterator[str]) -> None:
        self.name = name
        self._lines = lines

    def __iter__(self) -> Iterator[str]:
        return self._lines

    def readline(self) -> str:
        """The next line, or ``""`` at the end."""
        return next(self._lines, "")

    def read(self) -> str:
        """The rest of the text."""
        return "".join(self._lines)


def _rows_stream(kind: _Kind, header: list[str], rows: Iterable[Sequence[object]]) -> IO[str]:
    """A text stream of the CSV holding ``header`` and then ``rows`` (made as it is read)."""
    return cast(IO[str], _RowsText(f"<{kind.name} rows>", _csv_lines(header, rows)))


def _csv_lines(header: list[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # CRLF line ends: a CR or LF in a field gets it quoted
    writer.writerow(header)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_field_text(value) for value in row])
        yield buffer.getvalue()


def _field_text(value: object) -> str:
    """A value as a CSV file would hold it (see :func:`accepted_inputs`)."""
    if isinstance(value, str):
        return value
    if _is_missing(value):
        return ""
    if isinstance(value, datetime):
        return _instant_text(value)
    if isinstance(value, time):
        return value.isoformat()
    return str(value)


def _is_missing(value: object) -> bool:
    """True for None, NaN and pandas' NaT and NA: an empty cell in a file."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    kind = type(value)
    return kind.__module__.startswith("pandas") and kind.__name__ in ("NaTType", "NAType")


def _instant_text(value: datetime) -> str:
    """A datetime as a status file's timestamp: naive = UTC; microseconds, not nanoseconds."""
    # A plain datetime: a pandas Timestamp would write its nanoseconds, which no file has.
    plain = datetime(
        value.year, value.month, value.day, value.hour, value.minute, value.second,
        value.microsecond,
    )
    offset: timedelta | None = value.utcoffset()
    if not offset:  # naive or UTC: the files' own style
        return f"{plain.isoformat(' ')} UTC"
    return plain.replace(tzinfo=timezone(offset)).isoformat(" ")


def read_schedules_aside(
    hours: HoursInput, timezones: TimezonesInput, errors: RowErrors
) -> tuple[dict[str, Schedule], InputDataError | None]:
    """:func:`read_schedules`, its error kept aside, while the status polls are read.

    A bad status row is reported before a bad hours or zones row, so the caller raises
    the error only once the status input is known to be good.

    Returns:
        The schedules (empty on an error) and the error, if any.
    """
    try:
        return read_schedules(hours, timezones, errors), None
    except InputDataError as err:
        return {}, err


def read_schedules(
    hours: HoursInput, timezones: TimezonesInput, errors: RowErrors
) -> dict[str, Schedule]:
    """Read hours and time zones into each store's schedule.

    Args:
        hours: the business hours input.
        timezones: the time zones input.
        errors: where bad rows go.

    Returns:
        The schedule of each store in either input; stores with equal schedules share one
        value. A store in neither has the default ``Schedule()`` (America/Chicago, open
        24x7).

    Raises:
        InputDataError: a bad row (in fail mode), or an input that cannot be read.
    """
    hours_source = as_source(hours)
    if hours_source is not None:
        slots = read_business_hours(hours_source, errors=errors)
    else:
        slots = {}
        for row in cast("Iterable[BusinessHours]", hours):
            slots.setdefault(row.store_id, []).append(slot_of(row))
    zones_source = as_source(timezones)
    if zones_source is not None:
        zones = read_timezones(zones_source, errors=errors)
    else:
        zones = _memory_zones(cast("Iterable[StoreTimezone]", timezones), errors)
    return schedules_of(slots, zones)


def schedules_of(
    slots: Mapping[str, Sequence[Slot]], zones: Mapping[str, str]
) -> dict[str, Schedule]:
    """Each store's schedule from its business hours' slots and its time zone.

    Args:
        slots: each store's ``(weekday, start, end)`` slots (any order, repeats allowed).
        zones: each store's time zone name.

    Returns:
        The schedule of each store in either; stores with equal schedules share one value.
    """
    distinct: dict[tuple[str, tuple[Slot, ...]], Schedule] = {}
    store_schedules: dict[str, Schedule] = {}
    for store_id in slots.keys() | zones.keys():
        week = slots.get(store_id)
        key = (
            zones.get(store_id, DEFAULT_TIMEZONE),
            tuple(sorted(set(week))) if week else (),
        )
        schedule = distinct.get(key)
        if schedule is None:
            schedule = distinct[key] = Schedule(*key)
        store_schedules[store_id] = schedule
    return store_schedules


def _memory_zones(rows: Iterable[StoreTimezone], errors: RowErrors) -> dict[str, str]:
    """Check in-memory time zones as the time zones file reader does."""
    zones: dict[str, str] = {}
    valid: dict[str, bool] = {}
    for row in rows:
        if row.timezone not in valid:
            valid[row.timezone] = is_time_zone(row.timezone)
        text = f"{row.store_id},{row.timezone}"
        if not valid[row.timezone]:
            errors.bad_row(f"unknown time zone {row.timezone!r}", path=MEMORY, line=None, row=text)
        elif zones.setdefault(row.store_id, row.timezone) != row.timezone:
            reason = f"store {row.store_id} already has time zone {zones[row.store_id]}"
            errors.bad_row(reason, path=MEMORY, line=None, row=text)
    return zones
