"""What the request threads of one sandbox share: settings, faults, journals, connections."""

from __future__ import annotations

import socket
import threading

from outages_processor.sandbox._data import Dataset
from outages_processor.sandbox._faults import FaultDraw, Faults

__all__ = ["LogEntry", "PostEntry", "SandboxState"]

LogEntry = tuple[str, str, int | str]
"""``(method, path, status)``; the status is ``"drop"`` for a dropped connection."""

PostEntry = tuple[str, list[dict[str, str]]]
"""``(site_id, body)`` of a POST answered 200."""


class SandboxState:
    """Thread-safe state of one sandbox, shared by its request threads.

    Attributes:
        api_key: the only key accepted (never logged).
        dataset: the data served.
        stopping: set while the sandbox shuts down; cuts the added latency short.
    """

    def __init__(self, *, api_key: str, faults: Faults, dataset: Dataset) -> None:
        """Start with empty journals and the fault sequence at its beginning.

        Args:
            api_key: the only key accepted.
            faults: the faults to inject.
            dataset: the data to serve.
        """
        self.api_key = api_key
        self.dataset = dataset
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._draw = FaultDraw(faults)
        self._posts: list[PostEntry] = []
        self._log: list[LogEntry] = []
        self._connections: set[socket.socket] = set()

    @property
    def faults(self) -> Faults:
        """The faults injected now."""
        with self._lock:
            return self._draw.faults

    def reset(self, faults: Faults | None = None) -> None:
        """Empty the journals and restart the fault sequence from its seed.

        Args:
            faults: new faults to inject from now on, or None to keep the current ones.
        """
        with self._lock:
            self._draw = FaultDraw(self._draw.faults if faults is None else faults)
            self._posts.clear()
            self._log.clear()

    def delay(self) -> bool:
        """Wait for the added latency, or less if the sandbox stops meanwhile.

        Returns:
            True when the request should still be answered, False when the sandbox stops.
        """
        latency = self.faults.latency
        if latency:
            self.stopping.wait(latency)
        return not self.stopping.is_set()

    def draw_fault(self) -> str | None:
        """Draw the fault of the next request (see :meth:`FaultDraw.next_fault`)."""
        with self._lock:
            return self._draw.next_fault()

    def accept(self, site_id: str, body: list[dict[str, str]]) -> None:
        """Record a POST answered 200."""
        with self._lock:
            self._posts.append((site_id, body))

    def record(self, method: str, path: str, status: int | str) -> None:
        """Record how a request was answered (``"drop"`` when it was not)."""
        with self._lock:
            self._log.append((method, path, status))

    def accepted_posts(self) -> list[PostEntry]:
        """A copy of the POSTs answered 200, oldest first."""
        with self._lock:
            return [(site_id, [dict(item) for item in body]) for site_id, body in self._posts]

    def request_log(self) -> list[LogEntry]:
        """A copy of the requests answered (or dropped), oldest first."""
        with self._lock:
            return list(self._log)

    def track(self, connection: socket.socket) -> None:
        """Remember an open client connection, so that stopping can close it."""
        with self._lock:
            self._connections.add(connection)
            if self.stopping.is_set():
                _shut(connection)

    def untrack(self, connection: socket.socket) -> None:
        """Forget a client connection that is being closed."""
        with self._lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Shut every open client connection down, so that idle keep-alive threads end."""
        with self._lock:
            for connection in self._connections:
                _shut(connection)


def _shut(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed by the peer
        pass
