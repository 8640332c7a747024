"""``process_outages`` with an event store that stores nothing: the service's HTTP ceiling.

For the benchmark only (:mod:`bench_ingest_bounds`): ``EventStore.ingest_many`` is replaced
by one that counts every record as new and touches no database, and no event writer process
is started, so that ``POST /outages`` costs what HTTP, the body's parsing and the group
committer cost, and nothing else. The replacement is made on import, so uvicorn's worker
processes (which import this module as their main module) get it too.

Run: ``python -m outages_processor.tests.bench.null_store_serve serve [options]``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator, Sequence

from outages_processor.errors import OutagesError
from outages_processor.models.events import IngestResult, RecordBatch, RecordInput
from outages_processor.stores import event_writer
from outages_processor.stores.event_store import EventStore


def _store_nothing(
    _store: EventStore, batches: Sequence[Iterable[RecordInput]]
) -> list[IngestResult | OutagesError]:
    """Every record counted as new; nothing read or written."""
    return [
        IngestResult(records_new=len(batch) if isinstance(batch, RecordBatch) else 0)
        for batch in batches
    ]


@contextlib.contextmanager
def _no_writer(_events_db: str) -> Iterator[None]:
    """No event writer process: the workers' own committers take the batches (and store
    nothing); a writer would run the real store in a process of its own."""
    yield None


setattr(EventStore, "ingest_many", _store_nothing)
setattr(event_writer, "writer_running", _no_writer)

if __name__ == "__main__":
    from outages_processor.scripts.main import run  # pylint: disable=ungrouped-imports

    sys.argv[0] = "process_outages"
    run()
