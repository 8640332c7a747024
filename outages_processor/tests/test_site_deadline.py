"""The time budget is a deadline over a whole request, retries and slow answers included."""

from __future__ import annotations

import contextlib
import logging
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
MARGIN = 2.0
"""Seconds a run may last past its deadline: the guarantee is ~0.1 s, the rest is slack for a
loaded machine (a CI run beside other work took 0.9 s more), still far below the overruns the
deadline prevents (a 25 s read timeout, a body that never ends)."""
TRICKLE_EVERY = 0.2
"""Seconds between the bytes of a trickling answer."""
STALL_AFTER = 5
"""Body bytes a ``stall-late`` server drips before it stops for good."""
MODES = ["hang", "drip-head", "stall-head", "trickle", "stall-late"]
"""How a slow server misbehaves once it has read the request: never answer; drip its status
line and headers a byte at a time forever; send part of the headers and stop; send the
headers and drip the body; send the headers, drip a few body bytes and stop."""


class _SlowHandler(socketserver.BaseRequestHandler):
    """Read the request, then misbehave as the server's ``mode`` says (see ``MODES``)."""

    server: _SlowServer

    def handle(self) -> None:
        self.request.recv(65536)
        mode, every = self.server.mode, self.server.every
        body = b"[" + b" " * 200 + b"]"
        head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        head += b"content-length: %d\r\n\r\n" % len(body)
        if mode == "drip-head":
            # A status line and headers that never end: every byte arrives in time for the
            # socket's read timeout, so only a deadline over the whole answer stops it.
            self._drip(head[:-2] + b"x-pad: " + b"a" * 10_000, every)
        elif mode == "stall-head":
            self._send(head[:40])
        elif mode == "trickle":
            self._send(head)
            self._drip(body, every)
        elif mode == "stall-late":
            # Body bytes keep each read short until late in the attempt, then nothing:
            # the last read began near the deadline and waits its whole timeout.
            self._send(head)
            self._drip(body[:STALL_AFTER], every)
        self.server.stopping.wait()

    def _send(self, data: bytes) -> bool:
        """Send ``data``; False once the client has gone."""
        try:
            self.request.sendall(data)
        except OSError:
            return False  # the client gave up: what the test wants
        return True

    def _drip(self, data: bytes, every: float) -> None:
        """Send ``data`` one byte every ``every`` seconds, until stopped or the client goes."""
        for byte in data:
            if self.server.stopping.wait(every) or not self._send(bytes([byte])):
                return


class _SlowServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str, every: float = TRICKLE_EVERY) -> None:
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.mode = mode
        self.every = every
        self.stopping = threading.Event()


@contextlib.contextmanager
def serving(mode: str, every: float = TRICKLE_EVERY) -> Iterator[_SlowServer]:
    """Run a :class:`_SlowServer` on 127.0.0.1 for the duration of the block."""
    server = _SlowServer(mode, every)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(name="slow_server", params=["hang", "trickle"])
def fixture_slow_server(request: pytest.FixtureRequest) -> Iterator[_SlowServer]:
    """A server on 127.0.0.1 that never answers, or answers one byte every 0.2 s."""
    with serving(request.param) as server:
        yield server


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
    with serving("trickle") as server:
        settings = Settings(
            api_key=FAKE_KEY, base_url=base_url(server), timeout=2.0, max_retry_time=0.6, tries=1
        )
        with KrakenFlexClient(settings) as client, pytest.raises(ApiConnectionError) as info:
            client.request_json("GET", "/outages")
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


HEAD_DRIP_LINE = (
    "kingfisher: error: GET /outages: timed out (no complete answer within the time limit of "
    "1.5 s) after 1 attempt; check the network and the base URL, then try again later"
)
LATE_STALL_LINE = (
    "kingfisher: error: GET /outages: timed out (the answer was still arriving when the time "
    "ran out) after 1 attempt; check the network and the base URL, then try again later"
)


@pytest.mark.parametrize(
    ("mode", "line"), [("drip-head", HEAD_DRIP_LINE), ("stall-late", LATE_STALL_LINE)]
)
def test_deadline_holds_while_headers_drip_or_a_late_body_stalls(mode: str, line: str) -> None:
    """``--max-time 1.5 --timeout 25``: exit 1 with one line, near 1.5 s (not 25 s)."""
    with serving(mode) as server:
        started = time.monotonic()
        result = runner.invoke(
            app,
            [
                *("--site", "kingfisher", "--api-key", FAKE_KEY, "--base-url", base_url(server)),
                *("--max-time", str(BUDGET), "--timeout", "25", "--retries", "5"),
            ],
        )
        elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [line]
    assert BUDGET * 0.9 <= elapsed <= BUDGET + MARGIN


TABLE_BUDGET = 0.8
"""Seconds: the deadline of the table test, short to keep the file quick."""
TABLE_EVERY = 0.15
"""Seconds between dripped bytes in the table test: a stall-late server stops at 0.75 s."""


@pytest.mark.parametrize(("timeout", "tries"), [(25.0, 5), (0.3, 20)])
@pytest.mark.parametrize("mode", MODES)
def test_deadline_holds_wherever_the_server_stalls_or_drips(
    mode: str, timeout: float, tries: int
) -> None:
    """Hang, drip or stall at any point: the request ends within ~0.1 s of its deadline."""
    with serving(mode, every=TABLE_EVERY) as server:
        settings = Settings(
            api_key=FAKE_KEY,
            base_url=base_url(server),
            timeout=timeout,
            tries=tries,
            max_retry_time=TABLE_BUDGET,
        )
        started = time.monotonic()
        with KrakenFlexClient(settings) as client, pytest.raises(ApiConnectionError):
            client.request_json("GET", "/outages")
        elapsed = time.monotonic() - started
    # The guarantee is ~0.1 s past the deadline (a few ms measured); the rest is slack for
    # a loaded machine, still well short of the old overruns (a 25 s read timeout, a body
    # or headers that never end).
    assert TABLE_BUDGET - 0.1 <= elapsed <= TABLE_BUDGET + MARGIN


ATTEMPT_THREAD = "outages_processor-api-attempt"
"""The name of the threads that run the client's attempts."""


def attempt_threads() -> set[threading.Thread]:
    """The worker threads of the client's attempts that are still running."""
    return {t for t in threading.enumerate() if t.name == ATTEMPT_THREAD}


def test_abandoned_attempt_logs_nothing_once_its_deadline_passed() -> None:
    """An attempt cut off at the deadline writes no log record afterwards, and none has the key."""
    records: list[logging.LogRecord] = []
    collect = logging.Handler(logging.DEBUG)
    collect.emit = records.append  # type: ignore[method-assign]
    names = ("outages_processor", "httpx", "httpcore")
    for name in names:
        logging.getLogger(name).addHandler(collect)
        logging.getLogger(name).setLevel(logging.DEBUG)
    before = attempt_threads()
    with serving("drip-head", every=0.05) as server:
        settings = Settings(
            api_key=FAKE_KEY, base_url=base_url(server), timeout=25.0, max_retry_time=0.5
        )
        with KrakenFlexClient(settings) as client, pytest.raises(ApiConnectionError):
            client.request_json("GET", "/outages")
        gave_up = time.time()
        abandoned = attempt_threads() - before
    for thread in abandoned:
        thread.join(2.0)  # the server is gone: the worker fails, and would log its failure
    assert abandoned and not any(thread.is_alive() for thread in abandoned)
    late = [r for r in records if r.threadName == ATTEMPT_THREAD and r.created >= gave_up]
    assert not late
    assert not [r for r in records if FAKE_KEY in r.getMessage()]


def test_closing_the_client_ends_an_abandoned_attempt() -> None:
    """Closing the client while a cut-off attempt still reads raises nothing and ends it."""
    before = attempt_threads()
    with serving("drip-head", every=0.05) as server:
        settings = Settings(
            api_key=FAKE_KEY, base_url=base_url(server), timeout=25.0, max_retry_time=0.5
        )
        client = KrakenFlexClient(settings)
        with pytest.raises(ApiConnectionError):
            client.request_json("GET", "/outages")
        (abandoned,) = attempt_threads() - before
        assert abandoned.is_alive()  # the server still drips: the worker still reads
        client.close()
        abandoned.join(1.0)
        assert not abandoned.is_alive()


@respx.mock
def test_wait_after_a_slow_attempt_ends_at_the_deadline(sleeps: list[float]) -> None:
    """A retry wait is cut to the time left after the failed attempt, not before it."""

    def slow_failure(request: httpx.Request) -> httpx.Response:
        threading.Event().wait(0.6)  # time.sleep is the recorded backoff sleep here
        raise httpx.ConnectError("refused", request=request)

    respx.get(f"{BASE_URL}/x").mock(side_effect=[slow_failure, httpx.Response(200, json=[])])
    settings = Settings(api_key=FAKE_KEY, base_url=BASE_URL, max_retry_time=1.0)
    # seed 0 draws a first wait of 8.4 s from [0, 10]: backoff alone would cut it to 1.0 s.
    policy = RetryPolicy(tries=2, max_time=1.0, initial_wait=10.0, max_wait=10.0, seed=0)
    with KrakenFlexClient(settings, retry=policy) as client:
        assert client.request_json("GET", "/x") == []
    assert len(sleeps) == 1 and 0.0 < sleeps[0] <= 0.4
