"""Models of the store uptime report: inputs, report rows, rejected rows and report states.

Inputs (:class:`Poll`, :class:`BusinessHours`, :class:`StoreTimezone`) are what the three
CSV files hold, one row each (a store's hours and time zone together make a
:class:`~outages_processor.models.schedules.Schedule`). Outputs are
:class:`StoreUptime` (one report row), :class:`UptimeReport` (every row, the instant the
windows end at, and the rows that were skipped) and, for the report service,
:class:`ReportStatus`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

import attrs

from outages_processor._time import as_instant, format_utc
from outages_processor.models._frames import RowsMixin
from outages_processor.models.common import OnError, Reject
from outages_processor.models.rejects import Rejects

__all__ = [
    "FIRST_INSTANT",
    "LAST_INSTANT",
    "BusinessHours",
    "Interpolation",
    "OnError",
    "Poll",
    "PollStatus",
    "ReportState",
    "ReportStatus",
    "StoreTimezone",
    "StoreUptime",
    "UptimeReport",
    "instant_problem",
    "report_now",
]

PollStatus = Literal["active", "inactive"]
"""What a poll saw: the store was ``active`` (online) or ``inactive``."""
Interpolation = Literal["nearest", "previous"]
"""How the status between polls is read: the nearest poll, or the latest poll before."""

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


def report_now(value: object) -> datetime:
    """Accept a report's ``now`` as callers have it, checked against the range of a report.

    Args:
        value: a datetime (naive = UTC, as on the command line) or an ISO 8601 string
            (``"2023-01-25T12:00:00Z"``; no offset = UTC).

    Returns:
        The instant, aware and in UTC.

    Raises:
        TypeError: ``value`` is neither a string nor a datetime.
        ValueError: a string that is not a timestamp, or an instant out of range (see
            :func:`instant_problem`).
    """
    moment = as_instant(value, "now")
    problem = instant_problem(moment.timestamp())
    if problem is not None:
        # The windows and the local days around them would not be datetimes.
        raise ValueError(f"now {moment.isoformat()} is {problem}")
    return moment


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

    def to_dict(self) -> dict[str, str]:
        """Return ``{store_id, status, timestamp_utc}`` (the status file's columns)."""
        return {
            "store_id": self.store_id,
            "status": self.status,
            "timestamp_utc": format_utc(self.timestamp),
        }


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

    def to_dict(self) -> dict[str, str | int]:
        """Return the row keyed as the hours file's columns (times as ``HH:MM:SS``)."""
        return {
            "store_id": self.store_id,
            "dayOfWeek": self.day_of_week,
            "start_time_local": self.start.isoformat(),
            "end_time_local": self.end.isoformat(),
        }


@attrs.frozen
class StoreTimezone:
    """The IANA time zone of a store's business hours (for example ``America/New_York``)."""

    store_id: str = attrs.field(validator=_non_empty)
    timezone: str = attrs.field(validator=_non_empty)

    def to_dict(self) -> dict[str, str]:
        """Return ``{store_id, timezone_str}`` (the time zones file's columns)."""
        return {"store_id": self.store_id, "timezone_str": self.timezone}


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



def _rows(value: Iterable[StoreUptime]) -> tuple[StoreUptime, ...]:
    return tuple(value)


def _rejects(value: Iterable[Reject]) -> Rejects:
    return value if isinstance(value, Rejects) else Rejects(value)


@attrs.frozen
class UptimeReport(RowsMixin):
    """The uptime report of every store that has at least one poll, sorted by store id.

    A report is a collection of its rows: ``len(report)`` stores, ``for row in report``,
    ``report["1001"]`` (the row of store ``1001``) and ``"1001" in report``. For a
    notebook, ``to_dicts()`` and ``to_pandas()`` give one row per store (the columns of
    :attr:`StoreUptime.COLUMNS`, values unrounded).

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
    rejects: Rejects = attrs.field(factory=Rejects, converter=_rejects)
    # Built on the first lookup by store id: most reports are only iterated or written.
    _by_store: dict[str, StoreUptime] = attrs.field(
        init=False, factory=dict, eq=False, repr=False
    )

    COLUMNS: ClassVar[tuple[str, ...]] = StoreUptime.COLUMNS

    def __iter__(self) -> Iterator[StoreUptime]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, store_id: str) -> StoreUptime:
        """The row of one store.

        Raises:
            TypeError: ``store_id`` is not a string (store ids are text, even when digits).
            KeyError: no row has that store id.
        """
        if not isinstance(store_id, str):
            raise TypeError(
                f"look a store up by its id as a string, e.g. report['1001'], "
                f"not {type(store_id).__name__}"
            )
        if not self._by_store and self.rows:
            self._by_store.update((row.store_id, row) for row in self.rows)
        try:
            return self._by_store[store_id]
        except KeyError:
            raise KeyError(f"no store {store_id!r} in this report") from None

    def __contains__(self, store_id: object) -> bool:
        if not isinstance(store_id, str):
            return False
        try:
            self[store_id]
        except KeyError:
            return False
        return True

    def __repr__(self) -> str:
        stores = "store" if len(self.rows) == 1 else "stores"
        rejects = "reject" if len(self.rejects) == 1 else "rejects"
        return (
            f"UptimeReport({len(self.rows)} {stores}, now={format_utc(self.now)}, "
            f"{self.interpolation}, {len(self.rejects)} {rejects})"
        )

    def _row_items(self) -> Sequence[StoreUptime]:
        """One row per store (see :meth:`StoreUptime.to_dict`)."""
        return self.rows

    def to_dict(self) -> dict[str, Any]:
        """Return the whole report as JSON-ready values.

        Returns:
            ``{now, interpolation, rows, rejects}``: ``now`` as ISO 8601 UTC text ending in
            ``Z``, ``rows`` as :meth:`to_dicts`, ``rejects`` as their ``to_dict()``.
        """
        return {
            "now": format_utc(self.now),
            "interpolation": self.interpolation,
            "rows": self.to_dicts(),
            "rejects": self.rejects.to_dicts(),
        }

    def to_pandas(self) -> Any:
        """Return one row per store as a ``pandas.DataFrame``.

        ``now`` and ``interpolation`` are kept in the frame's ``attrs``.

        Raises:
            ImportError: pandas is not installed (``pip install pandas``).
        """
        frame = super().to_pandas()
        frame.attrs.update(now=self.now, interpolation=self.interpolation)
        return frame



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

    def __repr__(self) -> str:
        rows = "" if self.rows is None else f", {len(self.rows)} rows"
        error = "" if self.error is None else f", error={self.error!r}"
        return f"ReportStatus({self.report_id!r}, {self.state.value}{rows}{error})"

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
