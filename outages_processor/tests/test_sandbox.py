"""The sandbox, a local emulator of the KrakenFlex API, over real sockets on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import logging
import math
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import outages_processor.sandbox
from outages_processor.sandbox import (
    API_PATH,
    FAULT_KINDS,
    SANDBOX_API_KEY,
    Faults,
    Sandbox,
    expected_outages,
)
from outages_processor.sandbox._data import load_dataset
from outages_processor.sandbox._handler import MAX_BODY_BYTES, SandboxHTTPServer
from outages_processor.sandbox._state import SandboxState
from outages_processor.scripts import sandbox as sandbox_cli

DATA = Path(outages_processor.sandbox.__file__).parent / "data"
CUTOFF = "2022-01-01T00:00:00.000Z"
NORWICH = "norwich-pear-tree"
KINGFISHER = "kingfisher"

NORWICH_IDS_AND_BEGINS = [
    ("0e4d59ba-43c7-4451-a8ac-ca628bcde417", "2022-02-15T11:28:26.735Z"),
    ("111183e7-fb90-436b-9951-63392b36bdd2", "2022-01-01T00:00:00.000Z"),
    ("111183e7-fb90-436b-9951-63392b36bdd2", "2022-02-18T01:01:20.142Z"),
    ("20f6e664-f00e-4621-9ca4-5ec588aadeaf", "2022-02-15T11:28:26.965Z"),
    ("70656668-571e-49fa-be2e-099c67d136ab", "2022-04-08T16:29:22.128Z"),
    ("75e96db4-bba2-4035-8f43-df2cbd3da859", "2023-05-11T14:35:15.359Z"),
    ("86b5c819-6a6c-4978-8c51-a2d810bb9318", "2022-02-16T07:01:50.149Z"),
    ("86b5c819-6a6c-4978-8c51-a2d810bb9318", "2022-05-09T04:47:25.211Z"),
    ("9ed11921-1c5b-40f4-be66-adb4e2f016bd", "2022-01-12T08:11:21.333Z"),
    ("a79fe094-087b-4b1e-ae20-ac4bf7fa429b", "2022-02-23T11:33:58.552Z"),
]

KINGFISHER_BODY = [  # the expected output of the task text's worked example
    {
        "id": "002b28fc-283c-47ec-9af2-ea287336dc1b",
        "name": "Battery 1",
        "begin": "2022-05-23T12:21:27.377Z",
        "end": "2022-11-13T02:16:38.905Z",
    },
    {
        "id": "002b28fc-283c-47ec-9af2-ea287336dc1b",
        "name": "Battery 1",
        "begin": "2022-12-04T09:59:33.628Z",
        "end": "2022-12-12T22:35:13.815Z",
    },
    {
        "id": "086b0d53-b311-4441-aaf3-935646f03d4d",
        "name": "Battery 2",
        "begin": "2022-07-12T16:31:47.254Z",
        "end": "2022-10-13T04:05:10.044Z",
    },
]


def _load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _select(outages: list[dict[str, str]], site: dict[str, Any]) -> list[dict[str, str]]:
    """The reporting rule, written again here so that the sandbox is checked against it."""
    names = {device["id"]: device["name"] for device in site["devices"]}
    cutoff = datetime.fromisoformat(CUTOFF)
    return [
        {"id": item["id"], "name": names[item["id"]], "begin": item["begin"], "end": item["end"]}
        for item in outages
        if item["id"] in names and datetime.fromisoformat(item["begin"]) >= cutoff
    ]


def _statuses(sandbox: Sandbox, count: int) -> list[int | str]:
    """GET /outages ``count`` times; the status of each, or ``"drop"``."""
    seen: list[int | str] = []
    with _client(sandbox) as client:
        for _ in range(count):
            try:
                seen.append(client.get("/outages").status_code)
            except httpx.RemoteProtocolError:
                seen.append("drop")
    return seen


def _client(sandbox: Sandbox, key: str | None = SANDBOX_API_KEY) -> httpx.Client:
    headers = {} if key is None else {"x-api-key": key}
    return httpx.Client(base_url=sandbox.base_url, headers=headers, timeout=5.0)


def _raw_post(sandbox: Sandbox, headers: dict[str, str]) -> tuple[int, str | None]:
    """Send a POST head with ``headers`` and no body; return the status and Connection."""
    conn = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=5)
    try:
        conn.putrequest("POST", f"{API_PATH}/site-outages/{NORWICH}", skip_accept_encoding=True)
        conn.putheader("x-api-key", SANDBOX_API_KEY)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Connection")
    finally:
        conn.close()


@pytest.fixture(name="sandbox")
def fixture_sandbox() -> Iterator[Sandbox]:
    """A running sandbox without faults."""
    with Sandbox() as running:
        yield running


@pytest.fixture(name="client")
def fixture_client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A client of ``sandbox`` that sends the sandbox key."""
    with _client(sandbox) as client:
        yield client


@pytest.fixture(name="sandbox_logs")
def fixture_sandbox_logs(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """Capture the sandbox's DEBUG records, whatever logging set-up earlier tests left."""
    parent = logging.getLogger("outages_processor")
    monkeypatch.setattr(parent, "handlers", [])
    monkeypatch.setattr(parent, "propagate", True)
    caplog.set_level(logging.DEBUG, logger="outages_processor.sandbox")
    return caplog


# --- the public surface -------------------------------------------------------------


def test_public_names_are_exactly_the_documented_ones() -> None:
    """The package exports exactly its public names, sorted."""
    assert outages_processor.sandbox.__all__ == [
        "API_PATH",
        "CUTOFF",
        "FAULT_KINDS",
        "Faults",
        "RATE_LIMITED_SITE",
        "SANDBOX_API_KEY",
        "Sandbox",
        "expected_outages",
    ]


# --- the data served -----------------------------------------------------------------


def test_outages_are_the_bundled_lists_without_repeats(client: httpx.Client) -> None:
    """GET /outages answers outages.json, then the kingfisher outages it lacks."""
    main, extra = _load("outages.json"), _load("outages_kingfisher.json")
    response = client.get("/outages")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == main + [item for item in extra if item not in main]


def test_union_of_outages_keeps_the_norwich_pear_tree_selection() -> None:
    """Adding the kingfisher outages changes nothing for norwich-pear-tree."""
    main, extra = _load("outages.json"), _load("outages_kingfisher.json")
    site = _load("site-info_norwich-pear-tree.json")
    assert _select(main + extra, site) == _select(main, site)


@pytest.mark.parametrize("site_id", [NORWICH, KINGFISHER])
def test_site_info_is_the_bundled_file(client: httpx.Client, site_id: str) -> None:
    """GET /site-info/{id} answers the bundled site file."""
    response = client.get(f"/site-info/{site_id}")
    assert response.status_code == 200
    assert response.json() == _load(f"site-info_{site_id}.json")


def test_norwich_pear_tree_expects_the_ten_outages_of_the_rule() -> None:
    """The accepted body for norwich-pear-tree is the ten outages of the rule, in order."""
    body = expected_outages(NORWICH)
    assert [(item["id"], item["begin"]) for item in body] == NORWICH_IDS_AND_BEGINS
    assert body == _select(_load("outages.json"), _load("site-info_norwich-pear-tree.json"))


def test_outage_beginning_exactly_at_the_cutoff_is_expected() -> None:
    """An outage beginning at 2022-01-01T00:00:00.000Z is in the expected body."""
    assert CUTOFF in [item["begin"] for item in expected_outages(NORWICH)]


def test_outage_beginning_one_millisecond_early_is_not_expected() -> None:
    """An outage beginning at 2021-12-31T23:59:59.999Z is served but not expected."""
    early = "2021-12-31T23:59:59.999Z"
    assert early in [item["begin"] for item in _load("outages.json")]
    assert early not in [item["begin"] for item in expected_outages(NORWICH)]


def test_kingfisher_expects_the_body_of_the_task_text() -> None:
    """The accepted body for kingfisher is the worked example's output."""
    assert expected_outages(KINGFISHER) == KINGFISHER_BODY


def test_expected_outages_are_a_fresh_copy() -> None:
    """Changing a returned body does not change what the sandbox accepts."""
    expected_outages(NORWICH)[0]["name"] = "changed"
    assert expected_outages(NORWICH)[0]["name"] == "Battery 6"


def test_expected_outages_of_an_unknown_site_raise_key_error() -> None:
    """Asking for a site without data names the sites there are."""
    with pytest.raises(KeyError, match="kingfisher, norwich-pear-tree"):
        expected_outages("no-such-site")


# --- POST /site-outages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("site_id", "body"),
    [(NORWICH, expected_outages(NORWICH)), (KINGFISHER, KINGFISHER_BODY)],
)
def test_exact_body_is_accepted(
    sandbox: Sandbox, client: httpx.Client, site_id: str, body: list[dict[str, str]]
) -> None:
    """POST of exactly the expected list answers 200 {} and is recorded."""
    response = client.post(f"/site-outages/{site_id}", json=body)
    assert (response.status_code, response.json()) == (200, {})
    assert sandbox.accepted_posts == [(site_id, body)]


def _reordered() -> list[dict[str, str]]:
    return list(reversed(expected_outages(NORWICH)))


def _renamed() -> list[dict[str, str]]:
    body = expected_outages(NORWICH)
    body[0]["name"] = "Battery 99"
    return body


def _with_extra_field() -> list[dict[str, str]]:
    body = expected_outages(NORWICH)
    body[0]["site"] = NORWICH
    return body


def _reformatted_begin() -> list[dict[str, str]]:
    body = expected_outages(NORWICH)
    body[1]["begin"] = "2022-01-01T00:00:00Z"  # the same instant, other text
    return body


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(json.dumps(expected_outages(NORWICH)[:-1]).encode(), id="one-missing"),
        pytest.param(
            json.dumps(expected_outages(NORWICH) + KINGFISHER_BODY[:1]).encode(), id="one-extra"
        ),
        pytest.param(json.dumps(_reordered()).encode(), id="reordered"),
        pytest.param(json.dumps(_renamed()).encode(), id="wrong-name"),
        pytest.param(json.dumps(_with_extra_field()).encode(), id="extra-field"),
        pytest.param(json.dumps(_reformatted_begin()).encode(), id="begin-reformatted"),
        pytest.param(b"[]", id="empty-list"),
        pytest.param(b"", id="no-body"),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
def test_wrong_body_is_rejected(sandbox: Sandbox, client: httpx.Client, content: bytes) -> None:
    """Any other body answers 400 Unexpected outages received and is not recorded."""
    response = client.post(f"/site-outages/{NORWICH}", content=content)
    assert response.status_code == 400
    assert response.json() == {"message": "Unexpected outages received"}
    assert not sandbox.accepted_posts


# --- errors as the live API gives them ----------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_site_is_not_found(client: httpx.Client, method: str) -> None:
    """An unknown site answers 404 Site not found on both site endpoints."""
    path = "/site-info/no-such-site" if method == "GET" else "/site-outages/no-such-site"
    response = client.request(method, path, json=[])
    assert (response.status_code, response.json()) == (404, {"message": "Site not found"})


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_too_much_too_soon_is_rate_limited_without_retry_after(
    client: httpx.Client, method: str
) -> None:
    """Site too-much-too-soon answers 429 with the live message and no Retry-After."""
    path = "/site-info/too-much-too-soon" if method == "GET" else "/site-outages/too-much-too-soon"
    response = client.request(method, path, json=[])
    assert response.status_code == 429
    assert response.json() == {"message": "You have exceeded your limit for your API key"}
    assert "retry-after" not in response.headers


@pytest.mark.parametrize("key", [None, "", "wrong-key", SANDBOX_API_KEY + "x"])
def test_missing_or_wrong_key_is_forbidden(sandbox: Sandbox, key: str | None) -> None:
    """A missing or wrong x-api-key answers 403 {"message": "Forbidden"}."""
    with _client(sandbox, key) as client:
        response = client.get("/outages")
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})


def test_key_given_to_the_constructor_replaces_the_sandbox_key() -> None:
    """A sandbox built with api_key accepts that key and refuses the default one."""
    with Sandbox(api_key="other-key") as sandbox:
        with _client(sandbox, "other-key") as good, _client(sandbox) as default:
            statuses = (good.get("/outages").status_code, default.get("/outages").status_code)
    assert statuses == (200, 403)


@pytest.mark.parametrize(
    "path",
    [
        "/interview-tests-mock-api/v1/",
        "/interview-tests-mock-api/v1/nothing",
        "/interview-tests-mock-api/v1/outages/extra",
        "/interview-tests-mock-api/v1/site-info/",
        "/interview-tests-mock-api/v1/site-info/a/b",
        "/interview-tests-mock-api/v2/outages",
        "/outages",
    ],
)
def test_unknown_path_is_not_found(sandbox: Sandbox, path: str) -> None:
    """A path that is no endpoint answers 404 Not Found."""
    with httpx.Client(headers={"x-api-key": SANDBOX_API_KEY}, timeout=5.0) as client:
        response = client.get(f"http://127.0.0.1:{sandbox.port}{path}")
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/outages", "GET"),
        ("DELETE", "/site-info/kingfisher", "GET"),
        ("GET", "/site-outages/kingfisher", "POST"),
        ("PUT", "/site-outages/kingfisher", "POST"),
        ("PATCH", "/outages", "GET"),
    ],
)
def test_wrong_method_is_not_allowed(
    client: httpx.Client, method: str, path: str, allowed: str
) -> None:
    """A known path with the wrong method answers 405 with an Allow header."""
    response = client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Length": "abc"}, 400),
        ({"Content-Length": "-1"}, 400),
        ({"Content-Length": str(MAX_BODY_BYTES + 1)}, 413),
        ({"Transfer-Encoding": "chunked"}, 411),
    ],
)
def test_unreadable_body_is_refused_and_the_connection_closed(
    sandbox: Sandbox, headers: dict[str, str], status: int
) -> None:
    """A body that cannot be read answers 4xx with Connection: close."""
    assert _raw_post(sandbox, headers) == (status, "close")


# --- journals -------------------------------------------------------------------------


def test_request_log_records_method_path_and_status(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    """Each request is logged as (method, path, status), without the query string."""
    client.get("/outages", params={"page": "1"})
    client.post("/site-outages/kingfisher", json=[])
    assert sandbox.request_log == [
        ("GET", f"{API_PATH}/outages", 200),
        ("POST", f"{API_PATH}/site-outages/kingfisher", 400),
    ]


def test_reset_forgets_requests_and_posts(sandbox: Sandbox, client: httpx.Client) -> None:
    """reset() empties request_log and accepted_posts."""
    client.post("/site-outages/kingfisher", json=KINGFISHER_BODY)
    sandbox.reset()
    assert (sandbox.request_log, sandbox.accepted_posts) == ([], [])


def test_reset_restarts_the_fault_sequence() -> None:
    """After reset() a seeded sandbox draws the same faults again."""
    with Sandbox(faults=Faults(rate=0.5, seed=11)) as sandbox:
        first = _statuses(sandbox, 12)
        sandbox.reset()
        assert _statuses(sandbox, 12) == first


def test_reset_can_change_the_faults(sandbox: Sandbox) -> None:
    """reset(faults=...) injects the new faults from then on."""
    sandbox.reset(faults=Faults(rate=1.0, kinds=("503",)))
    assert sandbox.faults == Faults(rate=1.0, kinds=("503",))
    assert _statuses(sandbox, 2) == [503, 503]


def test_reset_refuses_what_is_not_faults(sandbox: Sandbox) -> None:
    """reset(faults=...) with anything but Faults raises TypeError."""
    with pytest.raises(TypeError, match="faults must be a Faults"):
        sandbox.reset(faults="500")  # type: ignore[arg-type]


# --- faults ---------------------------------------------------------------------------


def test_faults_with_a_seed_are_reproducible() -> None:
    """Two sandboxes with the same seed answer the same sequence of statuses."""
    runs = []
    for _ in range(2):
        with Sandbox(faults=Faults(rate=0.5, seed=42)) as sandbox:
            runs.append(_statuses(sandbox, 30))
            assert [entry[2] for entry in sandbox.request_log] == runs[-1]
    assert runs[0] == runs[1]
    assert 200 in runs[0] and set(runs[0]) - {200}


def test_fault_rate_zero_injects_nothing() -> None:
    """With the default Faults every request is answered normally."""
    with Sandbox() as sandbox:
        assert set(_statuses(sandbox, 20)) == {200}


def test_fault_500_has_a_json_body() -> None:
    """Fault 500 answers a JSON message."""
    with Sandbox(faults=Faults(rate=1.0, kinds=("500",))) as sandbox, _client(sandbox) as client:
        response = client.get("/outages")
    assert (response.status_code, response.json()) == (500, {"message": "Internal server error"})


def test_fault_502_has_an_html_body() -> None:
    """Fault 502 answers an HTML page, as a CDN does."""
    with Sandbox(faults=Faults(rate=1.0, kinds=("502",))) as sandbox, _client(sandbox) as client:
        response = client.get("/outages")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<html>")


def test_fault_503_is_service_unavailable() -> None:
    """Fault 503 answers 503."""
    with Sandbox(faults=Faults(rate=1.0, kinds=("503",))) as sandbox, _client(sandbox) as client:
        response = client.get("/outages")
    assert response.status_code == 503


def test_fault_429_has_retry_after() -> None:
    """Fault 429 answers Retry-After: 1 (seconds)."""
    with Sandbox(faults=Faults(rate=1.0, kinds=("429",))) as sandbox, _client(sandbox) as client:
        response = client.get("/outages")
    assert (response.status_code, response.headers["retry-after"]) == (429, "1")


def test_fault_drop_closes_the_connection_without_answer() -> None:
    """Fault drop closes the connection; the client sees a protocol error."""
    with Sandbox(faults=Faults(rate=1.0, kinds=("drop",))) as sandbox, _client(sandbox) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post(f"/site-outages/{NORWICH}", json=expected_outages(NORWICH))
        assert sandbox.request_log == [("POST", f"{API_PATH}/site-outages/{NORWICH}", "drop")]
        assert not sandbox.accepted_posts


def test_post_that_got_a_fault_is_accepted_when_sent_again(sandbox: Sandbox) -> None:
    """A fault replaces the POST's answer; the same POST sent again is accepted."""
    sandbox.reset(faults=Faults(rate=1.0, kinds=("500",)))
    with _client(sandbox) as client:
        failed = client.post(f"/site-outages/{NORWICH}", json=expected_outages(NORWICH))
        sandbox.reset(faults=Faults())
        accepted = client.post(f"/site-outages/{NORWICH}", json=expected_outages(NORWICH))
    assert (failed.status_code, accepted.status_code) == (500, 200)
    assert len(sandbox.accepted_posts) == 1


def test_faults_come_before_the_key_check() -> None:
    """A faulty request fails with its fault even with a wrong key."""
    with Sandbox(faults=Faults(rate=1.0, kinds=("503",))) as sandbox:
        with _client(sandbox, "wrong-key") as client:
            assert client.get("/outages").status_code == 503


def test_latency_is_added_to_every_request() -> None:
    """Faults(latency=...) delays each answer by at least that many seconds."""
    with Sandbox(faults=Faults(latency=0.2)) as sandbox, _client(sandbox) as client:
        started = time.perf_counter()
        client.get("/outages")
        client.get("/site-info/no-such-site")
        elapsed = time.perf_counter() - started
    assert elapsed >= 0.4


def test_requests_are_served_concurrently() -> None:
    """Eight slow requests at once take far less than eight times one."""
    latency, count = 0.3, 8
    with Sandbox(faults=Faults(latency=latency)) as sandbox, _client(sandbox) as client:
        with ThreadPoolExecutor(max_workers=count) as pool:
            started = time.perf_counter()
            statuses = list(pool.map(lambda _: client.get("/outages").status_code, range(count)))
            elapsed = time.perf_counter() - started
    assert statuses == [200] * count
    assert elapsed < count * latency / 2, f"{count} requests took {elapsed:.2f} s"


def test_faults_defaults_inject_nothing() -> None:
    """Faults() has rate 0, no seed, every kind and no latency."""
    assert Faults() == Faults(rate=0.0, seed=None, kinds=FAULT_KINDS, latency=0.0)


def test_fault_kinds_accept_a_comma_separated_string() -> None:
    """kinds="500, drop" is read as ("500", "drop")."""
    assert Faults(kinds="500, drop").kinds == ("500", "drop")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": -0.1}, "fault rate must be a number between 0 and 1, got -0.1"),
        ({"rate": 1.5}, "fault rate must be a number between 0 and 1, got 1.5"),
        ({"rate": math.nan}, "fault rate must be a number between 0 and 1, got nan"),
        ({"rate": "0.5"}, "fault rate must be a number between 0 and 1, got '0.5'"),
        ({"rate": True}, "fault rate must be a number between 0 and 1, got True"),
        ({"seed": "7"}, "fault seed must be an integer or None, got '7'"),
        ({"seed": 1.5}, "fault seed must be an integer or None, got 1.5"),
        ({"seed": False}, "fault seed must be an integer or None, got False"),
        ({"kinds": ()}, "fault kinds must name at least one of 500, 502, 503, drop, 429"),
        ({"kinds": ("500", "404")}, "unknown fault kind '404': choose from 500, 502, 503"),
        ({"kinds": "500,oops"}, "unknown fault kind 'oops'"),
        ({"latency": -1}, "latency must be a finite number of seconds >= 0, got -1"),
        ({"latency": math.inf}, "latency must be a finite number of seconds >= 0, got inf"),
        ({"latency": "1"}, "latency must be a finite number of seconds >= 0, got '1'"),
    ],
)
def test_faults_refuse_invalid_values(kwargs: dict[str, Any], message: str) -> None:
    """Faults raises ValueError naming the bad value."""
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        Faults(**kwargs)


# --- life cycle ---------------------------------------------------------------------------


def test_base_url_names_the_bound_port(sandbox: Sandbox) -> None:
    """base_url is http://127.0.0.1:{port}/interview-tests-mock-api/v1."""
    assert sandbox.base_url == f"http://127.0.0.1:{sandbox.port}/interview-tests-mock-api/v1"
    assert sandbox.port > 0


def test_not_running_sandbox_has_no_base_url() -> None:
    """base_url before start() raises RuntimeError."""
    with pytest.raises(RuntimeError, match="not running"):
        _ = Sandbox().base_url


def test_starting_twice_raises(sandbox: Sandbox) -> None:
    """start() on a running sandbox raises RuntimeError."""
    with pytest.raises(RuntimeError, match="already running"):
        sandbox.start()


def test_stop_is_idempotent_and_start_works_again() -> None:
    """A stopped sandbox can be stopped again, and started again."""
    sandbox = Sandbox()
    sandbox.stop()
    with sandbox:
        assert sandbox.running
    sandbox.stop()
    with sandbox, _client(sandbox) as client:
        assert client.get("/outages").status_code == 200
    assert not sandbox.running


def test_stop_closes_idle_keep_alive_connections(sandbox: Sandbox) -> None:
    """stop() returns at once although a client keeps a connection open."""
    with _client(sandbox) as client:
        client.get("/outages")
        started = time.perf_counter()
        sandbox.stop()
        assert time.perf_counter() - started < 1.0


def test_stop_cuts_added_latency_short() -> None:
    """stop() does not wait for the latency of requests in progress."""
    errors: list[BaseException] = []
    sandbox = Sandbox(faults=Faults(latency=30.0)).start()

    def fetch() -> None:
        with _client(sandbox) as client:
            try:
                client.get("/outages")
            except httpx.HTTPError as err:
                errors.append(err)

    thread = threading.Thread(target=fetch)
    thread.start()
    time.sleep(0.3)  # the request is now waiting out its latency
    started = time.perf_counter()
    sandbox.stop()
    thread.join(5)
    assert time.perf_counter() - started < 2.0
    assert [isinstance(err, httpx.TransportError) for err in errors] == [True]


def test_busy_port_raises_os_error() -> None:
    """Starting on a port already listened on raises OSError."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError):
            Sandbox(port=busy.getsockname()[1]).start()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"port": -1}, ValueError, "port must be an integer from 0 to 65535"),
        ({"port": 65536}, ValueError, "port must be an integer from 0 to 65535"),
        ({"port": True}, ValueError, "port must be an integer from 0 to 65535"),
        ({"host": ""}, ValueError, "host must not be empty"),
        ({"api_key": ""}, ValueError, "api_key must not be empty"),
        ({"faults": 0.5}, TypeError, "faults must be a Faults, not float"),
    ],
)
def test_sandbox_refuses_invalid_arguments(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Sandbox(...) checks its arguments."""
    with pytest.raises(error, match=message):
        Sandbox(**kwargs)


def test_nothing_is_written_to_stderr(
    sandbox: Sandbox, client: httpx.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    """Requests leave stderr untouched (http.server's own logging is silenced)."""
    logging.getLogger("outages_processor.sandbox").setLevel(logging.WARNING)
    try:
        client.get("/outages")
        client.get("/nothing")
        sandbox.stop()
    finally:
        logging.getLogger("outages_processor.sandbox").setLevel(logging.NOTSET)
    assert capfd.readouterr().err == ""


def test_debug_log_never_shows_a_key(sandbox_logs: pytest.LogCaptureFixture) -> None:
    """Requests are logged at DEBUG, without the sandbox key or a refused key."""
    with Sandbox(faults=Faults(rate=0.5, seed=1)) as sandbox:
        _statuses(sandbox, 6)
        with _client(sandbox, "refused-secret") as client:
            client.get("/outages")
    assert any("/outages" in record.getMessage() for record in sandbox_logs.records)
    assert {record.levelno for record in sandbox_logs.records} == {logging.DEBUG}
    assert SANDBOX_API_KEY not in sandbox_logs.text
    assert "refused-secret" not in sandbox_logs.text


def test_failed_exchange_is_logged_at_debug(sandbox_logs: pytest.LogCaptureFixture) -> None:
    """An error while answering is logged at DEBUG with its traceback, not printed."""
    state = SandboxState(api_key=SANDBOX_API_KEY, faults=Faults(), dataset=load_dataset())
    with SandboxHTTPServer(("127.0.0.1", 0), state) as server:
        try:
            raise ConnectionResetError("peer went away")
        except ConnectionResetError:
            server.handle_error(None, ("127.0.0.1", 9))
    assert [(r.levelno, r.exc_info is not None) for r in sandbox_logs.records] == [
        (logging.DEBUG, True)
    ]


def test_connection_opened_while_stopping_is_shut() -> None:
    """A connection registered after stop() began is shut down at once."""
    state = SandboxState(api_key=SANDBOX_API_KEY, faults=Faults(), dataset=load_dataset())
    left, right = socket.socketpair()
    with left, right:
        state.stopping.set()
        state.track(left)
        assert right.recv(1) == b""


def test_closing_an_already_closed_connection_is_harmless() -> None:
    """close_connections() skips sockets that are closed already."""
    state = SandboxState(api_key=SANDBOX_API_KEY, faults=Faults(), dataset=load_dataset())
    left, right = socket.socketpair()
    with right:
        state.track(left)
        left.close()
        state.close_connections()
        state.untrack(left)


# --- process_outages sandbox serve ------------------------------------------------------


@pytest.fixture(name="interrupted")
def fixture_interrupted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make `serve` GET /outages once, then behave as if Ctrl-C was pressed."""
    statuses: list[int] = []

    def interrupt(sandbox: Sandbox) -> None:
        with _client(sandbox) as client:
            statuses.append(client.get("/outages").status_code)
        raise KeyboardInterrupt

    monkeypatch.setattr(sandbox_cli, "_wait_for_interrupt", interrupt)
    return statuses


def test_serve_prints_the_settings_and_serves_until_interrupted(interrupted: list[int]) -> None:
    """`serve` prints the base URL and key lines, serves, and exits 0 on Ctrl-C."""
    result = CliRunner().invoke(sandbox_cli.app, ["serve", "--port", "0"])
    assert result.exit_code == 0, result.output
    url_line, key_line = result.stdout.splitlines()
    assert url_line.startswith("KRAKENFLEX_BASE_URL=http://127.0.0.1:")
    assert url_line.endswith("/interview-tests-mock-api/v1")
    assert key_line == "KRAKENFLEX_API_KEY=sandbox-key"
    assert interrupted == [200]
    assert "(no faults)" in result.stderr
    assert result.stderr.endswith("Sandbox stopped.\n")


def test_serve_describes_the_faults_it_injects(interrupted: list[int]) -> None:
    """`serve` with faults and latency says which on stderr."""
    args = ["serve", "--port", "0", "--fail-rate", "0.25", "--seed", "3", "--faults", "500,drop"]
    result = CliRunner().invoke(sandbox_cli.app, [*args, "--latency", "0.01"])
    assert result.exit_code == 0, result.output
    assert "25% of requests get one of 500,drop, seed 3; 0.01 s added" in result.stderr
    assert len(interrupted) == 1


def test_serve_describes_latency_alone(interrupted: list[int]) -> None:
    """`serve` with latency and no fault rate says so."""
    result = CliRunner().invoke(sandbox_cli.app, ["serve", "--port", "0", "--latency", "0.01"])
    assert "(no faults; 0.01 s added to every request)" in result.stderr
    assert interrupted == [200]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fail-rate", "1.5"], "Invalid value for '--fail-rate': fault rate must be"),
        (["--fail-rate", "nan"], "Invalid value for '--fail-rate': fault rate must be"),
        (["--faults", "500,404"], "Invalid value for '--faults': unknown fault kind '404'"),
        (["--latency", "-1"], "Invalid value for '--latency': latency must be"),
        (["--port", "70000"], "Invalid value for '--port'"),
        (["--host", ""], "Invalid value for '--host': host must not be empty"),
    ],
)
def test_serve_refuses_bad_values_with_usage_error(args: list[str], message: str) -> None:
    """Bad option values exit 2 with a message naming the option."""
    result = CliRunner().invoke(sandbox_cli.app, ["serve", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_serve_on_a_busy_port_fails_with_one_line() -> None:
    """A port in use exits 3 with one line naming the address."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(sandbox_cli.app, ["serve", "--port", str(port)])
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use; "
        "choose another --port (0 picks a free one)\n"
    )
    assert result.stdout == ""


def test_wait_for_interrupt_returns_when_the_sandbox_stops() -> None:
    """The serving loop of `serve` ends once the sandbox is stopped."""
    sandbox = Sandbox().start()
    timer = threading.Timer(0.1, sandbox.stop)
    timer.start()
    sandbox_cli._wait_for_interrupt(sandbox)  # pylint: disable=protected-access
    timer.join()
    assert not sandbox.running


def test_serve_runs_as_a_process_until_ctrl_c() -> None:
    """`sandbox serve` in its own process answers requests and exits 0 on SIGINT."""
    command = [
        sys.executable,
        "-c",
        "from outages_processor.scripts.sandbox import app; app()",
        "serve",
        "--port",
        "0",
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip().removeprefix("KRAKENFLEX_BASE_URL=")
        key = process.stdout.readline().strip().removeprefix("KRAKENFLEX_API_KEY=")
        response = httpx.get(f"{base_url}/site-info/{NORWICH}", headers={"x-api-key": key})
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    assert response.status_code == 200
    assert process.returncode == 0, stderr
    assert "Sandbox stopped." in stderr


def test_extra_sites_are_served_beside_the_bundled_ones() -> None:
    """``sites=`` adds sites, whose expected POST body follows the same rule."""
    extra = {
        "id": "copy",
        "name": "Copy",
        "devices": [{"id": "002b28fc-283c-47ec-9af2-ea287336dc1b", "name": "Battery 1"}],
    }
    with Sandbox(sites={"copy": extra}) as sandbox:
        headers = {"x-api-key": SANDBOX_API_KEY}
        info = httpx.get(f"{sandbox.base_url}/site-info/copy", headers=headers)
        bundled = httpx.get(f"{sandbox.base_url}/site-info/kingfisher", headers=headers)
    assert info.json() == extra
    assert bundled.status_code == 200
