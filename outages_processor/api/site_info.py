"""``GET /site-info/{site_id}``: a site and its devices."""

from __future__ import annotations

from urllib.parse import quote

from outages_processor.api._parse import parse_object
from outages_processor.api.client import KrakenFlexClient
from outages_processor.models import SiteInfo

__all__ = ["get_site_info", "site_path"]


def site_path(prefix: str, site_id: str) -> str:
    """The path of a per-site endpoint, with the id escaped.

    Raises:
        ValueError: when ``site_id`` is empty or blank.
    """
    if not site_id.strip():
        raise ValueError("a site id must not be empty")
    return f"{prefix}/{quote(site_id, safe='')}"


def get_site_info(client: KrakenFlexClient, site_id: str) -> SiteInfo:
    """Fetch a site's name and devices.

    Args:
        client: the API client.
        site_id: the site, for example ``"norwich-pear-tree"``.

    Returns:
        The site.

    Raises:
        ValueError: ``site_id`` is empty.
        NotFoundError: the API does not know the site.
        InvalidResponseError: the body is not ``{id, name, devices: [{id, name}]}``.
        ApiError: any other failure of the request.
    """
    path = site_path("/site-info", site_id)
    body = client.request_json("GET", path, site_id=site_id)
    return parse_object(body, SiteInfo.from_json, endpoint=f"GET {path}", what="site info")
