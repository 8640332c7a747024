"""Process pools safe for their host: fresh-interpreter workers, no orphans, no stale spills."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from array import array
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.errors import ReportError
from outages_processor.inputs.poll_blocks import PollBlock
from outages_processor.reports import PARALLEL_MIN_BYTES
from outages_processor.reports import pool as report_pool
from outages_processor.reports import spill
from outages_processor.reports.states import FileLock
from outages_processor.tests.uptime_data import write_csv

HAS_PROC = Path("/proc/self/stat").exists()
needs_proc = pytest.mark.skipif(not HAS_PROC, reason="reads processes from /proc")


def write_large_inputs(folder: Path, size: int = PARALLEL_MIN_BYTES + (1 << 20)) -> list[Path]:
    """Status, hours and time zones files, the status file at least ``size`` bytes."""
    stores = [str(1000 + number) for number in range(500)]
    status_path = write_csv(
        folder / "status.csv", "store_id,status,timestamp_utc", _status_lines(stores, size)
    )
    hours = [f"{store},{day},09:00,17:00" for store in stores[::2] for day in range(5)]
    hours_path = write_csv(
        folder / "hours.csv", "store_id,day,start_time_local,end_time_local", hours
    )
    zones = [f"{store},America/New_York" for store in stores[::3]]
    zones_path = write_csv(folder / "timezones.csv", "store_id,timezone_str", zones)
    return [status_path, hours_path, zones_path]


def _status_lines(stores: list[str], size: int) -> list[str]:
    """Hourly polls of every store, shuffled, at least ``size`` bytes of them."""
    rng = random.Random(11)
    start = datetime(2023, 1, 18, tzinfo=timezone.utc)
    lines: list[str] = []
    written = 0
    hour = 0
    while written < size:
        stamp = (start + timedelta(hours=hour)).strftime("%Y-%m-%d %H:")
        for store in stores:
            status = "inactive" if rng.random() < 0.1 else "active"
            line = f"{store},{status},{stamp}{rng.randrange(60):02d}:{rng.randrange(60):02d} UTC"
            lines.append(line)
            written += len(line) + 1
        hour += 1
    rng.shuffle(lines)
    return lines


@pytest.fixture(name="large", scope="module")
def fixture_large(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Inputs whose status file is large enough for a process pool."""
    return write_large_inputs(tmp_path_factory.mktemp("large"))


def children(pid: int) -> list[int]:
    """The live (not zombie) child processes of ``pid``."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            state = _stat(int(entry.name))
            if state is not None and state[1] == pid and state[0] != "Z":
                found.append(int(entry.name))
    return found


def _stat(pid: int) -> tuple[str, int] | None:
    """A process's state letter and parent pid, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def gone_within(pids: Iterable[int], seconds: float) -> bool:
    """True when every process in ``pids`` ends (or is a zombie) within ``seconds``."""
    deadline = time.monotonic() + seconds
    remaining = set(pids)
    while remaining and time.monotonic() < deadline:
        remaining = {pid for pid in remaining if (_stat(pid) or ("Z", 0))[0] != "Z"}
        time.sleep(0.05)
    return not remaining


def wait_until(condition: object, process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Poll ``condition()`` until true; fail if ``process`` ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, f"the process ended first: {process.communicate()}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


# --------------------------------------------------------------------------- the worker pool


def test_worker_pool_runs_tasks_in_other_processes() -> None:
    """Tasks run in worker processes and their results come back."""
    with report_pool.WorkerPool(2) as pool:
        assert pool.submit(pow, 2, 10).result(timeout=60) == 1024
        assert pool.submit(os.getpid).result(timeout=60) != os.getpid()


def test_worker_pool_raises_the_tasks_exception() -> None:
    """A task's exception comes back as itself."""
    with report_pool.WorkerPool(1) as pool:
        with pytest.raises(ValueError, match="invalid literal"):
            pool.submit(int, "x").result(timeout=60)


def test_a_crashed_worker_fails_its_task_clearly_and_is_replaced() -> None:
    """A worker that dies fails its task with a ReportError; the next task gets a new one."""
    with report_pool.WorkerPool(1) as pool:
        with pytest.raises(ReportError, match=r"ended unexpectedly \(exit code 7\) while running"):
            pool.submit(os._exit, 7).result(timeout=60)  # pylint: disable=protected-access
        assert pool.submit(pow, 3, 2).result(timeout=60) == 9


def test_what_a_task_prints_does_not_break_the_pipe() -> None:
    """Output a task prints goes to stderr, not into the results."""
    with report_pool.WorkerPool(1) as pool:
        assert pool.submit(print, "noise").result(timeout=60) is None
        assert pool.submit(pow, 2, 3).result(timeout=60) == 8


def test_worker_pool_never_runs_more_processes_than_its_size() -> None:
    """Eight tasks on a pool of two run in at most two processes."""
    with report_pool.WorkerPool(2) as pool:
        futures = [pool.submit(os.getpid) for _ in range(8)]
        assert len({future.result(timeout=60) for future in futures}) <= 2


def test_shutdown_can_cancel_queued_work() -> None:
    """shutdown(cancel_futures=True) cancels the tasks no worker has started."""
    pool = report_pool.WorkerPool(1)
    first = pool.submit(time.sleep, 0.5)
    queued = [pool.submit(pow, 2, 2) for _ in range(5)]
    pool.shutdown(wait=True, cancel_futures=True)
    assert first.result() is None
    assert all(future.cancelled() for future in queued)
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(pow, 2, 2)


@settings(max_examples=50, deadline=None)
@given(messages=st.lists(st.binary(max_size=3000), max_size=5), chunk=st.integers(1, 64))
def test_messages_cross_a_pipe_whole(messages: list[bytes], chunk: int) -> None:
    """Any messages, however the pipe splits its reads, come out as they went in."""
    sent = io.BytesIO()
    for message in messages:
        report_pool.send(sent, message)

    class Trickle(io.BytesIO):
        """A pipe that hands out at most ``chunk`` bytes a read."""

        def read(self, size: int | None = -1, /) -> bytes:
            return super().read(chunk if size is None or size < 0 else min(size, chunk))

    pipe = Trickle(sent.getvalue())
    assert [report_pool.receive(pipe) for _ in messages] == messages
    with pytest.raises(EOFError):
        report_pool.receive(pipe)


# --------------------------------------------------------------------------- orphans


def _command(files: list[Path], output: Path) -> list[str]:
    status, hours, zones = map(str, files)
    return [
        sys.executable,
        "-m",
        "outages_processor",
        "uptime",
        "report",
        "--status",
        status,
        "--hours",
        hours,
        "--timezones",
        zones,
        "--jobs",
        "2",
        # The pure engine: the columnar one computes a clean file without a pool.
        "--engine",
        "python",
        "--quiet",
        "--output",
        str(output),
    ]


@needs_proc
def test_killing_the_command_leaves_no_workers_alive(large: list[Path], tmp_path: Path) -> None:
    """kill -9 of `uptime report` ends its pool's workers within a few seconds."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    command = _command(large, tmp_path / "report.csv")
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as process:
        wait_until(lambda: children(process.pid), process)
        workers = children(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert gone_within(workers, 5)


def _folders(folder: Path, pattern: str) -> list[Path]:
    return list(folder.glob(pattern))


@needs_proc
def test_the_next_run_removes_the_spill_folder_of_a_killed_run(
    large: list[Path], tmp_path: Path
) -> None:
    """A killed run's spill folder (named with its pid) is removed by the next run."""
    env = {**os.environ, "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    command = _command(large, tmp_path / "report.csv")
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as process:
        pattern = f"uptime-{process.pid}-*"
        wait_until(lambda: _folders(tmp_path / "tmp", pattern) and children(process.pid), process)
        workers = children(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()
    # Its forked workers share its lock on the folder (they may still write there) until
    # they notice, within a second, that it died.
    assert gone_within(workers, 5)
    assert _folders(tmp_path / "tmp", pattern)
    again = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 0, again.stderr
    assert not list((tmp_path / "tmp").iterdir())


@needs_proc
def test_killing_a_service_host_leaves_no_workers_alive(large: list[Path], tmp_path: Path) -> None:
    """kill -9 of a process running a ReportService ends the service's workers too."""
    host = subprocess.Popen(  # pylint: disable=consider-using-with
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time
                from outages_processor.reports import ReportService
                service = ReportService(sys.argv[1], workers=2)
                print(service.trigger(*sys.argv[2:]), flush=True)
                time.sleep(600)
                """
            ),
            str(tmp_path / "reports"),
            *map(str, large),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: children(host.pid), host)
        workers = children(host.pid)
    finally:
        host.send_signal(signal.SIGKILL)
        host.communicate(timeout=30)
    assert gone_within(workers, 5)


# --------------------------------------------------------------------------- spill folders


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(process.stdout)


@pytest.mark.parametrize(
    ("owner", "locked", "removed"),
    [
        ("dead", False, True),  # killed outright: its lock died with it
        ("dead", True, False),  # its pid was reused by a process in another namespace
        ("alive", False, False),  # a live run between making its folder and locking it
        ("alive", True, False),  # a live run
    ],
)
def test_stale_spill_folders_are_those_of_dead_owners(
    tmp_path: Path, owner: str, locked: bool, removed: bool
) -> None:
    """A spill folder goes only when its owner's pid is gone and nobody holds its lock."""
    pid = _dead_pid() if owner == "dead" else os.getpid()
    folder = tmp_path / f"uptime-{pid}-abc_12"
    folder.mkdir()
    (folder / "1-0.polls").write_bytes(b"x" * 100)
    lock = FileLock.hold(folder / ".lock") if locked else None
    try:
        found = spill.remove_stale_folders(str(tmp_path))
    finally:
        if lock is not None:
            lock.release()
    assert (found == [str(folder)], not folder.exists()) == (removed, removed)


def test_other_folders_are_left_alone(tmp_path: Path) -> None:
    """Folders not named like a spill folder stay, whatever their name holds."""
    names = ["uptime-abc", f"uptime-{_dead_pid()}", "other-1-x", f"uptime-{_dead_pid()}-x.y"]
    for name in names:
        (tmp_path / name).mkdir()
    assert not spill.remove_stale_folders(str(tmp_path))
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names)


def test_a_spill_folder_is_named_for_its_owner_and_removed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """spill_folder() makes uptime-<pid>-..., and removes it when done."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with spill.spill_folder() as folder:
        assert Path(folder).parent == tmp_path
        assert Path(folder).name.startswith(f"uptime-{os.getpid()}-")
    assert not list(tmp_path.iterdir())


def test_a_spilled_block_reads_back(tmp_path: Path) -> None:
    """A block written to a file comes back whole; the stand-in keeps the ids and the name."""
    block = PollBlock(["a", "b"], array("q", [1, 0, 1, 2]), array("d", [1.0, -2.0, 3.0, 4.0]))
    stand_in = spill.spill_block(block, tmp_path / "block")
    assert stand_in.store_ids == ["a", "b"] and not stand_in.times
    assert stand_in.path == str(tmp_path / "block")
    assert list(stand_in.polls()) == list(block.polls())
    assert list(stand_in.polls()) == [
        ("a", array("d", [1.0]), array("d")),
        ("b", array("d", [-2.0]), array("d", [3.0, 4.0])),
    ]
