"""Reading the status, hours and time zones CSVs: formats, validation, bad rows."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor._time import parse_instant_seconds as parse_timestamp
from outages_processor.errors import InputDataError
from outages_processor.models.uptime import StoreUptime
from outages_processor.inputs import poll_blocks, status_file
from outages_processor.inputs.hours import (
    iter_business_hours,
    parse_time_of_day,
    read_business_hours,
)
from outages_processor.inputs.poll_blocks import StatusPart
from outages_processor.inputs.status_file import (
    read_status_layout,
    read_status_part,
    read_status_sequential,
    split_status,
)
from outages_processor.inputs.status_rows import iter_polls
from outages_processor.inputs.tables import RowErrors
from outages_processor.inputs.timezones import iter_timezones, read_timezones
from outages_processor.reports.report_csv import read_report_csv
from outages_processor.tests.uptime_data import generate, write_csv, write_status

STATUS_HEADER = "store_id,status,timestamp_utc"
T0 = datetime(2023, 1, 22, 12, 9, 39, 388884, tzinfo=timezone.utc).timestamp()


def _read(path: Path, *, on_error: str = "fail") -> StatusPart:
    layout = read_status_layout(path)
    return read_status_part(layout, layout.data_start, layout.size, on_error=on_error)  # type: ignore[arg-type]


def _polls(part: StatusPart) -> dict[str, tuple[list[float], list[float]]]:
    found: dict[str, tuple[list[float], list[float]]] = {}
    for block in part.blocks:
        for store_id, active, inactive in block.polls():
            old = found.get(store_id, ([], []))
            found[store_id] = (sorted(old[0] + list(active)), sorted(old[1] + list(inactive)))
    return found


def _status(tmp_path: Path, *rows: str, header: str = STATUS_HEADER, newline: str = "\n") -> Path:
    return write_csv(tmp_path / "status.csv", header, rows, newline=newline)


# ----------------------------------------------------------------------------- timestamps


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2023-01-22 12:09:39.388884 UTC", T0),
        ("2023-01-22 12:09:39.38888 UTC", T0 - 0.000004),
        ("2023-01-22 12:09:39 UTC", T0 - 0.388884),
        ("2023-01-22 12:09:39.3 UTC", T0 - 0.088884),
        ("2023-01-22T12:09:39.388884Z", T0),
        ("2023-01-22T13:09:39.388884+01:00", T0),
        ("  2023-01-22 12:09:39.388884 UTC ", T0),
    ],
)
def test_both_timestamp_styles_parse(text: str, seconds: float) -> None:
    """``... UTC`` with 0-6 fraction digits and ISO 8601 with Z or an offset."""
    assert parse_timestamp(text) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2023-13-22 12:09:39 UTC", "bad timestamp '2023-13-22 12:09:39 UTC': expected a UTC time"),
        ("yesterday", "bad timestamp 'yesterday': expected a UTC time"),
        ("2023-01-22 12:09:39", "no time zone; add ' UTC', 'Z' or an offset"),
        ("2023-01-22 12:09:39+01:00 UTC", "it has both an offset and UTC"),
    ],
)
def test_bad_timestamps_say_what_is_expected(text: str, message: str) -> None:
    """A timestamp that is neither style, or has no zone, is a ValueError saying so."""
    with pytest.raises(ValueError, match=message.replace("+", r"\+")):
        parse_timestamp(text)


@pytest.mark.parametrize(
    ("text", "seconds"), [("09:00", 32400), ("9:05", 32700), ("23:59:59", 86399), ("00:00:00", 0)]
)
def test_times_of_day_parse(text: str, seconds: int) -> None:
    """HH:MM and HH:MM:SS become seconds after midnight."""
    assert parse_time_of_day(text) == seconds


@pytest.mark.parametrize("text", ["24:00", "12:60", "12:00:60", "noon", "12", ""])
def test_bad_times_of_day_are_refused(text: str) -> None:
    """Anything else is a ValueError naming the format."""
    with pytest.raises(ValueError, match="expected HH:MM or HH:MM:SS"):
        parse_time_of_day(text)


# ----------------------------------------------------------------------------- status files


def test_status_rows_group_by_store(tmp_path: Path) -> None:
    """Polls come back by store, active and inactive apart, sorted."""
    path = _status(
        tmp_path,
        "b,active,2023-01-22 12:09:41 UTC",
        "a,inactive,2023-01-22 12:09:39.388884 UTC",
        "b,active,2023-01-22 12:09:40 UTC",
    )
    part = _read(path)
    assert part.polls == 3
    assert part.latest == pytest.approx(T0 + 1.611116)
    assert _polls(part) == {
        "a": ([], [pytest.approx(T0)]),
        "b": ([pytest.approx(T0 + 0.611116), pytest.approx(T0 + 1.611116)], []),
    }


@pytest.mark.parametrize(
    ("header", "rows"),
    [
        pytest.param(STATUS_HEADER, ["1,active,2023-01-22 12:00:00 UTC"], id="plain"),
        pytest.param(
            "\ufeff" + STATUS_HEADER, ["1,active,2023-01-22 12:00:00 UTC"], id="byte-order-mark"
        ),
        pytest.param(
            "timestamp_utc,store_id,extra,status",
            ["2023-01-22 12:00:00 UTC,1,x,active"],
            id="columns-by-name-extra-ignored",
        ),
        pytest.param(
            "status,store_id,timestamp_utc", ["active,1,2023-01-22 12:00:00 UTC"], id="status-first"
        ),
        pytest.param(STATUS_HEADER, ["1,active,2023-01-22T12:00:00Z"], id="iso-zulu"),
        pytest.param(STATUS_HEADER, ["1,active,2023-01-22T14:00:00+02:00"], id="iso-offset"),
        pytest.param(
            STATUS_HEADER,
            ["1,active,2023-01-22 12:00:00 UTC", "1,active,2023-01-22T12:00:00Z", ""],
            id="mixed-styles-and-a-blank-line",
        ),
    ],
)
def test_status_formats_read_alike(header: str, rows: list[str], tmp_path: Path) -> None:
    """Column order, extra columns, a BOM and both timestamp styles give the same polls."""
    part = _read(_status(tmp_path, *rows, header=header))
    times = _polls(part)["1"][0]
    assert times and set(times) == {datetime(2023, 1, 22, 12, tzinfo=timezone.utc).timestamp()}


def test_crlf_line_ends_are_fine(tmp_path: Path) -> None:
    """A file written with CRLF line ends reads like one with LF."""
    rows = ("1,active,2023-01-22 12:00:00 UTC", "2,inactive,2023-01-22 12:00:01 UTC")
    crlf = _polls(_read(_status(tmp_path, *rows, newline="\r\n")))
    assert crlf == _polls(read_status_sequential(io.StringIO("\n".join((STATUS_HEADER, *rows)))))


def test_store_ids_stay_text(tmp_path: Path) -> None:
    """Leading zeros and 19-digit ids are kept exactly."""
    part = _read(
        _status(
            tmp_path,
            "0042,active,2023-01-22 12:00:00 UTC",
            "8419537941919820732,active,2023-01-22 12:00:00 UTC",
        )
    )
    assert set(_polls(part)) == {"0042", "8419537941919820732"}


def test_quoted_fields_need_the_sequential_reader(tmp_path: Path) -> None:
    """A quoted field can hide a line break, so the fast reader hands the file over."""
    path = _status(tmp_path, '"1",active,2023-01-22 12:00:00 UTC')
    assert _read(path).needs_sequential
    assert set(_polls(read_status_sequential(path))) == {"1"}


def test_a_bare_carriage_return_needs_the_sequential_reader(tmp_path: Path) -> None:
    """Only a reader of whole records can tell where a lone CR ends a row."""
    path = tmp_path / "status.csv"
    path.write_bytes(b"store_id,status,timestamp_utc\n1,active,2023-01-22 12:00:00 UTC\r2,x\n")
    assert _read(path).needs_sequential


@pytest.mark.parametrize(
    ("rows", "line", "reason"),
    [
        pytest.param(
            ["1,on,2023-01-22 12:00:00 UTC"],
            2,
            "unknown status 'on': expected active or inactive",
            id="status",
        ),
        pytest.param(
            ["1,active,2023-01-22 12:00:00 UTC", "2,active,2023-01-32 12:00:00 UTC"],
            3,
            "bad timestamp '2023-01-32 12:00:00 UTC': expected a UTC time like "
            "2023-01-22 12:09:39.388884 UTC, or ISO 8601 with Z or an offset",
            id="timestamp",
        ),
        pytest.param(["1,active"], 2, "expected 3 fields, found 2", id="missing-field"),
        pytest.param(
            ["1,active,2023-01-22 12:00:00 UTC,x"],
            2,
            "expected 3 fields, found 4",
            id="extra-field",
        ),
        pytest.param([",active,2023-01-22 12:00:00 UTC"], 2, "empty store_id", id="empty-store"),
        pytest.param(
            ["1,active,2023-01-22 12:00:00"],
            2,
            "bad timestamp '2023-01-22 12:00:00': no time zone; add ' UTC', 'Z' or an offset",
            id="naive-timestamp",
        ),
    ],
)
def test_a_bad_status_row_stops_with_file_and_line(
    rows: list[str], line: int, reason: str, tmp_path: Path
) -> None:
    """In fail mode the first bad row is reported as (reason, line); nothing else."""
    part = _read(_status(tmp_path, *rows))
    assert part.error == (reason, line)
    sequential = read_status_sequential(tmp_path / "status.csv")
    assert sequential.error == (reason, line)


def test_a_bad_row_deep_in_a_range_has_its_line(tmp_path: Path) -> None:
    """Line numbers count from the top of the file, whatever range found the row."""
    rows = [f"{n},active,2023-01-22 12:00:00 UTC" for n in range(5000)]
    rows[4321] = "4321,maybe,2023-01-22 12:00:00 UTC"
    path = _status(tmp_path, *rows)
    layout = read_status_layout(path)
    ranges = split_status(layout, 3)
    errors = [read_status_part(layout, start, end).error for start, end in ranges]
    assert [error for error in errors if error] == [
        ("unknown status 'maybe': expected active or inactive", 4323)
    ]


def test_not_utf8_is_a_bad_row(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are reported with their line."""
    path = tmp_path / "status.csv"
    path.write_bytes(
        b"store_id,status,timestamp_utc\n1,active,2023-01-22 12:00:00 UTC\n\xff,active,x\n"
    )
    assert _read(path).error == ("not valid UTF-8", 3)
    skipped = _read(path, on_error="skip")
    assert [(reject.line, reject.reason) for reject in skipped.rejects] == [(3, "not valid UTF-8")]


def test_skip_mode_keeps_the_bad_rows_aside(tmp_path: Path) -> None:
    """In skip mode bad rows are rejected with file, line, reason and text; good rows stay."""
    path = _status(
        tmp_path,
        "1,active,2023-01-22 12:00:00 UTC",
        "2,on,2023-01-22 12:00:00 UTC",
        "3,active,never",
        "4,inactive,2023-01-22 12:00:00 UTC",
    )
    part = _read(path, on_error="skip")
    assert part.polls == 2 and set(_polls(part)) == {"1", "4"}
    assert [(r.path, r.line, r.row) for r in part.rejects] == [
        (str(path), 3, "2,on,2023-01-22 12:00:00 UTC"),
        (str(path), 4, "3,active,never"),
    ]
    assert read_status_sequential(path, on_error="skip").rejects == part.rejects


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            b"",
            "the status file is empty: expected a header row "
            "(store_id, status, timestamp_utc) and at least one row",
            id="empty",
        ),
        pytest.param(
            b"store_id,status\n1,active\n",
            "1: missing column 'timestamp_utc' (the header has: store_id, status); "
            "expected the columns store_id, status, timestamp_utc",
            id="missing-column",
        ),
        pytest.param(b"\xff\xfe\n", "1: the header is not valid UTF-8", id="header-not-utf8"),
    ],
)
def test_status_header_problems(content: bytes, message: str, tmp_path: Path) -> None:
    """An empty file or a missing column stops at once, saying file (and line)."""
    path = tmp_path / "status.csv"
    path.write_bytes(content)
    with pytest.raises(InputDataError) as caught:
        read_status_layout(path)
    assert (
        str(caught.value) == f"{path}:{message}" if message[0].isdigit() else f"{path}: {message}"
    )


def test_a_missing_status_file_says_so(tmp_path: Path) -> None:
    """A file that cannot be opened is an InputDataError naming it."""
    with pytest.raises(InputDataError, match="cannot read the file: No such file"):
        read_status_layout(tmp_path / "nope.csv")


def test_the_sequential_reader_reports_an_empty_stream() -> None:
    """An empty stream is an error that says which file is empty."""
    with pytest.raises(InputDataError, match="<memory>: the status file is empty"):
        read_status_sequential(io.StringIO(""))


def test_the_sequential_reader_skips_blank_lines_before_the_header() -> None:
    """Blank lines before the status header are skipped (they used to be an error)."""
    text = "\n\r\n" + STATUS_HEADER + "\n1,active,2023-01-22 UTC\n"
    part = read_status_sequential(io.StringIO(text))
    assert part.polls == 1


def test_the_sequential_reader_reports_bad_csv() -> None:
    """A CSV syntax error names its line."""
    with pytest.raises(InputDataError, match="<memory>:2: not valid CSV: field larger"):
        read_status_sequential(io.StringIO(STATUS_HEADER + "\n" + "1" * 200_000 + ",active,x\n"))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), parts=st.integers(1, 4), partitions=st.integers(1, 3))
def test_ranges_partitions_and_readers_agree(seed: int, parts: int, partitions: int) -> None:
    """Any split into byte ranges and partitions reads the same polls as the CSV module."""
    data = generate(seed, stores=5, days=2)
    text = "\n".join(
        [STATUS_HEADER]
        + [f"{p.store_id},{p.status},{p.timestamp:%Y-%m-%d %H:%M:%S.%f} UTC" for p in data.polls]
    )
    folder = Path(f"split-{seed}-{parts}-{partitions}")
    folder.mkdir()
    path = folder / "status.csv"
    path.write_text(text + "\n", encoding="utf-8")
    layout = read_status_layout(path)
    read = [
        read_status_part(layout, start, end, partitions=partitions)
        for start, end in split_status(layout, parts)
    ]
    merged: dict[str, tuple[list[float], list[float]]] = {}
    for part in read:
        for store, (active, inactive) in _polls(part).items():
            old = merged.get(store, ([], []))
            merged[store] = (sorted(old[0] + active), sorted(old[1] + inactive))
    assert merged == _polls(read_status_sequential(io.StringIO(text)))
    assert sum(part.polls for part in read) == len(data.polls)


def test_split_status_covers_every_byte_once(tmp_path: Path) -> None:
    """Ranges start at line starts, follow each other and end at the file's end."""
    path = _status(tmp_path, *(f"{n},active,2023-01-22 12:00:00 UTC" for n in range(100)))
    layout = read_status_layout(path)
    ranges = split_status(layout, 7)
    data = path.read_bytes()
    assert ranges[0][0] == layout.data_start and ranges[-1][1] == layout.size
    for (_, end), (start, _) in zip(ranges, ranges[1:]):
        assert end == start and data[start - 1 : start] == b"\n"


def test_iter_polls_yields_models(tmp_path: Path) -> None:
    """The row-by-row reader yields Poll values; bad rows go to the given RowErrors."""
    path = _status(tmp_path, "1,active,2023-01-22 12:09:39.388884 UTC", "2,x,y")
    errors = RowErrors("skip")
    polls = list(iter_polls(path, errors=errors))
    assert [(p.store_id, p.status, p.timestamp.timestamp()) for p in polls] == [("1", "active", T0)]
    assert [r.line for r in errors.rejects] == [3]
    with pytest.raises(InputDataError, match=r"status.csv:3: unknown status 'x'"):
        list(iter_polls(path))


def test_group_polls_packs_models_like_files(tmp_path: Path) -> None:
    """In-memory polls are packed the same way as a file's."""
    data = generate(3, stores=4, days=1)
    write_status(tmp_path / "status.csv", data.polls)
    assert _polls(poll_blocks.group_polls(data.polls)) == _polls(_read(tmp_path / "status.csv"))


@pytest.mark.parametrize(
    ("polls", "active", "inactive"),
    [
        ([(True, 3.0), (False, 1.0), (True, 2.0), (False, 4.0)], [3.0, 2.0], [1.0, 4.0]),
        ([(True, 0.0), (False, 0.0), (True, 5.0)], [0.0, 5.0], [0.0]),
        ([(False, 0.0), (False, -2.0)], [], [0.0, -2.0]),
        ([(True, -1800.0), (False, -3600.0)], [-1800.0], [-3600.0]),
        ([(True, -0.0)], [-0.0], []),
    ],
)
def test_polls_are_grouped_by_status_as_read(
    polls: list[tuple[bool, float]], active: list[float], inactive: list[float]
) -> None:
    """Poll times keep their status and value in read order, at the epoch and before."""
    collector = poll_blocks.PollCollector("<polls>", 3, "fail")
    for is_active, instant in polls:
        collector.add("s", is_active, instant)
    ((_, found_active, found_inactive),) = collector.part(1).blocks[0].polls()
    assert (list(found_active), list(found_inactive)) == (active, inactive)



def test_partitions_are_stable() -> None:
    """A store always goes to the same partition, in any process."""
    assert poll_blocks.partition_of("8419537941919820732", 2) == poll_blocks.partition_of(
        "8419537941919820732", 2
    )
    assert {poll_blocks.partition_of(str(n), 3) for n in range(100)} == {0, 1, 2}


# ----------------------------------------------------------------------------- hours, zones

HOURS_ROWS = ["1,0,09:00:00,17:00:00", "1,0,18:00,19:00", "2,6,22:00:00,02:00:00"]


@pytest.mark.parametrize("day_column", ["day", "dayOfWeek"])
def test_hours_read_with_either_day_column(day_column: str, tmp_path: Path) -> None:
    """``day`` (2023 files) and ``dayOfWeek`` (2024 files) both name the weekday."""
    path = write_csv(
        tmp_path / "hours.csv", f"store_id,{day_column},start_time_local,end_time_local", HOURS_ROWS
    )
    assert read_business_hours(path) == {
        "1": [(0, 32400, 61200), (0, 64800, 68400)],
        "2": [(6, 79200, 7200)],
    }


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(['"1",0,09:00,17:00'], id="quoted"),
        pytest.param(["1,0,09:00,17:00", ""], id="blank-line"),
        pytest.param(["1, 0,09:00,17:00"], id="spaces"),
    ],
)
def test_hours_careful_and_fast_readers_agree(rows: list[str], tmp_path: Path) -> None:
    """Files the fast reader declines are read row by row to the same result."""
    path = write_csv(tmp_path / "hours.csv", "store_id,day,start_time_local,end_time_local", rows)
    assert read_business_hours(path) == {"1": [(0, 32400, 61200)]}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("1,7,09:00,17:00", "bad day of week '7': expected 0 (Monday) to 6 (Sunday)"),
        ("1,0,9am,17:00", "bad time '9am': expected HH:MM or HH:MM:SS (00:00 to 23:59:59)"),
        ("1,0,09:00,24:00", "bad time '24:00': expected HH:MM or HH:MM:SS (00:00 to 23:59:59)"),
        ("1,0,09:00", "expected 4 fields, found 3"),
        (",0,09:00,17:00", "empty store_id"),
    ],
)
def test_a_bad_hours_row_names_file_and_line(row: str, reason: str, tmp_path: Path) -> None:
    """A bad weekday or time stops the read with ``file:line: reason``."""
    path = write_csv(
        tmp_path / "hours.csv",
        "store_id,day,start_time_local,end_time_local",
        ["2,1,09:00,10:00", row],
    )
    with pytest.raises(InputDataError) as caught:
        read_business_hours(path)
    assert str(caught.value) == f"{path}:3: {reason}"
    errors = RowErrors("skip")
    assert read_business_hours(path, errors=errors) == {"2": [(1, 32400, 36000)]}
    assert [(r.line, r.reason) for r in errors.rejects] == [(3, reason)]


def test_iter_business_hours_yields_models(tmp_path: Path) -> None:
    """The hours reader also yields BusinessHours values."""
    path = write_csv(
        tmp_path / "hours.csv", "store_id,dayOfWeek,start_time_local,end_time_local", HOURS_ROWS[:1]
    )
    (row,) = iter_business_hours(path)
    assert (row.store_id, row.day_of_week, str(row.start), str(row.end)) == (
        "1",
        0,
        "09:00:00",
        "17:00:00",
    )


def test_timezones_read(tmp_path: Path) -> None:
    """Each store's IANA zone; a repeated identical row is fine."""
    path = write_csv(
        tmp_path / "tz.csv",
        "store_id,timezone_str",
        ["1,America/New_York", "2,Asia/Beirut", "2,Asia/Beirut"],
    )
    assert read_timezones(path) == {"1": "America/New_York", "2": "Asia/Beirut"}
    assert [row.store_id for row in iter_timezones(path)] == ["1", "2", "2"]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            "1,Mars/Olympus",
            "unknown time zone 'Mars/Olympus': expected an IANA name such as America/New_York",
        ),
        ("1,Europe/London", "store 1 already has time zone America/New_York"),
        (",UTC", "empty store_id"),
        ("1", "expected 2 fields, found 1"),
    ],
)
def test_a_bad_timezone_row_names_file_and_line(row: str, reason: str, tmp_path: Path) -> None:
    """An unknown zone or a second zone for a store stops the read at its line."""
    path = write_csv(tmp_path / "tz.csv", "store_id,timezone_str", ["1,America/New_York", row])
    with pytest.raises(InputDataError) as caught:
        read_timezones(path)
    assert str(caught.value) == f"{path}:3: {reason}"


@pytest.mark.parametrize("reader", [read_business_hours, read_timezones])
def test_empty_hours_and_zones_files_say_so(reader: object, tmp_path: Path) -> None:
    """A file without even a header is an error naming the file."""
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"empty.csv: the .* file is empty"):
        reader(path)  # type: ignore[operator]


def test_header_only_hours_file_is_no_hours(tmp_path: Path) -> None:
    """A header and no rows means no store has hours rows."""
    path = write_csv(tmp_path / "hours.csv", "store_id,day,start_time_local,end_time_local", [])
    assert not read_business_hours(path)


def test_report_csv_reads_back(tmp_path: Path) -> None:
    """A written report reads back as rows (values as written)."""
    path = write_csv(
        tmp_path / "r.csv", ",".join(StoreUptime.COLUMNS), ["1,1.50,2.00,3.00,4.00,5.00,6.00"]
    )
    assert read_report_csv(path) == [StoreUptime("1", 1.5, 2.0, 3.0, 4.0, 5.0, 6.0)]
    write_csv(tmp_path / "bad.csv", ",".join(StoreUptime.COLUMNS), ["1,x,2,3,4,5,6"])
    with pytest.raises(InputDataError, match=r"bad.csv:2: not a report row"):
        read_report_csv(tmp_path / "bad.csv")


# ----------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize(
    "rows",
    [
        pytest.param(
            ["1,active,2023-01-22 12:00:00 UTC", "2,inactive,2023-01-22 12:00:01.5 UTC"], id="utc"
        ),
        pytest.param(
            ["1,active,2023-01-22T12:00:00Z", "2,inactive,2023-01-22T14:00:01+02:00"], id="iso"
        ),
    ],
)
def test_clean_chunks_take_the_fast_path(rows: list[str], tmp_path: Path) -> None:
    """Both timestamp styles are read whole-chunk, without the row-by-row fallback."""
    layout = read_status_layout(_status(tmp_path, *rows))
    collector = poll_blocks.PollCollector(layout.path, layout.columns, "fail")
    reader = status_file._RangeReader(layout, layout.data_start, collector)  # pylint: disable=protected-access
    assert reader._fast("\n".join(rows) + "\n")  # pylint: disable=protected-access
    assert collector.polls == 2


def test_a_last_line_without_a_line_break_is_read(tmp_path: Path) -> None:
    """The file's last row counts even without a final line break."""
    path = tmp_path / "status.csv"
    path.write_text(STATUS_HEADER + "\n1,active,2023-01-22 12:00:00 UTC", encoding="utf-8")
    assert _read(path).polls == 1


def test_a_file_gone_while_reading_is_an_input_error(tmp_path: Path) -> None:
    """A status file removed between its header and its rows says it cannot be read."""
    path = _status(tmp_path, "1,active,2023-01-22 12:00:00 UTC")
    layout = read_status_layout(path)
    path.unlink()
    with pytest.raises(InputDataError, match="status.csv: cannot read the file"):
        read_status_part(layout, layout.data_start, layout.size)


def test_quotes_in_a_chunk_that_is_not_utf8_need_the_sequential_reader(tmp_path: Path) -> None:
    """A quote found while looking for bad bytes still hands the file over."""
    path = tmp_path / "status.csv"
    path.write_bytes(b'store_id,status,timestamp_utc\n"1",active,x\n\xff,active,x\n')
    assert _read(path, on_error="skip").needs_sequential


@pytest.mark.parametrize(
    ("reader", "content", "message"),
    [
        pytest.param(
            read_status_sequential, None, "nope.csv: cannot read the file", id="status-missing"
        ),
        pytest.param(
            read_business_hours, None, "nope.csv: cannot read the file", id="hours-missing"
        ),
        pytest.param(
            read_status_sequential,
            b"store_id,status,timestamp_utc\n\xff\n",
            "nope.csv:2: not valid UTF-8$",
            id="status-bytes",
        ),
        pytest.param(
            read_business_hours,
            b"store_id,day,start_time_local,end_time_local\n\xff\n",
            "nope.csv:2: not valid UTF-8$",
            id="hours-bytes",
        ),
        pytest.param(
            read_timezones,
            b"store_id,timezone_str\n1,UTC\n2,\xffUTC\n",
            "nope.csv:3: not valid UTF-8$",
            id="zones-bytes",
        ),
        pytest.param(
            read_timezones,
            b"\n\"store_id\",timezone_\xff\n",
            "nope.csv:2: the header is not valid UTF-8$",
            id="zones-header-bytes",
        ),
    ],
)
def test_unreadable_files_name_the_file(
    reader: object, content: bytes | None, message: str, tmp_path: Path
) -> None:
    """Missing files and bytes that are not UTF-8 name the file (and the line)."""
    path = tmp_path / "nope.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputDataError, match=message):
        reader(path)  # type: ignore[operator]


def test_misaligned_rows_are_caught_by_the_careful_reader(tmp_path: Path) -> None:
    """A row with an extra field and one short of a field are both reported."""
    path = write_csv(
        tmp_path / "hours.csv",
        "store_id,day,start_time_local,end_time_local",
        ["1,0,09:00,17:00,x", "2,0,09:00"],
    )
    errors = RowErrors("skip")
    assert not read_business_hours(path, errors=errors)
    assert [(r.line, r.reason) for r in errors.rejects] == [
        (2, "expected 4 fields, found 5"),
        (3, "expected 4 fields, found 3"),
    ]


def test_skip_mode_for_time_zones(tmp_path: Path) -> None:
    """Bad zone rows are skipped and kept; the good ones stay."""
    path = write_csv(
        tmp_path / "tz.csv",
        "store_id,timezone_str",
        ["1,UTC", "2", ",UTC", "3,Nowhere", "1,Asia/Tokyo", "4,Asia/Tokyo"],
    )
    errors = RowErrors("skip")
    assert read_timezones(path, errors=errors) == {"1": "UTC", "4": "Asia/Tokyo"}
    assert [r.line for r in errors.rejects] == [3, 4, 5, 6]


def test_misaligned_status_rows_are_caught(tmp_path: Path) -> None:
    """An extra field on one row and a missing one on the next are both reported."""
    path = _status(tmp_path, "1,active,2023-01-22 12:00:00 UTC,x", "active,2023-01-22 12:00:00 UTC")
    part = _read(path, on_error="skip")
    assert [(r.line, r.reason) for r in part.rejects] == [
        (2, "expected 3 fields, found 4"),
        (3, "expected 3 fields, found 2"),
    ]


def test_bad_rows_far_apart_keep_their_lines(tmp_path: Path) -> None:
    """Bad rows in different chunks of one range are each reported at their line."""
    rows = [f"{n},active,2023-01-22 12:00:00 UTC" for n in range(3000)]
    rows[10] = rows[2900] = "1,x,y"
    part = _read(_status(tmp_path, *rows), on_error="skip")
    assert [r.line for r in part.rejects] == [12, 2902]


def test_hours_with_crlf_and_no_last_line_break(tmp_path: Path) -> None:
    """CRLF line ends and a missing final line break are fine in the hours file."""
    path = tmp_path / "hours.csv"
    path.write_bytes(
        b"store_id,day,start_time_local,end_time_local\r\n1,0,09:00,17:00\r\n2,1,08:00,09:00"
    )
    assert read_business_hours(path) == {"1": [(0, 32400, 61200)], "2": [(1, 28800, 32400)]}


def test_row_errors_know_only_fail_and_skip() -> None:
    """Another on_error value is a ValueError."""
    with pytest.raises(ValueError, match="'on_error' must be in"):
        RowErrors("ignore")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- blank lines, bytes

LEADS = [pytest.param(lead, id=repr(lead)) for lead in ("\n", "\r\n\n", "\ufeff\n")]
HOURS_TEXT = "store_id,day,start_time_local,end_time_local\n1,0,09:00,17:00\n"
ZONES_TEXT = "store_id,timezone_str\n1,Asia/Tokyo\n"
STATUS_TEXT = STATUS_HEADER + "\n1,active,2023-01-22 12:00:00 UTC\n"


def _read_status_fast(path: Path) -> object:
    return _polls(_read(path))


def _read_status_sequential(path: Path) -> object:
    return _polls(read_status_sequential(path))


def _iter_hours(path: Path) -> object:
    return list(iter_business_hours(path))


def _iter_zones(path: Path) -> object:
    return list(iter_timezones(path))


@pytest.mark.parametrize("lead", LEADS)
@pytest.mark.parametrize(
    ("reader", "text"),
    [
        pytest.param(_read_status_fast, STATUS_TEXT, id="status-ranges"),
        pytest.param(_read_status_sequential, STATUS_TEXT, id="status-sequential"),
        pytest.param(read_business_hours, HOURS_TEXT, id="hours"),
        pytest.param(_iter_hours, HOURS_TEXT, id="hours-rows"),
        pytest.param(read_timezones, ZONES_TEXT, id="zones"),
        pytest.param(_iter_zones, ZONES_TEXT, id="zones-rows"),
    ],
)
def test_every_reader_skips_blank_lines_before_the_header(
    reader: object, text: str, lead: str, tmp_path: Path
) -> None:
    """Blank lines before the header are skipped by all three files' readers alike."""
    plain, led = tmp_path / "plain.csv", tmp_path / "led.csv"
    plain.write_text(text, encoding="utf-8", newline="")
    led.write_text(lead + text, encoding="utf-8", newline="")
    assert reader(led) == reader(plain)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("reader", "header"),
    [
        pytest.param(read_status_layout, "store_id,status", id="status-ranges"),
        pytest.param(read_status_sequential, '"store_id",status', id="status-sequential"),
        pytest.param(read_business_hours, "store_id,day,start_time_local", id="hours"),
        pytest.param(read_timezones, "store_id,zone", id="zones"),
    ],
)
def test_a_missing_column_is_reported_at_the_header_line(
    reader: object, header: str, tmp_path: Path
) -> None:
    """After blank lines, a header that lacks a column is named at its own line."""
    path = tmp_path / "in.csv"
    path.write_text("\n\n" + header + "\n1,x\n", encoding="utf-8")
    with pytest.raises(InputDataError, match=r"in\.csv:3: missing column"):
        reader(path)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("reader", "content", "kept"),
    [
        pytest.param(
            read_business_hours,
            b"store_id,day,start_time_local,end_time_local\n"
            b"1,0,09:00,17:00\n\xff2,0,09:00,17:00\n",
            {"1": [(0, 32400, 61200)]},
            id="hours",
        ),
        pytest.param(
            read_business_hours,
            b'store_id,day,start_time_local,end_time_local\n"1",0,09:00,17:00\n'
            b"2\xc3,0,09:00,17:00\n",
            {"1": [(0, 32400, 61200)]},
            id="hours-quoted",
        ),
        pytest.param(
            read_timezones,
            b"store_id,timezone_str\n1,UTC\n2,Asia/T\xf4kyo\n",
            {"1": "UTC"},
            id="zones",
        ),
        pytest.param(
            read_timezones,
            b'store_id,timezone_str\r\n1,"UTC"\r\n2,\x80UTC\r\n',
            {"1": "UTC"},
            id="zones-quoted-crlf",
        ),
    ],
)
def test_a_row_not_utf8_is_skipped_and_listed(
    reader: object, content: bytes, kept: object, tmp_path: Path
) -> None:
    """Skip mode: a row of hours or time zones that is not UTF-8 is a reject, not fatal."""
    path = tmp_path / "in.csv"
    path.write_bytes(content)
    errors = RowErrors("skip")
    assert reader(path, errors=errors) == kept  # type: ignore[operator]
    assert [(r.path, r.line, r.reason) for r in errors.rejects] == [
        (str(path), 3, "not valid UTF-8")
    ]


def test_a_quoted_status_file_lists_a_row_not_utf8(tmp_path: Path) -> None:
    """The CSV module's reader skips a row that is not UTF-8 and reads the others."""
    path = tmp_path / "status.csv"
    path.write_bytes(
        b'store_id,status,timestamp_utc\n"a\nb",active,2023-01-22 12:00:00 UTC\n'
        b"2\xff,active,2023-01-22 12:00:00 UTC\n3,inactive,2023-01-22 12:00:00 UTC\n"
    )
    part = read_status_sequential(path, on_error="skip")
    assert sorted(_polls(part)) == ["3", "a\nb"]
    assert [(r.line, r.reason, r.row) for r in part.rejects] == [
        (4, "not valid UTF-8", repr(b"2\xff,active,2023-01-22 12:00:00 UTC"))
    ]


def test_a_quoted_field_spanning_lines_with_bad_bytes_is_one_reject(tmp_path: Path) -> None:
    """A record over two lines with bad bytes is one reject at its first line; rows after
    it keep their physical line numbers."""
    path = tmp_path / "status.csv"
    path.write_bytes(
        b'store_id,status,timestamp_utc\n"a\n\xffb",active,2023-01-22 12:00:00 UTC\n'
        b"3,bogus,2023-01-22 12:00:00 UTC\n4,active,2023-01-22 12:00:00 UTC\n"
    )
    part = read_status_sequential(path, on_error="skip")
    assert sorted(_polls(part)) == ["4"]
    assert [(r.line, r.reason[:14]) for r in part.rejects] == [
        (2, "not valid UTF-"),
        (4, "unknown status"),
    ]


def test_a_bad_line_with_a_quote_sends_the_file_to_the_csv_module(tmp_path: Path) -> None:
    """The range reader hands over a chunk whose undecodable line opens a quoted field."""
    path = tmp_path / "status.csv"
    path.write_bytes(
        b'store_id,status,timestamp_utc\n"\xff\n2",active,2023-01-22 12:00:00 UTC\n'
        b"3,active,2023-01-22 12:00:00 UTC\n"
    )
    assert _read(path, on_error="skip").needs_sequential
    part = read_status_sequential(path, on_error="skip")
    assert sorted(_polls(part)) == ["3"]
    assert [r.line for r in part.rejects] == [2]


def test_a_crlf_row_not_utf8_is_listed_without_its_line_break(tmp_path: Path) -> None:
    """Both readers show the bytes of a bad CRLF row without the CR."""
    content = b"store_id,status,timestamp_utc\r\n1,active,2023-01-22 UTC\r\n\xff,x,y\r\n"
    path = tmp_path / "status.csv"
    path.write_bytes(content)
    by_ranges = _read(path, on_error="skip").rejects
    stream = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8", newline="")
    by_module = read_status_sequential(stream, on_error="skip").rejects
    assert [(r.line, r.row) for r in by_ranges] == [(3, repr(b"\xff,x,y"))]
    assert [(r.line, r.row) for r in by_module] == [(3, repr(b"\xff,x,y"))]


def test_a_text_stream_gets_its_error_handler_back() -> None:
    """Reading a strict UTF-8 stream with a bad row leaves the stream strict again."""
    content = STATUS_TEXT.encode("utf-8") + b"\xff,active,x\n"
    stream = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8")
    part = read_status_sequential(stream, on_error="skip")
    assert part.polls == 1 and [r.line for r in part.rejects] == [3]
    assert stream.errors == "strict"


def test_a_text_stream_read_from_before_says_what_to_do() -> None:
    """A strict stream already read from cannot skip a bad row: one line says so."""
    rows = "".join(f"{n},active,2023-01-22 12:00:00 UTC\n" for n in range(400))
    # The bad byte lies beyond the block the text layer decodes for the first line.
    content = f"# a preamble\n{STATUS_HEADER}\n{rows}".encode("utf-8") + b"\xff,active,x\n"
    stream = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8")
    stream.readline()
    with pytest.raises(InputDataError, match=r"^<memory>: not valid UTF-8, in a text stream"):
        read_status_sequential(stream, on_error="skip")
