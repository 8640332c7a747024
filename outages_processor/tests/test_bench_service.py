"""The service benchmark's measuring parts: the store's phase timers and the null store."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from outages_processor.stores import _event_ingest, event_store
from outages_processor.tests.bench import bench_ingest_bounds

_RECORDS = [
    {"controller_id": f"ctrl-{number % 7}", "outage_type": "comms",
     "timestamp": f"2024-01-01T{number % 24:02d}:{number % 60:02d}:00Z"}
    for number in range(300)
]  # fmt: skip


def _bodies(size: int) -> list[bytes]:
    return [
        json.dumps(_RECORDS[at : at + size]).encode() for at in range(0, len(_RECORDS), size)
    ]


def test_the_phases_add_up_and_the_store_is_left_as_it_was() -> None:
    """Each phase is timed, they add up to the whole, and no timer stays in the store."""
    before = [
        getattr(owner, name)
        for owner, name in (
            (event_store, "_prepared"),
            (event_store, "transaction"),
            (_event_ingest, "plan_changes"),
            (_event_ingest, "write_events"),
        )
    ]
    phases = bench_ingest_bounds.store_phases(_bodies(50), len(_RECORDS), clients=2)
    after = [
        event_store._prepared,  # pylint: disable=protected-access
        event_store.transaction,
        _event_ingest.plan_changes,
        _event_ingest.write_events,
    ]
    assert after == before
    names = [name for name, _ in bench_ingest_bounds.PHASES]
    assert all(phases.per_record[name] > 0 for name in names)
    assert abs(sum(phases.per_record.values()) - phases.total) < 1e-6 * phases.total


def test_the_null_store_counts_every_record_and_stores_none(tmp_path: Path) -> None:
    """The benchmark's null store (imported in a process of its own) writes nothing."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from outages_processor.tests.bench import null_store_serve
        from outages_processor.service.bodies import parse_records
        from outages_processor.stores.event_store import EventStore
        with EventStore(sys.argv[1]) as store:
            results = store.ingest_many([parse_records(b) for b in {_bodies(100)!r}])
            print(json.dumps([[r.records_new for r in results], store.counts()["records"]]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, f"{tmp_path}/null.db"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(result.stdout) == [[100, 100, 100], 0]
