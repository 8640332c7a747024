"""Which outages a site reports: the selection rule of site outage reporting. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from outages_processor.core.defaults import DEFAULT_SINCE

from outages_processor.models import EnhancedOutage, Outage, SiteInfo

__all__ = ["DEFAULT_SINCE", "select_site_outages"]



def select_site_outages(
    outages: Iterable[Outage],
    site: SiteInfo | Mapping[str, str],
    *,
    since: datetime = DEFAULT_SINCE,
) -> list[EnhancedOutage]:
    """Keep the outages of a site's devices that began at or after ``since``.

    Every matching outage is kept (a device may have several), in the order given, with
    ``begin`` and ``end`` exactly as received and the device's name attached. Instants are
    compared as aware datetimes, never as strings.

    Args:
        outages: every outage, as ``GET /outages`` returned them.
        site: the site, or a mapping of device id to device name.
        since: the inclusive cut-off; must be timezone-aware.

    Returns:
        The outages to post for the site, possibly empty.

    Raises:
        ValueError: when ``since`` is naive.
    """
    if since.tzinfo is None or since.utcoffset() is None:
        raise ValueError("since must be timezone-aware (for example 2022-01-01T00:00:00Z)")
    names = site.device_names() if isinstance(site, SiteInfo) else site
    return [
        EnhancedOutage(outage.id, names[outage.id], outage.begin, outage.end)
        for outage in outages
        if outage.id in names and outage.begin_at >= since
    ]
