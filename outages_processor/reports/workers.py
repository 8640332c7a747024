"""The work that runs in workers: reading a byte range, computing a partition of the stores.

Work is split by store. A large status file is split into byte ranges, each read by a
worker into per-store arrays; the stores are then split into partitions by a stable hash,
and each partition is computed by a worker. :class:`Runner` sends work to any
:class:`concurrent.futures.Executor`, or runs it in the calling thread (the pools of this
machine are in :mod:`outages_processor.reports.pool`).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from typing import Any, Final, TypeVar

from outages_processor.core.business_hours import BusinessClock, BusinessClocks
from outages_processor.core.uptime import WEEK, UptimeCalculator
from outages_processor.inputs.poll_blocks import PollBlock, StatusPart
from outages_processor.inputs.status_file import StatusLayout, read_status_part
from outages_processor.models.common import OnError
from outages_processor.models.schedules import Schedule
from outages_processor.models.uptime import Interpolation, StoreUptime
from outages_processor.reports.spill import load_schedules, spill_part

__all__ = [
    "PROGRESS_STORES",
    "Runner",
    "compute_partition",
    "partition_rows",
    "read_part",
    "run_now",
]

PROGRESS_STORES: Final = 1024
"""Stores computed between two progress reports, when computing in the calling thread."""

_ALWAYS_OPEN: Final = Schedule()

_T = TypeVar("_T")


# --------------------------------------------------------------------------- running work


def run_now(func: Callable[..., _T], *args: Any, **kwargs: Any) -> Future[_T]:
    """Run ``func`` now, in this thread, and return its outcome as a finished future."""
    future: Future[_T] = Future()
    try:
        future.set_result(func(*args, **kwargs))
    except Exception as err:  # pylint: disable=broad-exception-caught
        future.set_exception(err)
    return future


class Runner:
    """Submits work to the executor, or runs it in this thread when there is none.

    Attributes:
        executor: where work goes; None runs it in this thread.
        workers: how many partitions to split the work into.
        spill: a folder for poll data passed between processes of this machine, or None
            to pass it through the executor (which may be a cluster).
    """

    def __init__(self, executor: Executor | None, workers: int, spill: str | None = None) -> None:
        self.executor = executor
        self.workers = workers
        self.spill = spill

    def submit(self, func: Callable[..., _T], *args: Any, **kwargs: Any) -> Future[_T]:
        """Start ``func(*args, **kwargs)`` and return its future."""
        if self.executor is None:
            return run_now(func, *args, **kwargs)
        return self.executor.submit(func, *args, **kwargs)


def compute_partition(
    blocks: Sequence[PollBlock],
    schedules: Mapping[str, Schedule] | str,
    now: float,
    interpolation: Interpolation,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[str], array[float]]:
    """Compute the report values of one partition of the stores (runs in a worker).

    Args:
        blocks: the partition's polls, one block per byte range read (spilled or not).
        schedules: each store's schedule (missing: the default ``Schedule()``), or the
            file :func:`~outages_processor.reports.spill.save_schedules` wrote them to.
        now: the instant the windows end at, seconds since the epoch.
        interpolation: ``"nearest"`` or ``"previous"``.
        progress: called with the number of stores done, now and then (in this thread).

    Returns:
        The store ids, sorted, and their values: six per store, in report column order.
    """
    of_store = load_schedules(schedules)
    calculator = UptimeCalculator(now, interpolation)
    clocks = BusinessClocks(now - WEEK, now)
    merged = _merge_blocks(blocks)
    store_ids = sorted(merged)
    values: array[float] = array("d")
    for done, store_id in enumerate(store_ids, 1):
        clock = clocks.clock(of_store.get(store_id, _ALWAYS_OPEN))
        values.extend(_store_values(calculator, *merged.pop(store_id), clock))
        if progress is not None and not done % PROGRESS_STORES:
            progress(done)
    return store_ids, values


def partition_rows(store_ids: list[str], values: array[float]) -> Iterator[StoreUptime]:
    """Report rows from what :func:`compute_partition` returns (six values per store)."""
    for index, store_id in enumerate(store_ids):
        yield StoreUptime(store_id, *values[6 * index : 6 * index + 6])


def _store_values(
    calculator: UptimeCalculator, active: array[float], inactive: array[float], clock: BusinessClock
) -> tuple[float, float, float, float, float, float]:
    """One store's report values from its active and inactive poll times (any order)."""
    if not inactive:
        # Only active polls: the status is active throughout whatever their times, so
        # they need no sorting (no inactive poll: no spans to place).
        return calculator.values((), (), clock)
    return calculator.values(sorted(active), sorted(inactive), clock)


def _merge_blocks(blocks: Sequence[PollBlock]) -> dict[str, tuple[array[float], array[float]]]:
    """Each store's active and inactive poll times from every block, joined."""
    merged: dict[str, tuple[array[float], array[float]]] = {}
    for block in blocks:
        for store_id, active, inactive in block.polls():
            known = merged.get(store_id)
            if known is None:
                merged[store_id] = (active, inactive)
            else:
                known[0].extend(active)
                known[1].extend(inactive)
    return merged


def read_part(
    layout: StatusLayout,
    start: int,
    end: int,
    partitions: int,
    on_error: OnError,
    spill: str | None,
) -> StatusPart:
    """Read one byte range of the status file (runs in a worker).

    With ``spill``, the poll times go to files there and only store ids come back: sending
    megabytes through a process pool's pipes costs more than the page cache.
    """
    part = read_status_part(layout, start, end, partitions=partitions, on_error=on_error)
    return part if spill is None else spill_part(part, spill, start)
