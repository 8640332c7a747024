"""Models of the store uptime report: inputs, report rows, rejected rows and report states.

Inputs (:class:`Poll`, :class:`BusinessHours`, :class:`StoreTimezone`) are what the three
CSV files hold, one row each. :class:`WeeklyHours` is one store's week of business hours,
normalised so that stores with the same hours share one value. Outputs are
:class:`StoreUptime` (one report row), :class:`UptimeReport` (every row, the instant the
windows end at, and the rows that were skipped) and, for the report service,
:class:`ReportStatus`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

import attrs

__all__ = [
    "FIRST_INSTANT",
    "LAST_INSTANT",
    "BusinessHours",
    "Interpolation",
    "OnError",
    "Poll",
    "PollStatus",
    "RejectedRow",
    "ReportState",
    "ReportStatus",
    "StoreTimezone",
    "StoreUptime",
    "UptimeReport",
    "WeeklyHours",
    "instant_problem",
]

PollStatus = Literal["active", "inactive"]
"""What a poll saw: the store was ``active`` (online) or ``inactive``."""
Interpolation = Literal["nearest", "previous"]
"""How the status between polls is read: the nearest poll, or the latest poll before."""
OnError = Literal["fail", "skip"]
"""What a bad input row does: stop the run (``fail``) or skip and keep it aside (``skip``)."""

SECONDS_PER_DAY: Final = 86_400

FIRST_INSTANT: Final = datetime(1, 1, 15, tzinfo=timezone.utc)
"""The earliest poll time or ``now`` of a report: the week before it, and the local days
around that week in any time zone, are still dates a datetime can hold."""
LAST_INSTANT: Final = datetime(9999, 12, 17, tzinfo=timezone.utc)
"""The latest poll time or ``now`` of a report (see :data:`FIRST_INSTANT`)."""
_FIRST_SECONDS: Final = FIRST_INSTANT.timestamp()
_LAST_SECONDS: Final = LAST_INSTANT.timestamp()
_STATUSES: Final = ("active", "inactive")
_INTERPOLATIONS: Final = ("nearest", "previous")


def _aware(_instance: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{attribute.name} must be an aware datetime (with a UTC offset)")


def instant_problem(seconds: float) -> str | None:
    """What is wrong with a poll time or ``now`` (seconds since the epoch), or None.

    A report needs the week before its ``now`` and the local days around it as datetimes;
    any poll may be the latest, so polls keep to the same range.
    """
    if _FIRST_SECONDS <= seconds <= _LAST_SECONDS:
        return None
    return (
        f"out of range: expected an instant from {FIRST_INSTANT.date().isoformat()} "
        f"to {LAST_INSTANT.date().isoformat()} (UTC)"
    )


def _in_range(_instance: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    problem = instant_problem(value.timestamp())
    if problem is not None:
        raise ValueError(f"{attribute.name} {value.isoformat()} is {problem}")


def _non_empty(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{attribute.name} must be a non-empty string")


@attrs.frozen
class Poll:
    """One status poll of one store.

    Attributes:
        store_id: the store, kept as text (ids may be 19-digit numbers or UUIDs).
        status: ``"active"`` or ``"inactive"``.
        timestamp: when the poll was taken (an aware datetime from :data:`FIRST_INSTANT`
            to :data:`LAST_INSTANT`).
    """

    store_id: str = attrs.field(validator=_non_empty)
    status: PollStatus = attrs.field(validator=attrs.validators.in_(_STATUSES))
    timestamp: datetime = attrs.field(validator=[_aware, _in_range])


@attrs.frozen
class BusinessHours:
    """One row of a store's business hours: a local wall-clock interval on a local weekday.

    ``end < start`` runs past midnight into the next day; ``end == start`` means 24 hours.

    Attributes:
        store_id: the store.
        day_of_week: 0 = Monday ... 6 = Sunday (local).
        start: local opening time.
        end: local closing time.
    """

    store_id: str = attrs.field(validator=_non_empty)
    day_of_week: int = attrs.field(
        validator=[attrs.validators.instance_of(int), attrs.validators.in_(range(7))]
    )
    start: time = attrs.field(validator=attrs.validators.instance_of(time))
    end: time = attrs.field(validator=attrs.validators.instance_of(time))


@attrs.frozen
class StoreTimezone:
    """The IANA time zone of a store's business hours (for example ``America/New_York``)."""

    store_id: str = attrs.field(validator=_non_empty)
    timezone: str = attrs.field(validator=_non_empty)


def _seconds_of_day(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _slots(value: Iterable[tuple[int, int, int]]) -> tuple[tuple[int, int, int], ...]:
    return tuple(sorted(set(value)))


def _check_slots(
    _instance: object, _attribute: object, value: tuple[tuple[int, int, int], ...]
) -> None:
    for day, start, end in value:
        if not (0 <= day <= 6 and 0 <= start < SECONDS_PER_DAY and 0 <= end < SECONDS_PER_DAY):
            raise ValueError(f"invalid business hours slot {(day, start, end)!r}")


@attrs.frozen
class WeeklyHours:
    """A store's week of business hours, normalised so equal weeks compare and hash equal.

    Attributes:
        slots: sorted, unique ``(day_of_week, start, end)`` triples, times in seconds after
            local midnight. Empty means the store has no hours rows: open 24 hours, 7 days.
    """

    slots: tuple[tuple[int, int, int], ...] = attrs.field(
        default=(), converter=_slots, validator=_check_slots
    )

    @classmethod
    def from_rows(cls, rows: Iterable[BusinessHours]) -> WeeklyHours:
        """Build a week from a store's hours rows (no rows: open 24x7)."""
        return cls(
            (row.day_of_week, _seconds_of_day(row.start), _seconds_of_day(row.end)) for row in rows
        )

    @property
    def always_open(self) -> bool:
        """True when the store has no hours rows, which means open 24 hours, 7 days."""
        return not self.slots


@attrs.frozen
class StoreUptime:
    """One report row: a store's uptime and downtime within business hours.

    Values are unrounded; they are rounded to 2 decimals only when written as CSV.

    Attributes:
        store_id: the store.
        uptime_last_hour: minutes active in the last hour's business time.
        uptime_last_day: hours active in the last day's business time.
        uptime_last_week: hours active in the last week's business time.
        downtime_last_hour: minutes inactive in the last hour's business time.
        downtime_last_day: hours inactive in the last day's business time.
        downtime_last_week: hours inactive in the last week's business time.
    """

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "store_id",
        "uptime_last_hour",
        "uptime_last_day",
        "uptime_last_week",
        "downtime_last_hour",
        "downtime_last_day",
        "downtime_last_week",
    )

    store_id: str
    uptime_last_hour: float
    uptime_last_day: float
    uptime_last_week: float
    downtime_last_hour: float
    downtime_last_day: float
    downtime_last_week: float

    def to_dict(self) -> dict[str, Any]:
        """Return the row as a plain dict in column order (for JSON or a DataFrame)."""
        return dict(zip(self.COLUMNS, self.values(), strict=True))

    def values(self) -> tuple[str, float, float, float, float, float, float]:
        """Return the row's values in column order."""
        return (
            self.store_id,
            self.uptime_last_hour,
            self.uptime_last_day,
            self.uptime_last_week,
            self.downtime_last_hour,
            self.downtime_last_day,
            self.downtime_last_week,
        )

    def csv_values(self) -> list[str]:
        """Return the row as CSV text: the store id, then each value with 2 decimals."""
        return [self.store_id, *(f"{value:.2f}" for value in self.values()[1:])]


@attrs.frozen
class RejectedRow:
    """An input row that was skipped because it is not valid.

    Attributes:
        path: the file it came from (``"<memory>"`` for in-memory input).
        line: its 1-based line number, or None when unknown.
        reason: what is wrong with it.
        row: the row's fields as read, joined by commas.
    """

    COLUMNS: ClassVar[tuple[str, ...]] = ("file", "line", "reason", "row")

    path: str
    line: int | None
    reason: str
    row: str

    def location(self) -> str:
        """Return ``path:line`` (or the path alone when the line is unknown)."""
        return self.path if self.line is None else f"{self.path}:{self.line}"

    def csv_values(self) -> list[str]:
        """Return the row as the rejects CSV writes it."""
        return [self.path, "" if self.line is None else str(self.line), self.reason, self.row]


def _rows(value: Iterable[StoreUptime]) -> tuple[StoreUptime, ...]:
    return tuple(value)


def _rejects(value: Iterable[RejectedRow]) -> tuple[RejectedRow, ...]:
    return tuple(value)


@attrs.frozen
class UptimeReport:
    """The uptime report of every store that has at least one poll, sorted by store id.

    Iterating over a report yields its rows.

    Attributes:
        rows: one :class:`StoreUptime` per store.
        now: the instant the windows end at (aware, UTC).
        interpolation: how the status between polls was read.
        rejects: the input rows skipped as not valid (only with ``on_error="skip"``).
    """

    rows: tuple[StoreUptime, ...] = attrs.field(converter=_rows)
    now: datetime = attrs.field(validator=_aware)
    interpolation: Interpolation = attrs.field(
        default="nearest", validator=attrs.validators.in_(_INTERPOLATIONS)
    )
    rejects: tuple[RejectedRow, ...] = attrs.field(default=(), converter=_rejects)

    def __iter__(self) -> Iterator[StoreUptime]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def to_dicts(self) -> list[dict[str, Any]]:
        """Return the rows as plain dicts, ready for ``pandas.DataFrame(report.to_dicts())``."""
        return [row.to_dict() for row in self.rows]


class ReportState(str, enum.Enum):
    """Where a triggered report is: still computing, done, stopped by an error, or cancelled.

    ``Running`` also covers a report waiting for its turn; ``Cancelled`` is final, like
    ``Complete`` and ``Failed``: the report was cancelled (``ReportService.cancel``) before
    it finished, and has no CSV.
    """

    RUNNING = "Running"
    COMPLETE = "Complete"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


@attrs.frozen
class ReportStatus:
    """What :meth:`ReportService.get <outages_processor.reports.ReportService.get>` answers.

    Attributes:
        report_id: the id :meth:`~outages_processor.reports.ReportService.trigger` returned.
        state: Running, Complete, Failed or Cancelled.
        created_at: when the report was triggered (aware, UTC).
        finished_at: when it completed or failed, or None while running.
        csv_path: the report CSV, when Complete.
        error: what went wrong, when Failed.
        rows: the report's rows (values as written, 2 decimals), when Complete and asked for.
    """

    report_id: str
    state: ReportState
    created_at: datetime
    finished_at: datetime | None = None
    csv_path: Path | None = None
    error: str | None = None
    rows: tuple[StoreUptime, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready values: ids, state, ISO 8601 instants, path, error, rows."""
        data: dict[str, Any] = {
            "report_id": self.report_id,
            "state": self.state.value,
            "created_at": self.created_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "csv_path": None if self.csv_path is None else str(self.csv_path),
            "error": self.error,
        }
        if self.rows is not None:
            data["rows"] = [row.to_dict() for row in self.rows]
        return data
