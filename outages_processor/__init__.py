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
    from outages_processor.core.business_hours import business_intervals_between
    from outages_processor.core.uptime import compute_uptime
    from outages_processor.models.uptime import (
        BusinessHours,
        Poll,
        RejectedRow,
        ReportState,
        ReportStatus,
        StoreTimezone,
        StoreUptime,
        UptimeReport,
    )
    from outages_processor.reports import (
        ProgressCallback,
        ReportService,
        build_report,
        run_report,
        write_rejects_csv,
        write_report_csv,
    )
    from outages_processor.settings import Settings
    from outages_processor.sites import process_site, process_sites
    from outages_processor.stores.event_store import EventStore, ingest_files
    from outages_processor.inputs.csv_inputs import iter_business_hours, iter_polls, iter_timezones
    from outages_processor.inputs.record_inputs import read_records

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "ApiConnectionError": "outages_processor.errors",
    "ApiError": "outages_processor.errors",
    "AuthError": "outages_processor.errors",
    "ConfigError": "outages_processor.errors",
    "DEFAULT_SINCE": "outages_processor.core.filtering",
    "DEFAULT_TOLERANCE": "outages_processor.core.events",
    "EventMerge": "outages_processor.models.events",
    "EventStore": "outages_processor.stores.event_store",
    "EventStoreBusyError": "outages_processor.errors",
    "IngestResult": "outages_processor.models.events",
    "OutageEvent": "outages_processor.models.events",
    "OutageRecord": "outages_processor.models.events",
    "RecordBatch": "outages_processor.models.events",
    "RejectedRecord": "outages_processor.models.events",
    "group_events": "outages_processor.core.events",
    "ingest_files": "outages_processor.stores.event_store",
    "merge_events": "outages_processor.core.events",
    "read_records": "outages_processor.inputs.record_inputs",
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
    # Store uptime reports
    "business_intervals_between": "outages_processor.core.business_hours",
    "compute_uptime": "outages_processor.core.uptime",
    "BusinessHours": "outages_processor.models.uptime",
    "Poll": "outages_processor.models.uptime",
    "RejectedRow": "outages_processor.models.uptime",
    "ReportState": "outages_processor.models.uptime",
    "ReportStatus": "outages_processor.models.uptime",
    "StoreTimezone": "outages_processor.models.uptime",
    "StoreUptime": "outages_processor.models.uptime",
    "UptimeReport": "outages_processor.models.uptime",
    "ProgressCallback": "outages_processor.reports",
    "ReportService": "outages_processor.reports",
    "build_report": "outages_processor.reports",
    "run_report": "outages_processor.reports",
    "write_rejects_csv": "outages_processor.reports",
    "write_report_csv": "outages_processor.reports",
    "iter_business_hours": "outages_processor.inputs.csv_inputs",
    "iter_polls": "outages_processor.inputs.csv_inputs",
    "iter_timezones": "outages_processor.inputs.csv_inputs",
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
