"""``GET /site-info/{site_id}``: a site and its devices."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from outages_processor.api._parse import parse_object
from outages_processor.api.client import KrakenFlexClient
from outages_processor.models import SiteInfo

__all__ = ["check_site_id", "get_site_info", "site_path"]


def check_site_id(site_id: str) -> str:
    """Refuse a site id that cannot be sent as one path segment.

    Any other text is sent percent-encoded as exactly one segment, so the API sees the id
    unchanged. ``.`` and ``..`` are refused because URL resolution would remove them (the
    request would go to another path), control characters because no site is named so and
    they hide in messages, and lone surrogates (undecodable bytes on the command line)
    because they are not text.

    Args:
        site_id: the site id as given.

    Returns:
        ``site_id``, unchanged.

    Raises:
        ValueError: the id is empty or blank, ``.`` or ``..``, or holds a control character
            or an undecodable byte; the message shows the id escaped.
    """
    if not site_id.strip():
        raise ValueError("a site id must not be empty")
    if site_id in (".", ".."):
        raise ValueError(f"site id {site_id!r} is not a site: it would name another path")
    for position, char in enumerate(site_id, start=1):
        category = unicodedata.category(char)
        if category == "Cc":
            raise ValueError(
                f"site id {site_id!r} has a control character at position {position}"
            )
        if category == "Cs":
            raise ValueError(
                f"site id {site_id!r} is not valid UTF-8 text (position {position})"
            )
    return site_id


def site_path(prefix: str, site_id: str) -> str:
    """The path of a per-site endpoint: the id percent-encoded as one segment.

    Args:
        prefix: the endpoint's path, such as ``"/site-info"``.
        site_id: the site.

    Returns:
        ``prefix/<encoded id>``.

    Raises:
        ValueError: the id is refused by :func:`check_site_id`.
    """
    return f"{prefix}/{quote(check_site_id(site_id), safe='')}"


def get_site_info(client: KrakenFlexClient, site_id: str) -> SiteInfo:
    """Fetch a site's name and devices.

    Args:
        client: the API client.
        site_id: the site, for example ``"norwich-pear-tree"``.

    Returns:
        The site.

    Raises:
        ValueError: ``site_id`` is refused by :func:`check_site_id`.
        NotFoundError: the API does not know the site.
        InvalidResponseError: the body is not ``{id, name, devices: [{id, name}]}``.
        ApiError: any other failure of the request.
    """
    path = site_path("/site-info", site_id)
    body = client.request_json("GET", path, site_id=site_id)
    return parse_object(body, SiteInfo.from_json, endpoint=f"GET {path}", what="site info")
