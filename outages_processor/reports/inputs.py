"""The inputs of a report: what ``build_report`` accepts, and the schedules of the stores.

Thousands of stores share a few thousand distinct schedules (time zone and weekly hours):
the hours and time zones are read into one :class:`~outages_processor.models.schedules.
Schedule` value per distinct schedule, shared by its stores, so that business intervals are
computed once per schedule (and a pickle of the stores' schedules holds each once).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TypeAlias, cast

from outages_processor.models.schedules import DEFAULT_TIMEZONE, Schedule, Slot, slot_of
from outages_processor.models.uptime import BusinessHours, Poll, StoreTimezone
from outages_processor.inputs.hours import read_business_hours
from outages_processor.inputs.tables import MEMORY, RowErrors, Source
from outages_processor.inputs.timezones import is_time_zone, read_timezones

__all__ = [
    "HoursInput",
    "StatusInput",
    "TimezonesInput",
    "as_source",
    "read_schedules",
]

StatusInput: TypeAlias = Source | Iterable[Poll]
HoursInput: TypeAlias = Source | Iterable[BusinessHours]
TimezonesInput: TypeAlias = Source | Iterable[StoreTimezone]


def as_source(value: object) -> Source | None:
    """The value as a CSV source (a path or a text stream), or None for in-memory rows."""
    if isinstance(value, (str, os.PathLike)) or hasattr(value, "read"):
        return cast(Source, value)
    return None


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
