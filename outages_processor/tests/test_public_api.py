"""The curated public surface of ``import outages_processor``."""

from __future__ import annotations

import subprocess
import sys

import pytest

import outages_processor

SITE_REPORTING = {
    "DEFAULT_SINCE",
    "Device",
    "EnhancedOutage",
    "KrakenFlexClient",
    "Outage",
    "RetryPolicy",
    "Settings",
    "SiteInfo",
    "SiteResult",
    "process_site",
    "process_sites",
    "select_site_outages",
}
OUTAGE_EVENTS = {
    "DEFAULT_TOLERANCE",
    "EventMerge",
    "EventStore",
    "IngestResult",
    "OutageEvent",
    "OutageRecord",
    "RecordBatch",
    "RejectedRecord",
    "group_events",
    "ingest_files",
    "merge_events",
    "read_records",
}
STORE_UPTIME = {
    "BusinessHours",
    "Poll",
    "ProgressCallback",
    "RejectedRow",
    "ReportService",
    "ReportState",
    "ReportStatus",
    "StoreTimezone",
    "StoreUptime",
    "UptimeReport",
    "build_report",
    "business_intervals_between",
    "compute_uptime",
    "iter_business_hours",
    "iter_polls",
    "iter_timezones",
    "run_report",
    "write_rejects_csv",
    "write_report_csv",
}
ERRORS = {
    "ApiConnectionError",
    "ApiError",
    "AuthError",
    "ConfigError",
    "EventStoreBusyError",
    "EventStoreError",
    "InputDataError",
    "InvalidResponseError",
    "NotFoundError",
    "OutagesError",
    "RateLimitedError",
    "RejectedPayloadError",
    "ReportError",
    "ServerError",
}
PUBLIC = SITE_REPORTING | STORE_UPTIME | OUTAGE_EVENTS | ERRORS | {"__version__"}


def test_all_is_exactly_the_public_surface_and_sorted() -> None:
    """``__all__`` lists exactly the documented names, sorted."""
    assert set(outages_processor.__all__) == PUBLIC
    assert outages_processor.__all__ == sorted(outages_processor.__all__)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_name_resolves(name: str) -> None:
    """Each name of ``__all__`` can be imported from the package."""
    assert getattr(outages_processor, name) is not None


def test_unknown_names_raise_attribute_error() -> None:
    """A name that is not public is an AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        getattr(outages_processor, "nothing_here")


def test_dir_lists_the_public_names() -> None:
    """``dir()`` shows the public names for completion in notebooks."""
    assert PUBLIC <= set(dir(outages_processor))


def test_errors_share_one_root() -> None:
    """Every exported error class derives from OutagesError."""
    for name in ERRORS:
        assert issubclass(getattr(outages_processor, name), outages_processor.OutagesError)


def test_importing_the_package_is_light() -> None:
    """``import outages_processor`` loads neither httpx nor sqlite3 until they are used."""
    code = (
        "import sys, outages_processor; "
        "print(sorted(m for m in ('httpx', 'sqlite3', 'backoff') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
