"""The service's events endpoints, healthz and the serve command, against real servers (issue 9).

``POST /outages`` and ``GET /events`` through uvicorn on 127.0.0.1 (a thread of this process,
or ``process_outages serve --workers 2`` for the concurrency test), driven with httpx.
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from outages_processor.core.events import group_events
from outages_processor.models.events import OutageRecord, RecordBatch
from outages_processor.scripts.main import app
from outages_processor.stores.group_commit import GroupCommitter
from outages_processor.stores.event_store import EventStore
from outages_processor.tests.service_server import (
    Running,
    process_server,
    settings_in,
    thread_server,
)

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
CLIENTS = 8


@pytest.fixture(name="server")
def fixture_server(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Running]:
    """The service in a thread, its data in tmp_path; no log record may carry a traceback."""
    caplog.set_level(logging.INFO)
    with thread_server(settings_in(tmp_path, max_body_bytes=200_000)) as running:
        yield running
    tracebacks = [record.getMessage() for record in caplog.records if record.exc_info]
    assert not tracebacks, tracebacks
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def record(controller: str, minutes: int, kind: str = "led") -> dict[str, str]:
    """One report as JSON, ``minutes`` after T0."""
    stamp = T0 + timedelta(minutes=minutes)
    return {"controller_id": controller, "outage_type": kind, "timestamp": stamp.isoformat()}


def all_events(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """Every page of GET /events, followed through the cursors."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = client.get("/events", params=query)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        events.extend(body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            return events


def as_dicts(records: list[OutageRecord]) -> list[dict[str, Any]]:
    """The batch rule's events of ``records`` as the API shows them."""
    return [event.to_dict() for event in group_events(records)]


def test_healthz_answers(server: Running) -> None:
    """GET /healthz is 200 {"status": "ok"}."""
    with server.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}


def test_one_record_is_stored(server: Running) -> None:
    """A single record object is stored and counted as one new record and one event."""
    with server.client() as client:
        answer = client.post("/outages", json=record("c1", 0))
        assert answer.status_code == 200
        assert answer.json() == {
            "records_new": 1, "records_duplicate": 0, "events_created": 1,
            "events_extended": 0, "events_merged": 0,
        }  # fmt: skip
        assert all_events(client) == [
            {"controller_id": "c1", "outage_type": "led", "start_time": "2024-01-01T00:00:00Z",
             "end_time": "2024-01-01T00:00:00Z", "record_count": 1}
        ]  # fmt: skip


def test_a_list_counts_duplicates_extensions_and_merges(server: Running) -> None:
    """The counts say what each request did: new, duplicates, created, extended, merged."""
    with server.client() as client:
        client.post("/outages", json=[record("c1", 0), record("c1", 20)])
        answer = client.post("/outages", json=[record("c1", 10), record("c1", 0)])
        assert answer.json() == {
            "records_new": 1, "records_duplicate": 1, "events_created": 0,
            "events_extended": 0, "events_merged": 1,
        }  # fmt: skip


@pytest.mark.parametrize(
    ("stamp", "stored"),
    [
        ("2024-01-01T10:00:00", "2024-01-01T10:00:00Z"),
        ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
        ("2024-01-01T12:00:00+02:00", "2024-01-01T10:00:00Z"),
        ("2024-01-01 10:00:00.5", "2024-01-01T10:00:00.500000Z"),
        (1704103200, "2024-01-01T10:00:00Z"),
    ],
)
def test_timestamps_are_read_as_the_command_line_reads_them(
    server: Running, stamp: object, stored: str
) -> None:
    """Naive is UTC, an offset converts to UTC, epoch seconds are accepted."""
    with server.client() as client:
        body = {"controller_id": "c", "outage_type": "t", "timestamp": stamp}
        assert client.post("/outages", json=body).status_code == 200
        assert all_events(client)[0]["start_time"] == stored


BAD_BODIES = [
    ([record("c", 0), {"controller_id": "c", "outage_type": "t"}],
     "record 1: missing field 'timestamp'"),
    ([record("c", 0), record("c", 1) | {"timestamp": "soon"}], "record 1: timestamp 'soon'"),
    ([record("c", 0), 7], "record 1: expected a JSON object"),
    ([record("c", 0), record("", 1)], "record 1: controller_id is empty"),
    ([record("c", 0), record("c", 1) | {"outage_type": 5}],
     "record 1: outage_type must be a string"),
    ([record("c\x00", 1)], "record 0: controller_id"),
    ([record("c", 0), record("c", 1) | {"timestamp": "1e999999"}], "record 1: "),
    ("a string", "expected a record object or a list of records, found str"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "detail"), BAD_BODIES)
def test_a_bad_record_is_a_422_naming_it_and_nothing_is_stored(
    server: Running, body: object, detail: str
) -> None:
    """A bad record: 422, JSON detail with its index and reason; the request stores nothing."""
    with server.client() as client:
        answer = client.post("/outages", json=body)
        assert answer.status_code == 422
        assert answer.json()["detail"].startswith(detail)
        assert not all_events(client)


_BOM = b"\xef\xbb\xbf"
_ONE = b'{"controller_id": "c", "outage_type": "t", "timestamp": "2024-01-01T00:00:00Z"}'


@pytest.mark.parametrize(
    "content", [_BOM + _ONE, _BOM + b"[" + _ONE + b"]", _BOM + b" \n[\n" + _ONE + b"\n]\n"]
)
def test_a_json_body_may_start_with_a_bom_as_a_json_file_may(
    server: Running, tmp_path: Path, content: bytes
) -> None:
    """RFC 8259 lets a reader ignore a byte order mark; ``events ingest`` of a JSON file
    does, and the service accepts the same bytes (for rows of the status store too)."""
    # One object is a line of JSON Lines for the command line; a list, a JSON array.
    source = tmp_path / ("records.json" if b"[" in content else "records.jsonl")
    source.write_bytes(content)
    result = CliRunner().invoke(app, ["events", "ingest", "--db", str(tmp_path / "cli.db"),
                                      str(source)])  # fmt: skip
    assert result.exit_code == 0, result.output
    with server.client() as client:
        answer = client.post("/outages", content=content)
        assert answer.status_code == 200, answer.text
        assert answer.json()["records_new"] == 1
        zones = client.put(
            "/timezones",
            content=_BOM + b'[{"store_id": "1", "timezone_str": "UTC"}]',
            headers={"content-type": "application/json"},
        )
        assert zones.status_code == 200, zones.text


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (_BOM + b"[\xff]", "the body is not UTF-8 (byte 4)"),
        (_BOM + _BOM + b"[]", "the body is not valid JSON: Unexpected UTF-8 BOM"),
        (b'[{"controller_id": "c",', "the body is not valid JSON: Expecting"),
        (b"\xff\xfe", "the body is not UTF-8"),
        (b"[" * 100_000, "the body is not valid JSON: nested too deeply"),
        (b"", "the body is not valid JSON"),
    ],
)
def test_a_body_that_is_not_json_is_a_422(server: Running, content: bytes, detail: str) -> None:
    """Bodies that are not UTF-8 JSON are refused with one line, not a 500."""
    with server.client() as client:
        answer = client.post("/outages", content=content)
        assert answer.status_code == 422
        assert answer.json()["detail"].startswith(detail)


def test_more_than_ten_thousand_records_is_a_413(tmp_path: Path) -> None:
    """10,001 records: 413 and nothing stored; 10,000 are accepted."""
    with thread_server(settings_in(tmp_path)) as server, server.client() as client:
        records = [record(f"c{index}", 0) for index in range(10_001)]
        answer = client.post("/outages", json=records)
        assert answer.status_code == 413
        assert "at most 10000" in answer.json()["detail"]
        assert client.post("/outages", json=records[:10_000]).status_code == 200


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_byte_cap_is_a_413(server: Running, chunked: bool) -> None:
    """A body larger than max_body_bytes is refused (declared or streamed) with a 413."""
    content = json.dumps([record("c", 0)] * 3000).encode()
    assert len(content) > 200_000
    with server.client() as client:
        body: Any = iter([content]) if chunked else content
        answer = client.post("/outages", content=body)
        assert answer.status_code == 413
        assert "larger than 200000 bytes" in answer.json()["detail"]
        assert not all_events(client)


def test_events_filter_by_controller_type_and_range(server: Running) -> None:
    """controller_id, outage_type, start_time and end_time filter as events list does."""
    sent = [record("a", 0), record("a", 60), record("b", 0), record("a", 0, "fan")]
    with server.client() as client:
        client.post("/outages", json=sent)
        found = all_events(
            client, controller_id="a", outage_type="led", start_time="2024-01-01T00:30:00"
        )
        assert [event["start_time"] for event in found] == ["2024-01-01T01:00:00Z"]
        found = all_events(client, end_time="2024-01-01T00:00:00+00:00")
        assert len(found) == 3


def test_pages_follow_the_cursor_to_the_whole_list(server: Running) -> None:
    """Pages of 3 events, followed by next_cursor, give every event once, in order."""
    rng = random.Random(7)
    records = [record(f"c{rng.randrange(4)}", rng.randrange(0, 600, 15)) for _ in range(60)]
    with server.client() as client:
        client.post("/outages", json=records)
        expected = as_dicts([OutageRecord.from_dict(item) for item in records])
        assert all_events(client, limit=3) == expected
        assert all_events(client, limit=10_000) == expected


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("start_time=2024-01-01T00:00:00+01:00", "start_time: '2024-01-01T00:00:00 01:00'"),
        ("end_time=2024-01-01T00:00:00.5+05:30", "end_time: '2024-01-01T00:00:00.5 05:30'"),
        ("start_time=2024-01-01+00:00:00", None),  # a date, then a space: no offset lost
    ],
)
def test_an_offset_whose_plus_became_a_space_is_named(
    server: Running, query: str, hint: str | None
) -> None:
    """A '+' written as is in a query string is a space (application/x-www-form-urlencoded):
    the 422 says so and how to send the offset, instead of only 'not ISO 8601'."""
    with server.client() as client:
        answer = client.get(f"/events?{query}")
    if hint is None:
        assert answer.status_code == 200, answer.text  # "2024-01-01 00:00:00": UTC
        return
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail.startswith(hint)
    assert "a '+' in a URL is read as a space: write it as %2B" in detail


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"limit": 0}, None),
        ({"limit": 10_001}, None),
        ({"limit": "many"}, None),
        ({"start_time": "yesterday"}, "start_time: 'yesterday' is not an ISO 8601"),
        ({"start_time": "2024-01-02", "end_time": "2024-01-01"}, "start_time is after end_time"),
        ({"cursor": "not a cursor"}, "cursor: not a cursor of this service"),
        ({"cursor": "WzEsMiwzXQ"}, "cursor: not a cursor of this service"),  # [1,2,3]
        ({"cursor": "WzFlOTksImEiLCJiIl0"}, "cursor: not a cursor of this service"),
    ],
)
def test_bad_query_parameters_are_a_422(
    server: Running, params: dict[str, Any], detail: str | None
) -> None:
    """A bad limit, time or cursor is a 422 with a JSON detail, never a 500."""
    with server.client() as client:
        answer = client.get("/events", params=params)
        assert answer.status_code == 422
        if detail is not None:
            assert answer.json()["detail"].startswith(detail)
        else:
            assert isinstance(answer.json()["detail"], list)  # FastAPI's validation errors


def test_unknown_paths_are_json_404s(server: Running) -> None:
    """An unknown path is a 404 with a JSON detail."""
    with server.client() as client:
        answer = client.get("/nowhere")
        assert (answer.status_code, answer.json()) == (404, {"detail": "Not Found"})


def _client_batches(seed: int) -> list[list[dict[str, Any]]]:
    """One client's requests: out of order, with duplicates within and across clients."""
    rng = random.Random(seed)
    return [
        [
            record(f"c{rng.randrange(3)}", rng.randrange(0, 720, 5), rng.choice(("led", "fan")))
            for _ in range(rng.randrange(1, 40))
        ]
        for _ in range(12)
    ]


def test_eight_clients_against_two_workers_end_in_the_batch_rule(tmp_path: Path) -> None:
    """8 concurrent clients, 2 worker processes: the events are the batch rule of all sent."""
    work = [_client_batches(seed) for seed in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    with process_server(settings_in(tmp_path), tmp_path, workers=2) as server:

        def send(batches: list[list[dict[str, Any]]]) -> int:
            new = 0
            with server.client() as client:
                start.wait()
                for batch in batches:
                    answer = client.post("/outages", json=batch)
                    assert answer.status_code == 200, answer.text
                    new += answer.json()["records_new"]
            return new

        with ThreadPoolExecutor(CLIENTS) as pool:
            stored = sum(pool.map(send, work))
        sent = [OutageRecord.from_dict(item) for batches in work for b in batches for item in b]
        with server.client() as client:
            assert all_events(client, limit=50) == as_dicts(sent)
        assert stored == len(set(sent))  # each new record was counted by one request only
        assert "Traceback" not in server.stderr_text()


def test_the_committer_groups_queued_batches_into_one_transaction(tmp_path: Path) -> None:
    """Batches queued while a transaction runs are stored together, each with its own counts."""
    with EventStore(tmp_path / "e.db") as store:
        groups: list[int] = []
        release = threading.Event()
        original = store.ingest_many

        def slow_many(batches: Any) -> Any:
            groups.append(len(batches))
            release.wait(10)
            return original(batches)

        store.ingest_many = slow_many  # type: ignore[method-assign]
        committer = GroupCommitter(store)
        batches = [RecordBatch({"c": {"led": [minute * 60_000_000]}}) for minute in range(20)]
        futures = [committer.submit(batch) for batch in batches]
        release.set()
        results = [future.result(10) for future in futures]
        committer.close()
        assert sum(groups) == 20 and len(groups) < 20
        assert [result.records_new for result in results] == [1] * 20
        assert len(store.events()) == 1


def test_a_closed_committer_refuses_batches(tmp_path: Path) -> None:
    """submit() after close() is a RuntimeError; close() twice is harmless."""
    with EventStore(tmp_path / "e.db") as store:
        committer = GroupCommitter(store)
        committer.close()
        committer.close()
        with pytest.raises(RuntimeError, match="closed"):
            committer.submit(RecordBatch())


def test_serve_without_the_extra_exits_3_with_the_pip_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without fastapi/uvicorn, serve prints one line with the pip command and exits 3."""
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 3
    assert result.stderr == (
        "error: the service needs the 'serve' extra (uvicorn is missing): "
        "run pip install 'outages_processor[serve]'\n"
    )


def test_serve_runs_uvicorn_with_the_settings_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """serve hands uvicorn the factory and passes the paths, made absolute, to every worker."""
    import uvicorn  # pylint: disable=import-outside-toplevel

    calls: list[tuple[Any, ...]] = []
    sockets: list[bool] = []  # whether the event writer listened while uvicorn ran

    def run(*args: Any, **kwargs: Any) -> None:
        calls.append((args, kwargs))
        sockets.append(Path(os.environ["OUTAGES_WRITER_SOCKET"]).is_socket())

    monkeypatch.setattr(uvicorn, "run", run)
    for name in ("OUTAGES_DB", "UPTIME_DB", "OUTAGES_REPORTS_DIR", "OUTAGES_WRITER_SOCKET"):
        monkeypatch.setenv(name, "unused")  # the variables serve sets, restored afterwards
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app, ["serve", "--port", "8123", "--workers", "2", "--events-db", "e.db"]
    )
    assert result.exit_code == 0, result.output
    assert calls == [
        (
            ("outages_processor.service:app_from_env",),
            {"factory": True, "host": "127.0.0.1", "port": 8123, "workers": 2},
        )
    ]
    from outages_processor.settings import ServiceSettings  # pylint: disable=import-outside-toplevel

    settings = ServiceSettings.from_env()
    assert settings.events_db == str(tmp_path / "e.db")
    assert sockets == [True]
    assert settings.writer_socket is not None and not Path(settings.writer_socket).exists()


@pytest.mark.parametrize(
    "code",
    [
        "import outages_processor.scripts.main",
        "import outages_processor",
        "import outages_processor.service",
    ],
)
def test_the_command_line_and_package_do_not_import_the_web_stack(code: str) -> None:
    """process_outages --help and import outages_processor load neither fastapi nor uvicorn."""
    names = "('fastapi', 'uvicorn', 'starlette')"
    probe = f"import sys; {code}; print(sorted(m for m in {names} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_service_settings_travel_through_the_environment() -> None:
    """ServiceSettings.from_env(settings.to_env()) gives the same settings back."""
    from outages_processor.settings import ServiceSettings  # pylint: disable=import-outside-toplevel

    settings = ServiceSettings("/d/e.db", "/d/u.db", "/d/reports", report_workers=3)
    assert ServiceSettings.from_env(settings.to_env()) == settings
    with_writer = ServiceSettings("/d/e.db", writer_socket="/tmp/w/writer.sock")
    assert ServiceSettings.from_env(with_writer.to_env()) == with_writer
    assert ServiceSettings.from_env({}) == ServiceSettings()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda s: s(report_workers=0), "report_workers must be at least 1, not 0"),
        (lambda s: s(events_db=":memory:"), "events_db must name a file or folder"),
        (lambda s: s(max_body_bytes=0), "max_body_bytes must be at least 1"),
        (
            lambda s: s.from_env({"OUTAGES_REPORT_WORKERS": "two"}),
            "OUTAGES_REPORT_WORKERS must be a whole number, not 'two'",
        ),
    ],
)
def test_bad_service_settings_are_config_errors(make: Any, message: str) -> None:
    """Each bad setting is a ConfigError naming it."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.errors import ConfigError
    from outages_processor.settings import ServiceSettings  # pylint: disable=import-outside-toplevel

    with pytest.raises(ConfigError, match=message):
        make(ServiceSettings)
