"""Odd answers of the API: bodies too deep to decode, empty bodies to the POST."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import respx
from typer.testing import CliRunner

from outages_processor.api import KrakenFlexClient, post_site_outages
from outages_processor.errors import InvalidResponseError, NotFoundError
from outages_processor.models import EnhancedOutage
from outages_processor.scripts.main import app

from .conftest import BASE_URL, FAKE_KEY, bundled_json, bundled_outages

runner = CliRunner()
OPTIONS = ["--base-url", BASE_URL, "--api-key", FAKE_KEY]
DEEP = b"[" * 100_000 + b"]" * 100_000
"""Valid JSON nested 100,000 deep: more than the decoder can follow."""
OUTAGE = EnhancedOutage("d", "D", "2022-01-01T00:00:00Z", "2022-01-01T00:00:00Z")


@pytest.fixture(name="api")
def fixture_api() -> Iterator[respx.Router]:
    """A mocked API with the kingfisher site; POSTs accepted with ``{}``."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.get("/outages", name="outages").respond(200, json=bundled_outages())
        router.get("/site-info/kingfisher", name="info").respond(
            200, json=bundled_json("site-info_kingfisher.json")
        )
        router.post("/site-outages/kingfisher", name="post").respond(200, json={})
        yield router


@pytest.mark.parametrize(
    ("route", "endpoint"),
    [("outages", "GET /outages"), ("info", "GET /site-info/kingfisher")],
)
def test_too_deep_json_is_an_invalid_response_exit_3(
    api: respx.Router, route: str, endpoint: str
) -> None:
    """A 100k-deep JSON answer: exit 3, one line, no traceback."""
    api[route].respond(200, content=DEEP, headers={"content-type": "application/json"})
    result = runner.invoke(app, ["--site", "kingfisher", *OPTIONS])
    assert result.exit_code == 3
    assert result.stderr == (
        f"kingfisher: error: {endpoint}: the API answered HTTP 200 with a body that is not "
        f"JSON ('{'[' * 77}...'); check the base URL points at the KrakenFlex API\n"
    )
    assert result.stdout == ""


def test_too_deep_error_body_keeps_the_error_class(client: KrakenFlexClient) -> None:
    """A 404 whose body is too deep to decode is still a NotFoundError."""
    with respx.mock:
        respx.get(f"{BASE_URL}/site-info/s").respond(404, content=DEEP)
        with pytest.raises(NotFoundError, match=r"\(HTTP 404: not found\)"):
            client.request_json("GET", "/site-info/s", site_id="s")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200),
        httpx.Response(200, content=b" \r\n"),
        httpx.Response(201),
        httpx.Response(204),
        httpx.Response(200, json={}),
    ],
)
def test_any_2xx_answer_to_the_post_is_success(
    client: KrakenFlexClient, answer: httpx.Response
) -> None:
    """An empty (or blank) 2xx body to the POST is an acceptance, like ``{}``."""
    with respx.mock:
        route = respx.post(f"{BASE_URL}/site-outages/s").mock(return_value=answer)
        post_site_outages(client, "s", [OUTAGE])
    assert route.call_count == 1


def test_empty_post_answer_is_posted_on_the_command_line(api: respx.Router) -> None:
    """The job reports "posted" and exits 0 when the POST answers 200 with no body."""
    api["post"].respond(200, content=b"")
    result = runner.invoke(app, ["--site", "kingfisher", *OPTIONS])
    assert (result.exit_code, result.stderr) == (0, "kingfisher: posted 3 outages\n")


def test_empty_answer_to_a_get_is_still_invalid(client: KrakenFlexClient) -> None:
    """An empty body where data is expected (GET /outages) is an invalid response."""
    with respx.mock:
        respx.get(f"{BASE_URL}/outages").respond(200, content=b"")
        with pytest.raises(InvalidResponseError, match=r"not JSON \(empty body\)"):
            client.request_json("GET", "/outages")
