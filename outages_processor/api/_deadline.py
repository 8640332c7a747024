"""Wait for blocking work only until a deadline: the work runs in a daemon thread.

A socket timeout bounds each read, not an answer: a server that sends its headers or body a
byte at a time keeps every read short and can hold a request for ever. Running the attempt
in a worker thread and waiting on it with a timeout bounds the caller whatever the server
does. The worker cannot be killed; once abandoned, its result or error is dropped, its log
records are discarded (so it writes nothing after its caller has moved on), and being a
daemon it never keeps the process alive.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar, cast

__all__ = ["DeadlinePassed", "run_before"]

T = TypeVar("T")

# Every logger that may write from inside an attempt: ours, httpx's request line and
# httpcore's traces. A logger's filters see only the records logged at that very logger,
# hence the full list.
_ATTEMPT_LOGGERS = (
    "outages_processor",
    "outages_processor.api",
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


class DeadlinePassed(Exception):
    """The work had not finished at its deadline and was abandoned."""


class _Worker(threading.Thread, Generic[T]):
    """A daemon thread that runs ``work`` once and keeps its outcome for the caller."""

    def __init__(self, work: Callable[[], T]) -> None:
        super().__init__(name="outages_processor-api-attempt", daemon=True)
        self._work: Callable[[], T] | None = work
        self.finished = threading.Event()
        self.abandoned = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        work, self._work = self._work, None  # drop the reference as soon as it is taken
        assert work is not None  # run() is called once, by start()
        try:
            self.result = work()
        # Everything is handed to the caller (or dropped once abandoned): nothing may reach
        # threading.excepthook, which would print a traceback on stderr.
        except BaseException as err:  # pylint: disable=broad-exception-caught
            self.error = err
        finally:
            self.finished.set()


class _DropAbandoned(logging.Filter):
    """Discard the log records of an abandoned worker: its caller has already reported."""

    def filter(self, record: logging.LogRecord) -> bool:
        thread = threading.current_thread()
        return not (isinstance(thread, _Worker) and thread.abandoned)


_DROP_ABANDONED = _DropAbandoned()
for _name in _ATTEMPT_LOGGERS:
    logging.getLogger(_name).addFilter(_DROP_ABANDONED)  # a set: adding twice is harmless


def run_before(deadline: float, work: Callable[[], T]) -> T:
    """Run ``work`` in a daemon thread; wait for it until ``deadline`` at the latest.

    Args:
        deadline: ``time.monotonic()`` seconds.
        work: a blocking call; it should end by itself (its own timeouts) eventually, and
            must not write outside its own objects, as it may finish after its caller left.

    Returns:
        What ``work`` returned, when it finished before the deadline.

    Raises:
        DeadlinePassed: ``work`` had not finished at the deadline. It is abandoned: it goes
            on in its thread, and its outcome and log records are discarded.
        BaseException: whatever ``work`` raised before the deadline, re-raised as is.
    """
    worker = _Worker(work)
    worker.start()
    if not worker.finished.wait(max(deadline - time.monotonic(), 0.0)):
        worker.abandoned = True
        raise DeadlinePassed
    if worker.error is not None:
        raise worker.error
    return cast(T, worker.result)
