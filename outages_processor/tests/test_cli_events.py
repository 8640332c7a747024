"""``process_outages events ingest`` and ``process_outages events list``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outages_processor.scripts import events as events_cli
from outages_processor.scripts.main import app

HEADER = "controller_id,outage_type,timestamp\n"
REPORTS = (
    HEADER
    + "c1,led,2024-01-01T00:00:00Z\n"
    + "c1,led,2024-01-01T00:10:00Z\n"
    + "c1,led,2024-01-01T00:10:00Z\n"
    + "c2,battery,1704070800\n"
)
BAD_TIMESTAMP = (
    "timestamp 'soon' is neither ISO 8601 (e.g. 2024-01-01T00:10:00Z) nor Unix epoch seconds"
)


@pytest.fixture(name="runner")
def fixture_runner() -> CliRunner:
    """A runner for the command line."""
    return CliRunner()


@pytest.fixture(name="reports_csv")
def fixture_reports_csv() -> Path:
    """Four reports (one repeated) in reports.csv in the working directory."""
    path = Path("reports.csv")
    path.write_text(REPORTS, encoding="utf-8")
    return path


def invoke(runner: CliRunner, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    """Run ``process_outages events ARGS``; return exit code, stdout, stderr."""
    result = runner.invoke(app, ["events", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


# --- ingest ------------------------------------------------------------------------------


def test_ingest_stores_reports_and_summarises(runner: CliRunner, reports_csv: Path) -> None:
    """ingest prints what it stored; the database defaults to ./outages.db."""
    code, out, err = invoke(runner, "ingest", str(reports_csv))
    assert (code, err) == (0, "")
    assert out == (
        "outages.db: 3 new records, 1 duplicate, 0 skipped; "
        "2 events created, 0 extended, 0 merged\n"
    )
    assert Path("outages.db").is_file()


def test_ingest_again_changes_nothing(runner: CliRunner, reports_csv: Path) -> None:
    """Ingesting the same file twice only finds duplicates."""
    invoke(runner, "ingest", str(reports_csv))
    code, out, _ = invoke(runner, "ingest", str(reports_csv))
    assert code == 0
    assert out == (
        "outages.db: 0 new records, 4 duplicates, 0 skipped; "
        "0 events created, 0 extended, 0 merged\n"
    )


def test_ingest_uses_outages_db_from_the_environment(
    runner: CliRunner, reports_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$OUTAGES_DB names the database when --db is not given."""
    monkeypatch.setenv("OUTAGES_DB", "from-env.db")
    code, out, _ = invoke(runner, "ingest", str(reports_csv))
    assert code == 0
    assert out.startswith("from-env.db: 3 new records")
    assert Path("from-env.db").is_file()


def test_ingest_reads_stdin_in_the_given_format(runner: CliRunner) -> None:
    """'-' reads standard input; --format says how."""
    line = '{"controller_id": "c1", "outage_type": "led", "timestamp": 0}\n'
    code, out, _ = invoke(runner, "ingest", "--db", "s.db", "--format", "jsonl", "-", stdin=line)
    assert code == 0
    assert out.startswith("s.db: 1 new record, 0 duplicates, 0 skipped; 1 event created")


def test_bad_input_exits_3_with_file_and_line_and_changes_nothing(
    runner: CliRunner, reports_csv: Path
) -> None:
    """A bad record: exit 3, one line naming file:line, no traceback, database unchanged."""
    invoke(runner, "ingest", str(reports_csv))
    before = invoke(runner, "list", "--json")
    bad = HEADER + "c3,led,2024-01-01T05:00:00Z\nc3,led,soon\n"
    Path("bad.csv").write_text(bad, encoding="utf-8")
    code, out, err = invoke(runner, "ingest", str(reports_csv), "bad.csv")
    assert (code, out) == (3, "")
    assert err == f"error: bad.csv:3: {BAD_TIMESTAMP}\n"
    assert invoke(runner, "list", "--json") == before


def test_skip_lists_the_skipped_records_on_stderr(runner: CliRunner) -> None:
    """--on-error skip stores the good records and lists each skipped one."""
    Path("mixed.csv").write_text(HEADER + "c1,led,soon\nc1,led,0\n", encoding="utf-8")
    code, out, err = invoke(runner, "ingest", "--on-error", "skip", "mixed.csv")
    assert code == 0
    assert out.startswith("outages.db: 1 new record, 0 duplicates, 1 skipped;")
    assert err == f"skipped mixed.csv:2: {BAD_TIMESTAMP}\n"


def test_skip_lists_twenty_then_counts_the_rest(runner: CliRunner) -> None:
    """Without --rejects, at most 20 skipped records are listed; the rest are counted."""
    Path("bad.csv").write_text(HEADER + "c1,led,soon\n" * 25, encoding="utf-8")
    code, _, err = invoke(runner, "ingest", "--on-error", "skip", "bad.csv")
    lines = err.splitlines()
    assert code == 0
    assert len(lines) == 21
    assert lines[-1] == "... and 5 more; pass --rejects FILE to keep them all"


def test_skip_with_rejects_writes_them_to_the_file(runner: CliRunner) -> None:
    """--rejects FILE keeps the skipped records as CSV and says so."""
    Path("mixed.csv").write_text(HEADER + "c1,led,soon\nc1,led,0\n", encoding="utf-8")
    code, _, err = invoke(
        runner, "ingest", "--on-error", "skip", "--rejects", "rejects.csv", "mixed.csv"
    )
    assert code == 0
    assert err == "skipped 1 bad record; they are in rejects.csv\n"
    assert Path("rejects.csv").read_text(encoding="utf-8").splitlines() == [
        "file,line,reason,row",
        f"mixed.csv,2,{BAD_TIMESTAMP},\"c1,led,soon\"",
    ]


def test_rejects_in_a_missing_folder_exits_3_before_storing(runner: CliRunner) -> None:
    """An unwritable --rejects path is found before anything is read or stored."""
    Path("mixed.csv").write_text(HEADER + "c1,led,soon\nc1,led,0\n", encoding="utf-8")
    code, out, err = invoke(
        runner, "ingest", "--on-error", "skip", "--rejects", "gone/rejects.csv", "mixed.csv"
    )
    assert (code, out) == (3, "")
    assert err == "error: cannot write gone/rejects.csv: no folder gone; check the path\n"
    assert not Path("outages.db").exists()


def test_rejects_without_skip_is_a_usage_error(runner: CliRunner, reports_csv: Path) -> None:
    """--rejects only makes sense with --on-error skip: exit 2."""
    code, _, err = invoke(runner, "ingest", "--rejects", "r.csv", str(reports_csv))
    assert code == 2
    assert "Invalid value for '--rejects': --rejects needs --on-error skip" in err


def test_another_tolerance_exits_3(runner: CliRunner, reports_csv: Path) -> None:
    """A --tolerance other than the database's is refused with exit 3."""
    invoke(runner, "ingest", "--tolerance", "15", str(reports_csv))
    code, _, err = invoke(runner, "ingest", "--tolerance", "12", str(reports_csv))
    assert code == 3
    assert err == (
        "error: outages.db was created with a tolerance of 15 minutes, not 12; give no "
        "tolerance to use the recorded one, or use another database\n"
    )


def test_a_missing_file_exits_3(runner: CliRunner) -> None:
    """An input that cannot be read: exit 3 and the reason."""
    code, _, err = invoke(runner, "ingest", "none.csv")
    assert code == 3
    assert err == "error: none.csv: cannot read the file: No such file or directory\n"


def test_progress_bar_for_large_ingests_on_a_terminal(
    runner: CliRunner, reports_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large ingest shows a progress bar on stderr when stderr is a terminal."""
    monkeypatch.setattr(events_cli, "stderr_is_terminal", lambda: True)
    monkeypatch.setattr(events_cli, "PROGRESS_MIN_LINES", 2)
    code, out, err = invoke(runner, "ingest", str(reports_csv))
    assert code == 0
    assert out.startswith("outages.db: 3 new records")
    assert "Ingesting" in err


def test_no_progress_bar_for_small_ingests(
    runner: CliRunner, reports_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small ingest shows no bar, even on a terminal."""
    monkeypatch.setattr(events_cli, "stderr_is_terminal", lambda: True)
    code, _, err = invoke(runner, "ingest", str(reports_csv))
    assert (code, err) == (0, "")


# --- list --------------------------------------------------------------------------------


@pytest.fixture(name="stored")
def fixture_stored(runner: CliRunner, reports_csv: Path) -> None:
    """The reports of reports.csv ingested into ./outages.db."""
    assert invoke(runner, "ingest", str(reports_csv))[0] == 0


@pytest.mark.usefixtures("stored")
def test_list_prints_a_table(runner: CliRunner) -> None:
    """The default output is an aligned table, oldest event first."""
    code, out, _ = invoke(runner, "list")
    assert code == 0
    assert out == (
        "CONTROLLER  TYPE     START                 END                   RECORDS\n"
        "c1          led      2024-01-01T00:00:00Z  2024-01-01T00:10:00Z        2\n"
        "c2          battery  2024-01-01T01:00:00Z  2024-01-01T01:00:00Z        1\n"
    )


@pytest.mark.usefixtures("stored")
def test_list_json_prints_one_array(runner: CliRunner) -> None:
    """--json prints one JSON array of events with ISO 8601 UTC times."""
    code, out, _ = invoke(runner, "list", "--json", "--controller", "c1")
    assert code == 0
    assert json.loads(out) == [
        {
            "controller_id": "c1",
            "outage_type": "led",
            "start_time": "2024-01-01T00:00:00Z",
            "end_time": "2024-01-01T00:10:00Z",
            "record_count": 2,
        }
    ]


@pytest.mark.usefixtures("stored")
def test_list_csv_prints_a_header_and_rows(runner: CliRunner) -> None:
    """--csv prints CSV with a header row."""
    code, out, _ = invoke(runner, "list", "--csv", "--type", "battery")
    assert code == 0
    assert out == (
        "controller_id,outage_type,start_time,end_time,record_count\n"
        "c2,battery,2024-01-01T01:00:00Z,2024-01-01T01:00:00Z,1\n"
    )


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize(
    ("args", "controllers"),
    [
        (["--start", "2024-01-01T00:10:00Z"], ["c1", "c2"]),
        (["--start", "2024-01-01T00:10:01"], ["c2"]),
        (["--end", "2024-01-01T00:59:59+00:00"], ["c1"]),
        (["--start", "2024-01-01T02:00:00+02:00", "--end", "2024-01-01T00:05:00Z"], ["c1"]),
    ],
)
def test_list_selects_events_overlapping_the_range(
    runner: CliRunner, args: list[str], controllers: list[str]
) -> None:
    """--start and --end select the events that overlap the range (no offset = UTC)."""
    code, out, _ = invoke(runner, "list", "--json", *args)
    assert code == 0
    assert [item["controller_id"] for item in json.loads(out)] == controllers


@pytest.mark.usefixtures("stored")
def test_list_says_when_nothing_matches(runner: CliRunner) -> None:
    """No matching event: nothing on stdout, a note on stderr, exit 0."""
    code, out, err = invoke(runner, "list", "--controller", "nobody")
    assert (code, out, err) == (0, "", "no events match\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--json", "--csv"], "Invalid value for '--csv': choose one of --json and --csv"),
        (["--start", "yesterday"], "'yesterday' is not an ISO 8601 timestamp"),
        (
            ["--start", "2024-01-02", "--end", "2024-01-01"],
            "Invalid value for '--start': --start is after --end",
        ),
    ],
)
def test_list_usage_errors_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    """Conflicting or malformed options are usage errors."""
    code, _, err = invoke(runner, "list", *args)
    assert code == 2
    assert message in err


def test_list_without_a_database_exits_3(runner: CliRunner) -> None:
    """Listing a database that does not exist: exit 3, and no file is created."""
    code, _, err = invoke(runner, "list", "--db", "missing.db")
    assert code == 3
    assert err == (
        "error: no event database at missing.db; ingest records into it first, or give the "
        "path of an existing one\n"
    )
    assert not Path("missing.db").exists()
