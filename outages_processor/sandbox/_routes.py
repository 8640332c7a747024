"""The three endpoints of the API, answered as the live API answers them (no sockets here)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from urllib.parse import unquote

import attrs

from outages_processor.sandbox._data import Dataset
from outages_processor.sandbox._reply import Reply, message_reply

__all__ = ["API_PATH", "RATE_LIMITED_SITE", "Request", "route"]

API_PATH = "/interview-tests-mock-api/v1"
"""The path every endpoint lives under, as on the live API."""

RATE_LIMITED_SITE = "too-much-too-soon"
"""The site id the live API always answers with 429."""

_FORBIDDEN = message_reply(403, "Forbidden")
_NOT_FOUND = message_reply(404, "Not Found")
_SITE_NOT_FOUND = message_reply(404, "Site not found")
_RATE_LIMITED = message_reply(429, "You have exceeded your limit for your API key")
_UNEXPECTED = message_reply(400, "Unexpected outages received")
_OK_POST = Reply(200, b"{}")

Accept = Callable[[str, list[dict[str, str]]], None]
"""Called with the site id and the body of each accepted POST."""


@attrs.frozen
class Request:
    """What the endpoints need to know of one HTTP request.

    Attributes:
        method: ``"GET"``, ``"POST"``, ...
        path: the URL path, without the query string.
        api_key: the ``x-api-key`` header, or None when absent (never shown in a repr).
        body: the raw request body.
    """

    method: str
    path: str
    api_key: str | None = attrs.field(repr=False)
    body: bytes = b""


def _key_matches(given: str | None, expected: str) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _site_info(site_id: str, dataset: Dataset) -> Reply:
    if site_id == RATE_LIMITED_SITE:
        return _RATE_LIMITED
    body = dataset.site_bodies.get(site_id)
    return _SITE_NOT_FOUND if body is None else Reply(200, body)


def _site_outages(site_id: str, body: bytes, dataset: Dataset, on_accept: Accept) -> Reply:
    if site_id == RATE_LIMITED_SITE:
        return _RATE_LIMITED
    expected = dataset.expected.get(site_id)
    if expected is None:
        return _SITE_NOT_FOUND
    try:
        received = json.loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError alike
        return _UNEXPECTED
    # The live API accepted the exact list, in /outages order: compare as such.
    if received != expected:
        return _UNEXPECTED
    on_accept(site_id, [dict(item) for item in expected])
    return _OK_POST


_METHODS = {"outages": "GET", "site-info": "GET", "site-outages": "POST"}


def _endpoint(path: str) -> tuple[str, str] | None:
    """Split a path into an endpoint name and a site id (``""`` for ``outages``)."""
    if not path.startswith(API_PATH + "/"):
        return None
    match [unquote(part) for part in path[len(API_PATH) + 1 :].split("/")]:
        case ["outages"]:
            return "outages", ""
        case ["site-info" | "site-outages" as name, site_id] if site_id:
            return name, site_id
    return None


def route(request: Request, *, dataset: Dataset, api_key: str, on_accept: Accept) -> Reply:
    """Answer one request as the live API would.

    The key is checked first, as the API's gateway does, then the path, then the method.

    Args:
        request: the request.
        dataset: the data to serve.
        api_key: the only key accepted.
        on_accept: called with the site id and the body of a POST answered 200.

    Returns:
        The answer: 403 for a missing or wrong key; 404 ``Not Found`` for an unknown path;
        405 for a wrong method; otherwise the endpoint's answer.
    """
    if not _key_matches(request.api_key, api_key):
        return _FORBIDDEN
    endpoint = _endpoint(request.path)
    if endpoint is None:
        return _NOT_FOUND
    name, site_id = endpoint
    if request.method != _METHODS[name]:
        return message_reply(405, "Method Not Allowed", headers=(("Allow", _METHODS[name]),))
    if name == "outages":
        return Reply(200, dataset.outages_body)
    if name == "site-info":
        return _site_info(site_id, dataset)
    return _site_outages(site_id, request.body, dataset, on_accept)
