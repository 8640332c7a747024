"""The report service in a host program: no re-import of it, one bounded pool, cancelling."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from outages_processor.models.uptime import ReportState
from outages_processor.reports import ReportService
from outages_processor.reports.pool import WORKER_MODULE
from outages_processor.reports.spill import PREFIX
from outages_processor.tests.test_pool import children, needs_proc, write_large_inputs


@pytest.fixture(name="large", scope="module")
def fixture_large(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Inputs whose status file is large enough for the service's process pool."""
    return write_large_inputs(tmp_path_factory.mktemp("large"))


def test_an_unguarded_host_script_runs_once(large: list[Path], tmp_path: Path) -> None:
    """A script without a __main__ guard triggers one report, prints once: nothing re-runs it."""
    script = tmp_path / "host.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from outages_processor.reports import ReportService

            service = ReportService(sys.argv[1], workers=2)
            report_id = service.trigger(*sys.argv[2:])
            print("triggered", flush=True)
            print(service.wait(report_id).state.value)
            service.close()
            """
        ),
        encoding="utf-8",
    )
    reports = tmp_path / "reports"
    run = subprocess.run(
        [sys.executable, str(script), str(reports), *map(str, large)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["triggered", "Complete"]
    assert len(list(reports.glob("*.json"))) == 1


def _pool_workers() -> set[int]:
    """This process's report worker processes."""
    found: set[int] = set()
    for pid in children(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if WORKER_MODULE.encode() in command:
            found.add(pid)
    return found


@needs_proc
def test_reports_at_once_share_one_bounded_pool(large: list[Path], tmp_path: Path) -> None:
    """Three large reports at once never use more than the service's two worker processes."""
    seen: set[int] = set()
    most = 0
    with ReportService(tmp_path / "reports", workers=2) as service:
        ids = [service.trigger(*large) for _ in range(3)]
        while any(service.get(report_id).state is ReportState.RUNNING for report_id in ids):
            workers = _pool_workers()
            seen |= workers
            most = max(most, len(workers))
            time.sleep(0.01)
        assert [service.get(report_id).state for report_id in ids] == [ReportState.COMPLETE] * 3
    assert 1 <= most <= 2 and 1 <= len(seen) <= 2
    assert not _pool_workers()  # close() stopped them


def test_a_cancelled_pool_report_leaves_the_pool_usable(large: list[Path], tmp_path: Path) -> None:
    """Cancelling a report computing on the pool ends it Cancelled; the next one completes."""
    with ReportService(tmp_path / "reports", workers=2) as service:
        before = _spill_folders()
        first = service.trigger(*large)
        # Cancel once the report computes on the pool (its spill folder exists), not after a
        # fixed sleep, which on a quiet machine may come after the report has finished.
        deadline = time.monotonic() + 60
        while not _spill_folders() - before:
            assert time.monotonic() < deadline, "the report never used the pool"
            time.sleep(0.005)
        assert service.cancel(first)
        second = service.trigger(*large)
        assert service.wait(first, timeout=120).state is ReportState.CANCELLED
        assert service.wait(second, timeout=120).state is ReportState.COMPLETE
    assert not (tmp_path / "reports" / f"{first}.csv").exists()
    assert service.get(first).state is ReportState.CANCELLED


def _spill_folders() -> set[str]:
    """The names of this process's spill folders in the temporary folder."""
    prefix = f"{PREFIX}{os.getpid()}-"
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith(prefix)}


def test_reports_beyond_the_bound_wait_their_turn(tmp_path: Path) -> None:
    """With workers=1, a second report starts only after the first one has finished."""
    fifo = tmp_path / "status.fifo"
    os.mkfifo(fifo)
    small = write_large_inputs(tmp_path, size=1000)
    with ReportService(tmp_path / "reports", workers=1) as service:
        first = service.trigger(fifo, *small[1:])
        second = service.trigger(*small)
        time.sleep(0.3)
        assert not (tmp_path / "reports" / f"{second}.csv").exists()
        assert service.get(second).state is ReportState.RUNNING
        writer = threading.Thread(target=fifo.write_text, args=(small[0].read_text(),))
        writer.start()
        assert service.wait(second, timeout=60).state is ReportState.COMPLETE
        writer.join()
        assert service.get(first).state is ReportState.COMPLETE
