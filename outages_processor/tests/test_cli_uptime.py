"""``process_outages uptime report`` end to end through the command line."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outages_processor.reports import build_report, write_report_csv
from outages_processor.scripts import uptime as uptime_cli
from outages_processor.scripts.main import app
from outages_processor.tests.uptime_data import generate, write_csv

runner = CliRunner()


@pytest.fixture(name="files")
def fixture_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A small generated data set as the three CSV files."""
    return generate(5, stores=8).write(tmp_path)


def _args(files: tuple[Path, Path, Path], *extra: str) -> list[str]:
    status, hours, zones = files
    return [
        "uptime",
        "report",
        "--status",
        str(status),
        "--hours",
        str(hours),
        "--timezones",
        str(zones),
        *extra,
    ]


def _expected_csv(files: tuple[Path, Path, Path], **options: object) -> str:
    stream = io.StringIO()
    write_report_csv(build_report(*files, **options), stream)  # type: ignore[arg-type]
    return stream.getvalue()


def test_the_report_goes_to_stdout(files: tuple[Path, Path, Path]) -> None:
    """Without --output the CSV is printed; a summary goes to stderr."""
    result = runner.invoke(app, _args(files))
    assert result.exit_code == 0, result.output
    assert result.stdout == _expected_csv(files)
    assert result.stderr.startswith("wrote 8 stores (now: 2023-03-1")


def test_output_writes_a_file(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """--output writes the CSV there and nothing to stdout."""
    output = tmp_path / "report.csv"
    result = runner.invoke(app, _args(files, "--output", str(output), "--jobs", "1"))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert output.read_text(encoding="utf-8") == _expected_csv(files)
    assert f"wrote 8 stores to {output}" in result.stderr


def test_now_and_interpolation_reach_the_library(files: tuple[Path, Path, Path]) -> None:
    """--now (no offset = UTC, or `... UTC`) and --interpolation are passed on."""
    result = runner.invoke(
        app, _args(files, "--now", "2023-03-12 18:00:00 UTC", "--interpolation", "previous", "-q")
    )
    assert result.exit_code == 0, result.output
    now = build_report(*files).now.replace(
        year=2023, month=3, day=12, hour=18, minute=0, second=0, microsecond=0
    )
    assert result.stdout == _expected_csv(files, now=now, interpolation="previous")
    assert result.stderr == ""


def test_jobs_do_not_change_the_report(files: tuple[Path, Path, Path]) -> None:
    """--jobs 1 and --jobs 2 print the same CSV."""
    one = runner.invoke(app, _args(files, "--jobs", "1", "-q"))
    two = runner.invoke(app, _args(files, "--jobs", "2", "-q"))
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout


def test_bad_input_exits_3_with_file_and_line(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """A bad row: exit 3, one line with file:line and what to do, no traceback, no file."""
    status = files[0]
    status.write_text(
        status.read_text(encoding="utf-8") + "42,up,2023-03-10 10:00:00 UTC\n", encoding="utf-8"
    )
    line = len(status.read_text(encoding="utf-8").splitlines())
    output = tmp_path / "out" / "report.csv"
    output.parent.mkdir()
    result = runner.invoke(app, _args(files, "--output", str(output)))
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: {status}:{line}: unknown status 'up': expected active or inactive "
        "(fix the row, or leave bad rows out with --on-error skip)\n"
    )
    assert result.stdout == ""
    assert not list(output.parent.iterdir())


def test_a_missing_column_exits_3(files: tuple[Path, Path, Path]) -> None:
    """A file lacking a column is a fix-me error too (no skip hint: skipping cannot help)."""
    write_csv(files[2], "store_id,zone", ["1,UTC"])
    result = runner.invoke(app, _args(files))
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: {files[2]}:1: missing column 'timezone_str' (the header has: store_id, zone); "
        "expected the columns store_id, timezone_str\n"
    )


def test_skip_lists_bad_rows_on_stderr(files: tuple[Path, Path, Path]) -> None:
    """--on-error skip leaves bad rows out and lists them."""
    status = files[0]
    status.write_text(status.read_text(encoding="utf-8") + "42,up,x\n", encoding="utf-8")
    line = len(status.read_text(encoding="utf-8").splitlines())
    result = runner.invoke(app, _args(files, "--on-error", "skip"))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[1] == (
        f"skipped {status}:{line}: unknown status 'up': expected active or inactive"
    )


def test_skip_with_rejects_writes_them(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """--rejects keeps the skipped rows in a CSV and says so."""
    status = files[0]
    status.write_text(status.read_text(encoding="utf-8") + "42,up,x\n43,up,x\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    result = runner.invoke(app, _args(files, "--on-error", "skip", "--rejects", str(rejects)))
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[1] == f"skipped 2 bad rows; they are in {rejects}"
    assert len(rejects.read_text(encoding="utf-8").splitlines()) == 3


def test_many_skipped_rows_are_summed_up(files: tuple[Path, Path, Path]) -> None:
    """Past 20 skipped rows stderr says how many more there are."""
    status = files[0]
    status.write_text(status.read_text(encoding="utf-8") + "42,up,x\n" * 25, encoding="utf-8")
    result = runner.invoke(app, _args(files, "--on-error", "skip"))
    assert result.stderr.splitlines()[-1] == "... and 5 more; pass --rejects FILE to keep them all"


def test_rejects_needs_skip(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """--rejects without --on-error skip is a usage error."""
    result = runner.invoke(app, _args(files, "--rejects", str(tmp_path / "r.csv")))
    assert result.exit_code == 2
    assert "--rejects needs --on-error skip" in result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--now", "tomorrow"], "'tomorrow' is not an ISO 8601 timestamp"),
        (["--jobs", "0"], r"--jobs.*(x>=1|greater than or equal to 1)"),
        (["--interpolation", "linear"], "'linear' is not one of"),
    ],
)
def test_bad_options_are_usage_errors(
    extra: list[str], message: str, files: tuple[Path, Path, Path]
) -> None:
    """Malformed options exit 2 with the reason (``message`` is a regular expression)."""
    result = runner.invoke(app, _args(files, *extra))
    assert result.exit_code == 2
    assert re.search(message, result.stderr, re.DOTALL), result.stderr


def test_a_missing_input_file_is_bad_input(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """An input path that does not exist is one line and exit 3, as in every command."""
    result = runner.invoke(app, _args((tmp_path / "nope.csv", files[1], files[2])))
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: {tmp_path / 'nope.csv'}: cannot read the file: No such file or directory\n"
    )


def test_progress_bars_draw_on_a_terminal(
    files: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal, stderr shows the stages; stdout keeps only the CSV."""
    monkeypatch.setattr(uptime_cli, "stderr_is_terminal", lambda: True)
    result = runner.invoke(app, _args(files))
    assert result.exit_code == 0, result.output
    assert result.stdout == _expected_csv(files)
    assert "reading" in result.stderr and "writing" in result.stderr


def test_quiet_draws_no_progress(
    files: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--quiet: nothing at all on stderr, even on a terminal."""
    monkeypatch.setattr(uptime_cli, "stderr_is_terminal", lambda: True)
    result = runner.invoke(app, _args(files, "--quiet"))
    assert result.exit_code == 0
    assert result.stderr == ""


def test_the_command_has_help() -> None:
    """Every option is documented in --help."""
    result = runner.invoke(app, ["uptime", "report", "--help"])
    assert result.exit_code == 0
    for option in (
        "--status",
        "--hours",
        "--timezones",
        "--now",
        "--interpolation",
        "--output",
        "--jobs",
        "--on-error",
        "--rejects",
        "--quiet",
    ):
        assert option in result.stdout


@pytest.mark.parametrize("option", ["--output", "--rejects"])
def test_an_output_in_a_missing_folder_exits_3_before_computing(
    option: str, files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """An unwritable --output or --rejects: exit 3, one line, no traceback, no file."""
    target = tmp_path / "gone" / "out.csv"
    result = runner.invoke(app, _args(files, "--on-error", "skip", option, str(target)))
    assert result.exit_code == 3
    expected = f"error: cannot write {target}: no folder {target.parent}; check the path\n"
    assert result.stderr == expected
    assert result.stdout == ""


def test_a_write_failure_is_one_line_naming_the_file(
    files: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that cannot be created at the end (a folder removed meanwhile): exit 3."""
    target = tmp_path / "later" / "out.csv"
    target.parent.mkdir()
    real = uptime_cli.check_writable

    def check_then_remove(path: Path | None) -> None:
        real(path)
        if path == target:
            target.parent.rmdir()

    monkeypatch.setattr(uptime_cli, "check_writable", check_then_remove)
    result = runner.invoke(app, _args(files, "--output", str(target)))
    assert result.exit_code == 3
    assert result.stderr.startswith(f"error: cannot write {target}: No such file or directory")
    assert len(result.stderr.splitlines()) == 1
    assert not target.parent.exists()
