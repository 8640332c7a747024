"""The time budget is a deadline over a whole request, retries and slow answers included."""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import respx
from typer.testing import CliRunner

from outages_processor.api import KrakenFlexClient, RetryPolicy
from outages_processor.errors import ApiConnectionError, ServerError
from outages_processor.scripts.main import app
from outages_processor.settings import DEFAULT_MAX_RETRY_TIME, Settings

from .conftest import BASE_URL, FAKE_KEY

runner = CliRunner()
BUDGET = 1.5
"""Seconds: the --max-time of these tests."""
MARGIN = 0.8
"""Seconds a run may last past its deadline (thread start-up, a loaded machine)."""
TRICKLE_EVERY = 0.2
"""Seconds between the bytes of a trickling answer."""


class _SlowHandler(socketserver.BaseRequestHandler):
    """Read the request, then hang or trickle a 200 answer one byte at a time."""

    server: _SlowServer

    def handle(self) -> None:
        self.request.recv(65536)
        if self.server.mode == "hang":
            self.server.stopping.wait()
            return
        body = b"[" + b" " * 200 + b"]"
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        self.request.sendall(head + b"content-length: %d\r\n\r\n" % len(body))
        for byte in body:
            if self.server.stopping.wait(TRICKLE_EVERY):
                return
            try:
                self.request.sendall(bytes([byte]))
            except OSError:
                return  # the client gave up: what the test wants


class _SlowServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.mode = mode
        self.stopping = threading.Event()



@pytest.fixture(name="slow_server", params=["hang", "trickle"])
def fixture_slow_server(request: pytest.FixtureRequest) -> Iterator[_SlowServer]:
    """A server on 127.0.0.1 that never answers, or answers one byte every 0.2 s."""
    server = _SlowServer(request.param)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.stopping.set()
    server.shutdown()
    server.server_close()
    thread.join()


def base_url(server: _SlowServer) -> str:
    """The API root served by ``server``."""
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


@pytest.mark.parametrize(("timeout", "retries"), [("25", "5"), ("2", "1"), ("0.3", "20")])
def test_job_ends_at_its_deadline_against_a_slow_server(
    slow_server: _SlowServer, timeout: str, retries: str
) -> None:
    """``--max-time 1.5``: exit 1 within a small margin of 1.5 s, not timeout x retries."""
    started = time.monotonic()
    result = runner.invoke(
        app,
        [
            *("--site", "kingfisher", "--api-key", FAKE_KEY, "--base-url", base_url(slow_server)),
            *("--max-time", str(BUDGET), "--timeout", timeout, "--retries", retries),
        ],
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert BUDGET * 0.9 <= elapsed <= BUDGET + MARGIN
    last = result.stderr.splitlines()[-1]
    assert last.startswith("kingfisher: error: GET /outages: timed out (")
    assert last.endswith("; check the network and the base URL, then try again later")
    assert "Traceback" not in result.output


def test_library_deadline_bounds_one_request(slow_server: _SlowServer) -> None:
    """``Settings.max_retry_time`` bounds request_json the same way."""
    settings = Settings(
        api_key=FAKE_KEY, base_url=base_url(slow_server), timeout=5.0, max_retry_time=BUDGET
    )
    started = time.monotonic()
    with KrakenFlexClient(settings) as client, pytest.raises(ApiConnectionError):
        client.request_json("GET", "/outages")
    assert time.monotonic() - started <= BUDGET + MARGIN


def test_trickled_body_is_cut_off_at_the_deadline() -> None:
    """A body still arriving at the deadline is a timeout, not a wait for every byte."""
    server = _SlowServer("trickle")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        settings = Settings(
            api_key=FAKE_KEY, base_url=base_url(server), timeout=2.0, max_retry_time=0.6, tries=1
        )
        with KrakenFlexClient(settings) as client, pytest.raises(ApiConnectionError) as info:
            client.request_json("GET", "/outages")
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()
    assert str(info.value) == (
        "GET /outages: timed out (the answer was still arriving when the time ran out) after "
        "1 attempt; check the network and the base URL, then try again later"
    )


@respx.mock
def test_no_retry_starts_after_the_deadline() -> None:
    """A Retry-After longer than the budget ends the request at the deadline, one attempt."""
    settings = Settings(api_key=FAKE_KEY, base_url=BASE_URL, max_retry_time=0.4)
    route = respx.get(f"{BASE_URL}/x").respond(503, headers={"Retry-After": "30"})
    started = time.monotonic()
    with KrakenFlexClient(settings, retry=RetryPolicy(tries=5, max_time=0.4)) as client:
        with pytest.raises(ServerError, match=r"HTTP 503 \(empty body\) after 1 attempt;"):
            client.request_json("GET", "/x")
    assert route.call_count == 1
    assert time.monotonic() - started < 0.4 + MARGIN


@respx.mock
def test_each_attempt_timeout_shrinks_to_what_is_left() -> None:
    """The timeout handed to httpx is min(--timeout, time left before the deadline)."""
    seen: list[float] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"]["read"])
        return httpx.Response(200, json=[])

    respx.get(f"{BASE_URL}/x").mock(side_effect=record)
    for budget, expected in ((0.5, 0.5), (60.0, 10.0)):
        settings = Settings(api_key=FAKE_KEY, base_url=BASE_URL, max_retry_time=budget)
        with KrakenFlexClient(settings) as client:
            client.request_json("GET", "/x")
        assert expected - 0.1 < seen[-1] <= expected


@pytest.mark.parametrize(
    ("args", "expected"), [([], DEFAULT_MAX_RETRY_TIME), (["--max-time", "2.5"], 2.5)]
)
def test_max_time_flag_sets_the_budget(
    monkeypatch: pytest.MonkeyPatch, args: list[str], expected: float
) -> None:
    """``--max-time SECONDS`` becomes ``Settings.max_retry_time`` (default 60)."""
    seen: list[float] = []

    def fake_process_sites(_sites: list[str], *, settings: Settings, **_: object) -> list[object]:
        seen.append(settings.max_retry_time)
        return []

    monkeypatch.setattr("outages_processor.sites.process_sites", fake_process_sites)
    result = runner.invoke(app, ["--site", "s", "--api-key", FAKE_KEY, *args])
    assert result.exit_code == 0, result.output
    assert seen == [expected]


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_bad_max_time_is_a_usage_error(value: str) -> None:
    """``--max-time`` must be a positive number of seconds: exit 2 naming the flag."""
    result = runner.invoke(app, ["--site", "s", "--api-key", FAKE_KEY, "--max-time", value])
    assert result.exit_code == 2
    assert "'--max-time'" in result.stderr
