"""One EventStore shared by threads, as a web framework's thread pool shares it (issue 7, 14)."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from outages_processor.core.events import group_events
from outages_processor.errors import EventStoreError
from outages_processor.models.events import OutageEvent, OutageRecord
from outages_processor.stores.event_store import EventStore

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
THREADS = 8


def batches(seed: int, count: int) -> list[list[OutageRecord]]:
    """``count`` seeded batches of reports over 3 controllers x 2 types, with repeats."""
    rng = random.Random(seed)
    return [
        [
            OutageRecord(
                f"c{rng.randrange(3)}",
                rng.choice(("led", "battery")),
                T0 + timedelta(minutes=rng.randrange(0, 600, 5)),
            )
            for _ in range(rng.randrange(1, 30))
        ]
        for _ in range(count)
    ]


def test_eight_threads_ingest_and_list_one_store(tmp_path: Path) -> None:
    """Concurrent ingests and lists from 8 threads end in the batch rule of all records."""
    work = [batches(seed, 15) for seed in range(THREADS)]
    start = threading.Barrier(THREADS)
    with EventStore(tmp_path / "e.db") as store:

        def hammer(mine: list[list[OutageRecord]]) -> int:
            start.wait()  # all threads at once, for as much overlap as possible
            listed = 0
            for batch in mine:
                store.ingest(batch)
                listed += len(store.events(outage_type="led"))
            return listed

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(hammer, work))
        expected = group_events(record for mine in work for batch in mine for record in batch)
        assert store.events() == expected


def test_lists_in_threads_see_each_others_commits(tmp_path: Path) -> None:
    """An ingest committed in one thread is listed by another thread's connection."""
    with EventStore(tmp_path / "e.db") as store:
        store.events()  # this thread's connection exists before the other thread writes

        def ingest() -> None:
            store.ingest([OutageRecord("c", "led", T0)])

        thread = threading.Thread(target=ingest)
        thread.start()
        thread.join()
        assert store.events() == [OutageEvent("c", "led", T0, T0, 1)]


def test_close_closes_every_thread_connection(tmp_path: Path) -> None:
    """After close(), a thread that had a connection gets the closed-store error."""
    store = EventStore(tmp_path / "e.db")
    ready, closed = threading.Event(), threading.Event()
    outcome: list[BaseException] = []

    def reader() -> None:
        store.events()
        ready.set()
        closed.wait()
        try:
            store.events()
        except EventStoreError as err:
            outcome.append(err)

    thread = threading.Thread(target=reader)
    thread.start()
    ready.wait()
    store.close()
    closed.set()
    thread.join()
    assert [str(err) for err in outcome] == [
        f"cannot read {store.path}: Cannot operate on a closed database."
    ]


@pytest.mark.parametrize("path", ["", ":memory:"])
def test_in_memory_paths_are_refused(path: str) -> None:
    """An in-memory database would differ per thread connection: refused."""
    with pytest.raises(EventStoreError, match="the event database must be a file"):
        EventStore(path)
