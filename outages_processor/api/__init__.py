"""The KrakenFlex API: an HTTP client with retries, and one module per endpoint."""

from outages_processor.api._retry import RetryPolicy
from outages_processor.api.client import KrakenFlexClient
from outages_processor.api.outages import get_outages, parse_outages
from outages_processor.api.site_info import check_site_id, get_site_info
from outages_processor.api.site_outages import post_site_outages

__all__ = [
    "KrakenFlexClient",
    "RetryPolicy",
    "check_site_id",
    "get_outages",
    "get_site_info",
    "parse_outages",
    "post_site_outages",
]
