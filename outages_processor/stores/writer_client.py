"""A worker's side of the event writer: batches stored by the writer process, or here.

:class:`WriterClient` sends each batch to the writer process over one stream per worker
(requests are numbered, so many are in flight at once) and waits for its answer. When there
is no writer (the service runs under another ASGI server), or it cannot be reached, or it
goes away while a batch is in flight, the batch is stored by this process's own
:class:`~outages_processor.stores.group_commit.GroupCommitter` instead, and the writer is
tried again a second later. Ingest is idempotent, so a batch the writer stored just before
it went away is stored once: the worker then counts its records as duplicates.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Final

from outages_processor.errors import OutagesError
from outages_processor.models.events import IngestResult, RecordBatch
from outages_processor.stores.group_commit import GroupCommitter
from outages_processor.stores.writer_wire import WireError, read_frame, request_frame, result_of

__all__ = ["WriterClient"]

logger = logging.getLogger(__name__)

RETRY_AFTER: Final = 1.0
"""Seconds before a writer that could not be reached is tried again."""


class _WriterGone(Exception):
    """The writer's stream broke before the batch's answer came."""


class _Stream:
    """One open stream to the writer, with the requests waiting for their answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.pending: dict[int, asyncio.Future[IngestResult | OutagesError]] = {}
        self.broken = False
        self._ids = itertools.count()
        self._reading = asyncio.create_task(self._read(reader))

    async def ingest(self, batch: RecordBatch) -> IngestResult:
        """Store a batch through the writer.

        Raises:
            _WriterGone: no answer will come.
            OutagesError: the writer did not store the batch (as the store would raise).
        """
        if self.broken or self.writer.is_closing():
            raise _WriterGone
        request_id = next(self._ids)
        answer: asyncio.Future[IngestResult | OutagesError]
        answer = asyncio.get_running_loop().create_future()
        self.pending[request_id] = answer
        try:
            self.writer.write(request_frame(request_id, batch))
            await self.writer.drain()
        except (ConnectionError, OSError, RuntimeError):
            # RuntimeError: uvloop's write to a transport closed under us (the writer reset
            # the stream, and the reader has not said so yet).
            self.close()
        outcome = await answer
        if isinstance(outcome, OutagesError):
            raise outcome
        return outcome

    async def _read(self, reader: asyncio.StreamReader) -> None:
        """Hand each answer to its request, until the stream ends."""
        try:
            while (message := await read_frame(reader)) is not None:
                request_id, outcome = result_of(message)
                answer = self.pending.pop(request_id, None)
                if answer is not None and not answer.done():
                    answer.set_result(outcome)
        except (WireError, ConnectionError, OSError) as err:
            logger.warning("the stream to the event writer broke: %s", err)
        finally:
            self.close()

    def close(self) -> None:
        """Close the stream; the requests still waiting learn that no answer will come."""
        self.broken = True
        for answer in self.pending.values():
            if not answer.done():
                answer.set_exception(_WriterGone())
        self.pending.clear()
        self.writer.close()

    async def aclose(self) -> None:
        """Close the stream and wait for its reader to end."""
        self.close()
        await asyncio.gather(self._reading, return_exceptions=True)


class WriterClient:
    """Store batches through the writer process at ``socket_path``; here when it is away.

    Args:
        socket_path: the writer's Unix socket, or None when there is no writer.
        local: this process's own group committer, used without a writer.
    """

    def __init__(self, socket_path: str | None, local: GroupCommitter) -> None:
        self.socket_path = socket_path
        self.local = local
        self._stream: _Stream | None = None
        self._connecting: asyncio.Lock | None = None
        self._retry_at = 0.0
        self._away = False  # the writer could not be reached (and that was said)

    async def ingest(self, batch: RecordBatch) -> IngestResult:
        """Store a batch, all or nothing; its counts.

        Raises:
            OutagesError: the batch was not stored (as
                :meth:`~outages_processor.stores.event_store.EventStore.ingest_many` says).
        """
        stream = await self._writer_stream()
        if stream is not None:
            try:
                return await stream.ingest(batch)
            except _WriterGone:
                if self._stream is stream:  # said once, by the first request to learn it
                    self._stream = None
                    self._retry_at = time.monotonic() + RETRY_AFTER
                    self._away = True
                    logger.warning(
                        "the event writer went away; this worker stores its batches itself "
                        "until the writer is back"
                    )
        return await asyncio.wrap_future(self.local.submit(batch))

    async def _writer_stream(self) -> _Stream | None:
        """The open stream to the writer, opened when needed; None: store here."""
        if self.socket_path is None:
            return None
        if self._stream is not None and not self._stream.broken:
            return self._stream
        if time.monotonic() < self._retry_at:
            return None
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._stream is None or self._stream.broken:
                try:
                    reader, writer = await asyncio.open_unix_connection(self.socket_path)
                except OSError as err:
                    self._retry_at = time.monotonic() + RETRY_AFTER
                    if not self._away:  # said once until the writer answers again
                        self._away = True
                        logger.warning(
                            "cannot reach the event writer at %s (%s); this worker stores "
                            "its batches itself until it can",
                            self.socket_path,
                            err.strerror or err,
                        )
                    return None
                if self._away:
                    self._away = False
                    logger.warning("the event writer is back; it stores this worker's batches")
                self._stream = _Stream(reader, writer)
        return self._stream

    async def aclose(self) -> None:
        """Close the stream to the writer (the local committer is closed by its owner)."""
        if self._stream is not None:
            await self._stream.aclose()
            self._stream = None
