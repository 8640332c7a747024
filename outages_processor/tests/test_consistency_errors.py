"""Errors look alike in every command: missing files, column names, a ``--now`` far away."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from outages_processor.scripts.main import app
from outages_processor.tests.test_cli_uptime import _args
from outages_processor.tests.uptime_data import generate, write_csv

runner = CliRunner()


@pytest.fixture(name="files")
def fixture_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A small generated data set as the three CSV files."""
    return generate(5, stores=8).write(tmp_path)


def test_a_missing_aliased_column_names_its_aliases(files: tuple[Path, Path, Path]) -> None:
    """The missing-column error lists the names a column may also go by (``day``)."""
    write_csv(files[1], "store_id,weekday,start_time_local,end_time_local", ["1,0,09:00,17:00"])
    result = runner.invoke(app, _args(files))
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: {files[1]}:1: missing column 'dayOfWeek' (or 'day') (the header has: "
        "store_id, weekday, start_time_local, end_time_local); expected the columns "
        "store_id, dayOfWeek (or day), start_time_local, end_time_local\n"
    )


@pytest.mark.parametrize(
    ("position", "header", "missing", "expected"),
    [
        (0, "store_id,state,timestamp_utc", "'status'", "store_id, status, timestamp_utc"),
        (
            1,
            "store_id,dayOfWeek,start_time_local",
            "'end_time_local'",
            "store_id, dayOfWeek (or day), start_time_local, end_time_local",
        ),
        (2, "store_id,zone", "'timezone_str'", "store_id, timezone_str"),
    ],
)
def test_every_missing_column_error_shows_the_accepted_names(  # pylint: disable=too-many-arguments
    files: tuple[Path, Path, Path],
    position: int,
    header: str,
    missing: str,
    expected: str,
) -> None:
    """Each input's missing-column error lists its columns with their aliases, if any."""
    write_csv(files[position], header, [])
    result = runner.invoke(app, _args(files))
    assert result.exit_code == 3
    shown = ", ".join(header.split(","))
    assert result.stderr == (
        f"error: {files[position]}:1: missing column {missing} (the header has: {shown}); "
        f"expected the columns {expected}\n"
    )


@pytest.mark.parametrize("position", [0, 1, 2])
def test_a_missing_uptime_input_is_one_line_and_exit_3(
    files: tuple[Path, Path, Path], tmp_path: Path, position: int
) -> None:
    """A missing status, hours or time zones file: exit 3, one line, nothing written."""
    missing = tmp_path / "nope.csv"
    paths = list(files)
    paths[position] = missing
    output = tmp_path / "report.csv"
    result = runner.invoke(app, _args((paths[0], paths[1], paths[2]), "-o", str(output)))
    assert result.exit_code == 3
    assert result.stderr == f"error: {missing}: cannot read the file: No such file or directory\n"
    assert result.stdout == ""
    assert not output.exists()


def _one_store(tmp_path: Path) -> tuple[Path, Path, Path]:
    """One store polled twice, the latest poll at 2023-01-25 10:00 UTC."""
    return (
        write_csv(
            tmp_path / "status.csv",
            "store_id,status,timestamp_utc",
            ["1,active,2023-01-25 09:00:00 UTC", "1,active,2023-01-25 10:00:00 UTC"],
        ),
        write_csv(tmp_path / "hours.csv", "store_id,dayOfWeek,start_time_local,end_time_local", []),
        write_csv(tmp_path / "zones.csv", "store_id,timezone_str", []),
    )


STALE_NOW = (
    "WARNING outages_processor.reports.building: now {now} is {days} after the latest "
    "poll (2023-01-25 10:00:00 UTC): the windows hold no polls after that; check the year "
    "and date of now\n"
)


@pytest.mark.parametrize(
    ("now", "warned"),
    [
        ("2023-01-25T10:00:00Z", None),
        ("2023-01-26T10:00:00Z", None),
        ("2023-02-01T10:00:00Z", None),
        ("2023-02-01T10:00:01Z", ("2023-02-01 10:00:01 UTC", "7.0 days")),
        ("2024-01-25T10:00:00Z", ("2024-01-25 10:00:00 UTC", "365.0 days")),
    ],
)
def test_now_more_than_a_week_after_the_latest_poll_warns(
    tmp_path: Path, now: str, warned: tuple[str, str] | None
) -> None:
    """--now more than a week after the latest poll (a year typo) warns on stderr."""
    result = runner.invoke(app, _args(_one_store(tmp_path), "--now", now, "-q"))
    assert result.exit_code == 0, result.output
    expected = "" if warned is None else STALE_NOW.format(now=warned[0], days=warned[1])
    assert result.stderr == expected
