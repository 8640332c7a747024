"""Grouping outage reports into events: the batch rule and the incremental merge.

The rule: the reports of one ``(controller_id, outage_type)`` belong to one event when a
chain of them has consecutive gaps of at most ``tolerance`` (inclusive). An event runs from
its first report to its last and counts its distinct timestamps. The events depend only on
the *set* of reports, so the incremental merge must give what the batch rule gives for the
union of old and new reports, whatever the order and batching.

Two levels:

* :func:`group_events` and :func:`merge_events` work on the models (aware datetimes).
* :func:`group_timestamps` and :func:`merge_timestamps` are the kernels they use, on sorted
  integer timestamps of one key (microseconds since the Unix epoch); the event store calls
  them directly to avoid building a model object per record.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import NamedTuple

from outages_processor.core.defaults import DEFAULT_TOLERANCE

from outages_processor.models.events import (
    EventMerge,
    OutageEvent,
    OutageRecord,
    epoch_micros,
    from_epoch_micros,
)

__all__ = [
    "DEFAULT_TOLERANCE",
    "Span",
    "SpanMerge",
    "event_sort_key",
    "group_events",
    "group_timestamps",
    "merge_events",
    "merge_timestamps",
    "tolerance_micros",
]


Span = tuple[int, int, int]
"""One event of one key as integers: ``(start, end, record_count)``, times in microseconds."""

_Key = tuple[str, str]
_NEW = -1
"""The member index of a new timestamp in :func:`merge_timestamps` (existing ones are >= 0)."""


class SpanMerge(NamedTuple):
    """What :func:`merge_timestamps` changed for one key.

    Attributes:
        spans: the events that are new or changed, sorted by start.
        replaced: indices (into the ``spans`` argument) of the existing events that are
            replaced by ``spans``; existing events not listed are unchanged.
        created: new events made of new timestamps only.
        extended: changed events that contain exactly one existing event.
        merged: changed events that contain two or more existing events.
    """

    spans: list[Span]
    replaced: list[int]
    created: int
    extended: int
    merged: int


def tolerance_micros(tolerance: timedelta) -> int:
    """Return a tolerance in whole microseconds.

    Args:
        tolerance: the largest gap between consecutive reports of one event.

    Returns:
        The tolerance in microseconds (fractions of a microsecond are dropped).

    Raises:
        ValueError: when the tolerance is negative.
    """
    if tolerance < timedelta(0):
        raise ValueError(f"the tolerance must not be negative, not {tolerance}")
    return tolerance // timedelta(microseconds=1)


def group_timestamps(timestamps: Sequence[int], tolerance: int) -> list[Span]:
    """Split the timestamps of one key into events ("gaps and islands").

    Args:
        timestamps: sorted, distinct timestamps in microseconds.
        tolerance: the largest gap inside an event, in microseconds (inclusive).

    Returns:
        The events as ``(start, end, record_count)``, sorted by start.
    """
    if not timestamps:
        return []
    spans: list[Span] = []
    first = 0
    previous = timestamps[0]
    # A single pass; only the split points do any work beyond one subtraction.
    for index, current in enumerate(timestamps):
        if current - previous > tolerance:
            spans.append((timestamps[first], previous, index - first))
            first = index
        previous = current
    spans.append((timestamps[first], previous, len(timestamps) - first))
    return spans


def merge_timestamps(spans: Sequence[Span], timestamps: Sequence[int], tolerance: int) -> SpanMerge:
    """Merge new timestamps of one key into its existing events.

    A new timestamp within ``tolerance`` of an event joins it; one within ``tolerance`` of
    several events (or of a chain of new timestamps reaching them) joins them all into one.
    The result is what :func:`group_timestamps` gives for the old and new timestamps
    together.

    Args:
        spans: the key's existing events (or any subset of them that includes every event
            within ``tolerance`` of a new timestamp), sorted by start.
        timestamps: sorted, distinct new timestamps in microseconds. None may already be
            counted in ``spans`` (the event store filters those out with its records table),
            or that event's ``record_count`` would count it twice.
        tolerance: the largest gap inside an event, in microseconds (inclusive).

    Returns:
        The new and changed events, which existing events they replace, and the counts.
    """
    # Existing events and new timestamps (as one-report events) taken in order of start
    # (an event before a timestamp of the same start), in one pass over both lists; a group
    # ends where the next item starts more than ``tolerance`` after the group's end. (Two
    # indices rather than heapq.merge: most calls of a service's ingest merge one timestamp
    # into one or two events, where building the merge costs more than the work.)
    outcome = SpanMerge([], [], 0, 0, 0)
    kinds = [0, 0, 0]  # changed events holding 0, 1, 2+ existing events
    group = _Group()
    span_count, stamp_count = len(spans), len(timestamps)
    next_span = next_stamp = 0
    while next_span < span_count or next_stamp < stamp_count:
        if next_stamp == stamp_count or (
            next_span < span_count and spans[next_span][0] <= timestamps[next_stamp]
        ):
            start, end, count = spans[next_span]
            member = next_span
            next_span += 1
        else:
            start = end = timestamps[next_stamp]
            count = 1
            member = _NEW
            next_stamp += 1
        if group.open and start - group.end > tolerance:
            group.close(outcome, kinds)
        group.add(start, end, count, member)
    group.close(outcome, kinds)
    return outcome._replace(created=kinds[0], extended=kinds[1], merged=kinds[2])


class _Group:
    """The group :func:`merge_timestamps` is building: its extent, count and members."""

    __slots__ = ("open", "start", "end", "count", "members", "new")

    def __init__(self) -> None:
        self.open = False
        self.start = self.end = self.count = 0
        self.members: list[int] = []
        self.new = False

    def add(self, start: int, end: int, count: int, member: int) -> None:
        """Add an existing event (``member`` its index) or a new timestamp (``_NEW``)."""
        if self.open:
            self.end = max(self.end, end)
            self.count += count
        else:
            self.open = True
            self.start, self.end, self.count = start, end, count
            self.members = []
            self.new = False
        if member == _NEW:
            self.new = True
        else:
            self.members.append(member)

    def close(self, outcome: SpanMerge, kinds: list[int]) -> None:
        """Record the group unless it is an existing event that nothing reached."""
        if not self.open:
            return
        self.open = False
        members = self.members
        if not self.new and len(members) < 2:
            return
        outcome.spans.append((self.start, self.end, self.count))
        outcome.replaced.extend(members)
        kinds[min(len(members), 2)] += 1


def event_sort_key(event: OutageEvent) -> tuple[object, str, str]:
    """The order of events everywhere: start time, then controller, then outage type."""
    return (event.start_time, event.controller_id, event.outage_type)


def _timestamps_by_key(records: Iterable[OutageRecord]) -> dict[_Key, list[int]]:
    """Sorted distinct timestamps (microseconds) of each key of ``records``."""
    by_key: dict[_Key, set[int]] = {}
    for record in records:
        key = (record.controller_id, record.outage_type)
        by_key.setdefault(key, set()).add(epoch_micros(record.timestamp))
    return {key: sorted(stamps) for key, stamps in by_key.items()}


def _event(key: _Key, span: Span) -> OutageEvent:
    start, end, count = span
    return OutageEvent(key[0], key[1], from_epoch_micros(start), from_epoch_micros(end), count)


def group_events(
    records: Iterable[OutageRecord], tolerance: timedelta = DEFAULT_TOLERANCE
) -> list[OutageEvent]:
    """Group a set of reports into outage events (the batch rule).

    Args:
        records: the reports, in any order; repeated reports count once.
        tolerance: the largest gap between consecutive reports of one event (inclusive).

    Returns:
        The events, sorted by start time, controller id, outage type.

    Raises:
        ValueError: when the tolerance is negative.
    """
    gap = tolerance_micros(tolerance)
    events = [
        _event(key, span)
        for key, stamps in _timestamps_by_key(records).items()
        for span in group_timestamps(stamps, gap)
    ]
    return sorted(events, key=event_sort_key)


def merge_events(
    events: Iterable[OutageEvent],
    records: Iterable[OutageRecord],
    tolerance: timedelta = DEFAULT_TOLERANCE,
) -> EventMerge:
    """Merge new reports into existing events (the incremental rule).

    Args:
        events: the existing events, as :func:`group_events` made them with the same
            tolerance.
        records: new reports in any order. A report already counted in ``events`` must be
            left out (:class:`~outages_processor.stores.event_store.EventStore` does this
            with its table of records), or its event would count it twice; repeats among
            ``records`` count once.
        tolerance: the largest gap between consecutive reports of one event (inclusive).

    Returns:
        Every event after the merge, sorted by start time, controller id, outage type, and
        how many were created, extended and merged.

    Raises:
        ValueError: when the tolerance is negative.
    """
    gap = tolerance_micros(tolerance)
    existing: dict[_Key, list[Span]] = {}
    for event in events:
        existing.setdefault((event.controller_id, event.outage_type), []).append(
            (epoch_micros(event.start_time), epoch_micros(event.end_time), event.record_count)
        )
    new = _timestamps_by_key(records)
    result: list[OutageEvent] = []
    created = extended = merged = 0
    for key in existing.keys() | new.keys():
        spans = sorted(existing.get(key, []))
        outcome = merge_timestamps(spans, new.get(key, []), gap)
        gone = set(outcome.replaced)
        result.extend(_event(key, span) for index, span in enumerate(spans) if index not in gone)
        result.extend(_event(key, span) for span in outcome.spans)
        created += outcome.created
        extended += outcome.extended
        merged += outcome.merged
    return EventMerge(tuple(sorted(result, key=event_sort_key)), created, extended, merged)
