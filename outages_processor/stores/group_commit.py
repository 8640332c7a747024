"""Group commit: the ingests of concurrent requests share one SQLite transaction.

One transaction per request caps a service's ingestion at what SQLite's commits allow (a
commit costs far more than a small batch). A :class:`GroupCommitter` owns one writer
thread: requests hand it their batch and wait for their own result, and the writer takes
everything queued at once into one :meth:`EventStore.ingest_many
<outages_processor.stores.event_store.EventStore.ingest_many>` call, which plans and writes
the whole group at once. A request still stores all or nothing of its batch (a database
failure fails the whole group), and its counts are what its batch did.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

from outages_processor.errors import OutagesError
from outages_processor.models.events import IngestResult, RecordBatch
from outages_processor.stores.event_store import EventStore

__all__ = ["GroupCommitter"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_RECORDS = 200_000
"""Records taken into one transaction at most (the rest go into the next one)."""

_Item = tuple[RecordBatch, "Future[IngestResult]"]


class GroupCommitter:
    """Coalesce the batches of concurrent callers into shared transactions.

    Args:
        store: the event store written to (only the writer thread writes through it).
        max_records: the records of one transaction at most; a single larger batch is
            still one transaction of its own.
    """

    def __init__(self, store: EventStore, *, max_records: int = DEFAULT_MAX_RECORDS) -> None:
        self.store = store
        self.max_records = max_records
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def submit(self, batch: RecordBatch) -> Future[IngestResult]:
        """Queue a batch; its future gives its result, or the error that rolled it back.

        Args:
            batch: the records of one request.

        Returns:
            A future of the batch's :class:`IngestResult` (its exception: an
            :class:`~outages_processor.errors.OutagesError`).

        Raises:
            RuntimeError: the committer was closed.
        """
        future: Future[IngestResult] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the group committer is closed")
            self._queue.put((batch, future))
        return future

    def close(self) -> None:
        """Finish the queued batches, then stop the writer thread (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        """The writer thread: take everything queued, store it as one transaction."""
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            size = len(first[0])
            while size < self.max_records:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True  # store what was queued before the end, then stop
                    break
                group.append(item)
                size += len(item[0])
            self._commit(group)

    def _commit(self, group: list[_Item]) -> None:
        """Store one group and hand each caller its result."""
        try:
            results = self.store.ingest_many([batch for batch, _ in group])
        except Exception as err:  # pylint: disable=broad-exception-caught
            # Not a batch's own failure (a closed store, say): every caller learns of it.
            logger.error("a group commit failed", exc_info=True)
            results = [err if isinstance(err, OutagesError) else OutagesError(str(err))] * len(
                group
            )
        for (_, future), result in zip(group, results):
            if isinstance(result, OutagesError):
                future.set_exception(result)
            else:
                future.set_result(result)
