"""A worker process of a :class:`~outages_processor.reports.pool.WorkerPool` (internal).

A fresh interpreter runs :func:`main` (``python -m outages_processor.reports._worker_main
PARENT_PID`` does too): it reads pickled ``(function, args, kwargs)`` tasks from its stdin,
runs each, and writes the pickled ``(succeeded, result or exception)`` to its stdout. It
ends at the end of its stdin, or as soon as its parent process dies. The host program is
never imported again: the worker's ``__main__`` is not the host's.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from typing import Any

from outages_processor.reports.pool import receive, send, watch_parent


def main(arguments: list[str]) -> None:
    """Run tasks until the end of stdin (the process then ends normally, exit code 0).

    Args:
        arguments: the parent's process id.
    """
    watch_parent(int(arguments[0]))
    # The parent decides when to stop (it closes our stdin): Ctrl-C in a terminal reaches
    # the whole process group, and a traceback from each worker would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tasks = sys.stdin.buffer
    outcomes = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    # Whatever a task prints goes to stderr: stdout carries only the outcomes.
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    while True:
        try:
            message = receive(tasks)
        except EOFError:
            return
        send(outcomes, _outcome(message))


def _outcome(message: bytes) -> bytes:
    """Run one task; its pickled outcome, or the pickled error that stopped it."""
    outcome: tuple[bool, Any]
    try:
        func, args, kwargs = pickle.loads(message)
        outcome = (True, func(*args, **kwargs))
    except Exception as err:  # pylint: disable=broad-exception-caught  # goes back to the caller
        outcome = (False, err)
    try:
        return pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
    except Exception as err:  # pylint: disable=broad-exception-caught
        problem = RuntimeError(f"the outcome of a report task cannot be sent back: {err!r}")
        return pickle.dumps((False, problem), pickle.HIGHEST_PROTOCOL)


if __name__ == "__main__":
    main(sys.argv[1:])
