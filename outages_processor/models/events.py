"""Models of outage event aggregation: reports (records), events, and what an ingest did.

Instants are aware :class:`~datetime.datetime` values in UTC at this level. The store and the
input readers work on whole microseconds since the Unix epoch (UTC), an exact and cheap
integer form; :func:`epoch_micros` and :func:`from_epoch_micros` convert between the two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, TypeAlias

import attrs

from outages_processor._time import as_instant, format_utc
from outages_processor.models._frames import RowsMixin
from outages_processor.models.common import Reject
from outages_processor.models.rejects import Rejects

__all__ = [
    "EventMerge",
    "Events",
    "IngestResult",
    "OutageEvent",
    "OutageRecord",
    "RecordBatch",
    "RecordInput",
    "epoch_micros",
    "from_epoch_micros",
    "identifier_problem",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAIVE_EPOCH = datetime(1970, 1, 1)
_ONE_MICROSECOND = timedelta(microseconds=1)
# C0 and C1 control characters (NUL included) and lone surrogates: SQLite's JSON functions
# stop at NUL, terminals act on controls, and a lone surrogate cannot be stored as UTF-8.
_NOT_IDENTIFIER = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def epoch_micros(moment: datetime) -> int:
    """Return an instant as whole microseconds since 1970-01-01T00:00:00Z.

    Args:
        moment: the instant; a naive value is taken as UTC.

    Returns:
        Microseconds since the Unix epoch (negative before 1970).
    """
    if moment.tzinfo is None:
        return (moment - _NAIVE_EPOCH) // _ONE_MICROSECOND
    return (moment - _EPOCH) // _ONE_MICROSECOND


def from_epoch_micros(micros: int) -> datetime:
    """Return the aware UTC instant ``micros`` microseconds after the Unix epoch.

    Raises:
        OverflowError: when the instant is outside the years 1 to 9999.
    """
    return _EPOCH + timedelta(microseconds=micros)


def identifier_problem(name: str, value: str) -> str | None:
    """What makes a text unfit as a controller id or outage type, or None when it is fine.

    An identifier is any non-empty text without control characters (such as NUL, tab or a
    line break) and without lone surrogates.

    Args:
        name: the field, for the message (``"controller_id"``).
        value: the text to check.

    Returns:
        A one-line reason that names the character by its code point, or None.
    """
    if not value:
        return f"{name} is empty"
    # isprintable() is a quick C test that passes nearly every real id; only text it
    # refuses (spaces other than ' ', format characters, ...) needs the exact rule.
    if value.isprintable():
        return None
    found = _NOT_IDENTIFIER.search(value)
    if found is None:
        return None
    code = ord(found.group())
    kind = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    return (
        f"{name} has {kind} (U+{code:04X}) at character {found.start() + 1}; "
        "remove it (ids must be printable text)"
    )


def _utc(value: object) -> datetime:
    """attrs converter: any datetime to aware UTC; a naive value is taken as UTC."""
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, not {type(value).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _record_time(value: object) -> datetime:
    """attrs converter: a record's timestamp as the readers take it, to aware UTC."""
    return as_instant(value, "timestamp", epoch=True)


def _non_empty_str(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a string, not {type(value).__name__}")
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")
    problem = identifier_problem(attribute.name, value)
    if problem is not None:
        raise ValueError(problem)


@attrs.frozen
class OutageRecord:
    """One outage report of a controller (controllers report every 10 minutes while it lasts).

    Attributes:
        controller_id: the controller that reported, exactly as written in the input.
        outage_type: what kind of outage, exactly as written in the input.
        timestamp: when the report was made: a datetime (naive = UTC), an ISO 8601
            string (no offset = UTC) or Unix epoch seconds, as the input files take it;
            kept as an aware UTC datetime.

    Raises:
        TypeError: a field has the wrong type.
        ValueError: ``timestamp`` is a string that is not ISO 8601, or out of range.
        ValueError: ``controller_id`` or ``outage_type`` is empty or holds a control
            character or a lone surrogate (see :func:`identifier_problem`).
    """

    controller_id: str = attrs.field(validator=_non_empty_str)
    outage_type: str = attrs.field(validator=_non_empty_str)
    timestamp: datetime = attrs.field(converter=_record_time)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutageRecord:
        """Build a record from a mapping ``{controller_id, outage_type, timestamp}``.

        Extra keys are ignored (a row of a DataFrame or a JSON object may hold more).

        Raises:
            TypeError: ``data`` is not a mapping, or a field has the wrong type.
            KeyError: a field is missing (the message names it).
            ValueError: as for the constructor.
        """
        if not isinstance(data, Mapping):
            raise TypeError(
                f"a record must be an OutageRecord or a mapping, not {type(data).__name__}"
            )
        missing = [name for name in _RECORD_FIELDS if name not in data]
        if missing:
            raise KeyError(f"record {dict(data)!r} has no {', '.join(missing)}")
        return cls(data["controller_id"], data["outage_type"], data["timestamp"])

    def to_dict(self) -> dict[str, Any]:
        """Return ``{controller_id, outage_type, timestamp}``, the time as ISO 8601 ``Z``."""
        return {
            "controller_id": self.controller_id,
            "outage_type": self.outage_type,
            "timestamp": format_utc(self.timestamp),
        }


_RECORD_FIELDS: tuple[str, ...] = ("controller_id", "outage_type", "timestamp")

RecordInput: TypeAlias = "OutageRecord | Mapping[str, Any]"
"""A record as :meth:`EventStore.ingest` takes it: a model, or a mapping with its fields."""


@attrs.frozen
class OutageEvent:
    """The reports of one controller and outage type chained by gaps within the tolerance.

    Attributes:
        controller_id: the controller.
        outage_type: the kind of outage.
        start_time: the first report (aware UTC).
        end_time: the last report (aware UTC); equal to ``start_time`` for a single report.
        record_count: the number of distinct report timestamps in the event.
    """

    controller_id: str
    outage_type: str
    start_time: datetime = attrs.field(converter=_utc)
    end_time: datetime = attrs.field(converter=_utc)
    record_count: int

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-ready values, times as ISO 8601 UTC strings ending in ``Z``.

        Returns:
            ``{controller_id, outage_type, start_time, end_time, record_count}``.
        """
        return {
            "controller_id": self.controller_id,
            "outage_type": self.outage_type,
            "start_time": format_utc(self.start_time),
            "end_time": format_utc(self.end_time),
            "record_count": self.record_count,
        }


class Events(RowsMixin, list[OutageEvent]):
    """Events as a listing returns them: a list, with rows for a notebook.

    ``to_dicts()`` gives JSON-ready rows, ``to_pandas()`` a DataFrame whose ``start_time``
    and ``end_time`` are tz-aware UTC datetimes.
    """

    __slots__ = ()

    COLUMNS: ClassVar[tuple[str, ...]] = (
        "controller_id",
        "outage_type",
        "start_time",
        "end_time",
        "record_count",
    )
    TIME_COLUMNS: ClassVar[tuple[str, ...]] = ("start_time", "end_time")

    def __repr__(self) -> str:
        if not self:
            return "Events(0 events)"
        first = min(event.start_time for event in self)
        last = max(event.end_time for event in self)
        noun = "event" if len(self) == 1 else "events"
        return f"Events({len(self)} {noun}, {format_utc(first)} to {format_utc(last)})"



@attrs.frozen
class RecordBatch:
    """Records in the compact form the readers produce and the store ingests quickly.

    A batch is also an iterable of :class:`OutageRecord` (grouped by controller and type),
    so any code that takes records takes a batch.

    Attributes:
        timestamps: ``controller_id -> outage_type -> timestamps``, each timestamp in whole
            microseconds since the Unix epoch (UTC); any order, repeats allowed.
        rejects: records that were skipped as invalid while reading (skip mode only).
    """

    timestamps: Mapping[str, Mapping[str, Sequence[int]]] = attrs.field(factory=dict, repr=False)
    rejects: Sequence[Reject] = attrs.field(default=(), repr=False)

    @classmethod
    def from_records(cls, records: Iterable[RecordInput]) -> RecordBatch:
        """Build a batch from records.

        Args:
            records: any records, in any order: models, or mappings with the fields of
                one (see :meth:`OutageRecord.from_dict`).

        Returns:
            A batch with the same records and no rejects.

        Raises:
            TypeError: an item is neither a record nor a mapping, or a field has the
                wrong type.
            KeyError: a mapping lacks a field.
            ValueError: a field is not valid.
        """
        grouped: dict[str, dict[str, list[int]]] = {}
        for item in records:
            record = item if isinstance(item, OutageRecord) else OutageRecord.from_dict(item)
            by_type = grouped.setdefault(record.controller_id, {})
            by_type.setdefault(record.outage_type, []).append(epoch_micros(record.timestamp))
        return cls(grouped)

    def __len__(self) -> int:
        return sum(len(values) for kinds in self.timestamps.values() for values in kinds.values())

    def __repr__(self) -> str:
        return f"RecordBatch({len(self)} records, {len(self.rejects)} rejects)"

    def __iter__(self) -> Iterator[OutageRecord]:
        for controller_id, by_type in self.timestamps.items():
            for outage_type, values in by_type.items():
                for micros in values:
                    yield OutageRecord(controller_id, outage_type, from_epoch_micros(micros))


@attrs.frozen
class EventMerge:
    """The events after new records were merged into existing ones, and what changed.

    Attributes:
        events: every event after the merge, sorted by start time, controller, type.
        created: events made of new records only.
        extended: existing events that took in new records (start, end or count changed).
        merged: events that joined two or more existing events through new records.
    """

    events: tuple[OutageEvent, ...]
    created: int = 0
    extended: int = 0
    merged: int = 0


def _rejects(items: Iterable[Reject]) -> Rejects:
    return items if isinstance(items, Rejects) else Rejects(items)


@attrs.frozen
class IngestResult:
    """What one ingest did to an event store.

    Every event that an ingest touched is counted once, as created, extended or merged.

    Attributes:
        records_new: records stored by this ingest (distinct and not stored before).
        records_duplicate: records ignored because the same controller, type and timestamp
            was already stored or came earlier in the same batch.
        events_created: new events made of new records only.
        events_extended: existing events that took in new records.
        events_merged: events that now join two or more previously separate events.
        rejects: the invalid input records that were skipped (skip mode only).
    """

    records_new: int = 0
    records_duplicate: int = 0
    events_created: int = 0
    events_extended: int = 0
    events_merged: int = 0
    rejects: Rejects = attrs.field(factory=Rejects, converter=_rejects)

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={value}" for name, value in self.to_dict().items())
        return f"IngestResult({counts})"

    @property
    def records_skipped(self) -> int:
        """How many invalid input records were skipped."""
        return len(self.rejects)

    def to_dict(self) -> dict[str, int]:
        """Return the counts as a plain dict (JSON-ready), without the rejects themselves.

        Returns:
            ``{records_new, records_duplicate, records_skipped, events_created,
            events_extended, events_merged}``.
        """
        return {
            "records_new": self.records_new,
            "records_duplicate": self.records_duplicate,
            "records_skipped": self.records_skipped,
            "events_created": self.events_created,
            "events_extended": self.events_extended,
            "events_merged": self.events_merged,
        }
