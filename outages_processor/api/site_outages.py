"""``POST /site-outages/{site_id}``: report a site's outages with device names."""

from __future__ import annotations

from collections.abc import Sequence

from outages_processor.api.client import KrakenFlexClient
from outages_processor.api.site_info import site_path
from outages_processor.models import EnhancedOutage

__all__ = ["post_site_outages"]


def post_site_outages(
    client: KrakenFlexClient, site_id: str, outages: Sequence[EnhancedOutage]
) -> None:
    """Post the outages of a site (the full list: it replaces what the API had).

    Re-sending the same list is safe, so the request is retried like a GET. Any 2xx
    answer is an acceptance, an empty body included.

    Args:
        client: the API client.
        site_id: the site.
        outages: the outages to report, as selected by
            :func:`outages_processor.core.filtering.select_site_outages`.

    Raises:
        ValueError: ``site_id`` is refused by
            :func:`~outages_processor.api.site_info.check_site_id`.
        RejectedPayloadError: the API refused the list (HTTP 400).
        NotFoundError: the API does not know the site.
        ApiError: any other failure of the request.
    """
    path = site_path("/site-outages", site_id)
    # The live API answers {}; an empty 2xx body is an acceptance too.
    client.request_json(
        "POST",
        path,
        json_body=[outage.to_json() for outage in outages],
        site_id=site_id,
        empty_ok=True,
    )
