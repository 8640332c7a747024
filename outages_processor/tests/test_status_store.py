"""The status store: idempotent, all-or-nothing loads, and reports equal to the CSV path's."""

from __future__ import annotations

import io
import itertools
import sqlite3
import subprocess
import sys
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outages_processor.errors import InputDataError, StatusStoreBusyError, StatusStoreError
from outages_processor.models.uptime import BusinessHours, Poll, ReportState, StoreTimezone
from outages_processor.reports import ReportService, build_report, write_report_csv
from outages_processor.reports.status_store import StatusStore
from outages_processor.stores.event_store import EventStore
from outages_processor.tests.uptime_data import (
    DataSet,
    generate,
    utc,
    write_csv,
    write_hours,
    write_status,
    write_timezones,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "uptime"
EXAMPLE_FILES = (EXAMPLES / "status.csv", EXAMPLES / "hours.csv", EXAMPLES / "timezones.csv")


def _csv(report: object) -> str:
    stream = io.StringIO()
    write_report_csv(report, stream)  # type: ignore[arg-type]
    return stream.getvalue()


def _loaded(path: Path, data: DataSet) -> StatusStore:
    store = StatusStore(path)
    store.load(data.polls, data.hours, data.zones)
    return store


def _shifted(data: DataSet, to: datetime) -> DataSet:
    """The same data set, its polls moved so that the first is near ``to``."""
    delta = to - min(poll.timestamp for poll in data.polls)
    return attrs.evolve(
        data,
        polls=tuple(attrs.evolve(poll, timestamp=poll.timestamp + delta) for poll in data.polls),
    )


def _write_iso_status(path: Path, polls: tuple[Poll, ...]) -> Path:
    """A status CSV with ISO 8601 times (strftime writes year 1 as ``1``, not ``0001``)."""
    rows = (f"{poll.store_id},{poll.status},{poll.timestamp.isoformat()}" for poll in polls)
    return write_csv(path, "store_id,status,timestamp_utc", rows)


# ------------------------------------------------------------------------- storing


def test_the_same_polls_twice_are_stored_once(tmp_path: Path) -> None:
    """Ingesting a file a second time stores nothing new and counts duplicates."""
    with StatusStore(tmp_path / "uptime.db") as store:
        first = store.ingest_polls(EXAMPLE_FILES[0])
        second = store.ingest_polls(EXAMPLE_FILES[0])
        assert (first.received, first.new, first.duplicates) == (6, 6, 0)
        assert (second.received, second.new, second.duplicates) == (6, 0, 6)
        assert store.counts() == {"polls": 6, "stores": 3, "hours": 0, "timezones": 0}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_order_and_batching_gives_the_same_store(data: st.DataObject) -> None:
    """Any permutation, duplication and batching of polls stores the same rows and report."""
    polls = list(generate(3, stores=4, days=2).polls)
    order = data.draw(st.permutations(polls))
    repeats = data.draw(st.lists(st.sampled_from(polls), max_size=20))
    batches = data.draw(st.integers(min_value=1, max_value=5))
    sent = [*order, *repeats]
    with tempfile.TemporaryDirectory() as folder:
        with StatusStore(Path(folder) / "a.db") as once, StatusStore(
            Path(folder) / "b.db"
        ) as shuffled:
            once.ingest_polls(polls)
            for number in range(batches):
                shuffled.ingest_polls(sent[number::batches] or [polls[0]])
            assert shuffled.database.polls() == once.database.polls()
            assert _csv(shuffled.report()) == _csv(once.report())


@pytest.mark.parametrize(
    "batches",
    [
        [["active", "inactive"]],
        [["inactive", "active"]],
        [["active"], ["inactive"]],
        [["inactive"], ["active"]],
        [["inactive"], ["inactive", "active"]],
    ],
    ids=["in-one-batch", "inactive-first", "later-inactive", "later-active", "mixed"],
)
def test_inactive_wins_at_one_instant(tmp_path: Path, batches: list[list[str]]) -> None:
    """Two statuses of a store at one instant are stored as one inactive poll."""
    moment = utc("2023-01-25 10:00")
    with StatusStore(tmp_path / "uptime.db") as store:
        for batch in batches:
            store.ingest_polls([Poll("s1", status, moment) for status in batch])  # type: ignore[arg-type]
        assert [row[1:] for row in store.database.polls()] == [
            (int((moment - utc("1970-01-01 00:00")).total_seconds()) * 10**6, 0)
        ]


def test_a_bad_row_stores_nothing(tmp_path: Path) -> None:
    """A bad status row in fail mode names file:line, and nothing of the load is stored."""
    status = write_csv(
        tmp_path / "status.csv",
        "store_id,status,timestamp_utc",
        ["1,active,2023-01-25 10:00:00 UTC", "2,online,2023-01-25 10:00:00 UTC"],
    )
    with StatusStore(tmp_path / "uptime.db") as store:
        with pytest.raises(InputDataError) as caught:
            store.load(status, EXAMPLE_FILES[1], EXAMPLE_FILES[2])
        assert str(caught.value) == (
            f"{status}:3: unknown status 'online': expected active or inactive"
        )
        assert store.counts() == {"polls": 0, "stores": 0, "hours": 0, "timezones": 0}


def test_a_bad_hours_row_stores_no_polls(tmp_path: Path) -> None:
    """A bad hours row in fail mode stops the whole load, polls included."""
    hours = write_csv(
        tmp_path / "hours.csv", "store_id,day,start_time_local,end_time_local", ["1,9,10:00,11:00"]
    )
    with StatusStore(tmp_path / "uptime.db") as store:
        with pytest.raises(InputDataError, match=r"hours.csv:2: bad day of week '9'"):
            store.load(EXAMPLE_FILES[0], hours)
        assert store.counts()["polls"] == 0


def test_bad_rows_in_memory_are_named_as_rows(tmp_path: Path) -> None:
    """Row mappings are checked as a file of them: a bad row 2 is <status rows>:3."""
    rows = [
        {"store_id": "1", "status": "active", "timestamp_utc": "2023-01-25 10:00:00 UTC"},
        {"store_id": "1", "status": "active", "timestamp_utc": "yesterday"},
    ]
    with StatusStore(tmp_path / "uptime.db") as store:
        with pytest.raises(InputDataError, match=r"^<status rows>:3: bad timestamp 'yesterday'"):
            store.ingest_polls(rows)


def test_skip_mode_stores_the_good_rows_and_returns_the_bad(tmp_path: Path) -> None:
    """With on_error="skip" the valid rows are stored and the bad ones are the rejects."""
    with StatusStore(tmp_path / "uptime.db") as store:
        result = store.ingest_polls(EXAMPLES / "bad_status.csv", on_error="skip")
        assert (result.received, result.new, len(result.rejects)) == (1, 1, 1)
        assert result.rejects[0].location() == f"{EXAMPLES / 'bad_status.csv'}:3"


def test_replacing_hours_and_zones_replaces_them(tmp_path: Path) -> None:
    """replace_hours and replace_timezones keep only the rows last given."""
    with StatusStore(tmp_path / "uptime.db") as store:
        assert store.replace_hours(EXAMPLE_FILES[1]) == 2
        assert store.replace_timezones(EXAMPLE_FILES[2]) == 2
        assert store.replace_hours([BusinessHours("9", 0, utc("2023-01-01 09:00").time(),
                                                  utc("2023-01-01 17:00").time())]) == 1
        assert store.replace_timezones([StoreTimezone("9", "Europe/London")]) == 1
        assert store.database.hours() == [("9", 0, 9 * 3600, 17 * 3600)]
        assert store.database.timezones() == [("9", "Europe/London")]


def test_threads_sharing_a_store_lose_nothing(tmp_path: Path) -> None:
    """Eight threads ingesting overlapping batches into one store store their union."""
    polls = list(generate(11, stores=6, days=3).polls)
    with StatusStore(tmp_path / "uptime.db") as store:
        threads = [
            threading.Thread(target=store.ingest_polls, args=(polls[number::4] + polls[:50],))
            for number in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with StatusStore(tmp_path / "once.db") as once:
            once.ingest_polls(polls)
            assert store.database.polls() == once.database.polls()


def test_two_processes_writing_one_file_lose_nothing(tmp_path: Path) -> None:
    """Two processes ingesting into one database file at once store both files' polls."""
    data = generate(12, stores=8, days=4)
    halves = [data.polls[0::2], data.polls[1::2]]
    files = [write_status(tmp_path / f"part{n}.csv", half) for n, half in enumerate(halves)]
    db = tmp_path / "uptime.db"
    code = (
        "import sys; from outages_processor.reports.status_store import StatusStore\n"
        "with StatusStore(sys.argv[1]) as s: s.ingest_polls(sys.argv[2])\n"
    )
    command = [sys.executable, "-c", code, str(db)]
    with subprocess.Popen([*command, str(files[0])]) as first, subprocess.Popen(
        [*command, str(files[1])]
    ) as second:
        assert (first.wait(timeout=120), second.wait(timeout=120)) == (0, 0)
    with StatusStore(db) as store, StatusStore(tmp_path / "once.db") as once:
        once.ingest_polls(data.polls)
        assert store.database.polls() == once.database.polls()


# ------------------------------------------------------------------------- reports


@pytest.mark.parametrize("interpolation", ["nearest", "previous"])
@pytest.mark.parametrize(
    "now",
    [None, "2023-01-25T12:00:00Z", "2023-01-25T11:15:00Z", "2023-01-19T00:00:00Z",
     "2023-01-24T09:30:00Z"],
)
def test_the_examples_report_equals_the_csv_path(
    tmp_path: Path, now: str | None, interpolation: str
) -> None:
    """On docs/examples data the store's report CSV equals build_report's, byte for byte."""
    with StatusStore(tmp_path / "uptime.db") as store:
        store.load(*EXAMPLE_FILES)
        ours = store.report(now=now, interpolation=interpolation)  # type: ignore[arg-type]
    theirs = build_report(*EXAMPLE_FILES, now=now, interpolation=interpolation)  # type: ignore[arg-type]
    assert _csv(ours) == _csv(theirs)
    assert ours.now == theirs.now


_STARTS = {
    "2023-dst": "2023-03-08 00:00",
    "across-1970": "1969-12-27 00:00",
    "year-1": "0001-01-20 00:00",
    "year-9999": "9999-12-01 00:00",
}
# now: the latest poll, inside the data, just after it, weeks after it (not past 9999-12-17).
_NOWS = [
    (name, after)
    for name in _STARTS
    for after in (None, 3.5, 9.0, 30.0)
    if not (name == "year-9999" and after == 30.0)
]


@pytest.mark.parametrize("interpolation", ["nearest", "previous"])
@pytest.mark.parametrize(("start", "now_after_start"), _NOWS)
def test_generated_reports_equal_the_csv_path(
    tmp_path: Path, start: str, interpolation: str, now_after_start: float | None
) -> None:
    """Generated data (pre-1970, extreme years, DST, shared instants) reports as the CSVs do."""
    start = _STARTS[start]
    data = _shifted(generate(21, stores=10, days=8), utc(start))
    now = None if now_after_start is None else utc(start) + timedelta(days=now_after_start)
    files = (_write_iso_status(tmp_path / "iso.csv", data.polls), *data.write(tmp_path)[1:])
    with _loaded(tmp_path / "uptime.db", data) as store:
        ours = store.report(now=now, interpolation=interpolation)  # type: ignore[arg-type]
    theirs = build_report(*files, now=now, interpolation=interpolation)  # type: ignore[arg-type]
    assert _csv(ours) == _csv(theirs)


def test_stores_with_only_older_polls_report_as_the_csv_path(tmp_path: Path) -> None:
    """Stores whose polls all lie weeks before now, or all after it, report as from files."""
    old = _shifted(generate(4, stores=3, days=2), utc("2023-01-01 00:00"))
    recent = _shifted(generate(5, stores=3, days=8), utc("2023-02-01 00:00"))
    late = _shifted(generate(6, stores=2, days=2), utc("2023-02-20 00:00"))
    data = DataSet(old.polls + recent.polls + late.polls, recent.hours, recent.zones + old.zones)
    files = data.write(tmp_path)
    for now in (None, utc("2023-02-08 12:00")):
        with _loaded(tmp_path / f"{now is None}.db", data) as store:
            assert _csv(store.report(now=now)) == _csv(build_report(*files, now=now))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    polls=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(min_value=0, max_value=20 * 86_400_000_000),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    ),
    now_offset=st.one_of(st.none(), st.integers(min_value=-86_400, max_value=25 * 86_400)),
    interpolation=st.sampled_from(["nearest", "previous"]),
)
def test_any_polls_report_as_the_csv_path(
    polls: list[tuple[str, int, bool]], now_offset: int | None, interpolation: str
) -> None:
    """For any polls and now, the store's report CSV equals the CSV path's."""
    origin = utc("1969-12-20 00:00")
    values = [
        Poll(store, "active" if active else "inactive", origin + timedelta(microseconds=micros))
        for store, micros, active in polls
    ]
    now = None if now_offset is None else origin + timedelta(seconds=now_offset)
    hours = [BusinessHours("a", 2, utc("2023-01-01 22:00").time(), utc("2023-01-01 06:00").time())]
    zones = [StoreTimezone("b", "Australia/Sydney")]
    with tempfile.TemporaryDirectory() as folder:
        status = write_status(Path(folder) / "status.csv", values)
        files = (status, write_hours(Path(folder) / "hours.csv", hours),
                 write_timezones(Path(folder) / "timezones.csv", zones))
        with StatusStore(Path(folder) / "uptime.db") as store:
            store.load(values, hours, zones)
            ours = store.report(now=now, interpolation=interpolation)  # type: ignore[arg-type]
        theirs = build_report(*files, now=now, interpolation=interpolation)  # type: ignore[arg-type]
    assert _csv(ours) == _csv(theirs)


def test_a_year_of_history_reports_as_its_last_eight_days(tmp_path: Path) -> None:
    """A store holding a year of polls gives the same report as one holding the last 8 days."""
    data = generate(31, stores=5, days=366)
    latest = max(poll.timestamp for poll in data.polls)
    recent = [poll for poll in data.polls if poll.timestamp >= latest - timedelta(days=8)]
    with _loaded(tmp_path / "year.db", data) as year, StatusStore(tmp_path / "week.db") as week:
        week.load(recent, data.hours, data.zones)
        assert _csv(year.report()) == _csv(week.report())
        # Only the week and the polls around it are read, not the year.
        window = year.database.window(None, 7 * 86_400_000_000 + 1_000_000, 1_000_000)
        assert window is not None and len(window.polls) <= len(recent)


def test_an_empty_store_cannot_report(tmp_path: Path) -> None:
    """A store without polls says so instead of an empty report."""
    with StatusStore(tmp_path / "uptime.db") as store:
        with pytest.raises(StatusStoreError, match="holds no polls; ingest a status file first"):
            store.report()


# ------------------------------------------------------------------------- upkeep


def test_prune_drops_the_polls_before_and_reports_what_is_left(tmp_path: Path) -> None:
    """prune drops polls before the instant; the report then equals the remaining polls'."""
    data = generate(8, stores=4, days=10)
    cut = utc("2023-03-12 00:00")
    kept = [poll for poll in data.polls if poll.timestamp >= cut]
    files = attrs.evolve(data, polls=tuple(kept)).write(tmp_path)
    with _loaded(tmp_path / "uptime.db", data) as store:
        before = store.counts()["polls"]
        dropped = store.prune("2023-03-12T00:00:00Z")
        assert store.counts()["polls"] == before - dropped == len({(p.store_id, p.timestamp)
                                                                  for p in kept})
        assert _csv(store.report()) == _csv(build_report(*files))


def test_read_only_refuses_writes(tmp_path: Path) -> None:
    """A read-only store reports, but refuses every write."""
    _loaded(tmp_path / "uptime.db", generate(1, stores=2, days=1)).close()
    with StatusStore(tmp_path / "uptime.db", read_only=True) as store:
        assert len(store.report()) == 2
        for write in (lambda: store.ingest_polls(EXAMPLE_FILES[0]),
                      lambda: store.prune("2023-01-01T00:00:00Z")):
            with pytest.raises(StatusStoreError, match="was opened read-only"):
                write()


def test_read_only_needs_an_existing_file(tmp_path: Path) -> None:
    """Opening a missing database read-only fails and creates no file."""
    with pytest.raises(StatusStoreError, match="^no status database at .*missing.db; ingest"):
        StatusStore(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


def test_an_event_database_is_not_a_status_database(tmp_path: Path) -> None:
    """An event store's file is refused, not misread."""
    EventStore(tmp_path / "events.db").close()
    with pytest.raises(StatusStoreError, match="is not a status database"):
        StatusStore(tmp_path / "events.db")


def test_a_writer_held_too_long_is_a_transient_busy_error(tmp_path: Path) -> None:
    """Another connection holding the write lock past the timeout gives StatusStoreBusyError."""
    with StatusStore(tmp_path / "uptime.db", timeout=0.05) as store:
        other = sqlite3.connect(tmp_path / "uptime.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StatusStoreBusyError) as caught:
                store.ingest_polls(EXAMPLE_FILES[0])
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert caught.value.transient
        assert store.counts()["polls"] == 0


# ------------------------------------------------------------------------- service


def test_trigger_store_completes_with_the_csv_paths_report(tmp_path: Path) -> None:
    """A report triggered on a store reaches Complete with the CSV path's report."""
    with StatusStore(tmp_path / "uptime.db") as store:
        store.load(*EXAMPLE_FILES)
    with ReportService(tmp_path / "reports", workers=1) as service:
        report_id = service.trigger_store(tmp_path / "uptime.db", now="2023-01-25T12:00:00Z")
        status = service.wait(report_id, timeout=60)
    assert status.state is ReportState.COMPLETE
    assert status.csv_path is not None
    expected = _csv(build_report(*EXAMPLE_FILES, now="2023-01-25T12:00:00Z"))
    assert status.csv_path.read_text(encoding="utf-8") == expected


def test_trigger_store_on_a_missing_file_fails_at_once(tmp_path: Path) -> None:
    """A missing store file is an InputDataError at trigger time, and no report is made."""
    with ReportService(tmp_path / "reports", workers=1) as service:
        with pytest.raises(InputDataError, match="missing.db: no status database there"):
            service.trigger_store(tmp_path / "missing.db")
    assert not list(itertools.chain((tmp_path / "reports").glob("*.json")))


def test_trigger_store_on_a_store_without_polls_fails_at_once(tmp_path: Path) -> None:
    """A store with hours but no polls: an InputDataError at trigger time, no report made."""
    with StatusStore(tmp_path / "empty.db") as store:
        store.replace_timezones([StoreTimezone("1", "Europe/London")])
    with ReportService(tmp_path / "reports", workers=1) as service:
        with pytest.raises(InputDataError, match="empty.db: the status store holds no polls yet"):
            service.trigger_store(tmp_path / "empty.db")
    assert not list((tmp_path / "reports").glob("*.json"))
