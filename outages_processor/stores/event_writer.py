"""The event writer: one process that stores the batches of every process of a service.

``process_outages serve`` runs it beside uvicorn's workers (:func:`writer_running`). Each
worker parses and checks its ``POST /outages`` requests, then hands the batches to this
process over a Unix socket (:class:`~outages_processor.stores.writer_client.WriterClient`);
here one :class:`~outages_processor.stores.group_commit.GroupCommitter` takes the batches of
all workers into shared transactions.

Why one process: when the workers each wrote the database, every commit of one emptied the
page cache of the others (SQLite reads again a database another connection changed), and
the writers queued for the write lock. Measured in-process on 200,000 records in batches of
100, two writing processes used 1.9x the CPU a record of one.

The process (:mod:`~outages_processor.stores._writer_main`) runs :func:`serve_writer`: it
tells its parent when it listens, or why it cannot start, and stops (after storing what it
was given) on SIGTERM, SIGINT, or the end of its standard input (its parent is gone).
:func:`writer_running` starts it on a socket in a private temporary folder (mode 0700),
starts it again a second after it dies (the workers store their batches themselves
meanwhile), and closes its input when the block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import IO, Final

from outages_processor.errors import EventStoreError
from outages_processor.models.events import IngestResult
from outages_processor.stores.event_store import EventStore
from outages_processor.stores.group_commit import GroupCommitter
from outages_processor.stores.writer_wire import (
    WireError,
    read_frame,
    read_start,
    reply_frame,
    request_of,
)

__all__ = ["WRITER_MODULE", "serve_writer", "writer_running"]

logger = logging.getLogger(__name__)

WRITER_MODULE = "outages_processor.stores._writer_main"
"""What the writer process runs (``python -m``)."""
STOP_TIMEOUT: Final = 60.0
"""Seconds the writer may take to store what it was given, once asked to stop."""
RESTART_AFTER: Final = 1.0
"""Seconds between a writer's death and its restart."""


async def serve_writer(
    events_db: str, socket_path: str, on_ready: Callable[[], None] = lambda: None
) -> None:
    """Listen on ``socket_path`` and store every batch sent into ``events_db``, until stopped.

    ``on_ready`` is called once the socket listens. Stops (after storing what it was given)
    on SIGTERM, SIGINT, or the end of standard input (the parent is gone).

    Raises:
        EventStoreError: the database cannot be used.
        OSError: the socket cannot be made.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    orphaned = _stop_at_end_of_input(loop, stop).ended
    store = EventStore(events_db)
    committer = GroupCommitter(store)
    readers: set[asyncio.StreamReader] = set()
    handlers: set[asyncio.Future[None]] = set()

    async def serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        readers.add(reader)
        handler = asyncio.ensure_future(_serve_worker(committer, reader, writer))
        handlers.add(handler)
        try:
            await asyncio.shield(handler)  # stopping waits for it, not a cancel
        finally:
            readers.discard(reader)
            handlers.discard(handler)

    try:
        # A socket left by a writer that died: the parent starts one writer at a time.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path)
        server = await asyncio.start_unix_server(serve_one, path=socket_path)
        os.chmod(socket_path, 0o600)
        on_ready()
        await stop.wait()
        server.close()
        for reader in readers:  # read no more requests; answer those taken, then close
            reader.feed_eof()
        await asyncio.gather(*handlers, return_exceptions=True)
    finally:
        # Stores what was queued before returning: every batch taken gets its answer.
        await loop.run_in_executor(None, committer.close)
        store.close()
        if orphaned.is_set():
            # The parent is done with it (or gone, and cannot remove its folder): no
            # writer is started here again. After a signal the parent may start one.
            _remove_socket(socket_path)


def _remove_socket(socket_path: str) -> None:
    """Remove the socket, and its folder if nothing else is in it."""
    with contextlib.suppress(OSError):
        os.unlink(socket_path)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(socket_path))


class _InputWatch(threading.Thread):
    """A daemon thread that sets ``stop`` (and :attr:`ended`) when the input ``fd`` ends."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stop: asyncio.Event, fd: int) -> None:
        super().__init__(name="parent-watch", daemon=True)
        self.loop = loop
        self.stop = stop
        self.fd = fd
        self.ended = threading.Event()

    def run(self) -> None:
        # os.read, not sys.stdin: a daemon thread inside a buffered read holds its lock,
        # which the interpreter's shutdown would wait for.
        try:
            while os.read(self.fd, 4096):
                pass
        except OSError:
            pass
        self.ended.set()
        # The loop may be closed already: the writer stopped for another reason (a signal,
        # or a database it could not use), and nobody waits for this any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.stop.set)


def _stop_at_end_of_input(
    loop: asyncio.AbstractEventLoop, stop: asyncio.Event, fd: int = 0
) -> _InputWatch:
    """Set ``stop`` when the input ``fd`` ends: the parent that holds its other end is gone.

    Returns:
        The (started) thread that waits for the end.
    """
    watch = _InputWatch(loop, stop, fd)
    watch.start()
    return watch


async def _serve_worker(
    committer: GroupCommitter, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Take one worker's requests; answer each when its group is committed."""
    loop = asyncio.get_running_loop()

    def answer(request_id: int, future: Future[IngestResult]) -> None:
        error = future.exception()
        outcome: IngestResult | BaseException = future.result() if error is None else error
        frame = reply_frame(request_id, outcome)
        loop.call_soon_threadsafe(_send, writer, frame)

    taken: list[Future[IngestResult]] = []
    try:
        while (message := await read_frame(reader)) is not None:
            request_id, batch = request_of(message)
            future = committer.submit(batch)
            future.add_done_callback(functools.partial(answer, request_id))
            taken.append(future)
            if len(taken) > 64:
                taken = [future for future in taken if not future.done()]
    except (WireError, ConnectionError) as err:
        logger.warning("a worker's stream to the event writer broke: %s", err)
    # Every batch taken is answered before the stream closes.
    await asyncio.gather(*map(asyncio.wrap_future, taken), return_exceptions=True)
    writer.close()


def _send(writer: asyncio.StreamWriter, frame: bytes) -> None:
    """Write a frame unless that worker's stream is closed (the worker is gone)."""
    if not writer.is_closing():
        writer.write(frame)


class _Supervisor:
    """One writer process at a time on ``socket_path``, restarted when it dies."""

    def __init__(self, events_db: str, socket_path: str) -> None:
        self.events_db = events_db
        self.socket_path = socket_path
        self.stopping = threading.Event()
        self._lock = threading.Lock()  # held while a writer is started again
        self.process = self._start()
        self._watch = threading.Thread(target=self._restart_when_dead, daemon=True)
        self._watch.start()

    def _start(self) -> subprocess.Popen[bytes]:
        """A new writer, once it listens.

        Raises:
            EventStoreError: it cannot start (its reason in the message).
        """
        command = [sys.executable, "-m", WRITER_MODULE, self.events_db, self.socket_path]
        process = subprocess.Popen(  # pylint: disable=consider-using-with  # lives on
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        stdout: IO[bytes] = process.stdout  # type: ignore[assignment]  # PIPE above
        try:
            failure = read_start(stdout)
        except WireError as err:
            failure = str(err)
        if failure is not None:
            _close(process)
            process.wait()
            raise EventStoreError(failure)
        return process

    def _restart_when_dead(self) -> None:
        while True:
            code = self.process.wait()
            if self.stopping.wait(RESTART_AFTER):
                return
            with self._lock:
                if self.stopping.is_set():
                    return
                logger.warning("the event writer exited (%s); starting it again", code)
                _close(self.process)
                try:
                    self.process = self._start()
                except EventStoreError as err:
                    logger.error("%s; each worker stores its own batches from now on", err)
                    return

    def stop(self) -> None:
        """Let the writer store what it was given and exit; kill it past the timeout."""
        self.stopping.set()
        with self._lock:
            process = self.process
        _close(process)  # the end of its input: it stops
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._watch.join()


def _close(process: subprocess.Popen[bytes]) -> None:
    """Close our ends of the process's pipes."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


@contextlib.contextmanager
def writer_running(events_db: str) -> Iterator[str | None]:
    """Run the event writer of ``events_db`` for the block; yield its socket's path.

    On Windows (no Unix sockets for asyncio) there is no writer: it yields None, and each
    process stores its own batches.

    Raises:
        EventStoreError: the writer cannot start (the database cannot be used, say).
    """
    if sys.platform == "win32":  # pragma: no cover - the tests run on Linux
        yield None
        return
    folder = tempfile.mkdtemp(prefix="outages-writer-")
    try:
        supervisor = _Supervisor(events_db, os.path.join(folder, "writer.sock"))
        try:
            yield supervisor.socket_path
        finally:
            supervisor.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
