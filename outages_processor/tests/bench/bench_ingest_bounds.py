"""Where the time of an ingest through the service goes: the store's phases, and the bounds.

For :mod:`bench_service`. :func:`store_phases` ingests the service benchmark's request bodies
in this process, in groups of ``clients`` batches (what that many clients queue at once), with
timers around the event store's steps: grouping the batches, looking up their series and
the stored events and records they meet (reading), planning the new events (Python),
inserting the records and writing the events (SQLite writes), and the commit. The timers
wrap the store's own functions for this run only; nothing of the store is changed.

:func:`print_bounds` then sets the service's figure beside two bounds of this machine:

* the **cores** bound: records/s when every core works on nothing but ingesting, from the
  CPU time per record of HTTP, parsing and the clients (measured against a store that stores
  nothing, :mod:`null_store_serve`) plus the store's own time per record;
* the **writer** bound: records/s when the service's one event writer process, which
  stores the requests of every worker, never waits: 1 / the store's time per record.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from outages_processor.service.bodies import parse_records
from outages_processor.stores import _event_ingest, event_store
from outages_processor.stores._sqlite import _begin_immediate

PHASES = (
    ("grouping", "group and sort each batch's timestamps"),
    ("reading", "look up the series, stored events and records"),
    ("planning", "merge the new timestamps into events (Python)"),
    ("writing", "insert records and series, replace events (SQLite)"),
    ("commit", "COMMIT (the WAL frames written, checkpoints)"),
)


@attrs.frozen
class Phases:
    """Microseconds per record of each phase of the in-process ingest, and in all."""

    per_record: dict[str, float]
    total: float


@contextlib.contextmanager
def _timed(totals: collections.Counter[str]) -> Iterator[None]:
    """Wrap the store's steps with timers adding into ``totals`` (seconds), for the block."""
    replaced: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, phase: str) -> None:
        original: Callable[..., Any] = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[phase] += time.perf_counter() - began

        replaced.append((owner, name, original))
        setattr(owner, name, timed)

    @contextlib.contextmanager
    def transaction(
        db: sqlite3.Connection, mode: str = "IMMEDIATE"
    ) -> Iterator[sqlite3.Connection]:
        assert mode == "IMMEDIATE"
        _begin_immediate(db)
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        began = time.perf_counter()
        db.execute("COMMIT")
        totals["commit"] += time.perf_counter() - began

    for owner, name, phase in (
        (event_store, "_prepared", "grouping"),
        (_event_ingest, "plan_changes", "plan"),  # reading and planning; reading is taken out
        (_event_ingest, "_known_series", "reading"),
        (_event_ingest, "_read_stored", "reading"),
        (_event_ingest, "_add_series", "series"),  # inside plan_changes: taken out too
        (_event_ingest, "insert_records", "writing"),
        (_event_ingest, "write_events", "writing"),
    ):
        wrap(owner, name, phase)
    replaced.append((event_store, "transaction", event_store.transaction))
    setattr(event_store, "transaction", transaction)
    try:
        yield
    finally:
        for owner, name, original in reversed(replaced):
            setattr(owner, name, original)


def store_phases(payloads: list[bytes], records: int, clients: int) -> Phases:
    """Ingest the bodies in groups of ``clients`` in this process, timing each phase.

    Args:
        payloads: the request bodies of the service benchmark.
        records: how many records they hold.
        clients: batches per group.

    Returns:
        Each phase's microseconds per record, and the whole ingest's.
    """
    batches = [parse_records(payload) for payload in payloads]
    totals: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory(prefix="bench-phases-") as folder:
        with event_store.EventStore(Path(folder) / "phases.db") as store, _timed(totals):
            began = time.perf_counter()
            for at in range(0, len(batches), clients):
                store.ingest_many(batches[at : at + clients])
            seconds = time.perf_counter() - began
    # plan_changes holds the reading and the new series' inserts (writing): the rest of it
    # is planning.
    totals["planning"] = totals.pop("plan") - totals["reading"] - totals["series"]
    totals["writing"] += totals.pop("series")
    per_record = {name: totals[name] * 1e6 / records for name, _ in PHASES}
    per_record["other"] = seconds * 1e6 / records - sum(per_record.values())
    return Phases(per_record, seconds * 1e6 / records)


def print_phases(phases: Phases, clients: int, batch: int) -> None:
    """Print the store's time per record, phase by phase."""
    print(
        f"EventStore.ingest_many in-process, groups of {clients} batches of {batch} "
        f"(no HTTP): {phases.total:.1f} us a record ({1e6 / phases.total:,.0f} records/s)"
    )
    for name, meaning in (*PHASES, ("other", "the rest: calls, results, the lock")):
        print(f"  {name:9} {phases.per_record[name]:5.1f} us a record  {meaning}")


def print_bounds(  # pylint: disable=too-many-arguments  # the measured figures
    null_cpu_us: float, null_rate: float, phases: Phases, service_rate: float, cli_rate: float
) -> None:
    """Print the cores and writer bounds beside the service's rate and the target's.

    Args:
        null_cpu_us: CPU microseconds per record of the server and the clients against the
            store that stores nothing.
        null_rate: the records/s of that run (the HTTP ceiling).
        phases: the store's own time per record.
        service_rate: the service's records/s (with the real store).
        cli_rate: the command line's records/s (the target is 0.30 of it).
    """
    cores = os.cpu_count() or 1
    by_cores = cores * 1e6 / (null_cpu_us + phases.total)
    by_writer = 1e6 / phases.total
    target = 0.3 * cli_rate
    print(
        f"bounds of this machine ({cores} cores): HTTP alone (a store that stores nothing) "
        f"{null_rate:,.0f} records/s, {null_cpu_us:.1f} us of CPU a record (server and "
        f"clients); with the store's {phases.total:.1f} us a record: at most "
        f"{by_cores:,.0f} records/s if every core did nothing else, {by_writer:,.0f} "
        f"records/s if the event writer never waited. The service reached {service_rate:,.0f} "
        f"records/s, {service_rate / by_cores:.0%} of the cores' bound."
    )
    print(
        f"the target, 0.30 of the CLI, is {target:,.0f} records/s: even with every core "
        f"busy it needs the store at {cores * 1e6 / target - null_cpu_us:.1f} us a record "
        f"or less (now {phases.total:.1f})"
    )
