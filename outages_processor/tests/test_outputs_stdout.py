"""Stdout that cannot be written (full, or a pipe closed by its reader), in real processes.

CliRunner gives a command an in-memory stdout that never fails, so these tests run the
command line as a subprocess with stdout on /dev/full or on a pipe whose reading end is
closed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import typer

from outages_processor.scripts._common import stdout_data
from outages_processor.events import ingest_files
from outages_processor.tests.uptime_data import generate

FULL = "No space left on device"
BROKEN = "Broken pipe"
REPORTS = "controller_id,outage_type,timestamp\nc1,led,0\nc1,led,600\nc2,battery,60\n"


def _run(args: list[str], stdout: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m outages_processor ARGS`` with ``stdout`` as its standard output."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KRAKENFLEX_", "OP_", "OUTAGES_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "outages_processor", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env=env,
        text=True,
        timeout=120,
        check=False,
    )


def _to_dev_full(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    with open("/dev/full", "wb") as full:
        return _run(args, full.fileno(), cwd)


def _to_closed_pipe(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    reading, writing = os.pipe()
    os.close(reading)  # closed before the child starts: every write fails with EPIPE
    try:
        return _run(args, writing, cwd)
    finally:
        os.close(writing)


SINKS: dict[str, tuple[Callable[[list[str], Path], subprocess.CompletedProcess[str]], str]] = {
    "dev-full": (_to_dev_full, FULL),
    "closed-pipe": (_to_closed_pipe, BROKEN),
}


@pytest.fixture(name="db")
def fixture_db(tmp_path: Path) -> Path:
    """An event database with two events."""
    source = tmp_path / "reports.csv"
    source.write_text(REPORTS, encoding="utf-8")
    path = tmp_path / "events.db"
    ingest_files(path, [source], tolerance=timedelta(minutes=12))
    return path


def _assert_one_clean_line(result: subprocess.CompletedProcess[str], message: str) -> None:
    """Exit 3 and the last stderr line is ``message``; no traceback, no exit-time noise."""
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines()[-1] == message
    assert "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr


@pytest.mark.parametrize("sink", sorted(SINKS))
@pytest.mark.parametrize("fmt", [[], ["--json"], ["--csv"]], ids=["table", "json", "csv"])
def test_events_list(sink: str, fmt: list[str], db: Path, tmp_path: Path) -> None:
    """events list to an unwritable stdout: one line, exit 3."""
    run, reason = SINKS[sink]
    result = run(["events", "list", "--db", str(db), *fmt], tmp_path)
    _assert_one_clean_line(result, f"error: could not write stdout: {reason}")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("sink", sorted(SINKS))
def test_events_ingest_says_the_batch_was_stored(sink: str, tmp_path: Path) -> None:
    """events ingest whose summary cannot be printed says the batch was stored."""
    run, reason = SINKS[sink]
    source = tmp_path / "reports.csv"
    source.write_text(REPORTS, encoding="utf-8")
    result = run(["events", "ingest", "--db", "e.db", str(source)], tmp_path)
    _assert_one_clean_line(
        result, f"error: stored the batch in e.db but could not write stdout: {reason}"
    )
    assert len(result.stderr.splitlines()) == 1
    assert (tmp_path / "e.db").is_file()


@pytest.mark.parametrize("sink", sorted(SINKS))
def test_uptime_report_on_stdout(sink: str, tmp_path: Path) -> None:
    """uptime report (CSV on stdout) to an unwritable stdout: one line, exit 3."""
    run, reason = SINKS[sink]
    status, hours, zones = generate(5, stores=4).write(tmp_path)
    args = ["uptime", "report", "--status", str(status), "--hours", str(hours),
            "--timezones", str(zones), "--jobs", "1", "-q"]  # fmt: skip
    result = run(args, tmp_path)
    _assert_one_clean_line(result, f"error: could not write stdout: {reason}")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("sink", sorted(SINKS))
def test_site_job_json_says_the_outages_were_posted(sink: str, tmp_path: Path) -> None:
    """--json to an unwritable stdout after posting: the message says what was posted."""
    run, reason = SINKS[sink]
    output = tmp_path / "sites.jsonl"
    args = ["-s", "norwich-pear-tree", "-s", "kingfisher", "--sandbox", "--json",
            "--output", str(output)]  # fmt: skip
    result = run(args, tmp_path)
    _assert_one_clean_line(
        result,
        "error: posted 10 outages to norwich-pear-tree, 3 outages to kingfisher but could "
        f"not write stdout: {reason}",
    )
    assert not output.exists()


class _BrokenStdout:  # pylint: disable=too-few-public-methods
    """A stdout with no file descriptor whose writes fail with EPIPE."""

    def write(self, _text: str) -> int:
        """Raise BrokenPipeError."""
        raise BrokenPipeError(32, BROKEN)


def test_stdout_data_turns_a_write_error_into_exit_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """stdout_data: a failed write is ``error: DONE but could not write stdout``, exit 3."""
    # Set here, not in a fixture: capsys replaces sys.stdout when the test starts.
    monkeypatch.setattr(sys, "stdout", _BrokenStdout())
    with pytest.raises(typer.Exit) as caught:
        with stdout_data("posted 1 outage to x") as stdout:
            stdout.write("data\n")
    assert caught.value.exit_code == 3
    assert capsys.readouterr().err == (
        f"error: posted 1 outage to x but could not write stdout: {BROKEN}\n"
    )


def test_stdout_data_leaves_other_errors_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """An OSError not from stdout (a file) passes through stdout_data unchanged."""
    monkeypatch.setattr(sys, "stdout", _BrokenStdout())
    with pytest.raises(FileNotFoundError):
        with stdout_data():
            raise FileNotFoundError(2, "No such file or directory", "x")
