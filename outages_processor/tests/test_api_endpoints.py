"""One module per endpoint: requests sent and bodies parsed into models (respx)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from outages_processor.api import (
    KrakenFlexClient,
    get_outages,
    get_site_info,
    parse_outages,
    post_site_outages,
)
from outages_processor.errors import InvalidResponseError
from outages_processor.models import Device, EnhancedOutage, Outage, SiteInfo

from .conftest import BASE_URL, bundled_json


@respx.mock
def test_get_outages_parses_the_recorded_answer(client: KrakenFlexClient) -> None:
    """The recorded /outages answer parses into 108 outages, strings kept."""
    body = bundled_json("outages.json")
    respx.get(f"{BASE_URL}/outages").respond(200, json=body)
    outages = get_outages(client)
    assert len(outages) == 108
    assert outages[0] == Outage(body[0]["id"], body[0]["begin"], body[0]["end"])
    assert outages[0].begin_at.tzinfo is not None


@respx.mock
def test_get_site_info_parses_devices(client: KrakenFlexClient) -> None:
    """/site-info/{id} parses into a site with its devices."""
    respx.get(f"{BASE_URL}/site-info/kingfisher").respond(
        200, json=bundled_json("site-info_kingfisher.json")
    )
    site = get_site_info(client, "kingfisher")
    assert site == SiteInfo(
        "kingfisher",
        "KingFisher",
        (
            Device("002b28fc-283c-47ec-9af2-ea287336dc1b", "Battery 1"),
            Device("086b0d53-b311-4441-aaf3-935646f03d4d", "Battery 2"),
        ),
    )


@respx.mock
def test_site_ids_are_escaped_in_the_path(client: KrakenFlexClient) -> None:
    """A site id with reserved characters cannot change the path."""
    route = respx.get(f"{BASE_URL}/site-info/a%2F..%3Fx").respond(
        200, json={"id": "a", "name": "A", "devices": []}
    )
    get_site_info(client, "a/..?x")
    assert route.called


def test_empty_site_id_is_refused(client: KrakenFlexClient) -> None:
    """An empty site id is a ValueError before any request."""
    with pytest.raises(ValueError, match="must not be empty"):
        get_site_info(client, " ")


@respx.mock
def test_post_site_outages_sends_the_enhanced_list(client: KrakenFlexClient) -> None:
    """The POST body is the list of {id, name, begin, end} objects, in order."""
    route = respx.post(f"{BASE_URL}/site-outages/s").respond(200, json={})
    outages = [EnhancedOutage("a", "A", "2022-01-01T00:00:00.000Z", "2022-02-01T00:00:00.000Z")]
    post_site_outages(client, "s", outages)
    assert json.loads(route.calls.last.request.content) == [
        {
            "id": "a",
            "name": "A",
            "begin": "2022-01-01T00:00:00.000Z",
            "end": "2022-02-01T00:00:00.000Z",
        }
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"outages": []}, "expected a JSON list of outages, got dict"),
        (
            [{"id": "a", "begin": "2022-01-01T00:00:00Z"}],
            "outage #0 is not valid: missing field 'end'",
        ),
        (
            [{"id": "a", "begin": "2022-01-01T00:00:00Z", "end": "2022-01-01T00:00:00Z"}, ["x"]],
            "outage #1 is not valid: expected a JSON object, not list",
        ),
        (
            [{"id": 7, "begin": "2022-01-01T00:00:00Z", "end": "2022-01-01T00:00:00Z"}],
            "outage #0 is not valid: field 'id' must be a string, not int",
        ),
        (
            [{"id": "a", "begin": "yesterday", "end": "2022-01-01T00:00:00Z"}],
            "outage #0 is not valid: Invalid isoformat string: 'yesterday'",
        ),
        (
            [{"id": "a", "begin": "2022-01-01T00:00:00", "end": "2022-01-01T00:00:00Z"}],
            "outage #0 is not valid: timestamp '2022-01-01T00:00:00' has no time zone offset",
        ),
    ],
)
def test_bad_outages_bodies_are_invalid_responses(body: Any, message: str) -> None:
    """A body that is not the documented shape names the endpoint and the item."""
    with pytest.raises(InvalidResponseError) as info:
        parse_outages(body)
    assert str(info.value).startswith(f"GET /outages: {message}")
    assert info.value.endpoint == "GET /outages"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "expected a JSON object, not list"),
        ({"id": "s", "name": "S"}, "missing field 'devices'"),
        ({"id": "s", "name": "S", "devices": {}}, "field 'devices' must be a list"),
        ({"id": "s", "name": "S", "devices": [{"id": "d"}]}, "missing field 'name'"),
    ],
)
@respx.mock
def test_bad_site_info_bodies_are_invalid_responses(
    client: KrakenFlexClient, body: Any, message: str
) -> None:
    """A site-info body that is not the documented shape names the endpoint."""
    respx.get(f"{BASE_URL}/site-info/s").respond(200, json=body)
    with pytest.raises(InvalidResponseError) as info:
        get_site_info(client, "s")
    assert str(info.value) == f"GET /site-info/s: the site info is not valid: {message}"


def test_device_names_keep_the_first_name_of_a_repeated_id() -> None:
    """A device id listed twice keeps its first name."""
    site = SiteInfo("s", "S", (Device("a", "first"), Device("a", "second")))
    assert site.device_names() == {"a": "first"}
