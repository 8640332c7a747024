"""The HTTP client: headers, timeouts, the retry policy and error translation (respx)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
import respx

from outages_processor.api import KrakenFlexClient, RetryPolicy
from outages_processor.api._retry import parse_retry_after
from outages_processor.errors import (
    ApiConnectionError,
    ApiError,
    AuthError,
    ConfigError,
    InvalidResponseError,
    NotFoundError,
    RateLimitedError,
    RejectedPayloadError,
    ServerError,
)
from outages_processor.settings import Settings

from .conftest import BASE_URL, FAKE_KEY

HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>cdn</body></html>"


@pytest.fixture(name="client")
def fixture_client() -> Iterator[KrakenFlexClient]:
    """A client of a fake base URL with 3 tries and a fixed seed."""
    settings = Settings(api_key=FAKE_KEY, base_url=BASE_URL, tries=3)
    with KrakenFlexClient(settings, retry=RetryPolicy(tries=3, seed=1)) as client:
        yield client


@respx.mock
def test_sends_the_api_key_header_and_decodes_json(client: KrakenFlexClient) -> None:
    """Each request carries ``x-api-key`` and the JSON answer is decoded."""
    route = respx.get(f"{BASE_URL}/outages").respond(200, json=[])
    assert client.request_json("GET", "/outages") == []
    assert route.calls.last.request.headers["x-api-key"] == FAKE_KEY


@respx.mock
def test_post_sends_a_json_body(client: KrakenFlexClient) -> None:
    """A POST sends its body as JSON."""
    route = respx.post(f"{BASE_URL}/site-outages/s").respond(200, json={})
    client.request_json("POST", "/site-outages/s", json_body=[{"id": "a"}])
    request = route.calls.last.request
    assert request.headers["content-type"] == "application/json"
    assert request.content == b'[{"id": "a"}]'


@pytest.mark.parametrize(
    "failures",
    [
        [httpx.Response(500, json={"message": "boom"})],
        [httpx.Response(502, text=HTML_502, headers={"content-type": "text/html"})],
        [httpx.Response(503)],
        [httpx.Response(429, json={"message": "You have exceeded your limit for your API key"})],
        [httpx.ConnectError("refused")],
        [httpx.ReadTimeout("slow")],
        [httpx.RemoteProtocolError("Server disconnected without sending a response.")],
        [httpx.Response(503), httpx.ConnectTimeout("slow")],
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
@respx.mock
def test_transient_failures_are_retried_then_succeed(
    client: KrakenFlexClient, sleeps: list[float], method: str, failures: list[object]
) -> None:
    """5xx, 429 and transport failures are retried, POST included, until a 200."""
    route = respx.route(method=method, url=f"{BASE_URL}/x").mock(
        side_effect=[*failures, httpx.Response(200, json={"ok": True})]
    )
    assert client.request_json(method, "/x", json_body=[] if method == "POST" else None) == {
        "ok": True
    }
    assert route.call_count == len(failures) + 1
    assert len(sleeps) == len(failures)


@pytest.mark.parametrize(
    ("status", "error"),
    [(403, AuthError), (404, NotFoundError), (400, RejectedPayloadError), (401, AuthError)],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
@respx.mock
def test_client_errors_are_attempted_exactly_once(
    client: KrakenFlexClient, sleeps: list[float], method: str, status: int, error: type
) -> None:
    """A 400, 401, 403 or 404 is never retried."""
    route = respx.route(method=method, url=f"{BASE_URL}/x").respond(
        status, json={"message": "nope"}
    )
    with pytest.raises(error):
        client.request_json(method, "/x")
    assert route.call_count == 1
    assert not sleeps


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (httpx.Response(500), ServerError, "GET /x: the API failed with HTTP 500"),
        (httpx.Response(429), RateLimitedError, "rate limit was exceeded (HTTP 429) after 3"),
        (httpx.ConnectError("refused"), ApiConnectionError, "connection failed (refused)"),
        (httpx.ReadTimeout("slow"), ApiConnectionError, "timed out (ReadTimeout) after 3"),
    ],
)
@respx.mock
def test_persistent_transient_failures_give_up_after_the_tries(
    client: KrakenFlexClient,
    sleeps: list[float],
    answer: object,
    error: type[ApiError],
    message: str,
) -> None:
    """After ``tries`` attempts the last failure is raised as our transient error."""
    route = respx.get(f"{BASE_URL}/x").mock(side_effect=[answer] * 5)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        client.request_json("GET", "/x")
    assert route.call_count == 3
    assert len(sleeps) == 2
    assert info.value.transient


@respx.mock
def test_retry_after_seconds_is_waited_exactly(
    client: KrakenFlexClient, sleeps: list[float]
) -> None:
    """A ``Retry-After: 2`` answer makes the next attempt wait 2 s, without jitter."""
    respx.get(f"{BASE_URL}/x").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, json=1)]
    )
    assert client.request_json("GET", "/x") == 1
    assert sleeps == [2.0]


@respx.mock
def test_retry_after_is_capped() -> None:
    """A huge ``Retry-After`` is capped by the policy's ``max_retry_after``."""
    settings = Settings(api_key=FAKE_KEY, base_url=BASE_URL)
    policy = RetryPolicy(tries=2, max_retry_after=0.05)
    respx.get(f"{BASE_URL}/x").mock(
        side_effect=[
            httpx.Response(503, headers={"Retry-After": "3600"}),
            httpx.Response(200, json=1),
        ]
    )
    with KrakenFlexClient(settings, retry=policy) as client:
        assert client.request_json("GET", "/x") == 1


def test_backoff_waits_grow_exponentially_with_full_jitter() -> None:
    """Each wait is drawn from [0, min(max_wait, initial * 2**n)]."""
    policy = RetryPolicy(initial_wait=1.0, max_wait=5.0, seed=7)
    waits = policy.wait_generator()
    next(waits)
    drawn = [waits.send(RuntimeError()) for _ in range(6)]
    for n, wait in enumerate(drawn):
        assert 0.0 <= wait <= min(5.0, 2.0**n)
    again = policy.wait_generator()
    next(again)
    assert drawn == [again.send(RuntimeError()) for _ in range(6)]


@respx.mock
def test_total_time_bounds_the_retries() -> None:
    """No retry starts once ``max_time`` has passed, however many tries remain."""
    settings = Settings(api_key=FAKE_KEY, base_url=BASE_URL)
    policy = RetryPolicy(tries=1000, max_time=0.3, initial_wait=0.05, max_wait=0.05)
    route = respx.get(f"{BASE_URL}/x").respond(503)
    with KrakenFlexClient(settings, retry=policy) as client, pytest.raises(ServerError):
        client.request_json("GET", "/x")
    assert 2 <= route.call_count < 50


@respx.mock
def test_each_retry_is_logged_at_warning_with_attempt_and_cause(
    client: KrakenFlexClient, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    """A retry logs one WARNING naming the attempt and the cause."""
    respx.get(f"{BASE_URL}/x").mock(side_effect=[httpx.Response(503), httpx.Response(200, json=1)])
    with caplog.at_level(logging.WARNING, logger="outages_processor"):
        client.request_json("GET", "/x")
    assert len(sleeps) == 1
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("GET /x failed (attempt 1 of 3): HTTP 503; retrying in")


@respx.mock
def test_non_json_success_is_an_invalid_response(client: KrakenFlexClient) -> None:
    """A 200 whose body is not JSON raises InvalidResponseError naming the endpoint."""
    respx.get(f"{BASE_URL}/x").respond(200, text="<html>hi</html>")
    with pytest.raises(InvalidResponseError, match=r"^GET /x: the API answered HTTP 200"):
        client.request_json("GET", "/x")


@respx.mock
def test_unexpected_status_is_a_plain_api_error(client: KrakenFlexClient) -> None:
    """A status with no class of its own (405) raises ApiError with the status."""
    respx.get(f"{BASE_URL}/x").respond(405, text="")
    with pytest.raises(ApiError, match=r"unexpected answer HTTP 405 \(empty body\)") as info:
        client.request_json("GET", "/x")
    assert info.value.status_code == 405
    assert not info.value.transient


@respx.mock
def test_not_found_names_the_site(client: KrakenFlexClient) -> None:
    """A 404 on a site request names the site and carries it."""
    respx.get(f"{BASE_URL}/site-info/nowhere").respond(404, json={"message": "Site not found"})
    with pytest.raises(NotFoundError, match="does not know site 'nowhere'") as info:
        client.request_json("GET", "/site-info/nowhere", site_id="nowhere")
    assert info.value.site_id == "nowhere"


@respx.mock
def test_rejected_payload_carries_the_api_message(client: KrakenFlexClient) -> None:
    """A 400 keeps the API's own message."""
    respx.post(f"{BASE_URL}/x").respond(400, json={"message": "Unexpected outages received"})
    with pytest.raises(RejectedPayloadError) as info:
        client.request_json("POST", "/x", json_body=[])
    assert info.value.api_message == "Unexpected outages received"
    assert "Unexpected outages received" in str(info.value)


@respx.mock
def test_long_html_error_bodies_are_shortened(client: KrakenFlexClient) -> None:
    """An HTML error page is quoted briefly, not dumped."""
    respx.get(f"{BASE_URL}/x").respond(418, text="<p>" + "x" * 500 + "</p>")
    with pytest.raises(ApiError) as info:
        client.request_json("GET", "/x")
    assert len(str(info.value)) < 200


def test_unsupported_scheme_is_a_config_error() -> None:
    """A request httpx cannot send at all is a ConfigError, not retried."""
    settings = Settings(api_key=FAKE_KEY, base_url=BASE_URL)
    transport = httpx.MockTransport(
        lambda request: (_ for _ in ()).throw(httpx.UnsupportedProtocol("no"))
    )
    with KrakenFlexClient(settings, transport=transport) as client:
        with pytest.raises(ConfigError, match="cannot send the request"):
            client.request_json("GET", "/x")


def test_an_injected_http_client_is_used_and_left_open() -> None:
    """A caller's httpx.Client is used as is and not closed by the client."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=[])

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with KrakenFlexClient(Settings(api_key=FAKE_KEY, base_url=BASE_URL), http_client=http) as c:
        c.request_json("GET", "/outages")
    assert seen == [f"{BASE_URL}/outages"]
    assert not http.is_closed
    http.close()


def test_repr_never_shows_the_key() -> None:
    """Neither the client's nor the settings' repr contains the key."""
    settings = Settings(api_key=FAKE_KEY, base_url=BASE_URL)
    with KrakenFlexClient(settings) as client:
        assert FAKE_KEY not in repr(client)
        assert FAKE_KEY not in repr(settings)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("3", 3.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
    ],
)
def test_retry_after_header_parsing(header: str | None, seconds: float | None) -> None:
    """Retry-After accepts delta-seconds and HTTP dates; junk is ignored."""
    now = 1445412480.0  # 2015-10-21T07:28:00Z
    assert parse_retry_after(header, now=lambda: now) == seconds
