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
    from outages_processor.core.business_hours import business_intervals_between
    from outages_processor.core.defaults import DEFAULT_SINCE, DEFAULT_TOLERANCE
    from outages_processor.core.events import group_events, merge_events
    from outages_processor.core.filtering import select_site_outages
    from outages_processor.core.uptime import compute_uptime
    from outages_processor.errors import (
        ApiConnectionError,
        ApiError,
        AuthError,
        ClusterError,
        ClusterUnavailableError,
        ConfigError,
        EventStoreBusyError,
        EventStoreError,
        InputDataError,
        InputUnavailableError,
        InvalidResponseError,
        NotFoundError,
        OutagesError,
        RateLimitedError,
        RejectedPayloadError,
        ReportError,
        ServerError,
        StatusStoreBusyError,
        StatusStoreError,
    )
    from outages_processor.events import ingest_files, list_events, write_events_csv
    from outages_processor.inputs.hours import iter_business_hours
    from outages_processor.inputs.record_inputs import read_records
    from outages_processor.inputs.status_rows import iter_polls
    from outages_processor.inputs.timezones import iter_timezones
    from outages_processor.models import Device, EnhancedOutage, Outage, SiteInfo, SiteResult
    from outages_processor.models.common import OnError, ProgressCallback, Reject
    from outages_processor.models.events import (
        EventMerge,
        Events,
        IngestResult,
        OutageEvent,
        OutageRecord,
    )
    from outages_processor.models.outages import SiteResults
    from outages_processor.models.rejects import Rejects
    from outages_processor.models.status_ingest import PollIngest, StoreIngest
    from outages_processor.models.uptime import (
        BusinessHours,
        Poll,
        ReportState,
        ReportStatus,
        StoreTimezone,
        StoreUptime,
        UptimeReport,
    )
    from outages_processor.reports import (
        ReportService,
        build_report,
        run_report,
        write_rejects_csv,
        write_report_csv,
    )
    from outages_processor.reports.status_store import StatusStore
    from outages_processor.settings import Settings
    from outages_processor.sites import process_site, process_sites
    from outages_processor.stores.event_store import EventStore

# THE public surface: public name -> the module that defines it. ``__all__``, the lazy
# loading below and the TYPE_CHECKING imports (what type checkers and editors see) all follow
# this one table; tests/test_public_api.py fails, printing the block to paste, when the
# TYPE_CHECKING imports drift from it. Internal formats (e.g. RecordBatch, the readers'
# compact records) stay importable from their modules but are not listed here.
_EXPORTS: dict[str, str] = {
    # Shared by every job
    "OnError": "outages_processor.models.common",
    "ProgressCallback": "outages_processor.models.common",
    "Reject": "outages_processor.models.common",
    "Rejects": "outages_processor.models.rejects",
    "Settings": "outages_processor.settings",
    # Site outage reporting
    "DEFAULT_SINCE": "outages_processor.core.defaults",
    "Device": "outages_processor.models",
    "EnhancedOutage": "outages_processor.models",
    "KrakenFlexClient": "outages_processor.api",
    "Outage": "outages_processor.models",
    "RetryPolicy": "outages_processor.api",
    "SiteInfo": "outages_processor.models",
    "SiteResult": "outages_processor.models",
    "SiteResults": "outages_processor.models.outages",
    "process_site": "outages_processor.sites",
    "process_sites": "outages_processor.sites",
    "select_site_outages": "outages_processor.core.filtering",
    # Store uptime reports
    "BusinessHours": "outages_processor.models.uptime",
    "Poll": "outages_processor.models.uptime",
    "ReportService": "outages_processor.reports",
    "ReportState": "outages_processor.models.uptime",
    "ReportStatus": "outages_processor.models.uptime",
    "StoreTimezone": "outages_processor.models.uptime",
    "StoreUptime": "outages_processor.models.uptime",
    "UptimeReport": "outages_processor.models.uptime",
    "build_report": "outages_processor.reports",
    "business_intervals_between": "outages_processor.core.business_hours",
    "compute_uptime": "outages_processor.core.uptime",
    "iter_business_hours": "outages_processor.inputs.hours",
    "iter_polls": "outages_processor.inputs.status_rows",
    "iter_timezones": "outages_processor.inputs.timezones",
    "run_report": "outages_processor.reports",
    "write_rejects_csv": "outages_processor.reports",
    "write_report_csv": "outages_processor.reports",
    "PollIngest": "outages_processor.models.status_ingest",
    "StatusStore": "outages_processor.reports.status_store",
    "StoreIngest": "outages_processor.models.status_ingest",
    # Outage event aggregation
    "DEFAULT_TOLERANCE": "outages_processor.core.defaults",
    "EventMerge": "outages_processor.models.events",
    "EventStore": "outages_processor.stores.event_store",
    "Events": "outages_processor.models.events",
    "IngestResult": "outages_processor.models.events",
    "OutageEvent": "outages_processor.models.events",
    "OutageRecord": "outages_processor.models.events",
    "group_events": "outages_processor.core.events",
    "ingest_files": "outages_processor.events",
    "list_events": "outages_processor.events",
    "merge_events": "outages_processor.core.events",
    "read_records": "outages_processor.inputs.record_inputs",
    "write_events_csv": "outages_processor.events",
    # Errors: one root, OutagesError
    "ApiConnectionError": "outages_processor.errors",
    "ApiError": "outages_processor.errors",
    "AuthError": "outages_processor.errors",
    "ClusterError": "outages_processor.errors",
    "ClusterUnavailableError": "outages_processor.errors",
    "ConfigError": "outages_processor.errors",
    "EventStoreBusyError": "outages_processor.errors",
    "EventStoreError": "outages_processor.errors",
    "InputDataError": "outages_processor.errors",
    "InputUnavailableError": "outages_processor.errors",
    "InvalidResponseError": "outages_processor.errors",
    "NotFoundError": "outages_processor.errors",
    "OutagesError": "outages_processor.errors",
    "RateLimitedError": "outages_processor.errors",
    "RejectedPayloadError": "outages_processor.errors",
    "ReportError": "outages_processor.errors",
    "ServerError": "outages_processor.errors",
    "StatusStoreBusyError": "outages_processor.errors",
    "StatusStoreError": "outages_processor.errors",
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
