"""Process pools for a report's work that are safe for the program that starts them.

Two kinds, chosen by :func:`process_pool`:

* a forked :class:`~concurrent.futures.ProcessPoolExecutor`, the quickest to start, while
  the calling process runs a single thread (the command line): forking a process that runs
  other threads may copy a lock some thread holds into the child;
* otherwise a :class:`WorkerPool` of fresh interpreters, each running
  ``outages_processor.reports._worker_main`` with the host's ``sys.path``: unlike
  multiprocessing's ``spawn`` and ``forkserver`` start methods, which import the host
  program's ``__main__`` again in every child, nothing of the host program runs twice.

Workers of both kinds end within :data:`PARENT_CHECK_SECONDS` when the process that started
them dies, however it dies (:func:`watch_parent`), so a killed program leaves no orphans.
A worker that dies itself (the out-of-memory killer) fails the report with a
:class:`~outages_processor.errors.ReportError` that says what to do, whichever kind of pool
it was in (:func:`worker_deaths` translates a broken process pool).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import pickle
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from queue import SimpleQueue
from typing import IO, Any, Final, TypeVar

import attrs

from outages_processor.errors import ReportError

__all__ = [
    "PARENT_CHECK_SECONDS",
    "WORKER_DIED",
    "WORKER_MODULE",
    "CancellableExecutor",
    "WorkerPool",
    "is_local_pool",
    "process_pool",
    "receive",
    "send",
    "watch_parent",
    "worker_deaths",
]

PARENT_CHECK_SECONDS: Final = 0.5
"""How often a worker checks that the process that started it is still alive (seconds)."""

WORKER_MODULE: Final = "outages_processor.reports._worker_main"
"""The module whose ``main`` a :class:`WorkerPool` worker runs."""

WORKER_DIED: Final = (
    "a report worker process died before it finished (killed by the system, for example "
    "when memory ran out); run the report with fewer processes (--jobs 1, or jobs=1) or "
    "with more memory available"
)
"""What a report whose process pool lost a worker fails with (a ReportError)."""

_BOOTSTRAP: Final = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[2]); "
    f"from {WORKER_MODULE} import main; main(sys.argv[1:2])"
)

_LENGTH: Final = struct.Struct("!Q")
# A message on a pipe: its length (8 bytes, big-endian), then its pickle.

_T = TypeVar("_T")


def process_pool(workers: int) -> Executor:
    """A pool of ``workers`` processes for one report's work on this machine.

    Forked (fastest) only while this process runs a single thread; otherwise fresh
    interpreters, which never import the host program again.
    """
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=watch_parent,
            initargs=(os.getpid(),),
        )
    return WorkerPool(workers)


@contextlib.contextmanager
def worker_deaths() -> Iterator[None]:
    """Turn a process pool that lost a worker into a :class:`ReportError` saying what to do.

    :class:`~concurrent.futures.ProcessPoolExecutor` fails every pending task with
    ``BrokenProcessPool`` when one of its processes ends abruptly (``os._exit``, a signal:
    the out-of-memory killer's SIGKILL); the caller of a report needs one line instead.
    It is not transient: the same report on the same machine most likely dies the same
    way, until it runs with fewer processes or more memory.

    Raises:
        ReportError: a worker process died (:data:`WORKER_DIED`).
    """
    try:
        yield
    except BrokenProcessPool as err:
        raise ReportError(WORKER_DIED) from err


def is_local_pool(executor: Executor) -> bool:
    """True for a pool of this library whose workers share this machine's files."""
    if isinstance(executor, CancellableExecutor):
        executor = executor.executor
    return isinstance(executor, WorkerPool)


def watch_parent(parent: int, interval: float = PARENT_CHECK_SECONDS) -> None:
    """End this process when ``parent`` is no longer its parent (runs in each worker).

    A daemon thread checks every ``interval`` seconds; when the parent has died the worker
    has been handed to another process, and it exits at once (code 1) without cleaning up:
    its work has nobody to go to.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)  # pylint: disable=protected-access  # the documented way out, at once

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def send(stream: IO[bytes], data: bytes) -> None:
    """Write one message (a pickle) to a pipe.

    Raises:
        OSError: the pipe is closed.
    """
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def receive(stream: IO[bytes]) -> bytes:
    """Read one message's pickle from a pipe (unpickle it with :func:`pickle.loads`).

    Raises:
        EOFError: the pipe closed before a whole message came.
    """
    (size,) = _LENGTH.unpack(_read_exactly(stream, _LENGTH.size))
    return _read_exactly(stream, size)


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            raise EOFError("the pipe closed in the middle of a message")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


@attrs.define
class _Task:
    """A piece of work waiting for a worker."""

    future: Future[Any]
    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class _Worker:
    """One worker process and its two pipes: tasks go to its stdin, outcomes come back."""

    def __init__(self) -> None:
        if not sys.executable:  # pragma: no cover - embedded interpreters without one
            raise ReportError(
                "cannot start report worker processes: sys.executable is not set; "
                "pass an executor, or run the report with jobs=1"
            )
        # The worker gets the host's sys.path, so it imports this very package and its
        # dependencies from where the host found them (as multiprocessing's spawn does).
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with  # closed in close()
            [sys.executable, "-c", _BOOTSTRAP, str(os.getpid()), json.dumps(sys.path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def run(self, task: _Task) -> None:
        """Run a task in this worker and settle its future.

        Raises:
            ReportError: the worker died (the task's future fails with the same error).
        """
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            data = pickle.dumps((task.func, task.args, task.kwargs), pickle.HIGHEST_PROTOCOL)
        except Exception as err:  # pylint: disable=broad-exception-caught
            task.future.set_exception(err)  # as ProcessPoolExecutor does: the task fails
            return
        try:
            send(self.process.stdin, data)
            message = receive(self.process.stdout)
        except (OSError, EOFError) as err:
            error = ReportError(
                f"a report worker process (pid {self.process.pid}) ended unexpectedly "
                f"(exit code {self.process.wait()}) while running {_name(task.func)}; "
                "trigger the report again (if it keeps happening, check the memory available)"
            )
            task.future.set_exception(error)
            raise error from err
        try:
            succeeded, value = pickle.loads(message)
        except Exception as err:  # pylint: disable=broad-exception-caught
            task.future.set_exception(err)
            return
        if succeeded:
            task.future.set_result(value)
        else:
            task.future.set_exception(value)

    def close(self) -> None:
        """Close its stdin (it exits at the end of its input) and wait for it."""
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()
        self.process.wait()


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or repr(func)


class WorkerPool(Executor):
    """A pool of worker processes, each a fresh interpreter fed through its pipes.

    Workers start as work comes, up to ``workers``; a task is pickled to a worker's stdin
    and its outcome comes back on the worker's stdout. A worker that dies fails its task
    with a :class:`~outages_processor.errors.ReportError` and is replaced for the next.

    Attributes:
        workers: the most processes it runs at once.
    """

    def __init__(self, workers: int) -> None:
        """Make a pool of at most ``workers`` processes (none start before work comes).

        Raises:
            ValueError: ``workers`` is less than 1.
        """
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.workers = workers
        self._tasks: SimpleQueue[_Task | None] = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        """Queue ``fn(*args, **kwargs)`` for a worker; return its future.

        Raises:
            RuntimeError: the pool was shut down.
        """
        future: Future[_T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._tasks.put(_Task(future, fn, args, kwargs))
            if len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._serve, name=f"report-worker-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        return future

    def _serve(self) -> None:
        """Feed tasks to one worker process, one at a time (runs in a thread of the pool)."""
        worker: _Worker | None = None
        try:
            while (task := self._tasks.get()) is not None:
                if not task.future.set_running_or_notify_cancel():
                    continue
                try:
                    if worker is None:
                        worker = _Worker()
                    worker.run(task)
                except (OSError, ReportError) as err:
                    if not task.future.done():
                        task.future.set_exception(err)
                    if worker is not None:
                        worker.close()
                    worker = None
        finally:
            if worker is not None:
                worker.close()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work; let the workers finish what is queued and exit.

        Args:
            wait: wait until every worker process has ended.
            cancel_futures: cancel the work that no worker has started.
        """
        with self._lock:
            self._closed = True
            if cancel_futures:
                while not self._tasks.empty():
                    task = self._tasks.get()
                    if task is not None:
                        task.future.cancel()
            for _ in self._threads:
                self._tasks.put(None)
            threads = list(self._threads)
        if wait:
            for thread in threads:
                thread.join()


class CancellableExecutor(Executor):
    """One report's view of a shared executor: cancelling it drops the report's queued work.

    Attributes:
        executor: the executor the work goes to.
    """

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self._futures: list[Future[Any]] = []
        self._lock = threading.Lock()
        self.cancelled = False

    def submit(self, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> Future[_T]:
        """Pass the work on, unless cancelled.

        Raises:
            CancelledError: :meth:`cancel` was called.
        """
        with self._lock:
            if self.cancelled:
                raise CancelledError("the report was cancelled")
            future = self.executor.submit(fn, *args, **kwargs)
            self._futures.append(future)
        return future

    def cancel(self) -> None:
        """Cancel the work not started yet, and refuse more (work running ends on its own)."""
        with self._lock:
            self.cancelled = True
            for future in self._futures:
                future.cancel()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Leave the shared executor running: its owner shuts it down."""
        if cancel_futures:
            self.cancel()
