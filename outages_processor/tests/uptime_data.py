"""Small uptime data sets for the tests: CSV writers and a seeded random generator."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import attrs

from outages_processor.models.uptime import BusinessHours, Poll, StoreTimezone

UTC = timezone.utc
ZONES = ("America/New_York", "America/Chicago", "Europe/London", "Australia/Sydney", "UTC")


def utc(text: str) -> datetime:
    """An aware UTC instant from ``YYYY-MM-DD HH:MM[:SS]``."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def stamp(moment: datetime) -> str:
    """A status timestamp in the real files' style: ``... UTC``, trailing zeros dropped."""
    text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return f"{text} UTC"


def write_csv(path: Path, header: str, rows: Iterable[str], *, newline: str = "\n") -> Path:
    """Write a CSV file from a header line and ready-made row lines."""
    path.write_text(newline.join([header, *rows]) + newline, encoding="utf-8")
    return path


def write_status(path: Path, polls: Iterable[Poll], *, newline: str = "\n") -> Path:
    """Write polls as a status CSV (``store_id,status,timestamp_utc``)."""
    rows = (f"{poll.store_id},{poll.status},{stamp(poll.timestamp)}" for poll in polls)
    return write_csv(path, "store_id,status,timestamp_utc", rows, newline=newline)


def write_hours(path: Path, hours: Iterable[BusinessHours], *, day_column: str = "day") -> Path:
    """Write business hours as CSV, the weekday column named ``day_column``."""
    rows = (
        f"{row.store_id},{row.day_of_week},{row.start:%H:%M:%S},{row.end:%H:%M:%S}" for row in hours
    )
    return write_csv(path, f"store_id,{day_column},start_time_local,end_time_local", rows)


def write_timezones(path: Path, zones: Iterable[StoreTimezone]) -> Path:
    """Write time zones as CSV."""
    rows = (f"{row.store_id},{row.timezone}" for row in zones)
    return write_csv(path, "store_id,timezone_str", rows)


@attrs.frozen
class DataSet:
    """A generated data set: polls, business hours and time zones."""

    polls: tuple[Poll, ...]
    hours: tuple[BusinessHours, ...]
    zones: tuple[StoreTimezone, ...]

    def write(self, folder: Path) -> tuple[Path, Path, Path]:
        """Write the three CSV files into ``folder``; return their paths."""
        return (
            write_status(folder / "status.csv", self.polls),
            write_hours(folder / "hours.csv", self.hours),
            write_timezones(folder / "timezones.csv", self.zones),
        )


def generate(seed: int, *, stores: int = 12, days: float = 8.0) -> DataSet:
    """A seeded random data set: about hourly polls with runs of outages, varied hours.

    Some stores have no hours rows (open 24x7), some no time zone (America/Chicago), some
    hours run past midnight or last 24 hours, and a few polls share an instant.
    """
    rng = random.Random(seed)
    start = utc("2023-03-08 00:00")  # spans the 2023-03-12 change in the United States
    polls: list[Poll] = []
    hours: list[BusinessHours] = []
    zones: list[StoreTimezone] = []
    for number in range(stores):
        store = str(rng.randrange(10**18, 10**19)) if number % 3 else f"store-{number}"
        inactive = rng.random() < 0.2
        moment = start + timedelta(seconds=rng.randrange(3600))
        while moment < start + timedelta(days=days):
            if rng.random() < 0.3:
                inactive = rng.random() < 0.3
            polls.append(Poll(store, "inactive" if inactive else "active", moment))
            if rng.random() < 0.03:
                polls.append(Poll(store, "active", moment))  # the same instant, disagreeing
            moment += timedelta(
                seconds=rng.randrange(1800, 7200), microseconds=rng.randrange(10**6)
            )
        if number % 4:
            for day in rng.sample(range(7), rng.randrange(1, 8)):
                opens = rng.randrange(24 * 4) * 900
                closes = (opens + rng.choice((0, 3600, 8 * 3600, 14 * 3600, 20 * 3600))) % 86400
                hours.append(BusinessHours(store, day, _time_of(opens), _time_of(closes)))
        if number % 5:
            zones.append(StoreTimezone(store, rng.choice(ZONES)))
    rng.shuffle(polls)
    return DataSet(tuple(polls), tuple(hours), tuple(zones))


def _time_of(seconds: int) -> time:
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)
