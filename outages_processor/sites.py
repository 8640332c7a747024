"""Site outage reporting: fetch every outage, select each site's, post them.

``/outages`` is fetched once per run however many sites are asked for; the sites are then
handled concurrently (site info, filter, post), each independently of the others.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from outages_processor._time import as_instant
from outages_processor.api import (
    KrakenFlexClient,
    check_site_id,
    get_outages,
    get_site_info,
    post_site_outages,
)
from outages_processor.core.filtering import DEFAULT_SINCE, select_site_outages
from outages_processor.errors import OutagesError
from outages_processor.models import Outage, SiteResult, SiteResults
from outages_processor.settings import DEFAULT_MAX_WORKERS, Settings

__all__ = ["DEFAULT_MAX_WORKERS", "check_site_id", "process_site", "process_sites"]

logger = logging.getLogger("outages_processor.sites")


def process_sites(
    site_ids: Sequence[str],
    *,
    client: KrakenFlexClient | None = None,
    settings: Settings | None = None,
    since: datetime | str = DEFAULT_SINCE,
    dry_run: bool = False,
    max_workers: int = DEFAULT_MAX_WORKERS,
) -> SiteResults:
    """Report the outages of several sites; one site's failure does not stop the others.

    Args:
        site_ids: the sites; a repeated id is handled once.
        client: the API client to use; by default one is built from ``settings`` and
            closed at the end.
        settings: used when no ``client`` is given; by default :meth:`Settings.load`.
        since: outages that began before this instant are not reported: a datetime or an
            ISO 8601 string such as ``"2022-01-01T00:00:00Z"``; without an offset it is
            UTC, as on the command line.
        dry_run: select but do not post.
        max_workers: sites handled at once.

    Returns:
        One result per distinct site, in the order asked (a list, with ``to_dicts()`` and
        ``to_pandas()``: one row per outage). A failed site has ``error`` set; if
        ``GET /outages`` itself fails, every site carries that error.

    Raises:
        ConfigError: no client was given and the settings are incomplete (no API key).
        TypeError: ``since`` is neither a string nor a datetime.
        ValueError: ``since`` is not a timestamp, a site id is refused by
            :func:`check_site_id` (empty, ``.``, ``..``, a control character), or
            ``max_workers`` is below 1.
    """
    cut_off = as_instant(since, "since")
    if max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, not {max_workers}")
    unique = list(dict.fromkeys(site_ids))
    for site_id in unique:
        check_site_id(site_id)
    if not unique:
        return SiteResults()
    with _client_for(client, settings) as api:
        try:
            outages = get_outages(api)
        except OutagesError as error:
            return SiteResults(SiteResult(site_id, error=error) for site_id in unique)
        logger.info("fetched %d outages", len(outages))

        def one(site_id: str) -> SiteResult:
            try:
                return _report_site(api, site_id, outages, since=cut_off, dry_run=dry_run)
            except OutagesError as error:
                return SiteResult(site_id, error=error)

        with ThreadPoolExecutor(max_workers=min(max_workers, len(unique))) as pool:
            return SiteResults(pool.map(one, unique))


def process_site(
    site_id: str,
    *,
    client: KrakenFlexClient | None = None,
    settings: Settings | None = None,
    since: datetime | str = DEFAULT_SINCE,
    dry_run: bool = False,
) -> SiteResult:
    """Report the outages of one site.

    Args:
        site_id: the site, for example ``"norwich-pear-tree"``.
        client: the API client to use; by default one is built from ``settings``.
        settings: used when no ``client`` is given; by default :meth:`Settings.load`.
        since: outages that began before this instant are not reported (a datetime or an
            ISO 8601 string; no offset means UTC).
        dry_run: select but do not post.

    Returns:
        The site's result (``error`` is always None: failures raise).

    Raises:
        OutagesError: any failure (see :mod:`outages_processor.errors`).
        TypeError: ``since`` is neither a string nor a datetime.
        ValueError: ``since`` is not a timestamp, or the site id is refused by
            :func:`check_site_id`.
    """
    (result,) = process_sites(
        [site_id], client=client, settings=settings, since=since, dry_run=dry_run
    )
    if result.error is not None:
        raise result.error
    return result


def _report_site(
    api: KrakenFlexClient,
    site_id: str,
    outages: Sequence[Outage],
    *,
    since: datetime,
    dry_run: bool,
) -> SiteResult:
    site = get_site_info(api, site_id)
    selected = select_site_outages(outages, site, since=since)
    if not selected or dry_run:
        logger.info("%s: %d outages selected, not posted", site_id, len(selected))
        return SiteResult(site_id, selected, posted=False)
    post_site_outages(api, site_id, selected)
    logger.info("%s: posted %d outages", site_id, len(selected))
    return SiteResult(site_id, selected, posted=True)


@contextlib.contextmanager
def _client_for(
    client: KrakenFlexClient | None, settings: Settings | None
) -> Iterator[KrakenFlexClient]:
    if client is not None:
        yield client
        return
    with KrakenFlexClient(settings or Settings.load()) as owned:
        yield owned
