"""A cluster that fails under a report: one line naming what happened, never a traceback.

A worker killed while it runs a task (most often for running out of memory) and a scheduler
lost in the middle of a report are met for real: worker processes of a ``LocalCluster`` and a
scheduler in a process of its own, killed while a worker waits for its shard from a loopback
HTTP server that holds the answer back.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from outages_processor.errors import ClusterError, ClusterUnavailableError
from outages_processor.scripts.main import app
from outages_processor.tests.uptime_data import generate

pytestmark = pytest.mark.dask

runner = CliRunner()
WAIT_SECONDS = 60.0


class _HeldShard:
    """A loopback HTTP server of one shard that answers only once :meth:`release` is called."""

    def __init__(self, body: bytes) -> None:
        self.asked = threading.Event()
        self.released = threading.Event()
        asked, released = self.asked, self.released

        class Handler(BaseHTTPRequestHandler):
            """Signals the request, then waits before answering with the shard."""

            def do_GET(self) -> None:  # pylint: disable=invalid-name  # http.server's name
                """Answer once released."""
                asked.set()
                released.wait(WAIT_SECONDS)
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # the worker that asked is gone

            def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=W0622
                """Quiet."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/shard.csv"

    def release(self) -> None:
        """Let the held request (and any later one) be answered."""
        self.released.set()

    def close(self) -> None:
        """Stop the server."""
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(name="inputs")
def fixture_inputs(tmp_path: Path) -> Iterator[tuple[_HeldShard, Path, Path]]:
    """A held shard of a small data set, and its hours and time zones files."""
    status, hours, zones = generate(4, stores=5).write(tmp_path)
    shard = _HeldShard(status.read_bytes())
    yield shard, hours, zones
    shard.close()


def _report_while(
    address: str, inputs: tuple[_HeldShard, Path, Path], kill: Callable[[], None]
) -> Any:
    """Run ``uptime report --scheduler`` on the held shard; ``kill`` once a worker asks for it."""
    shard, hours, zones = inputs

    def killer() -> None:
        if shard.asked.wait(WAIT_SECONDS):
            kill()

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    result = runner.invoke(
        app,
        [
            "uptime", "report", "--status", shard.url, "--hours", str(hours),
            "--timezones", str(zones), "--scheduler", address, "--quiet",
        ],
    )  # fmt: skip
    shard.release()
    thread.join(WAIT_SECONDS)
    return result


def test_a_worker_killed_while_reading_is_one_line_and_exit_3(
    inputs: tuple[_HeldShard, Path, Path],
) -> None:
    """A worker process that dies under its task, with no retries allowed: exit 3, one line."""
    dask = pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = list(client.run(os.getpid).values())
        result = _report_while(
            cluster.scheduler_address, inputs, lambda: os.kill(pids[0], signal.SIGKILL)
        )
    assert result.exit_code == 3, result.output
    assert result.stderr == (
        "error: a Dask worker died while reading a status shard, on every worker the "
        "scheduler allows (a worker that runs out of memory is killed); give the workers "
        "more memory or add workers, and see the worker logs\n"
    )
    assert result.stdout == ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _dask(*arguments: str) -> subprocess.Popen[bytes]:
    """``dask scheduler`` or ``dask worker`` in a process of its own, its output dropped."""
    return subprocess.Popen(  # pylint: disable=consider-using-with  # ended by the caller
        [sys.executable, "-m", "distributed.cli.dask_" + arguments[0], *arguments[1:]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_scheduler_lost_during_the_report_is_one_line_and_exit_1(
    inputs: tuple[_HeldShard, Path, Path],
) -> None:
    """The scheduler killed while a worker reads its shard: exit 1 (try again), one line."""
    distributed = pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_free_port()}"
    scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1],
                      "--no-dashboard")  # fmt: skip
    worker = None
    try:
        with distributed.Client(address, timeout="30s") as client:
            worker = _dask("worker", address, "--nthreads", "1", "--no-dashboard")
            client.wait_for_workers(1, timeout=WAIT_SECONDS)
        result = _report_while(address, inputs, scheduler.kill)
    finally:
        for process in (scheduler, worker):
            if process is not None:
                process.kill()
                process.wait()
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"error: the report's tasks were cancelled by the Dask cluster at {address} "
        "(scheduler-connection-lost); check that the scheduler is running, then try again\n"
    )
    assert result.stdout == ""


class _Worker:  # pylint: disable=too-few-public-methods  # what KilledWorker keeps of one
    address = "tcp://127.0.0.1:1"


def _failures() -> list[tuple[Exception, type[ClusterError] | None, str]]:
    """Exceptions of a Dask run, the error each becomes, and a part of its message."""
    distributed = pytest.importorskip("distributed")
    from distributed.comm.core import CommClosedError  # pylint: disable=import-outside-toplevel

    uuid = "87fe88b2-dfc3-4448-8c13-6b3eb1db4564"
    killed = distributed.KilledWorker
    return [
        (killed(f"read_shard-{uuid}", _Worker(), 3), ClusterError, "while reading a status"),
        (killed(("compute_partition-1f2e3d4c", 0), _Worker(), 0), ClusterError,
         "while computing a partition of the stores"),
        (killed("other-1f2e3d4c5b", _Worker(), 0), ClusterError, "while running other,"),
        (CancelledError(), ClusterUnavailableError, "(cancelled)"),
        (CommClosedError("in <TCP>: Stream is closed"), ClusterUnavailableError,
         "(in <TCP>: Stream is closed)"),
        (TimeoutError(), ClusterUnavailableError, "(TimeoutError)"),
        (OSError("No space left on device"), None, ""),
        (ValueError("a bug"), None, ""),
        (ModuleNotFoundError("No module named 'x'"), None, ""),
    ]  # fmt: skip


def test_only_failures_of_the_cluster_itself_are_translated() -> None:
    """A table: each failure of the cluster becomes its error; anything else is left as is."""
    from outages_processor.reports.cluster import (  # pylint: disable=import-outside-toplevel
        cluster_error,
    )

    for raised, expected, words in _failures():
        error = cluster_error(raised, "tcp://127.0.0.1:8786")
        if expected is None:
            assert error is None, raised
            continue
        assert type(error) is expected, raised  # pylint: disable=unidiomatic-typecheck
        assert words in str(error) and "\n" not in str(error)
        assert error.transient == (expected is ClusterUnavailableError)
