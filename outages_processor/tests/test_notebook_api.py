"""The notebook API: results as rows and DataFrames, short reprs, and the inputs users have."""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from outages_processor._time import as_instant
from outages_processor.core.uptime import compute_uptime
from outages_processor.models import EnhancedOutage, SiteResult, SiteResults
from outages_processor.models.common import Reject
from outages_processor.models.events import Events, OutageEvent, OutageRecord
from outages_processor.models.rejects import Rejects
from outages_processor.models.uptime import Poll, StoreUptime, UptimeReport
from outages_processor.reports import build_report
from outages_processor.sites import process_sites
from outages_processor.stores.event_store import EventStore

from .test_sites import SETTINGS, mock_api

NOON = datetime(2023, 1, 25, 12, 0, tzinfo=timezone.utc)


def report(stores: int, rejects: int = 0) -> UptimeReport:
    """A report of ``stores`` rows with made-up values."""
    rows = [StoreUptime(f"{n:05d}", 60.0, 24.0, 168.0, 0.0, 0.0, 0.0) for n in range(stores)]
    bad = [Reject("s.csv", n + 2, "bad status", "x") for n in range(rejects)]
    return UptimeReport(rows, NOON, "nearest", bad)


def sites() -> SiteResults:
    """Two sites: one with two outages posted, one that failed."""
    outages = [
        EnhancedOutage("d1", "Battery <1>", "2022-05-23T12:21:27.377Z", "2022-11-13T02:16:38.905Z"),
        EnhancedOutage("d2", "Battery 2", "2022-06-01T00:00:00+01:00", "2022-06-01T01:00:00Z"),
    ]
    return SiteResults(
        [SiteResult("s1", outages, posted=True), SiteResult("s2", error=None, posted=False)]
    )


def events() -> Events:
    """Two events."""
    return Events(
        [
            OutageEvent("c1", "led", NOON, NOON + timedelta(minutes=10), 2),
            OutageEvent("c2", "<fan>", NOON, NOON, 1),
        ]
    )


@pytest.mark.parametrize(
    ("value", "epoch", "expected"),
    [
        ("2023-01-25T12:00:00Z", False, NOON),
        ("2023-01-25T13:00:00+01:00", False, NOON),
        ("2023-01-25T12:00:00", False, NOON),
        ("2023-01-25 12:00:00 UTC", False, NOON),
        (" 2023-01-25T12:00:00Z ", False, NOON),
        (datetime(2023, 1, 25, 12), False, NOON),
        (datetime(2023, 1, 25, 7, tzinfo=timezone(timedelta(hours=-5))), False, NOON),
        (pd.Timestamp("2023-01-25T12:00:00Z"), False, NOON),
        (NOON.timestamp(), True, NOON),
        (int(NOON.timestamp()), True, NOON),
        (Decimal(int(NOON.timestamp())), True, NOON),
        (0.0000005, True, datetime(1970, 1, 1, tzinfo=timezone.utc)),
    ],
)
def test_as_instant_accepts_what_users_have(value: object, epoch: bool, expected: datetime) -> None:
    """Strings, aware and naive datetimes (naive = UTC) and epoch numbers become UTC."""
    moment = as_instant(value, "now", epoch=epoch)
    assert moment == expected
    assert moment.tzinfo is timezone.utc
    assert type(moment) is datetime  # pylint: disable=unidiomatic-typecheck


@pytest.mark.parametrize(
    ("value", "epoch", "error", "message"),
    [
        (1674648000, False, TypeError, "now must be an ISO 8601 string .* not int"),
        (True, True, TypeError, "or a number of Unix epoch seconds, not bool"),
        (None, False, TypeError, "not NoneType"),
        ("yesterday", False, ValueError, "now: 'yesterday' is not an ISO 8601 string"),
        (1e20, True, ValueError, "outside the years 1 to 9999"),
    ],
)
def test_as_instant_refuses_with_what_is_accepted(
    value: object, epoch: bool, error: type[Exception], message: str
) -> None:
    """A wrong type is a TypeError listing the accepted types; bad text a ValueError."""
    with pytest.raises(error, match=message):
        as_instant(value, "now", epoch=epoch)


def call_process_sites(value: object) -> object:
    """process_sites with ``since`` (refused before any request)."""
    return process_sites(["a"], settings=SETTINGS, since=value)  # type: ignore[arg-type]


def call_build_report(value: object) -> object:
    """build_report with ``now``."""
    return build_report([], [], [], now=value)  # type: ignore[arg-type]


def call_compute_uptime(value: object) -> object:
    """compute_uptime with ``now``."""
    return compute_uptime([], now=value)  # type: ignore[arg-type]


def call_events(value: object) -> object:
    """EventStore.events with ``start`` (on a fresh database in a temporary folder)."""
    with tempfile.TemporaryDirectory() as folder:
        with EventStore(Path(folder) / "e.db") as store:
            return store.events(start=value)  # type: ignore[arg-type]


def call_record(value: object) -> object:
    """OutageRecord with ``timestamp``."""
    return OutageRecord("c1", "led", value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (call_process_sites, "since"),
        (call_build_report, "now"),
        (call_compute_uptime, "now"),
        (call_events, "start"),
        (call_record, "timestamp"),
    ],
)
def test_wrong_instant_types_are_type_errors(call: Any, name: str) -> None:
    """A list where an instant belongs is a TypeError naming the parameter, not deep inside."""
    with pytest.raises(TypeError, match=f"^{name} must be an ISO 8601 string"):
        call([2023, 1, 25])


@pytest.mark.parametrize(
    "timestamp", ["2024-01-01T00:10:00Z", datetime(2024, 1, 1, 0, 10), 1704067800, 1704067800.0]
)
def test_record_timestamps_take_strings_datetimes_and_epoch(timestamp: object) -> None:
    """A record's timestamp may be ISO text, a naive datetime (UTC) or epoch seconds."""
    record = OutageRecord("c1", "led", timestamp)  # type: ignore[arg-type]
    assert record.timestamp == datetime(2024, 1, 1, 0, 10, tzinfo=timezone.utc)


def test_record_from_dict_ignores_extra_keys() -> None:
    """A record builds from a mapping; other keys (a DataFrame row's) are ignored."""
    row = {"controller_id": "c1", "outage_type": "led", "timestamp": "2024-01-01T00:00:00Z"}
    record = OutageRecord.from_dict({**row, "site": "x"})
    assert record.to_dict() == row


def test_record_from_dict_names_a_missing_field() -> None:
    """A mapping without a field is a KeyError naming it."""
    with pytest.raises(KeyError, match="has no timestamp"):
        OutageRecord.from_dict({"controller_id": "c1", "outage_type": "led"})


def test_ingest_takes_mappings_and_events_take_strings(tmp_path: Path) -> None:
    """Ingest takes row mappings; events() takes ISO strings and returns Events."""
    rows = [
        {"controller_id": "c1", "outage_type": "led", "timestamp": f"2024-01-01T00:{m:02d}:00Z"}
        for m in (0, 10)
    ]
    with EventStore(tmp_path / "e.db") as store:
        store.ingest(rows)
        found = store.events(start="2024-01-01T00:05:00Z", end="2024-01-01T00:06:00")
    assert isinstance(found, Events)
    assert found.to_dicts() == [
        {
            "controller_id": "c1",
            "outage_type": "led",
            "start_time": "2024-01-01T00:00:00Z",
            "end_time": "2024-01-01T00:10:00Z",
            "record_count": 2,
        }
    ]


def test_process_sites_returns_site_results_with_one_row_per_outage() -> None:
    """process_sites returns a SiteResults list whose rows are the selected outages."""
    with mock_api():
        results = process_sites(["kingfisher", "nowhere"], settings=SETTINGS, dry_run=True)
    assert isinstance(results, SiteResults) and isinstance(results, list)
    frame = results.to_pandas()
    assert set(frame["site_id"]) == {"kingfisher"}
    assert len(frame) == len(results[0].outages)
    assert repr(results).endswith("0 posted, 1 failed)")


def test_site_rows_are_json_ready_utc() -> None:
    """Site rows carry the site id and instants as UTC text ending in Z."""
    assert sites().to_dicts()[1] == {
        "site_id": "s1",
        "id": "d2",
        "name": "Battery 2",
        "begin": "2022-05-31T23:00:00Z",
        "end": "2022-06-01T01:00:00Z",
        "posted": True,
    }


@pytest.mark.parametrize(
    ("result", "times"),
    [
        (sites(), ("begin", "end")),
        (events(), ("start_time", "end_time")),
        (Events(), ("start_time", "end_time")),
    ],
)
def test_to_pandas_gives_utc_datetime_columns(result: Any, times: tuple[str, ...]) -> None:
    """Instant columns are tz-aware UTC datetimes, even with no rows."""
    frame = result.to_pandas()
    for name in times:
        assert isinstance(frame[name].dtype, pd.DatetimeTZDtype)
        assert str(frame[name].dtype.tz) == "UTC"
    assert list(frame.columns) == list(result.COLUMNS)


def test_report_to_pandas_keeps_numbers_and_now() -> None:
    """A report's DataFrame has float columns and its now in attrs."""
    frame = report(3).to_pandas()
    assert frame["uptime_last_hour"].dtype == "float64"
    assert frame.attrs["now"] == NOON
    assert list(frame.columns) == list(StoreUptime.COLUMNS)


def test_rejects_to_pandas_keeps_unknown_lines() -> None:
    """Rejects become rows with a nullable integer line."""
    frame = Rejects([Reject("a.csv", 3, "bad", "x"), Reject("<memory>", None, "bad", "y")])
    table = frame.to_pandas()
    assert str(table["line"].dtype) == "Int64"
    assert table["line"].isna().tolist() == [False, True]


def test_missing_pandas_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pandas, to_pandas raises an ImportError that says pip install pandas."""
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        events().to_pandas()


def test_report_repr_is_one_short_line() -> None:
    """A 10,000-store report's repr is one line under 200 characters."""
    text = repr(report(10_000, rejects=3))
    assert text == "UptimeReport(10000 stores, now=2023-01-25T12:00:00Z, nearest, 3 rejects)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (sites(), "SiteResults(2 sites, 2 outages, 1 posted, 0 failed)"),
        (sites()[0], "SiteResult('s1', 2 outages, posted)"),
        (events(), "Events(2 events, 2023-01-25T12:00:00Z to 2023-01-25T12:10:00Z)"),
        (
            Rejects([Reject("a.csv", 3, "bad\nstatus", "x")]),
            "Rejects(1 reject, first a.csv:3: bad status)",
        ),
    ],
)
def test_reprs_say_what_matters(value: object, expected: str) -> None:
    """Containers have one-line reprs with their counts."""
    assert repr(value) == expected


def test_html_preview_escapes_and_shows_first_rows() -> None:
    """The notebook preview escapes values and shows only the first rows."""
    html = events()._repr_html_()  # pylint: disable=protected-access
    assert "&lt;fan&gt;" in html and "<fan>" not in html
    big = report(25)._repr_html_()  # pylint: disable=protected-access
    assert big.count("<tr>") == 11  # the header and 10 rows
    assert "15 more rows" in big


def test_report_is_a_collection_of_rows() -> None:
    """len, iteration and lookup by store id work on a report."""
    uptime = report(3)
    assert len(uptime) == 3
    assert [row.store_id for row in uptime] == ["00000", "00001", "00002"]
    assert uptime["00001"].store_id == "00001"
    assert "00002" in uptime and "9" not in uptime


def test_report_lookup_names_a_missing_store() -> None:
    """Looking up an unknown store is a KeyError naming it."""
    with pytest.raises(KeyError, match="no store '1001' in this report"):
        report(1)["1001"]  # pylint: disable=expression-not-assigned


def test_report_lookup_by_number_is_a_type_error() -> None:
    """Store ids are text: a number is a TypeError that shows the right call."""
    with pytest.raises(TypeError, match=r"report\['1001'\]"):
        report(1)[0]  # type: ignore[index]  # pylint: disable=expression-not-assigned


def test_build_report_takes_a_string_now() -> None:
    """build_report takes now as ISO text."""
    polls = [Poll("1", "active", NOON - timedelta(hours=1))]
    result = build_report(polls, [], [], now="2023-01-25T12:00:00Z")
    assert result.now == NOON
    assert result["1"].uptime_last_hour == pytest.approx(60.0)


def test_models_have_to_dict() -> None:
    """Outages say to_dict (to_json stays as its old name)."""
    outage = sites()[0].outages[0]
    assert outage.to_dict() == outage.to_json()
