"""The time zones file: ``store_id, timezone_str`` (an IANA name), one zone per store.

:func:`read_timezones` gives each store's zone name, with C-level passes over a clean file;
:func:`iter_timezones` yields the rows as models.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from outages_processor.inputs.clean_tables import clean_columns
from outages_processor.inputs.tables import RowErrors, Source, open_table
from outages_processor.models.uptime import StoreTimezone

__all__ = [
    "TIMEZONE_COLUMNS",
    "is_time_zone",
    "iter_timezones",
    "read_timezones",
]

TIMEZONE_COLUMNS: Final = ("store_id", "timezone_str")
"""The columns the time zones file must have."""


def is_time_zone(name: str) -> bool:
    """True when ``name`` is an IANA time zone this system knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # A folder of the time zone database (``America``) or a name too long for a file
        # is an OSError, not ZoneInfoNotFoundError.
        return False
    return True


def _timezone_rows(source: Source, errors: RowErrors) -> Iterator[tuple[str, str]]:
    with open_table(source, TIMEZONE_COLUMNS, "time zones", errors=errors) as table:
        columns = table.columns
        store, zone = columns["store_id"], columns["timezone_str"]
        width = len(table.header)
        known: dict[str, bool] = {}
        seen: dict[str, str] = {}
        for line, row in table.rows:
            reason = _timezone_problem(row, width, store, zone, known, seen)
            if reason is None:
                yield row[store], row[zone].strip()
            else:
                errors.bad_row(reason, path=table.path, line=line, row=",".join(row))


def _timezone_problem(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    row: Sequence[str],
    width: int,
    store: int,
    zone: int,
    known: dict[str, bool],
    seen: dict[str, str],
) -> str | None:
    """What is wrong with a time zones row, or None; records the store's zone in ``seen``.

    ``known`` caches which zone names exist.
    """
    if len(row) != width:
        return f"expected {width} fields, found {len(row)}"
    store_id, name = row[store], row[zone].strip()
    if not store_id:
        return "empty store_id"
    valid = known.get(name)
    if valid is None:
        valid = known[name] = is_time_zone(name)
    if not valid:
        return f"unknown time zone {row[zone]!r}: expected an IANA name such as America/New_York"
    if seen.setdefault(store_id, name) != name:
        return f"store {store_id} already has time zone {seen[store_id]}"
    return None


def _fast_timezones(source: Source) -> dict[str, str] | None:
    """Read a clean time zones file with C-level passes; None when a row needs a closer look."""
    found = clean_columns(source, TIMEZONE_COLUMNS)
    if found is None:
        return None
    stores, names = found["store_id"], found["timezone_str"]
    zones = dict(zip(stores, names))
    if len(zones) != len(stores) or "" in zones:
        return None
    return zones if all(map(is_time_zone, set(names))) else None


def read_timezones(source: Source, *, errors: RowErrors | None = None) -> dict[str, str]:
    """Read a time zones CSV into each store's IANA time zone name.

    Raises:
        InputDataError: a bad row (unknown time zone, a second different zone for a store)
            in fail mode, or the file cannot be read, is empty or lacks a required column.
    """
    fast = _fast_timezones(source)
    if fast is not None:
        return fast
    return dict(_timezone_rows(source, errors or RowErrors()))


def iter_timezones(source: Source, *, errors: RowErrors | None = None) -> Iterator[StoreTimezone]:
    """Yield the rows of a time zones CSV one at a time.

    Raises:
        InputDataError: as :func:`read_timezones`.
    """
    for store_id, name in _timezone_rows(source, errors or RowErrors()):
        yield StoreTimezone(store_id, name)
