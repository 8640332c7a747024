"""The inputs of a report: what ``build_report`` accepts, and the schedules of the stores.

Thousands of stores share a few thousand distinct (time zone, weekly hours) schedules: the
hours and time zones are read into those distinct schedules and each store's index into
them, so that business intervals are computed once per schedule.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterable
from typing import TypeAlias, cast

from outages_processor.core.business_hours import DEFAULT_TIMEZONE
from outages_processor.models.uptime import BusinessHours, Poll, StoreTimezone, WeeklyHours
from outages_processor.inputs import csv_inputs
from outages_processor.inputs.csv_inputs import MEMORY, RowErrors, Source

__all__ = [
    "HoursInput",
    "Schedule",
    "StatusInput",
    "Tables",
    "TimezonesInput",
    "as_source",
    "load_tables",
    "read_schedules",
]

StatusInput: TypeAlias = Source | Iterable[Poll]
HoursInput: TypeAlias = Source | Iterable[BusinessHours]
TimezonesInput: TypeAlias = Source | Iterable[StoreTimezone]

Schedule: TypeAlias = "tuple[str, tuple[tuple[int, int, int], ...]]"
"""A time zone name and the sorted ``(day_of_week, start, end)`` slots of a week (plain
tuples travel to workers faster than models)."""
Tables: TypeAlias = "tuple[dict[str, int], list[Schedule]]"
"""Each store's index into the distinct schedules, and the schedules."""


def as_source(value: object) -> Source | None:
    """The value as a CSV source (a path or a text stream), or None for in-memory rows."""
    if isinstance(value, (str, os.PathLike)) or hasattr(value, "read"):
        return cast(Source, value)
    return None


def read_schedules(hours: HoursInput, timezones: TimezonesInput, errors: RowErrors) -> Tables:
    """Read hours and time zones into distinct schedules and each store's schedule.

    Thousands of stores share a few thousand distinct schedules, so each is computed once.

    Returns:
        The index of each store's schedule, and the distinct schedules (index 0:
        America/Chicago, open 24x7, for stores in neither file).
    """
    hours_source = as_source(hours)
    if hours_source is not None:
        slots = csv_inputs.read_business_hours(hours_source, errors=errors)
    else:
        slots = {}
        for row in cast("Iterable[BusinessHours]", hours):
            slots.setdefault(row.store_id, []).extend(WeeklyHours.from_rows([row]).slots)
    zones_source = as_source(timezones)
    if zones_source is not None:
        zones = csv_inputs.read_timezones(zones_source, errors=errors)
    else:
        zones = _memory_zones(cast("Iterable[StoreTimezone]", timezones), errors)
    schedules: list[Schedule] = [(DEFAULT_TIMEZONE, ())]
    index: dict[Schedule, int] = {schedules[0]: 0}
    store_schedule: dict[str, int] = {}
    for store_id in slots.keys() | zones.keys():
        week = slots.get(store_id)
        key = (
            zones.get(store_id, DEFAULT_TIMEZONE),
            tuple(sorted(set(week))) if week else (),
        )
        number = index.get(key)
        if number is None:
            number = index[key] = len(schedules)
            schedules.append(key)
        store_schedule[store_id] = number
    return store_schedule, schedules


def _memory_zones(rows: Iterable[StoreTimezone], errors: RowErrors) -> dict[str, str]:
    """Check in-memory time zones as the time zones file reader does."""
    zones: dict[str, str] = {}
    valid: dict[str, bool] = {}
    for row in rows:
        if row.timezone not in valid:
            valid[row.timezone] = csv_inputs.is_time_zone(row.timezone)
        text = f"{row.store_id},{row.timezone}"
        if not valid[row.timezone]:
            errors.bad_row(f"unknown time zone {row.timezone!r}", path=MEMORY, line=None, row=text)
        elif zones.setdefault(row.store_id, row.timezone) != row.timezone:
            reason = f"store {row.store_id} already has time zone {zones[row.store_id]}"
            errors.bad_row(reason, path=MEMORY, line=None, row=text)
    return zones


def load_tables(tables: Tables | str) -> Tables:
    """The tables themselves, read from their pickle file if given its path."""
    if isinstance(tables, str):
        with open(tables, "rb") as stream:
            return cast(Tables, pickle.load(stream))
    return tables
