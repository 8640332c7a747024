"""outages_processor: site outage reporting, store uptime reports, outage event aggregation.

Everything public is importable from here::

    import outages_processor as op

    results = op.process_sites(["norwich-pear-tree"], settings=op.Settings.load())

Names are loaded on first use, so that ``import outages_processor`` (and the command line's
start-up) stays fast and does not pay for HTTP or SQLite until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from outages_processor._version import __version__

if TYPE_CHECKING:
    from outages_processor.api import KrakenFlexClient, RetryPolicy
    from outages_processor.core.events import DEFAULT_TOLERANCE, group_events, merge_events
    from outages_processor.core.filtering import DEFAULT_SINCE, select_site_outages
    from outages_processor.errors import (
        ApiConnectionError,
        ApiError,
        AuthError,
        ConfigError,
        EventStoreBusyError,
        EventStoreError,
        InputDataError,
        InvalidResponseError,
        NotFoundError,
        OutagesError,
        RateLimitedError,
        RejectedPayloadError,
        ReportError,
        ServerError,
    )
    from outages_processor.models import (
        Device,
        EnhancedOutage,
        Outage,
        SiteInfo,
        SiteResult,
    )
    from outages_processor.models.events import (
        EventMerge,
        IngestResult,
        OutageEvent,
        OutageRecord,
        RecordBatch,
        RejectedRecord,
    )
    from outages_processor.settings import Settings
    from outages_processor.sites import process_site, process_sites
    from outages_processor.storage.event_store import EventStore, ingest_files
    from outages_processor.storage.record_inputs import read_records

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "ApiConnectionError": "outages_processor.errors",
    "ApiError": "outages_processor.errors",
    "AuthError": "outages_processor.errors",
    "ConfigError": "outages_processor.errors",
    "DEFAULT_SINCE": "outages_processor.core.filtering",
    "DEFAULT_TOLERANCE": "outages_processor.core.events",
    "EventMerge": "outages_processor.models.events",
    "EventStore": "outages_processor.storage.event_store",
    "EventStoreBusyError": "outages_processor.errors",
    "IngestResult": "outages_processor.models.events",
    "OutageEvent": "outages_processor.models.events",
    "OutageRecord": "outages_processor.models.events",
    "RecordBatch": "outages_processor.models.events",
    "RejectedRecord": "outages_processor.models.events",
    "group_events": "outages_processor.core.events",
    "ingest_files": "outages_processor.storage.event_store",
    "merge_events": "outages_processor.core.events",
    "read_records": "outages_processor.storage.record_inputs",
    "Device": "outages_processor.models",
    "EnhancedOutage": "outages_processor.models",
    "EventStoreError": "outages_processor.errors",
    "InputDataError": "outages_processor.errors",
    "InvalidResponseError": "outages_processor.errors",
    "KrakenFlexClient": "outages_processor.api",
    "NotFoundError": "outages_processor.errors",
    "Outage": "outages_processor.models",
    "OutagesError": "outages_processor.errors",
    "RateLimitedError": "outages_processor.errors",
    "RejectedPayloadError": "outages_processor.errors",
    "ReportError": "outages_processor.errors",
    "RetryPolicy": "outages_processor.api",
    "ServerError": "outages_processor.errors",
    "Settings": "outages_processor.settings",
    "SiteInfo": "outages_processor.models",
    "SiteResult": "outages_processor.models",
    "process_site": "outages_processor.sites",
    "process_sites": "outages_processor.sites",
    "select_site_outages": "outages_processor.core.filtering",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'outages_processor' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
