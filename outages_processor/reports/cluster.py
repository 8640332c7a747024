"""A report on a Dask cluster: the workers read the status shards, only report rows come back.

``build_report(..., cluster=client)`` runs here (a :class:`distributed.Client`; dask and
distributed are imported only by the caller that makes one, and on the workers). The graph
of one report, for ``S`` shards and ``P`` partitions (``P`` >= the workers)::

    read_shard(shard)            x S     a worker opens its shard (path or URL; CSV or
                                         Parquet; globs expanded on the client) and groups
                                         its polls into P blocks by partition_of(store, P)
    shard_summary(part)          x S     to the client: latest poll, count, rejects, error
    part_block(part, p)          x S*P   stays on the worker that read the shard
    compute_partition(blocks_p)  x P     Dask moves partition p's blocks to one worker,
                                         which computes its stores' rows (the pure core)

Only the summaries and the rows reach the client, which reads the (small) hours and time
zones itself, sends the stores' schedules to every worker once, and assembles the report
as :func:`~outages_processor.reports.building.build_report` does on one machine: the same
rows in the same order, the same ``now`` (default: the latest poll), the same rejects and
the same ``file:line`` errors (a shard's name is its path or URL as given).

A failure of the cluster itself, not of the data, is said as one
:class:`~outages_processor.errors.ClusterError`: a worker that died while running a task as
often as the scheduler allows (``KilledWorker``; most often out of memory), or
:class:`~outages_processor.errors.ClusterUnavailableError` when the scheduler was lost (the
futures cancelled, the connection closed, a timeout). Anything else a worker raises reaches
the caller as it is.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from array import array
from operator import attrgetter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from typing import Any, Final, cast

import attrs
import httpx

from outages_processor._time import epoch_seconds_datetime
from outages_processor.errors import (
    ClusterError,
    ClusterUnavailableError,
    InputDataError,
    OutagesError,
)
from outages_processor.inputs import status_file
from outages_processor.inputs.poll_blocks import PollBlock, StatusPart
from outages_processor.inputs.remote_files import http_status_error, url_error
from outages_processor.inputs.status_sources import Shard, status_shards
from outages_processor.inputs.status_sources import read_shard as read_any_shard
from outages_processor.inputs.tables import RowErrors
from outages_processor.models.common import OnError, ProgressCallback, Reject
from outages_processor.models.schedules import Schedule
from outages_processor.models.uptime import Interpolation, StoreUptime, UptimeReport
from outages_processor.reports.inputs import HoursInput, TimezonesInput, read_schedules_aside
from outages_processor.reports.workers import compute_partition, partition_rows

__all__ = [
    "PARTITIONS_PER_WORKER",
    "SHARD_TIMEOUT",
    "ShardSummary",
    "cluster_error",
    "open_shard",
    "part_block",
    "read_shard",
    "report_on_cluster",
    "shard_sources",
    "shard_summary",
]

PARTITIONS_PER_WORKER: Final = 2
"""Partitions of the stores per worker: each worker computes a few partitions, so that one
slow or busy worker does not hold up the rest, and a partition is at most a fraction of the
polls (a worker's memory is bounded by its shards and its partitions, not by the input)."""

SHARD_TIMEOUT: Final = 60.0
"""Seconds a worker waits to connect to a shard's server, or for its next bytes."""

_DOWNLOAD_BYTES: Final = 1 << 20
# Downloaded in pieces of 1 MiB: the worker never holds a shard's whole text in memory.


# --------------------------------------------------------------------------- on the workers


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


@contextlib.contextmanager
def open_shard(source: str) -> Iterator[str]:
    """Give a local path holding the shard's bytes (runs on a worker).

    The one place a shard is opened: a local path is used as it is; an ``http(s)`` URL is
    streamed (httpx) into a temporary file of the worker's machine, removed afterwards, so
    that the fast byte-range reader reads it as it reads any file.

    Args:
        source: a local path, or an ``http://`` or ``https://`` URL.

    Yields:
        The path of a local file with the shard's bytes.

    Raises:
        InputDataError: the URL cannot be fetched (an HTTP error status, a network error).
    """
    if not _is_url(source):
        yield source
        return
    handle, path = tempfile.mkstemp(prefix="outages-shard-", suffix=".csv")
    try:
        with os.fdopen(handle, "wb") as target:
            _download(source, target.write)
        yield path
    finally:
        os.unlink(path)


def _download(url: str, write: Callable[[bytes], object]) -> None:
    """Stream the body of ``url`` into ``write``, piece by piece.

    Raises:
        InputDataError: an HTTP error status or a network failure (naming the URL), as
            :mod:`~outages_processor.inputs.status_sources` says them: an
            :class:`~outages_processor.errors.InputUnavailableError` when trying again
            later may help.
    """
    try:
        with httpx.stream("GET", url, timeout=SHARD_TIMEOUT, follow_redirects=True) as answer:
            if answer.is_error:
                raise http_status_error(url, answer.status_code, answer.reason_phrase)
            for piece in answer.iter_bytes(_DOWNLOAD_BYTES):
                write(piece)
    except httpx.HTTPError as err:
        raise url_error(url, err) from err


def _read_local(path: str, partitions: int, on_error: OnError) -> StatusPart:
    """Read a local status file whole, as one machine does without an executor."""
    layout = status_file.read_status_layout(path)
    part = status_file.read_status_part(
        layout, layout.data_start, layout.size, partitions=partitions, on_error=on_error
    )
    if part.needs_sequential:
        part = status_file.read_status_sequential(path, partitions=partitions, on_error=on_error)
    return part


def read_shard(source: str, partitions: int, on_error: OnError) -> StatusPart:
    """Read one shard's polls into one block per partition of the stores (runs on a worker).

    Args:
        source: the shard: a local path of the worker's machine, or an ``http(s)`` URL.
        partitions: the number of partitions (see
            :func:`~outages_processor.inputs.poll_blocks.partition_of`).
        on_error: ``"fail"`` or ``"skip"``, as
            :func:`~outages_processor.reports.building.build_report`.

    Returns:
        The shard's polls, latest time, count, rejects and first bad row, named by
        ``source`` (not by the temporary copy of a URL).

    Raises:
        InputDataError: the shard cannot be read, is empty, or lacks a column.
    """
    shard = Shard.of(source)
    if shard.parquet or (shard.url and not _is_url(source)):
        # Parquet, and URLs of fsspec's file systems (s3://, gs://, ...): read whole.
        return read_any_shard(shard, partitions=partitions, on_error=on_error)
    with open_shard(source) as path:
        if path == source:
            return _read_local(path, partitions, on_error)
        try:
            part = _read_local(path, partitions, on_error)
        except InputDataError as err:
            raise InputDataError(
                err.reason, path=source if err.path == path else err.path, line=err.line
            ) from None
    rejects = tuple(
        attrs.evolve(reject, path=source) if reject.path == path else reject
        for reject in part.rejects
    )
    return attrs.evolve(part, rejects=rejects)


@attrs.frozen
class ShardSummary:
    """What the client needs of a shard read: everything but its polls.

    Attributes:
        latest: the latest poll time (seconds since the epoch; ``-inf`` without polls).
        polls: the number of valid polls.
        rejects: the rows skipped as bad.
        error: the first bad row as ``(reason, line)`` (``on_error="fail"``).
    """

    latest: float
    polls: int
    rejects: tuple[Reject, ...]
    error: tuple[str, int | None] | None


def shard_summary(part: StatusPart) -> ShardSummary:
    """The summary of a shard read (runs on the worker that holds it)."""
    return ShardSummary(part.latest, part.polls, part.rejects, part.error)


def part_block(part: StatusPart, number: int) -> PollBlock:
    """One partition's block of a shard read (runs on the worker that holds it)."""
    return part.blocks[number]


# --------------------------------------------------------------------------- on the client


def shard_sources(status: object) -> list[str]:
    """The shards of ``status`` for a cluster: one path or URL, or a list of them.

    Raises:
        TypeError: anything else (a stream or rows in memory cannot go to the workers).
        ValueError: an empty list.
    """
    if isinstance(status, (list, tuple)) and not status:
        raise ValueError("no status shards: give at least one path or URL")
    if isinstance(status, (str, os.PathLike)) or (
        isinstance(status, (list, tuple))
        and all(isinstance(item, (str, os.PathLike)) for item in status)
    ):
        # Globs are expanded here (a local one on this machine, an s3:// one by listing
        # the bucket); each match then goes to a worker, which opens it itself.
        shards = status_shards(status)
        if shards is None:
            return [os.fspath(cast("str | os.PathLike[str]", status))]
        return [shard.location for shard in shards.shards]
    raise TypeError(
        "with cluster=, status must be a path or URL, or a list of them, that the workers "
        f"open themselves; not {type(status).__name__}"
    )


def report_on_cluster(  # pylint: disable=too-many-arguments,too-many-locals  # the options
    client: Any,
    status: object,
    hours: HoursInput,
    timezones: TimezonesInput,
    *,
    now: float | None,
    interpolation: Interpolation,
    on_error: OnError,
    progress: ProgressCallback | None,
    check_now: Callable[[float, float], None],
) -> UptimeReport:
    """Compute the report on a Dask cluster; only summaries and rows reach this process.

    Args:
        client: a connected :class:`distributed.Client`.
        status: the shards: a path or URL, or a list of them, opened by the workers.
        hours: the business hours input, read here.
        timezones: the time zones input, read here.
        now: the instant the windows end at (seconds since the epoch; None: the latest
            poll), checked.
        interpolation: as ``build_report``, checked.
        on_error: as ``build_report``, checked.
        progress: as ``build_report``.
        check_now: called as ``check_now(now, latest_poll)`` once both are known (the
            single-machine path's warning of a ``now`` long after the polls).

    Returns:
        What ``build_report`` returns for the shards' polls taken together. With a
        progress callback, ``"reading"`` counts shards and ``"computing"`` partitions.

    Raises:
        InputDataError: as ``build_report``: the first bad status row (shards in the
            order given), then a bad hours or zones row; a shard that cannot be read.
        ClusterError: a worker died running a task as often as the scheduler allows;
            :class:`ClusterUnavailableError` when the scheduler was lost.
    """
    sources = shard_sources(status)
    with _cluster_failures(client):
        partitions = PARTITIONS_PER_WORKER * max(len(client.scheduler_info()["workers"]), 1)
        parts = [
            client.submit(read_shard, source, partitions, on_error, pure=False)
            for source in sources
        ]
        # The hours and time zones are read here while the workers read the shards.
        errors = RowErrors(on_error)
        schedules, schedule_error = read_schedules_aside(hours, timezones, errors)
        summaries = [client.submit(shard_summary, part, pure=False) for part in parts]
        read = _gathered(summaries, progress)
        _check_summaries(read, sources, schedule_error)
        latest = max(summary.latest for summary in read)
        end = now if now is not None else latest
        check_now(end, latest)
        rows = _compute(client, parts, partitions, (schedules, end, interpolation), progress)
        rejects = [reject for summary in read for reject in summary.rejects]
        rejects.extend(errors.rejects)
        return UptimeReport(rows, epoch_seconds_datetime(end), interpolation, rejects)


@contextlib.contextmanager
def _cluster_failures(client: Any) -> Iterator[None]:
    """Raise a failure of the cluster itself as a :class:`ClusterError` (see the module)."""
    try:
        yield
    except OutagesError:
        raise
    except Exception as err:  # pylint: disable=broad-exception-caught  # sorted just below
        error = cluster_error(err, _address(client))
        if error is None:
            raise
        raise error from err


def _address(client: Any) -> str:
    """The scheduler's address, for messages (``the scheduler`` when the client has none)."""
    address = getattr(getattr(client, "scheduler", None), "address", None)
    return address if isinstance(address, str) else "the scheduler"


def cluster_error(err: Exception, address: str) -> ClusterError | None:
    """The error to raise for a failure of the cluster itself, or None for any other.

    Args:
        err: what a Dask call or a future's result raised.
        address: the scheduler's address, for the message.

    Returns:
        A :class:`ClusterError` for a task whose workers kept dying, a
        :class:`ClusterUnavailableError` for a lost scheduler, None for anything else.
    """
    # pylint: disable-next=import-outside-toplevel  # the dask extra: present where a client is
    import distributed
    from distributed.comm.core import CommClosedError  # pylint: disable=import-outside-toplevel

    if isinstance(err, distributed.KilledWorker):
        return ClusterError(
            f"a Dask worker died while {_task_name(err.args[0])}, on every worker "
            "the scheduler allows (a worker that runs out of memory is killed); give the "
            "workers more memory or add workers, and see the worker logs"
        )
    if isinstance(err, CancelledError):
        reason = getattr(err, "reason", None) or "cancelled"
        return ClusterUnavailableError(
            f"the report's tasks were cancelled by the Dask cluster at {address} ({reason}); "
            "check that the scheduler is running, then try again"
        )
    if isinstance(err, (CommClosedError, TimeoutError)):
        return ClusterUnavailableError(
            f"lost the Dask scheduler at {address} during the report "
            f"({str(err) or type(err).__name__}); check that it is running, then try again"
        )
    return None


_STEPS: Final = {
    read_shard.__name__: "reading a status shard",
    shard_summary.__name__: "summing up a status shard",
    part_block.__name__: "handing on a block of polls",
    compute_partition.__name__: "computing a partition of the stores",
}
"""What each task of the graph does, for messages."""


def _task_name(key: object) -> str:
    """What a task was doing, from its key (``read_shard-1f2e...``: reading a status shard)."""
    name = str(key[0] if isinstance(key, tuple) and key else key)
    function = re.sub(r"-[0-9a-f]{8,}(-[0-9a-f]+)*$", "", name)
    return _STEPS.get(function, f"running {function}")


def _compute(
    client: Any,
    parts: Sequence[Any],
    partitions: int,
    arguments: tuple[dict[str, Schedule], float, Interpolation],
    progress: ProgressCallback | None,
) -> list[StoreUptime]:
    """Compute each partition on a worker, its blocks moved there from the shards' workers.

    Args:
        client: the Dask client.
        parts: the futures of the shards read (they stay on their workers).
        partitions: the number of partitions.
        arguments: the schedules (sent to every worker once), the end and interpolation.
        progress: as ``build_report``.

    Returns:
        Every store's row, sorted by store id.
    """
    schedules, end, interpolation = arguments
    [shared] = client.scatter([schedules], broadcast=True, hash=False)
    computed = [
        client.submit(
            compute_partition,
            [client.submit(part_block, part, number, pure=False) for part in parts],
            shared,
            end,
            interpolation,
            pure=False,
        )
        for number in range(partitions)
    ]
    return _gathered_rows(computed, progress)


def _gathered(futures: Sequence[Any], progress: ProgressCallback | None) -> list[ShardSummary]:
    """The shard summaries in input order, so that the first shard's error is raised first."""
    if progress is not None:
        for done, _ in enumerate(_as_completed(futures), 1):
            progress("reading", done, len(futures))
    return [future.result() for future in futures]


def _gathered_rows(futures: Sequence[Any], progress: ProgressCallback | None) -> list[StoreUptime]:
    """Every partition's rows, sorted by store id."""
    rows: list[StoreUptime] = []
    for done, future in enumerate(_as_completed(futures), 1):
        result: tuple[list[str], array[float]] = future.result()
        rows.extend(partition_rows(*result))
        if progress is not None:
            progress("computing", done, len(futures))
    # Each partition comes sorted, so this merges a few sorted runs.
    rows.sort(key=attrgetter("store_id"))
    return rows


def _as_completed(futures: Sequence[Any]) -> Iterator[Any]:
    """The futures as they finish (distributed's own ``as_completed``)."""
    # pylint: disable-next=import-outside-toplevel  # the dask extra: present where a client is
    import distributed

    # (distributed's functions are untyped, or Any where it is not installed.)
    completed = cast("Callable[[Sequence[Any]], Iterator[Any]]", distributed.as_completed)
    yield from completed(futures)


def _check_summaries(
    read: Sequence[ShardSummary], sources: Sequence[str], schedule_error: InputDataError | None
) -> None:
    """Raise the first bad status row, then a bad hours or zones row, then no polls at all."""
    for summary, source in zip(read, sources):
        if summary.error is not None:
            reason, number = summary.error
            if Shard.of(source).parquet:  # named file.parquet:row N, as on one machine
                raise InputDataError(reason, path=source, row=number)
            raise InputDataError(reason, path=source, line=number)
    if schedule_error is not None:
        raise schedule_error
    if not sum(summary.polls for summary in read):
        skipped = sum(len(summary.rejects) for summary in read)
        reason = (
            f"no valid status rows ({skipped} bad rows skipped)"
            if skipped
            else "no status rows: the status file has a header but no polls"
        )
        raise InputDataError(reason, path=sources[0] if len(sources) == 1 else None)
