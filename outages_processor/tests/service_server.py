"""Real servers of the HTTP service for the tests: uvicorn on 127.0.0.1, on a free port.

* :func:`thread_server` runs the application in a thread of the test process (fast to start,
  measured by coverage); its log records go to the root logger (``caplog`` sees them).
* :func:`process_server` runs ``process_outages serve`` as a subprocess (several worker
  processes, a restart), its stderr kept in a file.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import uvicorn

from outages_processor.service import create_app
from outages_processor.settings import ServiceSettings

__all__ = ["Running", "free_port", "process_server", "settings_in", "thread_server"]

START_TIMEOUT = 30.0


@attrs.frozen
class Running:
    """A running server: its base URL, and where its stderr goes (subprocesses only)."""

    base_url: str
    stderr: Path | None = None

    def client(self, **kwargs: object) -> httpx.Client:
        """A client of this server."""
        return httpx.Client(base_url=self.base_url, timeout=60.0, **kwargs)  # type: ignore[arg-type]

    def stderr_text(self) -> str:
        """What the server printed on stderr so far."""
        return "" if self.stderr is None else self.stderr.read_text(encoding="utf-8")


def settings_in(folder: Path, **kwargs: object) -> ServiceSettings:
    """Service settings with every database and the reports inside ``folder``."""
    return ServiceSettings(
        events_db=str(folder / "outages.db"),
        uptime_db=str(folder / "uptime.db"),
        reports_dir=str(folder / "reports"),
        **kwargs,  # type: ignore[arg-type]
    )


def free_port() -> int:
    """A port free on 127.0.0.1 just now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def thread_server(settings: ServiceSettings) -> Iterator[Running]:
    """The service under uvicorn in a thread of this process, until the block ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), log_config=None, lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        yield Running(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        sock.close()


@contextlib.contextmanager
def process_server(
    settings: ServiceSettings, folder: Path, *, workers: int = 1
) -> Iterator[Running]:
    """``process_outages serve`` in a subprocess, until the block ends (then SIGTERM)."""
    stderr = folder / f"server-{time.monotonic_ns()}.log"
    port = free_port()
    command = [
        sys.executable, "-m", "outages_processor", "serve", "--port", str(port),
        "--workers", str(workers), "--events-db", settings.events_db,
        "--uptime-db", settings.uptime_db, "--reports-dir", settings.reports_dir,
    ]  # fmt: skip
    with open(stderr, "w", encoding="utf-8") as log:
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            command, stdout=log, stderr=log, env={**os.environ, "NO_COLOR": "1"}
        )
    running = Running(f"http://127.0.0.1:{port}", stderr)
    try:
        _wait_until_up(running, process)
        yield running
    finally:
        process.terminate()
        process.wait(START_TIMEOUT)


def _wait_until_up(running: Running, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        assert process.poll() is None, f"the server stopped: {running.stderr_text()}"
        assert time.monotonic() < deadline, f"the server did not start: {running.stderr_text()}"
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{running.base_url}/healthz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.05)
