"""The columnar benchmark's helpers: its DuckDB SQL writes the library's report, byte for byte."""

from __future__ import annotations

import csv
import os
import random
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

import pytest

from outages_processor.models.uptime import BusinessHours, Poll, StoreTimezone
from outages_processor.reports import run_report
from outages_processor.tests import uptime_data
from outages_processor.tests.bench import bench_columnar, bench_uptime


def _duckdb_report(folder: Path, status: Path, hours: Path, zones: Path, **options: bool) -> str:
    """The report CSV the benchmark's SQL writes for the three files."""
    duckdb = pytest.importorskip("duckdb")
    output = folder / "duckdb.csv"
    statements = bench_columnar.report_sql(
        [status], hours, zones, output, day_column=bench_columnar.hours_day_column(hours),
        **options,
    )  # fmt: skip
    connection = duckdb.connect()
    try:
        for statement in statements:
            connection.execute(statement)
    finally:
        connection.close()
    return output.read_text(encoding="utf-8")


def _library_report(folder: Path, status: Path, hours: Path, zones: Path) -> str:
    output = folder / "library.csv"
    run_report(status, hours, zones, output, jobs=1)
    return output.read_text(encoding="utf-8")


@pytest.mark.parametrize("seed", range(8))
def test_sql_report_equals_the_library_report(tmp_path: Path, seed: int) -> None:
    """On seeded data sets (ties, 24x7, default zone, past midnight, DST) the SQL is exact."""
    pytest.importorskip("duckdb")
    paths = uptime_data.generate(seed, stores=20).write(tmp_path)
    assert _duckdb_report(tmp_path, *paths) == _library_report(tmp_path, *paths)


def test_sql_report_reads_a_repeated_wall_clock_time_as_its_first_occurrence(
    tmp_path: Path,
) -> None:
    """Hours opening at 01:30 on the night clocks fall back open at the first 01:30 (fold=0)."""
    pytest.importorskip("duckdb")
    # Inactive from 06:00 to 07:00 UTC on 2023-11-05: the first 01:30-01:45 in Chicago
    # (CDT, 06:30Z) is down, the second (CST, 07:30Z) up.
    start = datetime(2023, 10, 30, tzinfo=timezone.utc)
    down = datetime(2023, 11, 5, 6, tzinfo=timezone.utc)
    moments = [start + timedelta(minutes=15 * step) for step in range(4 * 24 * 7)]
    polls = [
        Poll("fall", "inactive" if down <= moment < down + timedelta(hours=1) else "active", moment)
        for moment in moments
    ]
    hours = [BusinessHours("fall", day, time(1, 30), time(1, 45)) for day in range(7)]
    zones = [StoreTimezone("fall", "America/Chicago")]
    paths = (
        uptime_data.write_status(tmp_path / "status.csv", polls),
        uptime_data.write_hours(tmp_path / "hours.csv", hours),
        uptime_data.write_timezones(tmp_path / "timezones.csv", zones),
    )
    assert _duckdb_report(tmp_path, *paths) == _library_report(tmp_path, *paths)


def test_sql_report_with_offsets_reads_iso_timestamps_with_offsets(tmp_path: Path) -> None:
    """With offsets=True, ISO 8601 timestamps with an offset give the library's report."""
    pytest.importorskip("duckdb")
    data = uptime_data.generate(3, stores=6)
    status, hours, zones = data.write(tmp_path)
    plus_five = timezone(timedelta(hours=5, minutes=30))
    rows = [f"{p.store_id},{p.status},{p.timestamp.astimezone(plus_five).isoformat()}"
            for p in data.polls]  # fmt: skip
    uptime_data.write_csv(status, "store_id,status,timestamp_utc", rows)
    expected = _library_report(tmp_path, status, hours, zones)
    assert _duckdb_report(tmp_path, status, hours, zones, offsets=True) == expected


def test_hours_day_column_names_the_weekday_column(tmp_path: Path) -> None:
    """The hours file's weekday column is found by name, ``dayOfWeek`` or ``day``."""
    uptime_data.write_csv(tmp_path / "a.csv", "store_id,dayOfWeek,start_time_local,x", [])
    uptime_data.write_csv(tmp_path / "b.csv", "store_id,day,start_time_local,x", [])
    assert [bench_columnar.hours_day_column(tmp_path / name) for name in ("a.csv", "b.csv")] == [
        "dayOfWeek",
        "day",
    ]


@pytest.mark.parametrize(
    ("help_text", "expected"),
    [
        ("--status FILE  --hours FILE", ()),
        ("--engine <auto|python|columnar>", ("python", "columnar")),
        ("--engine <auto|python>", ("python",)),
    ],
)
def test_engines_are_read_from_the_help(help_text: str, expected: tuple[str, ...]) -> None:
    """The engines offered are those ``--help`` names after an ``--engine`` option."""
    assert bench_columnar.engines(help_text) == expected


def test_first_differences_name_lines_and_lengths() -> None:
    """Differing reports are shown by line number, then by their numbers of lines."""
    found = bench_columnar.first_differences("h\na,1\nb,2\n", "h\na,1\nb,3\nc,4\n")
    assert found == ["  line 3: python 'b,2' / other 'b,3'", "  python has 3 lines, other 4"]


def test_paired_ratios_divide_round_by_round() -> None:
    """Each round's time is divided by the base's time of the same round."""
    assert bench_columnar.paired_ratios([2.0, 3.0], [4.0, 1.5]) == [0.5, 2.0]


def test_with_copies_adds_new_stores_copying_the_base_in_turn() -> None:
    """Stores beyond the base get new unique ids, their templates the base stores in turn."""
    stores = bench_columnar.with_copies(random.Random(1), ["a", "b"], 5)
    assert stores[:2] == [("a", "a"), ("b", "b")]
    assert [template for _, template in stores[2:]] == ["a", "b", "a"]
    assert len({store for store, _ in stores}) == 5


def test_write_schedules_gives_a_copy_its_templates_rows(tmp_path: Path) -> None:
    """A copied store gets the real hours rows and time zone of its template."""
    with open(bench_uptime.DATA / "timezones_2023.csv", encoding="utf-8") as stream:
        template = next(csv.DictReader(stream))["store_id"]
    bench_columnar.write_schedules(tmp_path, [(template, template), ("copy", template)])
    for name in ("hours.csv", "timezones.csv"):
        with open(tmp_path / name, encoding="utf-8", newline="") as stream:
            rows = list(csv.reader(stream))[1:]
        assert sorted(row[1:] for row in rows if row[0] == "copy") == sorted(
            row[1:] for row in rows if row[0] == template
        )
        assert {row[0] for row in rows} == {template, "copy"}


def test_the_cpu_time_bounds_the_wall_time_on_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """A contender's line gives its CPU time over the floor's loop, and the wall time that
    CPU time cannot beat on this machine's cores."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    floor = [2.0, 1.0]
    contender = bench_columnar.Contender(
        "columnar", lambda _: [], times=[1.5, 0.9], cpu=[2.6, 1.4]
    )
    line = contender.line(floor, [])
    assert "CPU median 2.00 s, x floor 1.35 (on 2 cores no faster than 0.68 x floor)" in line
    floor_contender = bench_columnar.Contender("floor", lambda _: [], times=floor, cpu=[2.1, 1.1])
    assert "CPU" not in floor_contender.line(floor, [])
