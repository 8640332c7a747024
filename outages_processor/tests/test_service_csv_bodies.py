"""CSV bodies of the status store's endpoints read as the store reads a text stream.

A ``text/csv`` body is handed to the store as a file, so that a clean one takes the fast
readers of ``uptime ingest``; every CSV variant must still be answered exactly as reading
the body as a text stream, row by row, answers it: the same counts, the same stored rows,
the same 422 naming the same line and reason.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from outages_processor.errors import InputDataError
from outages_processor.reports.status_store import StatusStore
from outages_processor.tests.service_server import Running, settings_in, thread_server
from outages_processor.tests.status_samples import CLEAN, FALLBACK, HEADER

CSV = {"content-type": "text/csv"}
_HOURS = "store_id,dayOfWeek,start_time_local,end_time_local"
_ZONES = "store_id,timezone_str"

_STATUS = {name: f"{HEADER}\n".encode() + body for name, body in {**CLEAN, **FALLBACK}.items()}
_STATUS.update({
    "bom": b"\xef\xbb\xbf" + _STATUS["plain"],
    "header only": f"{HEADER}\n".encode(),
    "no header": b"",
    "extra column": b"timestamp_utc,note,status,store_id\n2023-01-22 12:00:00 UTC,x,active,7\n",
    "quoted line break": f'{HEADER}\n"a\nb",active,2023-01-22 12:00:00 UTC\n'.encode(),
})  # fmt: skip
_HOURS_BODIES = {
    "plain": f"{_HOURS}\n1,0,09:00:00,17:00:00\n1,6,22:00,02:00\n".encode(),
    "bom crlf": f"\ufeff{_HOURS}\r\n1,0,09:00:00,17:00:00\r\n".encode(),
    "day alias": b"store_id,day,start_time_local,end_time_local\n1,3,00:00,00:00\n",
    "quoted": f'{_HOURS}\n"1",0,"09:00:00",17:00:00\n'.encode(),
    "bad day": f"{_HOURS}\n1,0,09:00:00,17:00:00\n1,7,09:00:00,17:00:00\n".encode(),
    "bad time": f"{_HOURS}\n1,0,25:00:00,17:00:00\n".encode(),
    "missing column": b"store_id,dayOfWeek,start_time_local\n1,0,09:00:00\n",
}
_ZONE_BODIES = {
    "plain": f"{_ZONES}\n1,Europe/London\n2,America/Denver\n".encode(),
    "crlf": f"{_ZONES}\r\n1,Asia/Kathmandu\r\n".encode(),
    "unknown zone": f"{_ZONES}\n1,Mars/Olympus_Mons\n".encode(),
    "two zones": f"{_ZONES}\n1,Europe/London\n1,Europe/Paris\n".encode(),
    "header only": f"{_ZONES}\n".encode(),
}


@pytest.fixture(name="server")
def fixture_server(tmp_path: Path) -> Iterator[tuple[Running, Path]]:
    """A server with stores of its own, in a folder beside the reference's."""
    folder = tmp_path / "served"
    folder.mkdir()
    with thread_server(settings_in(folder, report_workers=1)) as running:
        yield running, folder


def _stream_answer(
    folder: Path, call: Callable[[StatusStore, Any], Any], body: bytes
) -> tuple[int, Any]:
    """What reading ``body`` as a text stream, row by row, gives: the answer to expect."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        return 422, f"the body is not UTF-8 (byte {err.start})"
    with StatusStore(folder / "reference.db") as store:
        try:
            return 200, call(store, io.StringIO(text, newline=""))
        except InputDataError as err:
            place = "" if err.line is None else f"line {err.line}: "
            return 422, f"{place}{err.reason}; nothing was stored"


def _stored(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    with StatusStore(path, read_only=True) as store:
        return {
            "polls": store.database.polls(),
            "hours": store.database.hours(),
            "timezones": store.database.timezones(),
        }


def _check(
    server: tuple[Running, Path],
    tmp_path: Path,
    request: tuple[str, str],
    call: Callable[[StatusStore, Any], Any],
    body: bytes,
) -> None:
    running, folder = server
    before = _stored(folder / "uptime.db")
    with running.client() as client:
        answer = client.request(*request, content=body, headers=CSV)
    status, expected = _stream_answer(tmp_path, call, body)
    assert answer.status_code == status, answer.text
    if status == 200:
        assert answer.json() == expected
    else:
        assert answer.json() == {"detail": expected}
        assert _stored(folder / "uptime.db") == before  # nothing of it stored


@pytest.mark.parametrize("name", sorted(_STATUS))
def test_a_status_body_is_answered_as_a_text_stream(
    server: tuple[Running, Path], tmp_path: Path, name: str
) -> None:
    """Counts or the 422 are those of the row-by-row reading; the same polls are stored."""
    body = _STATUS[name]

    def ingest(store: StatusStore, rows: Any) -> dict[str, int]:
        result = store.ingest_polls(rows)
        return {"received": result.received, "new": result.new, "duplicates": result.duplicates}

    _check(server, tmp_path, ("POST", "/store-status"), ingest, body)
    assert _stored(server[1] / "uptime.db").get("polls", []) == _stored(
        tmp_path / "reference.db"
    ).get("polls", [])


_REPLACING = [
    ("/business-hours", "hours", name, body) for name, body in sorted(_HOURS_BODIES.items())
] + [("/timezones", "timezones", name, body) for name, body in sorted(_ZONE_BODIES.items())]


@pytest.mark.parametrize(
    ("path", "table", "body"),
    [(path, table, body) for path, table, _, body in _REPLACING],
    ids=[f"{table} {name}" for _, table, name, _ in _REPLACING],
)
def test_an_hours_or_zones_body_is_answered_as_a_text_stream(
    server: tuple[Running, Path], tmp_path: Path, path: str, table: str, body: bytes
) -> None:
    """PUT /business-hours and /timezones: the rows count or the 422 of the row-by-row
    reading, and the same rows stored."""

    def replace(store: StatusStore, rows: Any) -> dict[str, int]:
        method = store.replace_hours if table == "hours" else store.replace_timezones
        return {"rows": method(rows)}

    _check(server, tmp_path, ("PUT", path), replace, body)
    reference = _stored(tmp_path / "reference.db")
    if reference:
        assert _stored(server[1] / "uptime.db")[table] == reference[table]


@pytest.mark.parametrize("name", ["plain", "bad status"])
def test_without_a_temporary_file_the_body_is_read_as_a_stream(
    server: tuple[Running, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A disk that takes no temporary file still loads the body (row by row), no 500."""

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", full_disk)
    test_a_status_body_is_answered_as_a_text_stream(server, tmp_path, name)
