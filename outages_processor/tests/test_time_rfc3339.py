"""RFC 3339 date-times (the API's ``format: date-time``) that ``fromisoformat`` alone refuses.

RFC 3339 (section 5.6) lets the ``T`` and ``Z`` of a date-time be written ``t`` and ``z``,
and a time's second be 60 on a leap second (section 5.7). Both are valid ``begin`` and
``end`` values of ``GET /outages`` and valid timestamps anywhere the package reads ISO
8601. Every reader takes them: a lower-case letter means what the upper-case one does, and
a leap second (``23:59:60`` UTC, the end of a UTC day, in any offset) is the last
microsecond before the next day, so it sorts after every other instant of its day.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor._time import (
    EPOCH,
    ONE_MICROSECOND,
    as_instant,
    parse_aware,
    parse_instant_micros,
    parse_instant_seconds,
)
from outages_processor.api import KrakenFlexClient, get_outages
from outages_processor.core.filtering import select_site_outages
from outages_processor.models import Outage
from outages_processor.settings import Settings

UTC = timezone.utc


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // ONE_MICROSECOND


# Every reader of an instant with an offset, as (name, text -> microseconds since the epoch).
READERS: list[tuple[str, Callable[[str], int]]] = [
    ("parse_aware", lambda text: _micros(parse_aware(text))),
    ("as_instant", lambda text: _micros(as_instant(text, "when"))),
    ("parse_instant_micros", parse_instant_micros),
    ("parse_instant_seconds", lambda text: round(parse_instant_seconds(text) * 1e6)),
]
READER_IDS = [name for name, _ in READERS]
READER_FUNCTIONS = [reader for _, reader in READERS]

LEAP_END = datetime(2016, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
"""What the leap second 2016-12-31T23:59:60Z is read as."""


@pytest.mark.parametrize("reader", READER_FUNCTIONS, ids=READER_IDS)
@pytest.mark.parametrize(("text", "expected"), [
    ("2022-05-23t12:21:27.377z", datetime(2022, 5, 23, 12, 21, 27, 377_000, tzinfo=UTC)),
    ("2022-05-23T12:21:27.377z", datetime(2022, 5, 23, 12, 21, 27, 377_000, tzinfo=UTC)),
    ("2022-05-23t12:21:27Z", datetime(2022, 5, 23, 12, 21, 27, tzinfo=UTC)),
    ("2022-05-23t13:21:27+01:00", datetime(2022, 5, 23, 12, 21, 27, tzinfo=UTC)),
    # Leap seconds, in UTC and in other offsets (the same UTC instant), with a fraction.
    ("2016-12-31T23:59:60Z", LEAP_END),
    ("2016-12-31t23:59:60z", LEAP_END),
    ("2016-12-31T23:59:60.5Z", LEAP_END),
    ("2016-12-31 23:59:60.123456Z", LEAP_END),
    ("2017-01-01T05:29:60+05:30", LEAP_END),
    ("2016-12-31T18:59:60-05:00", LEAP_END),
    ("2015-06-30T23:59:60Z", datetime(2015, 6, 30, 23, 59, 59, 999_999, tzinfo=UTC)),
])  # fmt: skip
def test_rfc3339_forms_are_read(
    reader: Callable[[str], int], text: str, expected: datetime
) -> None:
    """Lower-case designators and leap seconds, by every reader (a table)."""
    assert reader(text) == _micros(expected)


@pytest.mark.parametrize("reader", READER_FUNCTIONS, ids=READER_IDS)
@pytest.mark.parametrize("text", [
    "2022-05-23T12:21:60Z",  # not the end of a UTC day: no leap second there
    "2016-12-31T23:58:60Z",
    "2016-12-31T23:59:60+01:00",  # 23:59:60 local, but 22:59:60 UTC
    "2016-12-31T23:59:61Z",
    "2016-12-31T23:60:00Z",
    "2022-05-23t12:21:27y",  # only t and z have lower-case forms
    "2022-05-23T12:21:27utc",
])  # fmt: skip
def test_other_forms_are_still_refused(reader: Callable[[str], int], text: str) -> None:
    """A 60th second anywhere but 23:59:60 UTC, and other letters, stay errors."""
    with pytest.raises(ValueError):
        reader(text)


@st.composite
def rfc3339_texts(draw: st.DrawFn) -> tuple[str, str]:
    """An RFC 3339 date-time in upper case, and the same with any letter lowered."""
    moment = draw(
        st.datetimes(
            min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31),
        )
    )
    minutes = draw(st.integers(-23 * 60 - 59, 23 * 60 + 59))
    digits = draw(st.integers(0, 9))
    utc = minutes == 0 and draw(st.booleans())
    fraction = f"{moment.microsecond:06d}{draw(st.integers(0, 999)):03d}"[:digits]
    sign = "-" if minutes < 0 else "+"
    offset = "Z" if utc else f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    upper = f"{moment:%Y-%m-%dT%H:%M:%S}{'.' if digits else ''}{fraction}{offset}"
    lowered = upper
    if draw(st.booleans()):
        lowered = lowered[:10] + "t" + lowered[11:]
    if utc and draw(st.booleans()):
        lowered = lowered[:-1] + "z"
    return upper, lowered


@settings(max_examples=300, deadline=None)
@given(rfc3339_texts())
def test_lower_case_letters_mean_what_upper_case_ones_do(texts: tuple[str, str]) -> None:
    """Any RFC 3339 date-time: each reader gives the lower-cased text the same instant."""
    upper, lowered = texts
    for _, reader in READERS:
        assert reader(lowered) == reader(upper)


@settings(max_examples=300, deadline=None)
@given(
    st.dates(min_value=date(1972, 1, 1), max_value=date(2100, 1, 1)),
    st.integers(-23 * 60 - 59, 23 * 60 + 59),
    st.integers(0, 999_999),
)
def test_a_leap_second_sorts_between_its_day_and_the_next(
    day: date, minutes: int, fraction: int
) -> None:
    """23:59:60 UTC of any day, written in any offset: after the day's last whole second
    and before the next day, by every reader."""
    offset = timedelta(minutes=minutes)
    # The last second of the UTC day, in local time: 23:59:59 + offset, then its 60th second.
    local = datetime.combine(day, datetime.min.time()) + timedelta(hours=23, minutes=59) + offset
    sign = "-" if minutes < 0 else "+"
    zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    text = f"{local:%Y-%m-%dT%H:%M}:60.{fraction:06d}{zone}"
    midnight = datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=1)
    for _, reader in READERS:
        read = reader(text)
        assert _micros(midnight - timedelta(seconds=1)) <= read < _micros(midnight)


def test_the_site_cut_off_places_a_leap_second_before_midnight() -> None:
    """``GET /outages`` may send RFC 3339 forms: the selection reads them like any other."""
    outages = [
        Outage("a", "2021-12-31t23:59:60z", "2022-01-01t00:10:00z"),
        Outage("b", "2022-01-01t00:00:00z", "2022-01-01t00:10:00z"),
        Outage("c", "2022-01-01T05:29:60+05:30", "2022-01-01T06:00:00+05:30"),
    ]
    names = {"a": "A", "b": "B", "c": "C"}
    since = datetime(2022, 1, 1, tzinfo=UTC)
    kept = select_site_outages(outages, names, since=since)
    assert [(outage.id, outage.begin) for outage in kept] == [("b", "2022-01-01t00:00:00z")]


def test_get_outages_takes_rfc3339_forms_and_keeps_their_text() -> None:
    """One such outage made the whole of ``GET /outages`` an InvalidResponseError before."""
    served = [
        {"id": "a", "begin": "2021-12-31t23:59:60z", "end": "2022-01-01t00:10:00z"},
        {"id": "b", "begin": "2022-01-01T00:00:00Z", "end": "2022-01-01T00:10:00Z"},
    ]
    with respx.mock(base_url="https://api.example.test") as mock:
        mock.get("/outages").respond(json=served)
        api = Settings(api_key="fake-key-for-tests", base_url="https://api.example.test")
        with KrakenFlexClient(api) as client:
            outages = get_outages(client)
    assert [outage.to_dict() for outage in outages] == served
    assert outages[0].begin_at == datetime(2021, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "outages_processor", *arguments],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_events_ingest_reads_rfc3339_forms_as_their_upper_case_twins(tmp_path: Path) -> None:
    """The CSV reader's fast path falls back to the rule for each such record."""
    rows = [
        ("c1", "battery", "2016-12-31t23:50:00z"),
        ("c1", "battery", "2016-12-31T23:59:60Z"),
        ("c1", "battery", "2017-01-01t00:05:00+00:00"),
    ]
    twins = [("c1", "battery", "2016-12-31T23:50:00Z"), ("c1", "battery",
             "2016-12-31T23:59:59.999999Z"), ("c1", "battery", "2017-01-01T00:05:00+00:00")]
    outputs = []
    for name, data in (("rfc", rows), ("twin", twins)):
        source = tmp_path / f"{name}.csv"
        with source.open("w", newline="", encoding="utf-8") as stream:
            csv.writer(stream).writerows([("controller_id", "outage_type", "timestamp"), *data])
        database = tmp_path / f"{name}.db"
        assert _run("events", "ingest", "--db", str(database), str(source)).returncode == 0
        listed = _run("events", "list", "--db", str(database), "--csv")
        assert listed.returncode == 0, listed.stderr
        outputs.append(listed.stdout)
    assert outputs[0] == outputs[1]
    assert "2016-12-31T23:50:00Z,2017-01-01T00:05:00Z,3" in outputs[0]


@pytest.mark.parametrize("engine", ["python", "columnar"])
def test_an_uptime_report_reads_rfc3339_status_times(tmp_path: Path, engine: str) -> None:
    """A status file with lower-case ISO times reports as its upper-case twin (both engines;
    the columnar one hands such a file to the pure reader)."""
    if engine == "columnar":
        pytest.importorskip("pyarrow")
    hours = tmp_path / "hours.csv"
    hours.write_text("store_id,dayOfWeek,start_time_local,end_time_local\n", encoding="utf-8")
    zones = tmp_path / "zones.csv"
    zones.write_text("store_id,timezone_str\n1,UTC\n", encoding="utf-8")
    polls = [("inactive", "2023-01-25t10:10:00z"), ("active", "2023-01-25t11:10:00z"),
             ("active", "2023-01-25t11:50:00+00:00")]  # fmt: skip
    reports = []
    for name, upper in (("lower", False), ("upper", True)):
        status = tmp_path / f"{name}.csv"
        lines = [f"1,{state},{time.upper() if upper else time}\n" for state, time in polls]
        status.write_text("store_id,status,timestamp_utc\n" + "".join(lines), "utf-8")
        result = _run(
            "uptime", "report", "--engine", engine, "--quiet", "--status", str(status),
            "--hours", str(hours), "--timezones", str(zones), "--now", "2023-01-25T12:00:00Z",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        reports.append(result.stdout)
    assert reports[0] == reports[1]
    assert reports[0].splitlines()[1].startswith("1,")
