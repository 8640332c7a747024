"""Poll blocks: a status file's polls grouped by store, in flat arrays the workers consume.

Every status reader (the byte-range reader of :mod:`~outages_processor.inputs.status_file`,
the row-by-row reader, in-memory polls) collects polls with a :class:`PollCollector`, which
packs them into one :class:`PollBlock` per partition of the stores: the stores are split by
a stable hash (:func:`partition_of`), so that a store's polls from every byte range meet in
one partition.

A poll's time travels exactly as read (seconds since the Unix epoch, any sign), in one of
two arrays of its store: the active polls' and the inactive polls'. Keeping the status in
which array holds the time, not in the number, costs the fast reader nothing (it picks the
array with the same dictionary lookup that would pick a sign) and loses nothing: no time is
shifted, negated or rounded on the way.
"""

from __future__ import annotations

import math
import zlib
from array import array
from collections import deque
from collections.abc import Iterable, Iterator, Sequence

import attrs

from outages_processor.inputs.status_rows import parse_status_row
from outages_processor.inputs.tables import MEMORY, RowErrors
from outages_processor.models.common import OnError, Reject
from outages_processor.models.uptime import Poll

__all__ = [
    "PollBlock",
    "PollCollector",
    "StatusPart",
    "StopRead",
    "group_polls",
    "partition_of",
]


def partition_of(store_id: str, partitions: int) -> int:
    """Return the partition (``0 <= p < partitions``) a store's work goes to.

    Stable across processes and runs (unlike :func:`hash` of a string).
    """
    return zlib.crc32(store_id.encode("utf-8")) % partitions


@attrs.frozen
class PollBlock:
    """Poll times of several stores packed into flat arrays, cheap to send to a process.

    Store ``store_ids[i]`` has ``counts[2 * i]`` active poll times, then
    ``counts[2 * i + 1]`` inactive ones, following the previous store's in ``times``
    (seconds since the Unix epoch, in file order). (How blocks travel between processes is
    the workers' business: :mod:`outages_processor.reports.spill`.)
    """

    store_ids: list[str]
    counts: array[int]
    times: array[float]

    def polls(self) -> Iterator[tuple[str, array[float], array[float]]]:
        """Yield ``(store_id, active_times, inactive_times)`` for each store of the block."""
        times = self.times
        counts = iter(self.counts)
        position = 0
        for store_id, active, inactive in zip(self.store_ids, counts, counts):
            middle = position + active
            end = middle + inactive
            yield store_id, times[position:middle], times[middle:end]
            position = end


@attrs.frozen
class StatusPart:
    """What reading (part of) a status file gives.

    Attributes:
        blocks: the polls, one block per partition of the stores.
        latest: the latest poll time (seconds since the epoch; ``-inf`` without polls).
        polls: the number of valid polls read.
        rejects: the rows skipped as bad (``on_error="skip"``).
        error: the first bad row as ``(reason, line)`` (``on_error="fail"``); the part is
            incomplete then.
        needs_sequential: the bytes cannot be cut into ranges safely (quoted fields or bare
            carriage returns): read the whole file with :func:`read_status_sequential`.
            Such a part holds no polls, so that none of the file's polls can be taken
            from the wrong reader.
    """

    blocks: tuple[PollBlock, ...]
    latest: float = -math.inf
    polls: int = 0
    rejects: tuple[Reject, ...] = ()
    error: tuple[str, int | None] | None = None
    needs_sequential: bool = False


class Groups(dict[str, "array[float]"]):
    """Poll times of one status by store; a new store gets an empty array on first use.

    Arrays hold plain doubles: keeping millions of float objects alive instead makes every
    later allocation slower.
    """

    def __missing__(self, key: str) -> array[float]:
        value = self[key] = array("d")
        return value


_group = Groups.__getitem__  # (dict's own lookup: a missing store gets a new array)


class StopRead(Exception):
    """Ends a read early: the first bad row in fail mode, or bytes that cannot be split."""


class PollCollector:
    """Collects one part's poll times by store, and its bad rows."""

    def __init__(
        self, path: str, columns: int, on_error: OnError, errors: RowErrors | None = None
    ) -> None:
        self.path = path
        self.columns = columns
        # The sequential reader shares its bad rows with the table, which finds the rows
        # that are not UTF-8: the rejects stay in line order.
        self.errors = errors if errors is not None else RowErrors(on_error)
        self.active = Groups()
        self.inactive = Groups()
        # The fast path keys stores by "\n" + id when the id is the first column (the line
        # break it splits on stays glued to the first field); merged at the end.
        self.active_nl = Groups()
        self.inactive_nl = Groups()
        self.latest = -math.inf
        self.polls = 0
        self.error: tuple[str, int | None] | None = None

    def row(self, fields: Sequence[str], line: int, store: int, status: int, stamp: int) -> None:
        """Check and add one row given as its fields.

        Raises:
            StopRead: the row is bad and the mode is fail (the row is kept in ``error``).
        """
        try:
            store_id, active, instant = parse_status_row(fields, self.columns, store, status, stamp)
        except ValueError as err:
            if self.errors.on_error == "fail":
                self.error = (str(err), line)
                raise StopRead from None
            self.errors.bad_row(str(err), path=self.path, line=line, row=",".join(fields))
            return
        self.add(store_id, active, instant)

    def add(self, store_id: str, active: bool, instant: float) -> None:
        """Add one valid poll."""
        (self.active if active else self.inactive)[store_id].append(instant)
        self.polls += 1
        self.latest = max(self.latest, instant)

    def add_many(
        self, store_ids: Sequence[str], active: Sequence[object], seconds: Sequence[float]
    ) -> None:
        """Add many valid polls at once, with C-level passes only (no Python code per poll).

        Args:
            store_ids: each poll's store.
            active: each poll's status, true for active (e.g. ``1``/``0`` from a database).
            seconds: each poll's time, seconds since the Unix epoch.
        """
        if not seconds:
            return
        of_status = {True: self.active, False: self.inactive}.__getitem__
        groups = map(of_status, map(bool, active))
        deque(map(array.append, map(_group, groups, store_ids), seconds), 0)
        latest = max(seconds)
        self.polls += len(seconds)
        self.latest = max(self.latest, latest)

    def _unglue(self) -> None:
        """Move the times kept under ``"\n" + store id`` to their stores."""
        for groups, glued in ((self.active, self.active_nl), (self.inactive, self.inactive_nl)):
            for key, times in glued.items():
                known = groups.get(key[1:])
                if known is None:
                    groups[key[1:]] = times  # moved, not copied
                else:
                    known.extend(times)
            glued.clear()

    def part(self, partitions: int) -> StatusPart:
        """Pack what was collected into one block per partition."""
        self._unglue()
        active, inactive = self.active, self.inactive
        none = array("d")
        blocks = [PollBlock([], array("q"), array("d")) for _ in range(max(partitions, 1))]
        # In a stable order: the stores with active polls, then those with inactive only.
        stores = [(key, times, inactive.pop(key, none)) for key, times in active.items()]
        stores.extend((key, none, times) for key, times in inactive.items())
        active.clear()
        inactive.clear()
        for store_id, active_times, inactive_times in stores:
            block = blocks[partition_of(store_id, len(blocks))] if partitions > 1 else blocks[0]
            block.store_ids.append(store_id)
            block.counts.append(len(active_times))
            block.counts.append(len(inactive_times))
            block.times.extend(active_times)
            block.times.extend(inactive_times)
        return StatusPart(
            tuple(blocks),
            self.latest,
            self.polls,
            tuple(self.errors.rejects),
            self.error,
        )


def group_polls(polls: Iterable[Poll], *, partitions: int = 1) -> StatusPart:
    """Pack in-memory polls the way :func:`read_status_part` packs a file's.

    (:class:`~outages_processor.models.uptime.Poll` checks its time's range itself.)
    """
    collector = PollCollector(MEMORY, 0, "fail")
    for poll in polls:
        collector.add(poll.store_id, poll.status == "active", poll.timestamp.timestamp())
    return collector.part(partitions)
