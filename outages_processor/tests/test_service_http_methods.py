"""HTTP rules every endpoint keeps: media types in any case, and HEAD wherever GET is.

RFC 9110: a media type's type and subtype are case-insensitive (section 8.3.1), so
``Text/CSV`` and ``application/JSON`` name the types the status store's endpoints take;
and HEAD is GET without the content (section 9.3.2), which health checks and monitors send:
the same status and headers, no body.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from outages_processor.tests.service_server import Running, settings_in, thread_server

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "uptime"


@pytest.fixture(name="server")
def fixture_server(tmp_path: Path) -> Iterator[Running]:
    """A server with stores of its own."""
    with thread_server(settings_in(tmp_path, report_workers=1)) as running:
        yield running


@pytest.mark.parametrize("kind", ["Text/CSV", "TEXT/csv; charset=UTF-8", "text/CSV;header=present"])
def test_a_csv_media_type_in_any_case_is_csv(server: Running, kind: str) -> None:
    """Each endpoint of the status store takes CSV however the type is cased."""
    with server.client() as client:
        for method, path, name, counts in (
            ("POST", "/store-status", "status", {"received": 6}),
            ("PUT", "/business-hours", "hours", {"rows": 2}),
            ("PUT", "/timezones", "timezones", {"rows": 2}),
        ):
            body = (EXAMPLES / f"{name}.csv").read_bytes()
            answer = client.request(method, path, content=body, headers={"content-type": kind})
            assert answer.status_code == 200, answer.text
            assert counts.items() <= answer.json().items()


@pytest.mark.parametrize("kind", ["Application/JSON", "APPLICATION/json; charset=utf-8"])
def test_a_json_media_type_in_any_case_is_json(server: Running, kind: str) -> None:
    """JSON rows, the type cased any way."""
    with server.client() as client:
        answer = client.put(
            "/timezones",
            content=b'[{"store_id": "1", "timezone_str": "UTC"}]',
            headers={"content-type": kind},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"rows": 1}


@pytest.mark.parametrize("path", [
    "/healthz",
    "/events",
    "/events?controller_id=c1&limit=1",
    "/events?limit=0",
    "/get_report?report_id=0123456789abcdef0123456789abcdef",
    "/get_report?report_id=nope",
    "/openapi.json",
    "/docs",
    "/no-such-path",
])  # fmt: skip
def test_head_is_get_without_the_body(server: Running, path: str) -> None:
    """Every path answers HEAD with GET's status and headers, and no body."""
    with server.client() as client:
        client.post("/outages", json={"controller_id": "c1", "outage_type": "led",
                                      "timestamp": "2024-01-01T00:00:00Z"})  # fmt: skip
        got = client.get(path)
        head = client.head(path)
    assert head.status_code == got.status_code
    assert head.content == b""
    for name in ("content-type", "content-length"):
        assert head.headers.get(name) == got.headers.get(name)


def test_head_of_a_complete_report_is_its_csv_headers(server: Running) -> None:
    """A report's CSV file, asked with HEAD: its type and length, not its bytes."""
    with server.client() as client:
        for method, path, name in (("POST", "/store-status", "status"),
                                   ("PUT", "/business-hours", "hours"),
                                   ("PUT", "/timezones", "timezones")):  # fmt: skip
            client.request(method, path, content=(EXAMPLES / f"{name}.csv").read_bytes(),
                           headers={"content-type": "text/csv"})  # fmt: skip
        report_id = client.post("/trigger_report").json()["report_id"]
        url = f"/get_report?report_id={report_id}&format=csv"
        for _ in range(600):
            got = client.get(url)
            if got.headers["content-type"].startswith("text/csv"):
                break
        head = client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert int(head.headers["content-length"]) == len(got.content) > 0


@pytest.mark.parametrize("path", ["/outages", "/store-status", "/trigger_report"])
def test_head_of_a_path_without_get_is_refused_as_get_is(server: Running, path: str) -> None:
    """HEAD is only GET without the body: where GET is not allowed, neither is HEAD."""
    with server.client() as client:
        got = client.get(path)
        head = client.head(path)
    assert got.status_code == head.status_code == 405
    assert head.headers.get("allow") == got.headers.get("allow")


@pytest.mark.parametrize(("path", "detail"), [
    ("/events?controller_id=c1&controller_id=c2",
     "query parameter 'controller_id' is given 2 times; give it once"),
    ("/events?limit=5&limit=5&limit=5", "query parameter 'limit' is given 3 times"),
    ("/events?controler_id=c1", "unknown query parameter 'controler_id'; /events takes: "
     "controller_id, cursor, end_time, limit, outage_type, start_time"),
    ("/events?start=2024-01-01T00:00:00Z", "unknown query parameter 'start'"),
    ("/get_report?report_id=0123456789abcdef0123456789abcdef&fmt=csv",
     "unknown query parameter 'fmt'; /get_report takes: format, report_id"),
    ("/get_report?report_id=a&report_id=b", "query parameter 'report_id' is given 2 times"),
    ("/healthz?verbose=1", "unknown query parameter 'verbose'; /healthz takes: none"),
])  # fmt: skip
def test_a_query_parameter_is_never_silently_dropped(
    server: Running, path: str, detail: str
) -> None:
    """A repeated parameter (only one value would count) or an unknown one (a typo of a
    filter would list everything): a 422 that says which, never an answer without it."""
    with server.client() as client:
        client.post("/outages", json={"controller_id": "c1", "outage_type": "led",
                                      "timestamp": "2024-01-01T00:00:00Z"})  # fmt: skip
        answer = client.get(path)
    assert answer.status_code == 422, answer.text
    assert detail in answer.json()["detail"]


def test_a_post_takes_no_query_parameters(server: Running) -> None:
    """Nothing of a refused request is stored."""
    with server.client() as client:
        answer = client.post(
            "/outages?dry_run=1",
            json={"controller_id": "c1", "outage_type": "led", "timestamp": "2024-01-01T00:00:00Z"},
        )
        assert answer.status_code == 422, answer.text
        assert "unknown query parameter 'dry_run'" in answer.json()["detail"]
        assert client.get("/events").json()["events"] == []
