"""Any CSV dialect of a status file gives the same report through every way of reading it.

The same rows rendered with quoted fields, CRLF or bare CR line ends, a byte order mark,
blank lines (before the header too) and with or without a final line break must give the
report, byte for byte, that the rows give in memory and written plainly: through a path in
this thread, on an executor, on the default process pool, and as a text stream. Rows whose
bytes are not UTF-8 are, in skip mode, the same rejects (line, reason, row) on every path,
and the report is that of the other rows.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outages_processor.errors import InputDataError
from outages_processor.models.uptime import Poll, UptimeReport
from outages_processor.reports import build_report, write_report_csv
from outages_processor.reports import building
from outages_processor.scripts.main import app

HOURS = "store_id,dayOfWeek,start_time_local,end_time_local\n1,0,09:00,17:00\n1,2,22:00,06:00\n"
ZONES = "store_id,timezone_str\n1,America/New_York\n22,Asia/Kolkata\n"
HEADER = ("store_id", "status", "timestamp_utc")
# Stores whose ids need quoting (a comma, a quote, a line break) and plain ones.
PLAIN_IDS = ("1", "22", "store-3")
QUOTED_IDS = ("a,b", 'q"x', "n\nl")
# Stands for bytes that are not UTF-8 in the rendered text (a private-use character).
MARK = "\ue000"
BAD_BYTES = (b"\xff", b"\x80", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
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
    spoilt: int | None = None  # the field that holds bytes that are not UTF-8

    def fields(self) -> list[str]:
        """The row's CSV fields (a MARK at the start of the ``spoilt`` one)."""
        fields = [self.store_id, "active" if self.active else "inactive", _stamp(self)]
        if self.spoilt is not None:
            fields[self.spoilt] = MARK + fields[self.spoilt]
        return fields

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


def _records(rows: Sequence[Row], dialect: Dialect) -> list[tuple[int | None, str]]:
    """The records of the file, blank ones included, each with its row's index (or None)."""
    records: list[tuple[int | None, str]] = [(None, "")] * dialect.blank_lead
    for number, fields in enumerate([list(HEADER), *(row.fields() for row in rows)]):
        quoted = [
            dialect.quoting == "all"
            or (dialect.quoting == "some" and number * 3 + index in dialect.quoted)
            for index in range(3)
        ]
        records.append((number - 1 if number else None, ",".join(map(_field, fields, quoted))))
        if number in dialect.blanks_after:
            records.append((None, ""))
    return records


def row_lines(rows: Sequence[Row], dialect: Dialect) -> list[int]:
    """The physical line each row starts at (quoted line breaks count, as CR, LF, CRLF)."""
    starts = [0] * len(rows)
    line = 1
    for index, record in _records(rows, dialect):
        if index is not None:
            starts[index] = line
        line += 1 + len(LINE_BREAK.findall(record))
    return starts


def render(rows: Sequence[Row], dialect: Dialect) -> str:
    """The status file's text in a dialect."""
    lines = [record for _, record in _records(rows, dialect)[dialect.blank_lead :]]
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


@st.composite
def spoilers(draw: st.DrawFn, rows: int) -> dict[int, tuple[int, bytes]]:
    """One row or a few (not all) to spoil: row index -> (field, bytes that are not UTF-8)."""
    bad = draw(
        st.dictionaries(
            st.integers(0, rows - 1),
            st.tuples(st.integers(0, 2), st.sampled_from(BAD_BYTES)),
            min_size=1,
            max_size=3,
        )
    )
    assume(len(bad) < rows)
    return bad


def _inputs(folder: Path) -> tuple[Path, Path]:
    hours, zones = folder / "hours.csv", folder / "zones.csv"
    hours.write_text(HOURS, encoding="utf-8")
    zones.write_text(ZONES, encoding="utf-8")
    return hours, zones


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return path


def _spoil(rows: list[Row], bad: dict[int, tuple[int, bytes]]) -> list[Row]:
    """The rows, those in ``bad`` with a MARK in a field (index: (field, bytes))."""
    return [
        attrs.evolve(row, spoilt=bad[index][0]) if index in bad else row
        for index, row in enumerate(rows)
    ]


def _to_bytes(text: str, bad: dict[int, tuple[int, bytes]]) -> bytes:
    """The text as UTF-8, each MARK (in row order) replaced by its bytes that are not UTF-8."""
    pieces = text.encode("utf-8").split(MARK.encode("utf-8"))
    replacements = [spoiler for _, (_, spoiler) in sorted(bad.items())]
    assert len(pieces) == len(replacements) + 1
    return pieces[0] + b"".join(s + piece for s, piece in zip(replacements, pieces[1:]))


def _spoilt_file(
    path: Path, rows: list[Row], dialect: Dialect, bad: dict[int, tuple[int, bytes]]
) -> tuple[bytes, list[int]]:
    """Write the rows, ``bad`` ones spoilt, to ``path``; its bytes and each row's line."""
    spoilt = _spoil(rows, bad)
    content = _to_bytes(render(spoilt, dialect), bad)
    path.write_bytes(content)
    return content, row_lines(spoilt, dialect)


def _rejects(report: UptimeReport) -> list[tuple[int | None, str, str]]:
    return [(reject.line, reject.reason, reject.row) for reject in report.rejects]


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


def _readings(
    path: Path, content: bytes, inputs: tuple[Path, Path], on_error: str
) -> Iterator[tuple[str, Callable[[], UptimeReport]]]:
    """Each way of reading the status file in this process: its name in messages, the call.

    By path in this thread, by path on an executor, as a text stream, and as a stream of
    bytes decoded strictly (like ``sys.stdin``). Call each before asking for the next.
    """
    hours, zones = inputs
    report = functools.partial(build_report, hours=hours, timezones=zones, on_error=on_error)
    yield str(path), functools.partial(report, path, jobs=1)
    with ThreadPoolExecutor(2) as executor:
        yield str(path), functools.partial(report, path, jobs=2, executor=executor)
    text = content.decode("utf-8", "surrogateescape")
    yield "<memory>", lambda: report(io.StringIO(text))
    yield "<memory>", lambda: report(io.TextIOWrapper(io.BytesIO(content), encoding="utf-8"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rows=status_rows(), dialect=dialects())
def test_rows_not_utf8_are_the_same_rejects_on_every_path(
    data: st.DataObject, rows: list[Row], dialect: Dialect
) -> None:
    """Skip mode: rows that are not UTF-8 are listed alike by every reader, never fatal."""
    bad = data.draw(spoilers(len(rows)))
    with tempfile.TemporaryDirectory() as name:
        inputs = _inputs(Path(name))
        good = [row.poll() for index, row in enumerate(rows) if index not in bad]
        expected = _report_csv(build_report(good, *inputs))
        path = Path(name) / "status.csv"
        content, lines = _spoilt_file(path, rows, dialect, bad)
        reports = [(shown, read()) for shown, read in _readings(path, content, inputs, "skip")]
    for shown, report in reports:
        assert _report_csv(report) == expected
        assert [(reject.path, reject.line, reject.reason) for reject in report.rejects] == [
            (shown, lines[index], "not valid UTF-8") for index in sorted(bad)
        ]
        assert _rejects(report) == _rejects(reports[0][1])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rows=status_rows(), dialect=dialects())
def test_the_first_row_not_utf8_stops_every_path_alike(
    data: st.DataObject, rows: list[Row], dialect: Dialect
) -> None:
    """Fail mode: every reader stops at the first such row with file:line: not valid UTF-8."""
    bad = data.draw(spoilers(len(rows)))
    with tempfile.TemporaryDirectory() as name:
        inputs = _inputs(Path(name))
        path = Path(name) / "status.csv"
        content, lines = _spoilt_file(path, rows, dialect, bad)
        for shown, read in _readings(path, content, inputs, "fail"):
            with pytest.raises(InputDataError) as caught:
                read()
            assert str(caught.value) == f"{shown}:{lines[min(bad)]}: not valid UTF-8"


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rows=status_rows(), dialect=dialects())
def test_the_default_process_pool_lists_rows_not_utf8(
    data: st.DataObject, rows: list[Row], dialect: Dialect
) -> None:
    """The default process pool gives the report and rejects of the reader in this thread."""
    bad = data.draw(spoilers(len(rows)))
    with tempfile.TemporaryDirectory() as name, pytest.MonkeyPatch.context() as patch:
        folder = Path(name)
        hours, zones = _inputs(folder)
        path = folder / "status.csv"
        _spoilt_file(path, rows, dialect, bad)
        in_thread = build_report(path, hours, zones, jobs=1, on_error="skip")
        patch.setattr(building, "PARALLEL_MIN_BYTES", 0)
        pooled = build_report(path, hours, zones, jobs=2, on_error="skip")
        assert _report_csv(pooled) == _report_csv(in_thread)
        assert pooled.rejects == in_thread.rejects


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


def test_the_command_lists_a_row_not_utf8_from_a_pipe_like_the_file(tmp_path: Path) -> None:
    """--on-error skip: a quoted file with a bad row through a pipe prints what the file does."""
    hours, zones = _inputs(tmp_path)
    data = (
        b'store_id,status,timestamp_utc\n"1",active,2023-01-20 10:00:00 UTC\n'
        b'"2\xff",inactive,2023-01-20 11:00:00 UTC\n22,inactive,2023-01-20 12:00:00 UTC\n'
    )
    plain = tmp_path / "status.csv"
    plain.write_bytes(data)
    fifo = tmp_path / "status.fifo"
    os.mkfifo(fifo)
    done = threading.Event()

    def feed() -> None:
        with open(fifo, "wb") as stream:
            stream.write(data)
        # A reader that opens the pipe again (as the old code did to find the bad line)
        # would wait for a writer forever: give it an empty one, so the test fails
        # instead of hanging.
        while not done.wait(0.2):
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    writer = threading.Thread(target=feed)
    writer.start()
    args = ["uptime", "report", "--hours", str(hours), "--timezones", str(zones)]
    args += ["--on-error", "skip"]
    try:
        piped = CliRunner().invoke(app, [*args, "--status", str(fifo)])
    finally:
        done.set()
        writer.join()
    from_file = CliRunner().invoke(app, [*args, "--status", str(plain), "--jobs", "1"])
    assert piped.exit_code == from_file.exit_code == 0, piped.output
    assert piped.stdout == from_file.stdout and piped.stdout.count("\n") == 3
    assert f"skipped {plain}:3: not valid UTF-8" in from_file.stderr.splitlines()
    assert piped.stderr == from_file.stderr.replace(str(plain), str(fifo))
