"""The report service: trigger, get, states shared between processes, dead processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from outages_processor.errors import InputDataError, ReportError
from outages_processor.models.uptime import ReportState
from outages_processor.reports import ReportService, build_report
from outages_processor.reports import service as service_module
from outages_processor.tests.uptime_data import generate


@pytest.fixture(name="files")
def fixture_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A small data set as CSV files."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    return generate(11, stores=5, days=3).write(folder)


@pytest.fixture(name="service")
def fixture_service(tmp_path: Path) -> ReportService:
    """A service keeping its reports in a fresh folder."""
    return ReportService(tmp_path / "reports")


def _python(code: str, *args: str) -> subprocess.Popen[str]:
    """Start a second Python process running ``code``."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_trigger_answers_at_once_and_completes(
    service: ReportService, files: tuple[Path, Path, Path]
) -> None:
    """trigger() returns an id; the report becomes Complete with its CSV."""
    report_id = service.trigger(*files)
    assert len(report_id) == 32 and int(report_id, 16) >= 0
    assert service.get(report_id).state in (ReportState.RUNNING, ReportState.COMPLETE)
    status = service.wait(report_id, timeout=30)
    assert status.state is ReportState.COMPLETE
    assert status.csv_path == service.directory / f"{report_id}.csv"
    assert status.csv_path.is_file() and status.error is None and status.rows is None
    assert status.finished_at is not None and status.finished_at >= status.created_at


def test_rows_come_on_request(service: ReportService, files: tuple[Path, Path, Path]) -> None:
    """get(..., include_rows=True) returns the rows as written (2 decimals)."""
    report_id = service.trigger(*files)
    service.wait(report_id, timeout=30)
    rows = service.get(report_id, include_rows=True).rows
    expected = build_report(*files).rows
    assert rows is not None
    assert [row.store_id for row in rows] == [row.store_id for row in expected]
    assert [row.values()[1:] for row in rows] == [
        tuple(round(value, 2) for value in row.values()[1:]) for row in expected
    ]
    assert (
        service.get(report_id, include_rows=True).to_dict()["rows"][0]["store_id"]
        == rows[0].store_id
    )


def test_bad_input_makes_a_failed_report(
    service: ReportService, files: tuple[Path, Path, Path]
) -> None:
    """A report whose input is bad is Failed, with the file:line message."""
    status = files[0]
    status.write_text("store_id,status,timestamp_utc\n1,on,x\n", encoding="utf-8")
    report_id = service.trigger(*files)
    state = service.wait(report_id, timeout=30)
    assert state.state is ReportState.FAILED
    assert state.error == f"{status}:2: unknown status 'on': expected active or inactive"
    assert state.csv_path is None
    assert state.to_dict()["state"] == "Failed"


@pytest.mark.parametrize(
    "report_id", ["../etc/passwd", "0" * 31, "G" * 32, "0" * 33, "ABCDEF" + "0" * 26, 42]
)
def test_malformed_report_ids_are_refused(service: ReportService, report_id: object) -> None:
    """Ids that are not 32 lowercase hex digits (paths, other lengths) are refused."""
    with pytest.raises(ReportError, match="invalid report id .*: expected the 32 hexadecimal"):
        service.get(report_id)  # type: ignore[arg-type]


def test_unknown_report_ids_say_so(service: ReportService) -> None:
    """A well-formed id that no report has is a clear error."""
    with pytest.raises(ReportError) as caught:
        service.get("0" * 32)
    assert str(caught.value) == (
        f"unknown report id '{'0' * 32}': no such report in {service.directory}; "
        "use an id that trigger() returned for this directory"
    )


def test_another_process_sees_a_report_triggered_here(
    service: ReportService, files: tuple[Path, Path, Path]
) -> None:
    """A second process reads the state of a report this process triggered."""
    with service:
        report_id = service.trigger(*files)
    reader = _python(
        """
        import sys
        from outages_processor.reports import ReportService
        status = ReportService(sys.argv[1]).get(sys.argv[2], include_rows=True)
        print(status.state.value, len(status.rows))
        """,
        str(service.directory),
        report_id,
    )
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    assert out.split() == ["Complete", str(len(build_report(*files)))]


def test_this_process_sees_a_report_triggered_elsewhere(
    tmp_path: Path, files: tuple[Path, Path, Path]
) -> None:
    """A report triggered and finished by another process is Complete here, after a restart."""
    writer = _python(
        """
        import sys
        from outages_processor.reports import ReportService
        with ReportService(sys.argv[1]) as service:
            print(service.trigger(*sys.argv[2:]))
        """,
        str(tmp_path / "reports"),
        *map(str, files),
    )
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    status = ReportService(tmp_path / "reports").get(out.strip(), include_rows=True)
    assert status.state is ReportState.COMPLETE
    assert status.rows is not None and len(status.rows) == len(build_report(*files))


def _wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_report_left_running_by_a_dead_process_reads_as_failed(
    tmp_path: Path, files: tuple[Path, Path, Path]
) -> None:
    """If the process computing a report dies, the report reads as Failed, not Running."""
    fifo = tmp_path / "status.fifo"
    os.mkfifo(fifo)  # reading it blocks: the report stays Running until the process dies
    worker = _python(
        """
        import sys, time
        from outages_processor.reports import ReportService
        print(ReportService(sys.argv[1]).trigger(*sys.argv[2:]), flush=True)
        time.sleep(600)
        """,
        str(tmp_path / "reports"),
        str(fifo),
        *map(str, files[1:]),
    )
    assert worker.stdout is not None
    report_id = worker.stdout.readline().strip()
    service = ReportService(tmp_path / "reports")
    try:
        assert service.get(report_id).state is ReportState.RUNNING
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=30)
    status = service.get(report_id)
    assert status.state is ReportState.FAILED
    assert status.error is not None and "stopped before it finished" in status.error
    assert service.get(report_id).state is ReportState.FAILED  # and it stays so


def test_a_running_report_in_this_process_stays_running(
    service: ReportService, files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """While this process still computes a report, get() says Running."""
    fifo = tmp_path / "status.fifo"
    os.mkfifo(fifo)
    report_id = service.trigger(fifo, *files[1:])
    assert service.get(report_id).state is ReportState.RUNNING
    with open(fifo, "w", encoding="utf-8") as stream:  # unblock the reader: feed it polls
        stream.write(files[0].read_text(encoding="utf-8"))
    assert service.wait(report_id, timeout=30).state is ReportState.COMPLETE


def test_a_running_state_without_its_lock_reads_as_failed(service: ReportService) -> None:
    """A Running state whose lock file is gone can never finish: it reads as Failed."""
    report_id = "a" * 32
    (service.directory / f"{report_id}.json").write_text(
        json.dumps(
            {"report_id": report_id, "state": "Running", "created_at": "2023-01-01T00:00:00+00:00"}
        ),
        encoding="utf-8",
    )
    assert service.get(report_id).state is ReportState.FAILED


def test_unexpected_errors_fail_the_report(
    service: ReportService, files: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever goes wrong while computing ends in a Failed state, not a stuck Running."""

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("outages_processor.reports.service.build_report", broken)
    report_id = service.trigger(*files)
    status = service.wait(report_id, timeout=30)
    assert (status.state, status.error) == (ReportState.FAILED, "boom")


def test_a_report_that_finished_meanwhile_is_not_failed(
    service: ReportService, files: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Running state read just before the report completes turns into the final state."""
    report_id = service.trigger(*files)
    service.wait(report_id, timeout=30)
    lock = service.directory / f"{report_id}.lock"
    lock.touch()  # as if the finishing process had not removed it yet
    complete = service.files.read_state(report_id)
    readings = iter([attrs.evolve(complete, state=ReportState.RUNNING), complete])
    monkeypatch.setattr(service.files, "read_state", lambda _id: next(readings))
    assert service.get(report_id).state is ReportState.COMPLETE


def test_wait_on_a_report_of_another_service_object(
    service: ReportService, files: tuple[Path, Path, Path]
) -> None:
    """wait() for a report this object did not trigger just reads its state."""
    with service:
        report_id = service.trigger(*files)
    assert ReportService(service.directory).wait(report_id).state is ReportState.COMPLETE


# --------------------------------------------------------------------------- trigger checks


@pytest.mark.parametrize(
    ("position", "content", "message"),
    [
        (0, None, "cannot read the file: No such file or directory"),
        (1, None, "cannot read the file: No such file or directory"),
        (2, None, "cannot read the file: No such file or directory"),
        (0, "", "the status file is empty: expected a header row"),
        (0, "store_id,state,timestamp_utc\n", ":1: missing column 'status'"),
        (1, "store_id,start_time_local,end_time_local\n", ":1: missing column 'dayOfWeek'"),
        (2, "store_id,zone\n", ":1: missing column 'timezone_str'"),
        (2, b"store_id,timezone_str\xff\n", "not valid UTF-8"),
        (1, "dir", "cannot read the file: Is a directory"),
    ],
)
def test_trigger_refuses_unreadable_inputs_at_once(
    service: ReportService,
    files: tuple[Path, Path, Path],
    position: int,
    content: str | bytes | None,
    message: str,
) -> None:
    """A missing, unreadable or headless input raises at once; no report is made."""
    inputs = list(files)
    target = inputs[position]
    if content is None:
        target = inputs[position] = target.with_name("missing.csv")
    elif content == "dir":
        target.unlink()
        target.mkdir()
    elif isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    with pytest.raises(InputDataError) as caught:
        service.trigger(*inputs)
    assert str(caught.value).startswith(str(target)) and message in str(caught.value)
    assert not list(service.directory.iterdir())


@pytest.mark.parametrize(
    "options",
    [{"interpolation": "linear"}, {"on_error": "ignore"}, {"now": "2023-01-01 noon"}],
)
def test_trigger_refuses_invalid_options_at_once(
    service: ReportService, files: tuple[Path, Path, Path], options: dict[str, Any]
) -> None:
    """An invalid option is a ValueError from trigger() itself; no report is made."""
    with pytest.raises(ValueError):
        service.trigger(*files, **options)
    assert not list(service.directory.iterdir())


def test_workers_must_be_positive(tmp_path: Path) -> None:
    """A service of no workers is refused."""
    with pytest.raises(ValueError, match="workers must be at least 1"):
        ReportService(tmp_path, workers=0)


# --------------------------------------------------------------------------- damaged states


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"{not json", "not JSON"),
        (b'{"report_id": "' + b"b" * 32 + b'", "state": "Run', "not JSON"),
        (b"\xff\xfe{}", "can't decode"),
        (b"[1, 2]", "not the state of report"),
        (b'{"report_id": "' + b"c" * 32 + b'", "state": "Complete"}', "not the state of report"),
        (b'{"report_id": "' + b"b" * 32 + b'", "created_at": "2023-01-01"}', "KeyError"),
        (b'{"report_id": "' + b"b" * 32 + b'", "state": "Done", "created_at": "x"}', "ValueError"),
        (
            b'{"report_id": "' + b"b" * 32 + b'", "state": "Complete", "created_at": "x"}',
            "Invalid isoformat",
        ),
    ],
)
def test_a_damaged_state_file_is_a_report_error(
    service: ReportService, text: bytes, reason: str
) -> None:
    """A state file that is not a whole state of its report raises ReportError, saying so."""
    report_id = "b" * 32
    path = service.directory / f"{report_id}.json"
    path.write_bytes(text)
    with pytest.raises(ReportError) as caught:
        service.get(report_id)
    message = str(caught.value)
    assert message.startswith(f"the state of report '{report_id}' is damaged ({path}: ")
    assert reason in message and message.endswith("; trigger the report again")


# --------------------------------------------------------------------------- cancelling


def test_a_queued_report_cancelled_never_starts(
    tmp_path: Path, files: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report waiting for its turn, once cancelled, is Cancelled and never computes."""
    started: list[object] = []

    def recording(status: Any, *args: Any, **kwargs: Any) -> Any:
        started.append(status)
        return build_report(status, *args, **kwargs)

    monkeypatch.setattr(service_module, "build_report", recording)
    fifo = tmp_path / "status.fifo"
    os.mkfifo(fifo)
    with ReportService(tmp_path / "reports", workers=1) as service:
        first = service.trigger(fifo, *files[1:])
        queued = service.trigger(*files)
        assert service.cancel(queued) is True
        assert service.get(queued).state is ReportState.CANCELLED
        fifo.write_text(files[0].read_text(encoding="utf-8"), encoding="utf-8")
        assert service.wait(first, timeout=30).state is ReportState.COMPLETE
    assert started == [fifo]
    status = service.get(queued)
    assert (status.state, status.csv_path, status.error) == (ReportState.CANCELLED, None, None)
    assert status.finished_at is not None
    assert not list(service.directory.glob(f"{queued}.*[!n]"))  # only its .json is left


def test_a_running_report_cancelled_discards_its_result(
    service: ReportService, files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """A report cancelled while computing stays Cancelled, with no CSV, when it ends."""
    fifo = tmp_path / "status.fifo"
    os.mkfifo(fifo)
    report_id = service.trigger(fifo, *files[1:])
    assert service.cancel(report_id) is True
    fifo.write_text(files[0].read_text(encoding="utf-8"), encoding="utf-8")
    service.close()
    status = service.get(report_id)
    assert status.state is ReportState.CANCELLED
    assert not (service.directory / f"{report_id}.csv").exists()
    assert not (service.directory / f"{report_id}.lock").exists()


def test_cancelling_a_finished_report_changes_nothing(
    service: ReportService, files: tuple[Path, Path, Path]
) -> None:
    """cancel() of a report that has finished answers False; it stays Complete."""
    report_id = service.trigger(*files)
    service.wait(report_id, timeout=30)
    assert service.cancel(report_id) is False
    assert service.get(report_id).state is ReportState.COMPLETE


@pytest.mark.parametrize("report_id", ["0" * 32, "../x"])
def test_cancelling_an_unknown_report_is_an_error(service: ReportService, report_id: str) -> None:
    """cancel() of an id no report has, or a malformed one, raises ReportError."""
    with pytest.raises(ReportError, match="unknown report id|invalid report id"):
        service.cancel(report_id)


def test_a_report_running_elsewhere_cannot_be_cancelled_here(
    service: ReportService, files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Only the service object that triggered a running report can cancel it."""
    fifo = tmp_path / "status.fifo"
    os.mkfifo(fifo)
    report_id = service.trigger(fifo, *files[1:])
    try:
        with pytest.raises(ReportError, match="only the ReportService that triggered it"):
            ReportService(service.directory).cancel(report_id)
    finally:
        fifo.write_text(files[0].read_text(encoding="utf-8"), encoding="utf-8")
        service.close()
    assert service.get(report_id).state is ReportState.COMPLETE
