"""The service's status store and report endpoints against real servers (issue 9)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from outages_processor.reports.status_store import StatusStore
from outages_processor.scripts.main import app
from outages_processor.tests.service_server import (
    Running,
    process_server,
    settings_in,
    thread_server,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "uptime"
NOW = "2023-01-25T12:00:00Z"
CSV = {"content-type": "text/csv"}


@pytest.fixture(name="server")
def fixture_server(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Running]:
    """The service in a thread, its data in tmp_path; no log record may carry a traceback."""
    caplog.set_level(logging.INFO)
    with thread_server(settings_in(tmp_path, report_workers=1)) as running:
        yield running
    tracebacks = [record.getMessage() for record in caplog.records if record.exc_info]
    assert not tracebacks, tracebacks


def load_examples(client: httpx.Client) -> None:
    """The docs' example status, hours and time zones, loaded through the endpoints."""
    for method, path, name in [
        ("POST", "/store-status", "status.csv"),
        ("PUT", "/business-hours", "hours.csv"),
        ("PUT", "/timezones", "timezones.csv"),
    ]:
        answer = client.request(method, path, content=(EXAMPLES / name).read_bytes(), headers=CSV)
        assert answer.status_code == 200, answer.text


def wait_complete(client: httpx.Client, report_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """Poll /get_report until the report is no longer Running."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get("/get_report", params={"report_id": report_id})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] != "Running":
            return body
        assert time.monotonic() < deadline, "the report never finished"
        time.sleep(0.05)


def counts(tmp_path: Path) -> dict[str, int]:
    """What the server's status store holds."""
    with StatusStore(tmp_path / "uptime.db", read_only=True) as store:
        return store.counts()


def test_polls_load_from_csv_and_json_idempotently(server: Running, tmp_path: Path) -> None:
    """A CSV body and the same polls as JSON rows: the second stores nothing new."""
    with server.client() as client:
        first = client.post(
            "/store-status", content=(EXAMPLES / "status.csv").read_bytes(), headers=CSV
        )
        assert first.status_code == 200
        total = first.json()["received"]
        assert first.json() == {"received": total, "new": total, "duplicates": 0}
        rows = [
            dict(zip(["store_id", "status", "timestamp_utc"], line.split(",")))
            for line in (EXAMPLES / "status.csv").read_text().splitlines()[1:]
        ]
        again = client.post("/store-status", json=rows)
        assert again.json() == {"received": total, "new": 0, "duplicates": total}
    assert counts(tmp_path)["polls"] == total


def test_hours_and_timezones_replace_what_was_stored(server: Running, tmp_path: Path) -> None:
    """PUT answers the rows stored; a second PUT replaces the first."""
    with server.client() as client:
        load_examples(client)
        answer = client.put(
            "/timezones", json=[{"store_id": "1001", "timezone_str": "Europe/Paris"}]
        )
        assert answer.json() == {"rows": 1}
        hours = [{"store_id": "1001", "dayOfWeek": 2, "start_time_local": "09:00:00",
                  "end_time_local": "17:00:00"}]  # fmt: skip
        assert client.put("/business-hours", json=hours).json() == {"rows": 1}
    assert counts(tmp_path)["timezones"] == 1
    assert counts(tmp_path)["hours"] == 1


def test_a_complete_report_equals_the_command_line_report(server: Running, tmp_path: Path) -> None:
    """Trigger, poll to Complete: the CSV equals `process_outages uptime report --db`."""
    with server.client() as client:
        load_examples(client)
        answer = client.post("/trigger_report", json={"now": NOW})
        assert answer.status_code == 200
        report_id = answer.json()["report_id"]
        body = wait_complete(client, report_id)
        assert body["status"] == "Complete"
        by_accept = client.get(
            "/get_report", params={"report_id": report_id}, headers={"accept": "text/csv"}
        )
        by_format = client.get("/get_report", params={"report_id": report_id, "format": "csv"})
    cli = CliRunner().invoke(
        app, ["uptime", "report", "--db", str(tmp_path / "uptime.db"), "--now", NOW, "-q"]
    )
    assert cli.exit_code == 0, cli.output
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert by_accept.text == by_format.text == cli.stdout
    assert [row["store_id"] for row in body["data"]] == [
        line.split(",")[0] for line in cli.stdout.splitlines()[1:]
    ]


def test_trigger_without_a_body_uses_the_defaults(server: Running) -> None:
    """POST /trigger_report with no body answers an id; the report completes."""
    with server.client() as client:
        load_examples(client)
        report_id = client.post("/trigger_report").json()["report_id"]
        assert wait_complete(client, report_id)["status"] == "Complete"


BAD_ROWS = [
    ("/store-status", "POST", (EXAMPLES / "bad_status.csv").read_bytes(), CSV,
     "line 3: unknown status 'online'"),
    ("/store-status", "POST", b"store_id,status,timestamp_utc\n1,active,never\n", CSV, "line 2: "),
    ("/store-status", "POST", b"store_id,status\n1,active\n", CSV, "timestamp_utc"),
    ("/store-status", "POST", b"\xff\xfe", CSV, "the body is not UTF-8"),
    ("/store-status", "POST", b"[1]", {}, "row 0: expected an object"),
    ("/store-status", "POST", b'{"a": 1}', {}, "expected a JSON list of rows"),
    ("/store-status", "POST", b'[{"store_id": [1]}]', {}, "row 0: store_id must be a string"),
    ("/store-status", "POST", b"[", {}, "the body is not valid JSON"),
    ("/store-status", "POST",
     b'[{"store_id": "1", "status": "up", "timestamp_utc": "2023-01-25 10:14:00 UTC"}]', {},
     "row 0: unknown status 'up'"),
    ("/business-hours", "PUT", b"store_id,dayOfWeek,start_time_local,end_time_local\n1,9,"
     b"09:00:00,10:00:00\n", CSV, "line 2: "),
    ("/timezones", "PUT", b'[{"store_id": "1", "timezone_str": "Mars/Olympus"}]', {},
     "row 0: unknown time zone 'Mars/Olympus'"),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_ROWS)
def test_bad_rows_are_a_422_and_nothing_is_stored(
    server: Running, tmp_path: Path, case: tuple[str, str, bytes, dict[str, str], str]
) -> None:
    """A bad row or body: 422 with a JSON detail naming it; the store is unchanged."""
    path, method, body, headers, detail = case
    with server.client() as client:
        load_examples(client)
        before = counts(tmp_path)
        answer = client.request(method, path, content=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert detail in answer.json()["detail"]
    assert counts(tmp_path) == before


def test_another_content_type_is_a_415(server: Running) -> None:
    """A body that is neither JSON nor CSV is refused with 415."""
    with server.client() as client:
        answer = client.post(
            "/store-status", content=b"x", headers={"content-type": "application/xml"}
        )
        assert answer.status_code == 415
        assert answer.json()["detail"].startswith("send application/json or text/csv")


@pytest.mark.parametrize(
    "body",
    [
        {"now": "not a time"},
        {"interpolation": "sideways"},
        {"now": 5},
        [1],
        "x",
        # An option misspelt would otherwise be ignored: the report of another "now".
        {"nw": "2023-01-25T12:00:00Z"},
        {"now": "2023-01-25T12:00:00Z", "interpolate": "previous"},
    ],
)
def test_bad_report_options_are_a_422(server: Running, body: object) -> None:
    """A bad now or interpolation, or an option that does not exist, is a 422, and no
    report is started."""
    with server.client() as client:
        answer = client.post("/trigger_report", json=body)
        assert answer.status_code == 422
        assert "detail" in answer.json()
        if isinstance(body, dict) and body.keys() - {"now", "interpolation"}:
            (problem,) = answer.json()["detail"]
            assert problem["type"] == "extra_forbidden"
            assert problem["loc"][-1] in body


@pytest.mark.parametrize("report_id", ["0" * 32, "not-an-id", "A" * 32, ""])
def test_unknown_or_malformed_report_ids_are_a_404(server: Running, report_id: str) -> None:
    """An id no report has, or no report could have: 404 with a JSON detail."""
    with server.client() as client:
        answer = client.get("/get_report", params={"report_id": report_id})
        assert answer.status_code == 404
        assert "report id" in answer.json()["detail"]


def test_a_report_of_an_empty_store_is_a_409(server: Running, tmp_path: Path) -> None:
    """No polls yet: the trigger says what to load first, and no report is made."""
    with server.client() as client:
        answer = client.post("/trigger_report")
    assert answer.status_code == 409
    assert answer.json() == {
        "detail": "the status store holds no polls yet: load some with POST /store-status first"
    }
    assert not list((tmp_path / "reports").glob("*.json"))


def test_reports_survive_a_restart(tmp_path: Path) -> None:
    """Complete before a restart stays readable after; Running of a dead process is Failed."""
    settings = settings_in(tmp_path)
    with process_server(settings, tmp_path, workers=2) as server, server.client() as client:
        load_examples(client)
        report_id = client.post("/trigger_report", json={"now": NOW}).json()["report_id"]
        before = wait_complete(client, report_id)
        assert before["status"] == "Complete"
    # A report left Running by a process that died: its lock is held by nobody.
    orphan = "b" * 32
    state = {"report_id": orphan, "state": "Running", "created_at": "2023-01-01T00:00:00+00:00"}
    (tmp_path / "reports" / f"{orphan}.json").write_text(json.dumps(state), encoding="utf-8")
    with process_server(settings, tmp_path) as server, server.client() as client:
        assert wait_complete(client, report_id) == before
        after = client.get("/get_report", params={"report_id": orphan}).json()
        assert after["status"] == "Failed"
        assert "stopped before it finished" in after["error"]
        assert "Traceback" not in server.stderr_text()
