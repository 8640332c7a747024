"""The outputs of each command: all appear or none, symlinks followed, devices written through."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outages_processor.errors import EventStoreError
from outages_processor.reports import run_report
from outages_processor.scripts.main import app
from outages_processor.events import ingest_files
from outages_processor.stores.event_store import EventStore
from outages_processor.stores.output_files import resolve_output, writes_in_place
from outages_processor.tests.uptime_data import generate

runner = CliRunner()
MIXED = "controller_id,outage_type,timestamp\nc1,led,0\nc1,led,soon\n"


@pytest.fixture(name="files")
def fixture_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A small generated data set as the three CSV files, in tmp_path/data."""
    folder = tmp_path / "data"
    folder.mkdir()
    return generate(5, stores=4).write(folder)


def _uptime(files: tuple[Path, Path, Path], *extra: str) -> list[str]:
    status, hours, zones = files
    return ["uptime", "report", "--status", str(status), "--hours", str(hours),
            "--timezones", str(zones), "--jobs", "1", "-q", *extra]  # fmt: skip


def _database(path: Path, tolerance: timedelta) -> None:
    """Create an empty event database with ``tolerance``."""
    with EventStore(path, tolerance=tolerance):
        pass


def _names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# --- all outputs or none -----------------------------------------------------------------


def test_run_report_leaves_no_report_when_the_rejects_cannot_be_written(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """run_report: a rejects file in a missing folder, so no report file appears."""
    output = tmp_path / "report.csv"
    with pytest.raises(FileNotFoundError) as caught:
        run_report(*files, output, rejects=tmp_path / "gone" / "rejects.csv", on_error="skip")
    assert caught.value.filename == str(tmp_path / "gone" / "rejects.csv")
    assert _names(tmp_path) == ["data"]


def test_uptime_leaves_no_report_when_the_rejects_cannot_be_written(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """uptime report --output F --rejects /dev/full: exit 3, one line, F never appears."""
    assert writes_in_place(resolve_output("/dev/full"))  # never renamed over
    output = tmp_path / "report.csv"
    args = _uptime(files, "--output", str(output), "--on-error", "skip", "--rejects", "/dev/full")
    result = runner.invoke(app, args)
    assert result.exit_code == 3
    assert result.stderr == (
        "error: cannot write /dev/full: No space left on device; check the path\n"
    )
    assert _names(tmp_path) == ["data"]
    assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)


def test_ingest_leaves_no_rejects_when_the_database_fails(tmp_path: Path) -> None:
    """ingest_files: the database refuses the batch, so the rejects file does not appear."""
    source, db, rejects = tmp_path / "in.csv", tmp_path / "e.db", tmp_path / "rejects.csv"
    source.write_text(MIXED, encoding="utf-8")
    _database(db, tolerance=timedelta(minutes=5))
    with pytest.raises(EventStoreError):
        ingest_files(db, [source], tolerance=timedelta(minutes=7), on_error="skip",
                     rejects_path=rejects)  # fmt: skip
    assert _names(tmp_path) == ["e.db", "in.csv"]


def test_events_ingest_leaves_no_rejects_when_the_database_fails(tmp_path: Path) -> None:
    """events ingest --rejects R with a database of another tolerance: exit 3, no R."""
    source, db, rejects = tmp_path / "in.csv", tmp_path / "e.db", tmp_path / "rejects.csv"
    source.write_text(MIXED, encoding="utf-8")
    _database(db, tolerance=timedelta(minutes=5))
    args = ["events", "ingest", "--db", str(db), "--tolerance", "7", "--on-error", "skip",
            "--rejects", str(rejects), str(source)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 3
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")
    assert _names(tmp_path) == ["e.db", "in.csv"]


def test_events_ingest_writes_the_rejects_when_the_batch_is_stored(tmp_path: Path) -> None:
    """events ingest --rejects R: R appears once the batch is stored."""
    source, db, rejects = tmp_path / "in.csv", tmp_path / "e.db", tmp_path / "rejects.csv"
    source.write_text(MIXED, encoding="utf-8")
    args = ["events", "ingest", "--db", str(db), "--on-error", "skip",
            "--rejects", str(rejects), str(source)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert rejects.read_text(encoding="utf-8").splitlines()[0] == "file,line,reason,row"


# --- kinds of output path ----------------------------------------------------------------


def test_uptime_output_through_a_symlink_keeps_the_link(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """uptime report --output LINK writes the link's target and keeps the link."""
    (tmp_path / "report.csv").write_text("old\n", encoding="utf-8")
    link = tmp_path / "latest.csv"
    link.symlink_to("report.csv")
    result = runner.invoke(app, _uptime(files, "--output", str(link)))
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert (tmp_path / "report.csv").read_text(encoding="utf-8").startswith("store_id,")


def test_uptime_output_to_dev_null_keeps_the_device(files: tuple[Path, Path, Path]) -> None:
    """uptime report --output /dev/null: exit 0 and /dev/null is still a character device."""
    assert writes_in_place(resolve_output(os.devnull))  # proven safe before running
    result = runner.invoke(app, _uptime(files, "--output", os.devnull))
    assert (result.exit_code, result.stdout) == (0, "")
    assert stat.S_ISCHR(os.lstat(os.devnull).st_mode)


def test_site_job_output_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    """The site job's --output LINK writes the JSON lines to the link's target."""
    link = tmp_path / "latest.jsonl"
    link.symlink_to("sites.jsonl")
    result = runner.invoke(app, ["-s", "kingfisher", "--sandbox", "--output", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    (row,) = [json.loads(line) for line in (tmp_path / "sites.jsonl").read_text().splitlines()]
    assert (row["site_id"], row["posted"]) == ("kingfisher", True)


def _loop(link: Path) -> None:
    link.symlink_to(link)


def _into_missing_folder(link: Path) -> None:
    link.symlink_to(link.parent / "gone" / "r.csv")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_loop, "Too many levels of symbolic links; check the path"),
        (_into_missing_folder, "no folder {gone}; check the path"),
    ],
    ids=["symlink-loop", "symlink-into-a-missing-folder"],
)
def test_an_unusable_symlink_output_exits_3_before_computing(
    make: Callable[[Path], object], reason: str, files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """An --output link that cannot be followed or written: exit 3, one line, no work."""
    link = tmp_path / "out.csv"
    make(link)
    result = runner.invoke(app, _uptime(files, "--output", str(link)))
    assert result.exit_code == 3
    expected = reason.format(gone=tmp_path / "gone")
    assert result.stderr == f"error: cannot write {link}: {expected}\n"
