"""``GET /outages``: every outage the API knows."""

from __future__ import annotations

from typing import Any

from outages_processor.api._parse import parse_items
from outages_processor.api.client import KrakenFlexClient
from outages_processor.models import Outage

__all__ = ["get_outages", "parse_outages"]

ENDPOINT = "GET /outages"


def get_outages(client: KrakenFlexClient) -> list[Outage]:
    """Fetch every outage, in the API's order.

    Args:
        client: the API client.

    Returns:
        The outages, each with ``begin``/``end`` as sent and parsed.

    Raises:
        InvalidResponseError: the body is not a list of ``{id, begin, end}`` objects with
            ISO 8601 timestamps.
        ApiError: any failure of the request (see :meth:`KrakenFlexClient.request_json`).
    """
    return parse_outages(client.request_json("GET", "/outages"))


def parse_outages(body: Any, *, endpoint: str = ENDPOINT) -> list[Outage]:
    """Parse a decoded ``GET /outages`` body into outages.

    Raises:
        InvalidResponseError: the body is not the documented shape; names the item.
    """
    return parse_items(body, Outage.from_json, endpoint=endpoint, what="outage")
