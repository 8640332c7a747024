"""Listing events opens the database read-only; --db must name a file (issue 7, point 10)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from outages_processor.errors import EventStoreError
from outages_processor.models.events import OutageEvent, OutageRecord
from outages_processor.scripts.main import app
from outages_processor.stores.event_store import EventStore

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
LISTING = (
    "CONTROLLER  TYPE  START                 END                   RECORDS\n"
    "c1          led   2024-01-01T00:00:00Z  2024-01-01T00:00:00Z        1\n"
)


def invoke(*args: str) -> tuple[int, str, str]:
    """Run ``process_outages events ARGS``; return exit code, stdout, stderr."""
    result = CliRunner().invoke(app, ["events", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(name="folder")
def fixture_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder holding e.db with one event, made read-only (r-x) for the test."""
    with EventStore(tmp_path / "e.db") as store:
        store.ingest([OutageRecord("c1", "led", T0)])
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    yield tmp_path
    tmp_path.chmod(stat.S_IRWXU)


def test_list_in_a_read_only_folder(folder: Path) -> None:
    """events list works on a database in a read-only folder."""
    code, out, err = invoke("list", "--db", str(folder / "e.db"))
    assert (code, out, err) == (0, LISTING, "")


def test_list_changes_no_byte_of_the_database(folder: Path) -> None:
    """Listing leaves the database's bytes as they were (the tests run as root, which may
    write in a read-only folder: this shows that listing never writes the database)."""
    before = (folder / "e.db").read_bytes()
    assert invoke("list", "--db", str(folder / "e.db"))[0] == 0
    assert (folder / "e.db").read_bytes() == before
    assert not [path for path in folder.iterdir() if path.name.endswith("-journal")]


def _spy_connect(monkeypatch: pytest.MonkeyPatch, fail_plain_ro: bool) -> list[str]:
    """Record each sqlite3.connect target; optionally make a plain mode=ro read fail as
    it does in a read-only folder without the database's -shm file."""
    opened: list[str] = []
    real = sqlite3.connect

    class _NoShm(sqlite3.Connection):
        def execute(self, sql: str, *args: Any, **kwargs: Any) -> sqlite3.Cursor:
            """Fail as a read does without the -shm file; pass anything else on."""
            if " FROM " in sql.upper():  # reading the file needs the -shm
                raise sqlite3.OperationalError("unable to open database file")
            return super().execute(sql, *args, **kwargs)

    def spy(target: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        opened.append(target)
        if fail_plain_ro and target.endswith("?mode=ro"):
            kwargs["factory"] = _NoShm
        return real(target, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", spy)
    return opened


def test_list_opens_the_database_with_mode_ro(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing's connection is a read-only SQLite URI, not an immutable one."""
    opened = _spy_connect(monkeypatch, fail_plain_ro=False)
    assert invoke("list", "--db", str(folder / "e.db")) == (0, LISTING, "")
    assert opened == [f"{(folder / 'e.db').as_uri()}?mode=ro"]


def test_list_reads_as_immutable_only_when_mode_ro_cannot_read(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a read-only open cannot read (no -shm can be made), the listing still works."""
    opened = _spy_connect(monkeypatch, fail_plain_ro=True)
    assert invoke("list", "--db", str(folder / "e.db")) == (0, LISTING, "")
    uri = (folder / "e.db").as_uri()
    assert opened == [f"{uri}?mode=ro", f"{uri}?mode=ro&immutable=1"]


def test_read_only_store_sees_a_live_writers_commits(tmp_path: Path) -> None:
    """With a writer open (a -wal file holding its commits), a read-only store sees them."""
    with EventStore(tmp_path / "e.db") as writer:
        writer.ingest([OutageRecord("c1", "led", T0)])
        assert os.path.exists(tmp_path / "e.db-wal")
        with EventStore(tmp_path / "e.db", read_only=True) as reader:
            assert reader.events() == [OutageEvent("c1", "led", T0, T0, 1)]


def test_read_only_store_refuses_to_ingest(tmp_path: Path) -> None:
    """A read-only store says so instead of trying to write."""
    with EventStore(tmp_path / "e.db"):
        pass
    with EventStore(tmp_path / "e.db", read_only=True) as store:
        with pytest.raises(EventStoreError, match="was opened read-only"):
            store.ingest([OutageRecord("c1", "led", T0)])


def test_read_only_store_of_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    """read_only never creates a database."""
    with pytest.raises(EventStoreError, match="no event database at"):
        EventStore(tmp_path / "none.db", read_only=True)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["ingest", "list"])
@pytest.mark.parametrize("path", ["", ":memory:"])
def test_db_that_names_no_file_is_a_usage_error(command: str, path: str) -> None:
    """--db "" and --db :memory: are refused with exit 2, before anything is read."""
    args = ["--db", path, "missing.csv"] if command == "ingest" else ["--db", path]
    code, out, err = invoke(command, *args)
    assert (code, out) == (2, "")
    assert (
        f"Error: Invalid value for '--db' (env var: 'OUTAGES_DB'): {path!r} is not a file; "
        "give the path of the event database file\n"
    ) in err
    assert "Traceback" not in err
