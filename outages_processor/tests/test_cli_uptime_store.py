"""``process_outages uptime ingest | report --db | prune``: the status store on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from outages_processor.reports.status_store import StatusStore
from outages_processor.scripts.main import app
from outages_processor.tests.uptime_data import generate, write_csv

runner = CliRunner()


@pytest.fixture(name="files")
def fixture_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A small generated data set as the three CSV files."""
    return generate(7, stores=6).write(tmp_path)


def _inputs(files: tuple[Path, Path, Path]) -> list[str]:
    status, hours, zones = files
    return ["--status", str(status), "--hours", str(hours), "--timezones", str(zones)]


def _invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    result = runner.invoke(app, list(args), env=env)
    assert "Traceback" not in result.output
    return result


def test_ingest_then_report_equals_the_csv_report(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """The store's report on stdout is byte for byte the CSV files' report."""
    db = str(tmp_path / "uptime.db")
    assert _invoke("uptime", "ingest", *_inputs(files), "--db", db).exit_code == 0
    ours = _invoke("uptime", "report", "--db", db, "--now", "2023-03-14T00:00:00Z")
    theirs = _invoke("uptime", "report", *_inputs(files), "--now", "2023-03-14T00:00:00Z")
    assert ours.exit_code == theirs.exit_code == 0
    assert ours.stdout == theirs.stdout
    assert ours.stderr == theirs.stderr == "wrote 6 stores (now: 2023-03-14 00:00:00 UTC)\n"


def test_ingest_prints_one_summary_line(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """ingest says on stderr what it stored, as the library counts it, and nothing on stdout."""
    db = tmp_path / "uptime.db"
    with StatusStore(tmp_path / "library.db") as store:
        counts = store.load(*files)
    result = _invoke("uptime", "ingest", *_inputs(files), "--db", str(db))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == (
        f"{db}: {counts.polls.new} new polls, {counts.polls.duplicates} duplicates, 0 skipped; "
        f"{counts.hours} hours rows; {counts.timezones} time zones\n"
    )


def test_ingest_json_prints_the_counts(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """--json prints the counts as one JSON object on stdout."""
    db = str(tmp_path / "uptime.db")
    _invoke("uptime", "ingest", "--status", str(files[0]), "--db", db)
    result = _invoke("uptime", "ingest", "--status", str(files[0]), "--db", db, "--json")
    counts = json.loads(result.stdout)
    assert counts["polls_new"] == 0
    assert counts["polls_duplicate"] == counts["polls_received"] > 0
    assert counts["hours"] is None


def test_ingest_uses_uptime_db_from_the_environment(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """$UPTIME_DB names the store for ingest and for report without inputs."""
    db = str(tmp_path / "env.db")
    assert _invoke("uptime", "ingest", *_inputs(files), env={"UPTIME_DB": db}).exit_code == 0
    result = _invoke("uptime", "report", "--quiet", env={"UPTIME_DB": db})
    assert result.exit_code == 0
    assert result.stdout.startswith("store_id,uptime_last_hour,")


def test_ingest_without_input_is_a_usage_error(tmp_path: Path) -> None:
    """ingest with none of the three inputs exits 2 with one line."""
    result = _invoke("uptime", "ingest", "--db", str(tmp_path / "uptime.db"))
    assert result.exit_code == 2
    assert result.stderr == "error: give at least one of --status, --hours and --timezones\n"


def test_a_bad_row_exits_3_and_stores_nothing(tmp_path: Path) -> None:
    """A bad status row is one line, exit 3, and the database holds nothing."""
    status = write_csv(
        tmp_path / "status.csv",
        "store_id,status,timestamp_utc",
        ["1,active,2023-01-25 10:00:00 UTC", "2,online,2023-01-25 10:00:00 UTC"],
    )
    db = tmp_path / "uptime.db"
    result = _invoke("uptime", "ingest", "--status", str(status), "--db", str(db))
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: {status}:3: unknown status 'online': expected active or inactive "
        "(fix the row, or leave bad rows out with --on-error skip)\n"
    )
    with StatusStore(db) as store:
        assert store.counts()["polls"] == 0


def test_skipped_rows_go_to_the_rejects_file(tmp_path: Path) -> None:
    """--on-error skip --rejects stores the good rows and writes the bad ones."""
    status = write_csv(
        tmp_path / "status.csv",
        "store_id,status,timestamp_utc",
        ["1,active,2023-01-25 10:00:00 UTC", "2,online,2023-01-25 10:00:00 UTC"],
    )
    rejects = tmp_path / "rejects.csv"
    result = _invoke(
        "uptime", "ingest", "--status", str(status), "--db", str(tmp_path / "uptime.db"),
        "--on-error", "skip", "--rejects", str(rejects),
    )
    assert result.exit_code == 0
    assert result.stderr.endswith(f"skipped 1 bad row; they are in {rejects}\n")
    assert rejects.read_text(encoding="utf-8").splitlines()[1].startswith(f"{status},3,")


def test_report_mixing_db_and_files_is_a_usage_error(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """report --db with --status exits 2 with one line."""
    result = _invoke("uptime", "report", "--db", str(tmp_path / "x.db"), "--status", str(files[0]))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: give either --db or --status, --hours and --timezones, not both\n"
    )


def test_report_without_inputs_is_a_usage_error() -> None:
    """report with neither files nor a store exits 2 with one line."""
    result = _invoke("uptime", "report", env={"UPTIME_DB": ""})
    assert result.exit_code == 2
    assert result.stderr == (
        "error: give --status, --hours and --timezones, or --db (a status store)\n"
    )


def test_report_from_a_store_refuses_skip_options(tmp_path: Path) -> None:
    """--on-error skip with --db is a usage error: a store holds no bad rows."""
    result = _invoke("uptime", "report", "--db", str(tmp_path / "x.db"), "--on-error", "skip")
    assert result.exit_code == 2
    assert result.stderr == "error: --on-error and --rejects apply to input files, not to --db\n"


@pytest.mark.parametrize("command", [["report"], ["prune", "--before", "2023-01-01"]])
def test_a_missing_database_exits_3(tmp_path: Path, command: list[str]) -> None:
    """report and prune on a missing database exit 3 with one line, creating nothing."""
    db = tmp_path / "missing.db"
    result = _invoke("uptime", *command, "--db", str(db))
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: no status database at {db}; ingest polls into it first, "
        "or give the path of an existing one\n"
    )
    assert not db.exists()


def test_an_empty_store_report_exits_3(tmp_path: Path) -> None:
    """A store holding only hours cannot report: one line, exit 3, no output."""
    db = tmp_path / "uptime.db"
    hours = write_csv(tmp_path / "h.csv", "store_id,day,start_time_local,end_time_local", [])
    _invoke("uptime", "ingest", "--hours", str(hours), "--db", str(db))
    result = _invoke("uptime", "report", "--db", str(db))
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {db} holds no polls; ingest a status file first "
        "(process_outages uptime ingest --status FILE)\n"
    )


def test_prune_drops_old_polls(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """prune says how many polls it dropped, and they are gone."""
    db = tmp_path / "uptime.db"
    _invoke("uptime", "ingest", *_inputs(files), "--db", str(db))
    with StatusStore(db) as store:
        before = store.counts()["polls"]
    result = _invoke("uptime", "prune", "--before", "2023-03-12T00:00:00Z", "--db", str(db))
    with StatusStore(db) as store:
        after = store.counts()["polls"]
    assert result.exit_code == 0
    assert 0 < after < before
    assert result.stderr == (
        f"{db}: dropped {before - after} polls before 2023-03-12 00:00:00 UTC\n"
    )


def test_prune_with_a_bad_instant_is_a_usage_error(tmp_path: Path) -> None:
    """A --before that is not a timestamp exits 2."""
    result = _invoke("uptime", "prune", "--before", "soon", "--db", str(tmp_path / "x.db"))
    assert result.exit_code == 2
    assert "'soon' is not an ISO 8601 timestamp" in result.stderr


@pytest.mark.parametrize("command", ["ingest", "prune"])
def test_the_new_commands_have_help(command: str) -> None:
    """Each new command explains itself with --help."""
    result = _invoke("uptime", command, "--help")
    assert result.exit_code == 0
    assert "--db" in result.stdout
