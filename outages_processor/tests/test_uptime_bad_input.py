"""Status files the fast reader used to get wrong, and inputs a report cannot take.

Regression tests for quoted fields that dropped polls, polls before 1970 read with the
opposite status, and bad input (a time zone folder, instants out of range, blank lines
before the header, bare carriage returns, a worker process killed by the system) that ended
in a traceback or a wrong message.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outages_processor.core.business_hours import load_zone
from outages_processor.core.uptime import compute_uptime
from outages_processor.errors import InputDataError, ReportError
from outages_processor.models.uptime import FIRST_INSTANT, LAST_INSTANT, Poll
from outages_processor.reports import ReportService, build_report, building, write_report_csv
from outages_processor.reports.pool import WORKER_DIED
from outages_processor.scripts.main import app
from outages_processor.inputs import poll_blocks
from outages_processor.inputs.timezones import is_time_zone, read_timezones

runner = CliRunner()
HEADER = "store_id,status,timestamp_utc"
NO_HOURS = "store_id,dayOfWeek,start_time_local,end_time_local\n"
NO_ZONES = "store_id,timezone_str\n"
FULL_UPTIME = "60.00,24.00,168.00,0.00,0.00,0.00"
RANGE = "out of range: expected an instant from 0001-01-15 to 9999-12-17 (UTC)"
HINT = "(fix the row, or leave bad rows out with --on-error skip)"


def _files(
    folder: Path, status: str, zones: str = NO_ZONES, hours: str = NO_HOURS
) -> tuple[Path, Path, Path]:
    paths = (folder / "status.csv", folder / "hours.csv", folder / "zones.csv")
    paths[0].write_bytes(status.encode("utf-8"))
    paths[1].write_text(hours, encoding="utf-8")
    paths[2].write_text(zones, encoding="utf-8")
    return paths


def _args(files: tuple[Path, Path, Path], *extra: str) -> list[str]:
    status, hours, zones = files
    return ["uptime", "report", "--status", str(status), "--hours", str(hours)] + [
        "--timezones",
        str(zones),
        *extra,
    ]


def _csv(files: tuple[Path, Path, Path], **options: object) -> str:
    stream = io.StringIO()
    write_report_csv(build_report(*files, **options), stream)  # type: ignore[arg-type]
    return stream.getvalue()


def _large_with_a_quote() -> str:
    """Three stores; the only poll of the last two comes after 32 KiB, one id quoted."""
    rows = [f"1,active,2023-01-25 {n // 3600 % 10:02}:{n // 60 % 60:02}:{n % 60:02} UTC"
            for n in range(1200)]
    rows += ['"x",active,2023-01-25 11:00:00 UTC', "3,inactive,2023-01-25 11:30:00 UTC"]
    return "\n".join([HEADER, *rows]) + "\n"


# ----------------------------------------------------------------------------- point 1


@pytest.mark.parametrize("jobs", [1, None])
def test_a_quoted_field_keeps_every_store(jobs: int | None, tmp_path: Path) -> None:
    """A quoted id after the first 32 KiB no longer drops the polls from its chunk on."""
    files = _files(tmp_path, _large_with_a_quote())
    assert files[0].stat().st_size > 1 << 15
    report = build_report(*files, jobs=jobs)
    assert [row.store_id for row in report] == ["1", "3", "x"]


def test_the_command_writes_every_store_of_a_quoted_file(tmp_path: Path) -> None:
    """The command reports the three stores of a file with one quoted field."""
    result = runner.invoke(app, _args(_files(tmp_path, _large_with_a_quote()), "--jobs", "1"))
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("wrote 3 stores (now: 2023-01-25 11:30:00 UTC)")


def test_a_fully_quoted_file_is_read(tmp_path: Path) -> None:
    """Every field quoted, the header too: the report of the plain file, not 'no status rows'."""
    plain = f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n2,inactive,2023-01-25 11:00:00 UTC\n"
    quoted = "\n".join(
        ",".join(f'"{field}"' for field in line.split(",")) for line in plain.splitlines()
    )
    (tmp_path / "plain").mkdir()
    assert _csv(_files(tmp_path, quoted)) == _csv(_files(tmp_path / "plain", plain))


def test_the_report_service_reads_a_quoted_file(tmp_path: Path) -> None:
    """ReportService, which builds reports the same way, keeps every store too."""
    files = _files(tmp_path, _large_with_a_quote())
    with ReportService(tmp_path / "reports") as service:
        done = service.wait(service.trigger(*files), timeout=60)
    assert done.csv_path is not None, done.error
    assert done.csv_path.read_text(encoding="utf-8").count("\n") == 4


# ----------------------------------------------------------------------------- point 2


def test_an_active_poll_before_1970_is_uptime(tmp_path: Path) -> None:
    """One active poll at 1969-12-31 23:30 reads as active: full uptime, no downtime."""
    files = _files(tmp_path, f"{HEADER}\n1,active,1969-12-31 23:30:00 UTC\n")
    assert _csv(files).splitlines()[1] == f"1,{FULL_UPTIME}"


def test_an_inactive_poll_before_1970_is_downtime(tmp_path: Path) -> None:
    """Before 1970 too, the status turns at the midpoint from an inactive to an active poll."""
    files = _files(
        tmp_path,
        f"{HEADER}\n1,inactive,1969-12-31 22:00:00 UTC\n1,active,1969-12-31 23:00:00 UTC\n",
    )
    assert _csv(files).splitlines()[1] == "1,30.00,0.50,0.50,30.00,23.50,167.50"


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(
        min_value=FIRST_INSTANT.replace(tzinfo=None),
        max_value=LAST_INSTANT.replace(tzinfo=None),
        timezones=st.just(timezone.utc),
    ),
    active=st.booleans(),
)
def test_a_poll_keeps_its_status_and_exact_time(moment: datetime, active: bool) -> None:
    """Any poll in range is grouped with its status and exactly its time, whatever its sign."""
    status = "active" if active else "inactive"
    part = poll_blocks.group_polls([Poll("s", status, moment)])
    ((store_id, found_active, found_inactive),) = part.blocks[0].polls()
    assert store_id == "s"
    assert list(found_active if active else found_inactive) == [moment.timestamp()]
    assert not (found_inactive if active else found_active)


# ----------------------------------------------------------------------------- point 9


def test_a_bare_cr_status_file_gives_the_lf_report(tmp_path: Path) -> None:
    """Bare carriage returns end lines: the command prints the report of the LF file."""
    rows = [HEADER, "1,active,2023-01-25 10:00:00 UTC", "2,inactive,2023-01-25 11:00:00 UTC"]
    (tmp_path / "lf").mkdir()
    lf = runner.invoke(app, _args(_files(tmp_path / "lf", "\n".join(rows) + "\n"), "-q"))
    cr = runner.invoke(app, _args(_files(tmp_path, "\r".join(rows) + "\r"), "-q"))
    assert cr.exit_code == 0, cr.output
    assert cr.stdout == lf.stdout and cr.stdout.count("\n") == 3


@pytest.mark.parametrize(
    "name", ["America", "Etc", "America/", "", "..", "/etc/localtime", "x" * 300, "zone.tab"]
)
def test_names_that_are_not_time_zones(name: str) -> None:
    """Folders of the zone database, paths, overlong names: not zones, and ValueError."""
    assert not is_time_zone(name)
    with pytest.raises(ValueError, match="unknown time zone"):
        load_zone(name)


def test_a_time_zone_folder_is_a_bad_row(tmp_path: Path) -> None:
    """Time zone America is a bad row with file:line (it was 'cannot write ...: Is a directory')."""
    zones = NO_ZONES + "1,America/Chicago\n2,America\n"
    files = _files(tmp_path, f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n", zones)
    result = runner.invoke(app, _args(files))
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: {files[2]}:3: unknown time zone 'America': expected an IANA name such as "
        f"America/New_York {HINT}\n"
    )
    assert "Traceback" not in result.output


def test_a_time_zone_folder_is_skipped_and_listed(tmp_path: Path) -> None:
    """With --on-error skip the America row is left out and listed; the report is written."""
    zones = NO_ZONES + "2,America\n"
    files = _files(tmp_path, f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n", zones)
    result = runner.invoke(app, _args(files, "--on-error", "skip"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == f"1,{FULL_UPTIME}"
    assert result.stderr.splitlines()[1] == (
        f"skipped {files[2]}:2: unknown time zone 'America': expected an IANA name such as "
        "America/New_York"
    )


def test_the_time_zones_reader_rejects_a_folder(tmp_path: Path) -> None:
    """read_timezones names the line of a folder in skip mode, too."""
    path = tmp_path / "zones.csv"
    path.write_text(NO_ZONES + "1,Etc\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"zones.csv:2: unknown time zone 'Etc'"):
        read_timezones(path)


OUT_OF_RANGE = [
    "9999-12-31 00:00:00 UTC",
    "9999-12-20T00:00:00Z",
    "0001-01-01 00:00:00 UTC",
    "0001-01-14T23:59:59Z",
    "0001-01-01T00:00:00+01:00",
]


@pytest.mark.parametrize("stamp", OUT_OF_RANGE)
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_poll_out_of_range_is_a_bad_row(stamp: str, jobs: int, tmp_path: Path) -> None:
    """A poll whose windows would overflow stops the report at its line, exit 3."""
    status = f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n2,inactive,{stamp}\n"
    files = _files(tmp_path, status)
    result = runner.invoke(app, _args(files, "--jobs", str(jobs)))
    assert result.exit_code == 3
    assert result.stderr == f"error: {files[0]}:3: timestamp {stamp!r} is {RANGE} {HINT}\n"
    assert result.stdout == ""


@pytest.mark.parametrize("stamp", OUT_OF_RANGE)
def test_a_poll_out_of_range_is_skipped_and_listed(stamp: str, tmp_path: Path) -> None:
    """With --on-error skip the poll is left out and listed, and the others are reported."""
    status = f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n2,inactive,{stamp}\n"
    files = _files(tmp_path, status)
    result = runner.invoke(app, _args(files, "--on-error", "skip"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [f"1,{FULL_UPTIME}"]
    assert f"skipped {files[0]}:3: timestamp {stamp!r} is {RANGE}" in result.stderr.splitlines()


@pytest.mark.parametrize("stamp", OUT_OF_RANGE)
def test_every_reader_rejects_a_poll_out_of_range(stamp: str, tmp_path: Path) -> None:
    """The byte-range reader and the CSV module's reader agree on the bad row."""
    status = f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n2,inactive,{stamp}\n"
    files = _files(tmp_path, status)
    by_path = build_report(*files, jobs=1, on_error="skip").rejects
    by_stream = build_report(io.StringIO(status), *files[1:], on_error="skip").rejects
    assert [(r.line, r.reason) for r in by_path] == [(r.line, r.reason) for r in by_stream]
    assert [r.line for r in by_path] == [3]


@pytest.mark.parametrize(
    "moment",
    [datetime(9999, 12, 31, tzinfo=timezone.utc), datetime(1, 1, 1, tzinfo=timezone.utc)],
)
def test_an_in_memory_poll_out_of_range_is_a_value_error(moment: datetime) -> None:
    """A Poll model out of range cannot be made."""
    with pytest.raises(ValueError, match=f"timestamp .* is {re.escape(RANGE)}"):
        Poll("1", "active", moment)


@pytest.mark.parametrize("now", ["0001-01-01", "9999-12-31", "9999-12-31T23:59:59-12:00"])
def test_now_out_of_range_is_a_usage_error(now: str, tmp_path: Path) -> None:
    """--now whose windows would overflow exits 2 with the reason, without a traceback."""
    files = _files(tmp_path, f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n")
    result = runner.invoke(app, _args(files, "--now", now))
    assert result.exit_code == 2
    assert f"Invalid value for '--now': '{now}' is {RANGE}" in " ".join(result.stderr.split())
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "now",
    [datetime(1, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, tzinfo=timezone.utc)],
)
def test_the_library_refuses_now_out_of_range(now: datetime, tmp_path: Path) -> None:
    """build_report and compute_uptime raise ValueError for such a now."""
    files = _files(tmp_path, f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n")
    with pytest.raises(ValueError, match=f"now .* is {re.escape(RANGE)}"):
        build_report(*files, now=now)
    poll = Poll("1", "active", datetime(2023, 1, 25, tzinfo=timezone.utc))
    with pytest.raises(ValueError, match=f"now .* is {re.escape(RANGE)}"):
        compute_uptime([poll], now=now)


@pytest.mark.parametrize(
    ("stamp", "zone"),
    [
        ("0001-01-15 00:00:00 UTC", "Asia/Manila"),  # local mean time, UTC-15:56
        ("0001-01-15 00:00:00 UTC", "Pacific/Kiritimati"),
        ("9999-12-17T00:00:00Z", "Pacific/Kiritimati"),  # UTC+14
        ("9999-12-17T00:00:00Z", "America/Sitka"),
    ],
)
def test_the_extreme_instants_in_range_compute(stamp: str, zone: str, tmp_path: Path) -> None:
    """Polls at the first and last instants a report takes compute, local days and all."""
    every_day = NO_HOURS + "".join(f"1,{day},00:00,00:00\n" for day in range(7))
    zones = f"{NO_ZONES}1,{zone}\n"
    files = _files(tmp_path, f"{HEADER}\n1,active,{stamp}\n", zones, every_day)
    assert _csv(files).splitlines()[1] == f"1,{FULL_UPTIME}"


@pytest.mark.parametrize("jobs", [1, 2])
def test_blank_lines_before_the_header_are_skipped(jobs: int, tmp_path: Path) -> None:
    """Blank lines (LF, CRLF) before the header are not 'an empty file'."""
    rows = f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n"
    files = _files(tmp_path, "\n\r\n" + rows)
    (tmp_path / "plain").mkdir()
    expected = _csv(_files(tmp_path / "plain", rows))
    assert _csv(files, jobs=jobs) == expected
    assert _csv((io.StringIO("\n\n" + rows), *files[1:])) == expected  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- issue 7


def _killed(*_args: Any) -> None:
    """Stands for a worker task the out-of-memory killer ends (runs in a worker)."""
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.parametrize("stage", ["read_part", "compute_partition"])
def test_a_killed_pool_worker_is_a_report_error(
    stage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process pool worker killed while reading or computing is a ReportError to act on."""
    files = _files(tmp_path, f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n")
    monkeypatch.setattr(building, stage, _killed)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        with pytest.raises(ReportError) as caught:
            build_report(*files, executor=pool, jobs=2)
    assert str(caught.value) == WORKER_DIED
    assert isinstance(caught.value.__cause__, BrokenProcessPool)
    assert not caught.value.transient


_KILLED_COMMAND = """
import os, signal, sys
from outages_processor.reports import building
from outages_processor.scripts.main import app

def killed(*args):
    os.kill(os.getpid(), signal.SIGKILL)

building.read_part = killed  # each forked worker dies as the OOM killer ends it
building.PARALLEL_MIN_BYTES = 0
app(sys.argv[1:], prog_name="process_outages")
"""


def test_the_command_says_one_line_when_a_worker_is_killed(tmp_path: Path) -> None:
    """The command (forked pool, real process) prints one line and exits 3, no traceback."""
    files = _files(tmp_path, f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n")
    script = tmp_path / "killed.py"
    script.write_text(_KILLED_COMMAND, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), *_args(files, "--jobs", "2")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert done.stderr == f"error: {WORKER_DIED}\n"
    assert done.stdout == ""


@pytest.mark.parametrize("which", [1, 2], ids=["hours", "zones"])
def test_an_hours_or_zones_row_not_utf8_is_skipped_and_listed(which: int, tmp_path: Path) -> None:
    """--on-error skip: such a row of the hours or time zones file is listed, not fatal."""
    files = _files(tmp_path, f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n")
    good = (NO_HOURS + "2,0,09:00,17:00\n", NO_ZONES + "2,UTC\n")[which - 1]
    files[which].write_bytes(good.encode("utf-8") + b"3\xff,0,09:00,17:00\n")
    result = runner.invoke(app, _args(files, "--on-error", "skip"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == f"1,{FULL_UPTIME}"
    assert result.stderr.splitlines()[1:] == [f"skipped {files[which]}:3: not valid UTF-8"]


@pytest.mark.parametrize("which", [1, 2], ids=["hours", "zones"])
def test_an_hours_or_zones_row_not_utf8_stops_with_its_line(which: int, tmp_path: Path) -> None:
    """Fail mode: one line naming the file and line, exit 3, no report."""
    files = _files(tmp_path, f"{HEADER}\n1,active,2023-01-25 10:00:00 UTC\n")
    good = (NO_HOURS + "2,0,09:00,17:00\n", NO_ZONES + "2,UTC\n")[which - 1]
    files[which].write_bytes(good.encode("utf-8") + b"3\xff,0,09:00,17:00\n")
    result = runner.invoke(app, _args(files))
    assert result.exit_code == 3
    assert result.stderr == f"error: {files[which]}:3: not valid UTF-8 {HINT}\n"
    assert result.stdout == ""
