"""The business hours file: ``store_id, dayOfWeek`` (or ``day``), ``start_time_local,
end_time_local``, times ``HH:MM[:SS]``.

:func:`read_business_hours` gives each store's ``(day_of_week, start, end)`` slots, with
C-level passes over a clean file; :func:`iter_business_hours` yields the rows as models.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator
from typing import Final

from outages_processor._time import day_seconds_time
from outages_processor.inputs.clean_tables import clean_columns
from outages_processor.inputs.tables import RowErrors, Source, open_table
from outages_processor.models.uptime import BusinessHours

__all__ = [
    "HOURS_COLUMNS",
    "iter_business_hours",
    "parse_time_of_day",
    "read_business_hours",
]

HOURS_COLUMNS: Final = ("store_id", "dayOfWeek", "start_time_local", "end_time_local")
"""The columns the business hours file must have (``day`` may stand for ``dayOfWeek``)."""

_TIME_OF_DAY: Final = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_time_of_day(text: str) -> int:
    """Parse a local time ``HH:MM`` or ``HH:MM:SS`` into seconds after midnight.

    Raises:
        ValueError: the text is not such a time (hours 0-23, minutes and seconds 0-59).
    """
    match = _TIME_OF_DAY.fullmatch(text.strip())
    if match:
        hour, minute, second = int(match[1]), int(match[2]), int(match[3] or 0)
        if hour < 24 and minute < 60 and second < 60:
            return hour * 3600 + minute * 60 + second
    raise ValueError(f"bad time {text!r}: expected HH:MM or HH:MM:SS (00:00 to 23:59:59)")


def _parse_weekday(text: str) -> int:
    stripped = text.strip()
    if stripped.isdecimal() and len(stripped) == 1 and stripped < "7":
        return int(stripped)
    raise ValueError(f"bad day of week {text!r}: expected 0 (Monday) to 6 (Sunday)")


def _hours_rows(source: Source, errors: RowErrors) -> Iterator[tuple[str, int, int, int]]:
    with open_table(source, HOURS_COLUMNS, "business hours", errors=errors) as table:
        indices = [table.columns[name] for name in HOURS_COLUMNS]
        width = len(table.header)
        times = _TimesOfDay()
        for line, row in table.rows:
            try:
                if len(row) != width:
                    raise ValueError(f"expected {width} fields, found {len(row)}")
                store_id, day, opens, closes = (row[index] for index in indices)
                if not store_id:
                    raise ValueError("empty store_id")
                yield store_id, _parse_weekday(day), times[opens], times[closes]
            except ValueError as err:
                errors.bad_row(str(err), path=table.path, line=line, row=",".join(row))


class _TimesOfDay(dict[str, int]):
    """Seconds after midnight of each distinct ``HH:MM[:SS]`` text, parsed on first use."""

    def __missing__(self, key: str) -> int:
        value = self[key] = parse_time_of_day(key)
        return value


_WEEKDAYS: Final = {str(day): day for day in range(7)}


def _fast_hours(source: Source) -> dict[str, list[tuple[int, int, int]]] | None:
    """Read a clean hours file with C-level passes; None when a row needs a closer look."""
    found = clean_columns(source, HOURS_COLUMNS)
    if found is None:
        return None
    stores = found["store_id"]
    if "" in stores:
        return None
    times = _TimesOfDay()
    try:
        days = list(map(_WEEKDAYS.__getitem__, found["dayOfWeek"]))
        starts = list(map(times.__getitem__, found["start_time_local"]))
        ends = list(map(times.__getitem__, found["end_time_local"]))
    except (KeyError, ValueError):
        return None
    slots: dict[str, list[tuple[int, int, int]]] = _Lists()
    deque(map(list.append, map(slots.__getitem__, stores), zip(days, starts, ends)), 0)
    return dict(slots)


class _Lists(dict[str, list[tuple[int, int, int]]]):
    """A list per key, made on first use."""

    def __missing__(self, key: str) -> list[tuple[int, int, int]]:
        value: list[tuple[int, int, int]] = []
        self[key] = value
        return value


def read_business_hours(
    source: Source, *, errors: RowErrors | None = None
) -> dict[str, list[tuple[int, int, int]]]:
    """Read a business hours CSV into each store's ``(day_of_week, start, end)`` slots.

    Times are seconds after local midnight.

    Raises:
        InputDataError: a bad row (in fail mode), or the file cannot be read, is empty or
            lacks a required column.
    """
    fast = _fast_hours(source)
    if fast is not None:
        return fast
    slots: dict[str, list[tuple[int, int, int]]] = {}
    for store_id, day, start, end in _hours_rows(source, errors or RowErrors()):
        slots.setdefault(store_id, []).append((day, start, end))
    return slots


def iter_business_hours(
    source: Source, *, errors: RowErrors | None = None
) -> Iterator[BusinessHours]:
    """Yield the rows of a business hours CSV one at a time.

    Raises:
        InputDataError: as :func:`read_business_hours`.
    """
    for store_id, day, start, end in _hours_rows(source, errors or RowErrors()):
        yield BusinessHours(
            store_id,
            day,
            day_seconds_time(start),
            day_seconds_time(end),
        )
