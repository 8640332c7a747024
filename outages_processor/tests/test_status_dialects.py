"""Any CSV dialect of a status file gives the same report through every way of reading it.

The same rows rendered with quoted fields, CRLF or bare CR line ends, a byte order mark,
blank lines (before the header too) and with or without a final line break must give the
report, byte for byte, that the rows give in memory and written plainly: through a path in
this thread, on an executor, on the default process pool, and as a text stream.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outages_processor.models.uptime import Poll
from outages_processor.reports import build_report, write_report_csv
from outages_processor.reports import building
from outages_processor.scripts.main import app

HOURS = "store_id,dayOfWeek,start_time_local,end_time_local\n1,0,09:00,17:00\n1,2,22:00,06:00\n"
ZONES = "store_id,timezone_str\n1,America/New_York\n22,Asia/Kolkata\n"
HEADER = ("store_id", "status", "timestamp_utc")
# Stores whose ids need quoting (a comma, a quote, a line break) and plain ones.
PLAIN_IDS = ("1", "22", "store-3")
QUOTED_IDS = ("a,b", 'q"x', "n\nl")
BASES = (
    datetime(1969, 12, 27, tzinfo=timezone.utc),  # its polls straddle the Unix epoch
    datetime(2023, 1, 20, tzinfo=timezone.utc),
)


@attrs.frozen
class Row:
    """One poll and how its timestamp is written."""

    store_id: str
    active: bool
    moment: datetime
    style: str

    def fields(self) -> list[str]:
        """The row's CSV fields."""
        return [self.store_id, "active" if self.active else "inactive", _stamp(self)]

    def poll(self) -> Poll:
        """The row as an in-memory poll."""
        return Poll(self.store_id, "active" if self.active else "inactive", self.moment)


def _stamp(row: Row) -> str:
    moment = row.moment
    if row.style == "utc":
        fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
        return f"{moment:%Y-%m-%d %H:%M:%S}{fraction} UTC"
    if row.style == "z":
        return moment.isoformat().replace("+00:00", "Z")
    return moment.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()


@attrs.frozen
class Dialect:
    """How a status file is written."""

    quoting: str  # "minimal", "all" or "some"
    newline: str
    bom: bool
    final_newline: bool
    blank_lead: int
    blanks_after: frozenset[int]
    quoted: frozenset[int]  # with quoting "some": which (row, field) numbers are quoted


PLAIN = Dialect("minimal", "\n", False, True, 0, frozenset(), frozenset())


def _field(text: str, quote: bool) -> str:
    needs = any(char in text for char in ',"\r\n')
    if quote or needs:
        return '"' + text.replace('"', '""') + '"'
    return text


def render(rows: Sequence[Row], dialect: Dialect) -> str:
    """The status file's text in a dialect."""
    lines = []
    for number, fields in enumerate([list(HEADER), *(row.fields() for row in rows)]):
        quoted = [
            dialect.quoting == "all"
            or (dialect.quoting == "some" and number * 3 + index in dialect.quoted)
            for index in range(3)
        ]
        lines.append(",".join(map(_field, fields, quoted)))
        if number in dialect.blanks_after:
            lines.append("")
    text = dialect.newline * dialect.blank_lead + dialect.newline.join(lines)
    # The last field is a timestamp: only line breaks of blank lines are stripped.
    text = text.rstrip("\r\n") + (dialect.newline if dialect.final_newline else "")
    return ("\ufeff" if dialect.bom else "") + text


def _report_csv(report: Any) -> str:
    stream = io.StringIO()
    write_report_csv(report, stream)
    return stream.getvalue()


@st.composite
def status_rows(draw: st.DrawFn, *, quoted_ids: bool = True) -> list[Row]:
    """A few polls of several stores, around 2023 or around the Unix epoch."""
    ids = PLAIN_IDS + (QUOTED_IDS if quoted_ids else ())
    base = draw(st.sampled_from(BASES))
    row = st.builds(
        Row,
        st.sampled_from(ids),
        st.booleans(),
        st.integers(0, 9 * 86_400 * 10**6).map(lambda us: base + timedelta(microseconds=us)),
        st.sampled_from(("utc", "z", "offset")),
    )
    return draw(st.lists(row, min_size=1, max_size=12))


@st.composite
def dialects(draw: st.DrawFn) -> Dialect:
    """Any way of writing a CSV that the CSV module reads back as the same rows."""
    return Dialect(
        draw(st.sampled_from(("minimal", "all", "some"))),
        draw(st.sampled_from(("\n", "\r\n", "\r"))),
        draw(st.booleans()),
        draw(st.booleans()),
        draw(st.integers(0, 2)),
        frozenset(draw(st.sets(st.integers(0, 13), max_size=3))),
        frozenset(draw(st.sets(st.integers(0, 40), max_size=8))),
    )


def _inputs(folder: Path) -> tuple[Path, Path]:
    hours, zones = folder / "hours.csv", folder / "zones.csv"
    hours.write_text(HOURS, encoding="utf-8")
    zones.write_text(ZONES, encoding="utf-8")
    return hours, zones


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_the_plain_rendering_is_plain_csv() -> None:
    """The reference dialect is unquoted LF text for plain ids (a check of the test itself)."""
    rows = [Row("1", True, BASES[1], "utc")]
    expected = "store_id,status,timestamp_utc\n1,active,2023-01-20 00:00:00 UTC\n"
    assert render(rows, PLAIN) == expected
    assert list(csv.reader(io.StringIO(render(rows, PLAIN), newline=""))) == [
        list(HEADER),
        rows[0].fields(),
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=status_rows(), dialect=dialects())
def test_every_dialect_and_reader_give_the_same_report(rows: list[Row], dialect: Dialect) -> None:
    """Path (jobs=1), executor (jobs=2), text streams and memory agree, in any dialect."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        hours, zones = _inputs(folder)
        expected = _report_csv(build_report([row.poll() for row in rows], hours, zones))
        plain = _write(folder, "plain.csv", render(rows, PLAIN))
        assert _report_csv(build_report(plain, hours, zones, jobs=1)) == expected
        text = render(rows, dialect)
        path = _write(folder, "status.csv", text)
        assert _report_csv(build_report(path, hours, zones, jobs=1)) == expected
        with ThreadPoolExecutor(2) as executor:
            on_executor = build_report(path, hours, zones, jobs=2, executor=executor)
        assert _report_csv(on_executor) == expected
        stream = io.StringIO(text)
        assert _report_csv(build_report(stream, hours, zones, jobs=1)) == expected
        # Like sys.stdin: bytes decoded with universal newlines, the BOM left in.
        stdin = io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8")
        assert _report_csv(build_report(stdin, hours, zones)) == expected


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=status_rows(), dialect=dialects())
def test_the_default_process_pool_reads_every_dialect(rows: list[Row], dialect: Dialect) -> None:
    """Small files sent to the default process pool give the in-memory report."""
    with tempfile.TemporaryDirectory() as name, pytest.MonkeyPatch.context() as patch:
        patch.setattr(building, "PARALLEL_MIN_BYTES", 0)
        folder = Path(name)
        hours, zones = _inputs(folder)
        expected = _report_csv(build_report([row.poll() for row in rows], hours, zones))
        path = _write(folder, "status.csv", render(rows, dialect))
        assert _report_csv(build_report(path, hours, zones, jobs=2)) == expected


def test_the_command_reads_a_pipe_like_the_file(tmp_path: Path) -> None:
    """A quoted, bare-CR status file through a pipe prints the plain file's report."""
    rows = [
        Row("1", True, BASES[1], "utc"),
        Row("a,b", False, BASES[1] + timedelta(hours=2), "z"),
        Row("22", True, BASES[1] + timedelta(hours=3), "offset"),
    ]
    hours, zones = _inputs(tmp_path)
    plain = _write(tmp_path, "plain.csv", render(rows, PLAIN))
    dialect = Dialect("all", "\r", True, False, 1, frozenset({1}), frozenset())
    fifo = tmp_path / "status.fifo"
    os.mkfifo(fifo)
    data = render(rows, dialect).encode("utf-8")

    def feed() -> None:
        with open(fifo, "wb") as stream:
            stream.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    args = ["uptime", "report", "--hours", str(hours), "--timezones", str(zones), "-q"]
    try:
        piped = CliRunner().invoke(app, [*args, "--status", str(fifo)])
    finally:
        writer.join()
    from_file = CliRunner().invoke(app, [*args, "--status", str(plain), "--jobs", "1"])
    assert piped.exit_code == 0, piped.output
    assert from_file.exit_code == 0, from_file.output
    assert piped.stdout == from_file.stdout
    assert piped.stdout.count("\n") == 4
