"""Report inputs given as DataFrames or rows: the same report, rejects and errors as the CSV."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable, Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from outages_processor.errors import InputDataError
from outages_processor.models.uptime import ReportState, UptimeReport
from outages_processor.reports import ReportService, build_report

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "uptime"
INPUTS = ("status", "hours", "timezones")
FILES = {
    "status": EXAMPLES / "status.csv",
    "hours": EXAMPLES / "hours.csv",
    "timezones": EXAMPLES / "timezones.csv",
}
# One bad row, the second of each input: line 3 of its file.
BAD_ROWS = {
    "status": ("1001,online,2023-01-25 11:15:00 UTC", "unknown status 'online'"),
    "hours": ("1003,9,08:00:00,17:00:00", "bad day of week '9'"),
    "timezones": ("1002,Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
}


def _records(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def _frame(path: Path) -> Any:
    pandas = pytest.importorskip("pandas")
    return pandas.read_csv(path, dtype=str, keep_default_na=False)


def _typed_frame(path: Path, *, aware: bool) -> Any:
    """The file as a DataFrame of typed columns: datetime64[ns], int days, time objects."""
    pandas = pytest.importorskip("pandas")
    frame = _frame(path)
    if "timestamp_utc" in frame:
        stamps = pandas.to_datetime(
            frame["timestamp_utc"].str.removesuffix(" UTC"), format="ISO8601", utc=True
        ).astype("datetime64[ns, UTC]")
        frame["timestamp_utc"] = stamps if aware else stamps.dt.tz_localize(None)
    if "dayOfWeek" in frame:
        frame["dayOfWeek"] = frame["dayOfWeek"].astype(int)
        for column in ("start_time_local", "end_time_local"):
            frame[column] = [time.fromisoformat(text) for text in frame[column]]
    return frame


def _generator(path: Path) -> Iterator[dict[str, str]]:
    yield from _records(path)


KINDS: dict[str, Callable[[Path], object]] = {
    "frame_text": _frame,
    "frame_utc": lambda path: _typed_frame(path, aware=True),
    "frame_naive": lambda path: _typed_frame(path, aware=False),
    "dicts": _records,
    "tuples": lambda path: [tuple(row.values()) for row in _records(path)],
    "generator": _generator,
}


def _inputs(which: str, value: object) -> list[object]:
    """The three inputs as files, but ``which`` given as ``value``."""
    return [value if name == which else FILES[name] for name in INPUTS]


def _bad_file(tmp_path: Path, which: str) -> Path:
    """The example file of ``which`` with its second row replaced by a bad one."""
    lines = FILES[which].read_text(encoding="utf-8").splitlines()
    lines[2] = BAD_ROWS[which][0]
    path = tmp_path / f"bad_{which}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _same(report: UptimeReport, expected: UptimeReport) -> bool:
    return report.rows == expected.rows and report.now == expected.now


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("which", INPUTS)
def test_rows_give_the_report_of_the_csv(which: str, kind: str) -> None:
    """Each input as a DataFrame or rows gives the same report as its CSV file."""
    expected = build_report(*FILES.values())
    assert _same(build_report(*_inputs(which, KINDS[kind](FILES[which]))), expected)


@pytest.mark.parametrize("kind", KINDS)
def test_all_three_inputs_as_rows_give_the_report_of_the_csv(kind: str) -> None:
    """All three inputs as DataFrames or rows at once give the CSV files' report."""
    expected = build_report(*FILES.values())
    assert _same(build_report(*(KINDS[kind](FILES[name]) for name in INPUTS)), expected)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("which", INPUTS)
def test_a_bad_row_fails_where_the_csv_fails(which: str, kind: str, tmp_path: Path) -> None:
    """A bad row fails as in the file, at <which rows>:line (row 2 is line 3)."""
    bad = _bad_file(tmp_path, which)
    with pytest.raises(InputDataError) as in_file:
        build_report(*_inputs(which, bad))
    with pytest.raises(InputDataError) as in_rows:
        build_report(*_inputs(which, KINDS[kind](bad)))
    assert in_file.value.reason.startswith(BAD_ROWS[which][1])
    assert (in_rows.value.path, in_rows.value.line) == (f"<{which} rows>", 3)
    assert str(in_rows.value) == f"<{which} rows>:3: {in_file.value.reason}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("which", INPUTS)
def test_a_bad_row_is_a_reject_when_skipping(which: str, kind: str, tmp_path: Path) -> None:
    """With on_error="skip" the bad row is listed as the file's reject, named <which rows>."""
    bad = _bad_file(tmp_path, which)
    expected = build_report(*_inputs(which, bad), on_error="skip")
    report = build_report(*_inputs(which, KINDS[kind](bad)), on_error="skip")
    assert report.rows == expected.rows
    assert report.rejects.to_dicts() == [
        {**reject, "file": f"<{which} rows>"} for reject in expected.rejects.to_dicts()
    ]
    assert [(reject.line, reject.row) for reject in report.rejects] == [(3, BAD_ROWS[which][0])]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (lambda _: 42, "got int"),
        (lambda _: None, "got NoneType"),
        (lambda _: b"status.csv", "got bytes"),
        (lambda rows: rows[0], "got dict"),
        # (a list of strings alone is a list of status files: issue 10)
        (lambda _: ["store_id,status", 1001], "row 1 is a str"),
        (lambda _: [1001], "row 1 is a int"),
        (lambda rows: [rows[0], tuple(rows[1].values())], "row 2 is a tuple"),
        (lambda rows: [tuple(rows[0].values()), rows[1]], "row 2 is a dict"),
    ],
)
@pytest.mark.parametrize("which", INPUTS)
def test_a_wrong_type_is_a_type_error_saying_what_is_accepted(
    which: str, value: Callable[[list[dict[str, str]]], object], message: str
) -> None:
    """A value that is no accepted input, or rows of mixed kinds, is a TypeError."""
    with pytest.raises(TypeError, match=f"^{which} .*{message}") as caught:
        build_report(*_inputs(which, value(_records(FILES[which]))))
    accepted = ("CSV path or text stream, a pandas DataFrame", "mappings", "all tuples")
    assert any(words in str(caught.value) for words in accepted)


def test_extra_columns_and_the_day_alias_are_read_as_in_a_file() -> None:
    """A DataFrame's extra columns are ignored and ``day`` stands for ``dayOfWeek``."""
    hours = _frame(FILES["hours"]).rename(columns={"dayOfWeek": "day"}).assign(note="x")
    status = _frame(FILES["status"]).assign(region="north")
    expected = build_report(*FILES.values())
    assert _same(build_report(status, hours, FILES["timezones"]), expected)


def test_a_missing_column_is_named_as_in_a_file() -> None:
    """Rows lacking a column fail with the file's missing-column message, at line 1."""
    rows = [{"store_id": "1001", "status": "active"}]
    with pytest.raises(InputDataError, match=r"^<status rows>:1: missing column 'timestamp_utc'"):
        build_report(rows, FILES["hours"], FILES["timezones"])


def test_rows_need_no_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows of dicts and tuples are read with pandas not importable."""
    monkeypatch.setitem(sys.modules, "pandas", None)
    inputs = [
        _records(FILES["status"]),
        _records(FILES["hours"]),
        KINDS["tuples"](FILES["timezones"]),
    ]
    assert _same(build_report(*inputs), build_report(*FILES.values()))


def test_the_service_reports_dataframes(tmp_path: Path) -> None:
    """ReportService.trigger takes DataFrames; its rows are the CSV files' report."""
    with ReportService(tmp_path / "reports") as service:
        report_id = service.trigger(*(_frame(FILES[name]) for name in INPUTS))
        assert service.wait(report_id, timeout=30).state is ReportState.COMPLETE
        rows = service.get(report_id, include_rows=True).rows
    expected = build_report(*FILES.values()).rows
    assert rows is not None and [row.store_id for row in rows] == [r.store_id for r in expected]


def test_the_service_fails_a_report_at_the_bad_row(tmp_path: Path) -> None:
    """A bad row given to trigger() fails the report, naming <status rows>:3."""
    bad = _records(_bad_file(tmp_path, "status"))
    with ReportService(tmp_path / "reports") as service:
        report_id = service.trigger(bad, FILES["hours"], FILES["timezones"])
        status = service.wait(report_id, timeout=30)
    assert status.state is ReportState.FAILED
    assert status.error is not None and status.error.startswith("<status rows>:3: unknown status")


def test_the_service_refuses_a_wrong_type_at_once(tmp_path: Path) -> None:
    """trigger() raises the TypeError itself: no report is made."""
    with ReportService(tmp_path / "reports") as service:
        with pytest.raises(TypeError, match="^hours must be"):
            service.trigger(FILES["status"], 42, FILES["timezones"])
        assert not list(service.directory.glob("*.json"))
