"""Reading outage reports from CSV, JSON Lines and JSON arrays."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.errors import InputDataError
from outages_processor.models.common import Reject
from outages_processor.models.events import RecordBatch, epoch_micros
from outages_processor._time import parse_instant_micros as parse_timestamp
from outages_processor.inputs.record_inputs import format_of, read_records

# 2024-01-01T00:00:00Z in microseconds since the Unix epoch.
T0 = 1_704_067_200_000_000
MINUTE = 60_000_000
HEADER = "controller_id,outage_type,timestamp\n"
ONE_JSON = '{"controller_id": "c", "outage_type": "t", "timestamp": 0}'


def flat(batch: RecordBatch) -> list[tuple[str, str, int]]:
    """The records of a batch as sorted (controller, type, microseconds) tuples."""
    return sorted(
        (record.controller_id, record.outage_type, epoch_micros(record.timestamp))
        for record in batch
    )


def write(folder: Path, name: str, text: str) -> str:
    """Write ``text`` to ``folder/name`` (as given: no newline translation); return the path."""
    path = folder / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


# --- timestamps --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("2024-01-01T00:00:00Z", T0),
        ("2024-01-01T00:00:00+00:00", T0),
        ("2024-01-01T02:00:00+02:00", T0),
        ("2024-01-01T00:00:00", T0),
        ("2024-01-01 00:10:00", T0 + 10 * MINUTE),
        ("2024-01-01T00:00:00.000250Z", T0 + 250),
        ("2024-01-01", T0),
        ("20240101T001000Z", T0 + 10 * MINUTE),
        ("1704067200", T0),
        ("1704067200.5", T0 + 500_000),
        ("1704067200.0000005", T0),
        ("1704067200.0000015", T0 + 2),
        ("-1.5", -1_500_000),
        ("1.7040672e9", T0),
        ("1.5e-06", 2),
    ],
)
def test_parse_timestamp_reads_iso_and_epoch_seconds(text: str, micros: int) -> None:
    """ISO 8601 (no offset = UTC) and epoch seconds become exact microseconds (half to even)."""
    assert parse_timestamp(text) == micros


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("soon", "timestamp 'soon' is neither ISO 8601 (e.g. 2024-01-01T00:10:00Z) nor Unix"),
        ("", "timestamp '' is neither ISO 8601"),
        ("2024-13-01T00:00:00Z", "timestamp '2024-13-01T00:00:00Z' is neither ISO 8601"),
        ("1e20", "timestamp 1e20 is outside the years 1 to 9999"),
        ("9999-12-31T23:00:00-05:00", "is outside the years 1 to 9999"),
        ("1e1000000", "timestamp 1e1000000 is outside the years 1 to 9999"),
    ],
)
def test_parse_timestamp_explains_what_is_wrong(text: str, message: str) -> None:
    """A bad timestamp is a ValueError that quotes it."""
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_timestamp(text)


# --- CSV ---------------------------------------------------------------------------------


def test_csv_columns_are_found_by_name(tmp_path: Path) -> None:
    """Columns may come in any order, with extra columns ignored."""
    path = write(
        tmp_path,
        "r.csv",
        "timestamp,site,outage_type,controller_id\n"
        "2024-01-01T00:00:00Z,x,led,c1\n1704067800,y,battery,c2\n1.5e-06,z,led,c3\n"
        "2024-01-01T00:00:00Z,x,battery,c1\n",
    )
    assert flat(read_records([path])) == [
        ("c1", "battery", T0),
        ("c1", "led", T0),
        ("c2", "battery", T0 + 10 * MINUTE),
        ("c3", "led", 2),
    ]


def test_csv_handles_bom_crlf_and_blank_lines(tmp_path: Path) -> None:
    """A UTF-8 BOM, CRLF line ends and blank lines do not disturb reading."""
    text = "\ufeff" + HEADER.replace("\n", "\r\n") + "\r\nc1,led,0\r\n,,\r\n"
    path = write(tmp_path, "r.csv", text)
    assert flat(read_records([path])) == [("c1", "led", 0)]


@pytest.mark.parametrize(
    ("body", "line", "reason"),
    [
        ("c1,led,0\nc1,led,soon\n", 3, "timestamp 'soon' is neither ISO 8601"),
        ("c1,led\n", 2, "expected 3 fields, found 2"),
        (",led,0\n", 2, "controller_id is empty"),
        ("c1,,0\n", 2, "outage_type is empty"),
        (
            "c1,led,0001-01-01T00:00:00+01:00\n",
            2,
            "timestamp 0001-01-01T00:00:00\\+01:00 is outside",
        ),
        ('c1,led,0\n"c\n1",led,bad\n', 3, "timestamp 'bad' is neither"),
    ],
)
def test_a_bad_csv_row_stops_with_file_and_line(
    tmp_path: Path, body: str, line: int, reason: str
) -> None:
    """A bad row raises InputDataError at its first line, saying what is wrong."""
    path = write(tmp_path, "r.csv", HEADER + body)
    with pytest.raises(InputDataError, match=f"^{path}:{line}: {reason}") as caught:
        read_records([path])
    assert (caught.value.path, caught.value.line) == (path, line)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "controller_id,type,timestamp",
            "the header lacks column(s) outage_type; the first row must name "
            "controller_id, outage_type, timestamp",
        ),
        (
            "c1,led,0",
            "the header lacks column(s) controller_id, outage_type, timestamp; the first row "
            "must name controller_id, outage_type, timestamp",
        ),
        (
            "controller_id,outage_type,timestamp,timestamp",
            "the header names column 'timestamp' twice",
        ),
    ],
)
def test_a_bad_csv_header_is_reported_at_line_1(tmp_path: Path, header: str, message: str) -> None:
    """A header that does not name each field once is an error at line 1."""
    path = write(tmp_path, "r.csv", header + "\nc1,led,0\n")
    with pytest.raises(InputDataError) as caught:
        read_records([path])
    assert str(caught.value) == f"{path}:1: {message}"


def test_malformed_csv_is_reported(tmp_path: Path) -> None:
    """Text the csv module refuses (a huge field) is an error with its line."""
    path = write(tmp_path, "r.csv", HEADER + "c1,led,0\nc1," + "x" * 200_000 + ",0\n")
    with pytest.raises(InputDataError, match=r":3: malformed CSV: field larger than field limit"):
        read_records([path])


def test_skip_mode_sets_bad_csv_rows_aside(tmp_path: Path) -> None:
    """With on_error='skip' bad rows become rejects with line, reason and text."""
    path = write(tmp_path, "r.csv", HEADER + "c1,led,0\nc1,led,x\nc2\n" + '"c\n3",led,y\n')
    batch = read_records([path], on_error="skip")
    assert flat(batch) == [("c1", "led", 0)]
    assert list(batch.rejects) == [
        Reject(
            path, 3, "timestamp 'x' is neither ISO 8601 (e.g. 2024-01-01T00:10:00Z) nor Unix "
            "epoch seconds", "c1,led,x"
        ),
        Reject(path, 4, "expected 3 fields, found 1", "c2"),
        Reject(
            path, 5, "timestamp 'y' is neither ISO 8601 (e.g. 2024-01-01T00:10:00Z) nor Unix "
            "epoch seconds", '"c\n3",led,y'
        ),
    ]


def test_csv_progress_reaches_every_line(tmp_path: Path) -> None:
    """The progress callback ends at (total lines, total lines)."""
    path = write(tmp_path, "r.csv", HEADER + "c1,led,0\nc1,led,600\n")
    calls: list[tuple[str, int, int]] = []
    read_records([path], progress=lambda *call: calls.append(call))
    assert calls[-1] == ("reading", 3, 3)


# --- JSON Lines --------------------------------------------------------------------------


def test_json_lines_read_strings_and_numbers(tmp_path: Path) -> None:
    """JSON Lines take ISO strings, integer and exact decimal epoch seconds; blanks ignored."""
    path = write(
        tmp_path,
        "r.jsonl",
        '{"controller_id": "c1", "outage_type": "led", "timestamp": "2024-01-01T00:00:00Z"}\n'
        "\n"
        '{"controller_id": "c1", "outage_type": "led", "timestamp": 1704067200.000001, "x": 1}\n'
        '{"controller_id": "c2", "outage_type": "led", "timestamp": 1704067200}',
    )
    assert flat(read_records([path])) == [
        ("c1", "led", T0),
        ("c1", "led", T0 + 1),
        ("c2", "led", T0),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"controller_id": "c1"', "invalid JSON: Expecting ',' delimiter"),
        ('["c1", "led", 0]', "expected a JSON object with controller_id, outage_type, "
         "timestamp, found an array"),
        ('{"outage_type": "led", "timestamp": 0}', "missing field 'controller_id'"),
        ('{"controller_id": 7, "outage_type": "led", "timestamp": 0}',
         "controller_id must be a string, not a number (7)"),
        ('{"controller_id": "c1", "outage_type": true, "timestamp": 0}',
         "outage_type must be a string, not a boolean (true)"),
        ('{"controller_id": "c1", "outage_type": "led"}', "missing field 'timestamp'"),
        ('{"controller_id": "c1", "outage_type": "led", "timestamp": true}',
         "timestamp must be an ISO 8601 string or a number of epoch seconds, not a boolean"),
        ('{"controller_id": "c1", "outage_type": "led", "timestamp": [1]}',
         "timestamp must be an ISO 8601 string or a number of epoch seconds, not an array"),
        ('{"controller_id": "c1", "outage_type": "led", "timestamp": {}}',
         "timestamp must be an ISO 8601 string or a number of epoch seconds, not an object"),
        ('{"controller_id": "c1", "outage_type": "led", "timestamp": NaN}',
         "timestamp nan is not a finite number of seconds"),
        ('{"controller_id": "c1", "outage_type": "led", "timestamp": 1e400}',
         "timestamp 1E+400 is outside the years 1 to 9999"),
        ('{"controller_id": null, "outage_type": "led", "timestamp": 0}',
         "missing field 'controller_id'"),
        ('"text"', "expected a JSON object with controller_id, outage_type, timestamp, found str"),
    ],
)
def test_a_bad_json_line_stops_with_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    """A bad JSON line raises InputDataError at its line, saying what is wrong."""
    good = '{"controller_id": "c1", "outage_type": "led", "timestamp": 0}\n'
    path = write(tmp_path, "r.ndjson", good + line + "\n")
    with pytest.raises(InputDataError, match=f"^{re.escape(path)}:2: {re.escape(reason)}"):
        read_records([path])


def test_skip_mode_sets_bad_json_lines_aside(tmp_path: Path) -> None:
    """With on_error='skip' bad lines become rejects holding the line's text."""
    path = write(tmp_path, "r.jsonl", "oops\r\n" + ONE_JSON + "\n")
    batch = read_records([path], on_error="skip")
    assert flat(batch) == [("c", "t", 0)]
    assert list(batch.rejects) == [
        Reject(path, 1, "invalid JSON: Expecting value", "oops")
    ]


# --- JSON arrays -------------------------------------------------------------------------

ARRAY = """[
  {"controller_id": "c1", "outage_type": "led", "timestamp": "2024-01-01T00:00:00Z"},
  {
    "controller_id": "c1",
    "outage_type": "led",
    "timestamp": "later"
  }
]
"""


def test_json_array_is_read_element_by_element(tmp_path: Path) -> None:
    """A JSON array of objects gives one record per element."""
    path = write(tmp_path, "r.json", ARRAY.replace('"later"', "1704067800"))
    assert flat(read_records([path])) == [("c1", "led", T0), ("c1", "led", T0 + 10 * MINUTE)]


def test_a_bad_array_element_is_reported_where_it_starts(tmp_path: Path) -> None:
    """A bad element is reported at the line where the element starts."""
    path = write(tmp_path, "r.json", ARRAY)
    with pytest.raises(InputDataError, match=f"^{path}:3: timestamp 'later' is neither"):
        read_records([path])


def test_skip_mode_keeps_the_element_text(tmp_path: Path) -> None:
    """A skipped element keeps its JSON text and first line."""
    path = write(tmp_path, "r.json", ARRAY)
    batch = read_records([path], on_error="skip")
    assert flat(batch) == [("c1", "led", T0)]
    (reject,) = batch.rejects
    assert reject.line == 3
    assert reject.row.startswith("{\n") and reject.row.endswith('"later"\n  }')


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            '{"controller_id": "c1"}',
            1,
            "expected a JSON array of records; for one object per line use JSON Lines "
            "(--format jsonl)",
        ),
        ("[\n  {]\n", 2, "invalid JSON: Expecting property name enclosed in double quotes"),
        ("[\n  1\n  2]", 3, "invalid JSON: expected ',' or ']' after a record"),
        ("[\n  1,\n]", 3, "invalid JSON: Expecting value (column 1)"),
        ("[]\n[]", 2, "invalid JSON: unexpected text after the array"),
        ("[\n", 2, "invalid JSON: Expecting value (column 1)"),
    ],
)
def test_a_malformed_json_array_is_reported_at_its_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    """Text that is not one JSON array fails, even in skip mode, with its line."""
    path = write(tmp_path, "r.json", text)
    with pytest.raises(InputDataError) as caught:
        read_records([path], on_error="skip")
    assert str(caught.value).startswith(f"{path}:{line}: {message}")


def test_an_empty_json_array_has_no_records(tmp_path: Path) -> None:
    """[] is a valid input with no records."""
    assert len(read_records([write(tmp_path, "r.json", " [ ] \n")])) == 0


# --- sources and formats -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "text", "fmt", "expected"),
    [
        ("a.csv", "[", None, "csv"),
        ("a.JSONL", "", None, "jsonl"),
        ("a.ndjson", "", None, "jsonl"),
        ("a.json", "", None, "json"),
        ("a.csv", "", "json", "json"),
        ("-", "  [", None, "json"),
        ("-", "\n{", None, "jsonl"),
        ("-", "controller_id", None, "csv"),
        ("a.txt", "{", None, "jsonl"),
    ],
)
def test_format_comes_from_option_extension_or_content(
    source: str, text: str, fmt: str | None, expected: str
) -> None:
    """--format wins, then the extension, then the first character."""
    assert format_of(source, text, fmt) == expected  # type: ignore[arg-type]


def test_dash_reads_the_given_stdin() -> None:
    """'-' reads standard input (here a given stream)."""
    stdin = io.StringIO("\ufeff" + HEADER + "c1,led,0\n")
    assert flat(read_records(["-"], stdin=stdin)) == [("c1", "led", 0)]


def test_dash_reads_sys_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a stream, '-' reads sys.stdin."""
    monkeypatch.setattr("sys.stdin", io.StringIO(f"[{ONE_JSON}]"))
    assert flat(read_records(["-"])) == [("c", "t", 0)]


def test_several_files_form_one_batch(tmp_path: Path) -> None:
    """Records of every file, in every format, land in one batch."""
    first = write(tmp_path, "a.csv", HEADER + "c1,led,0\n")
    second = write(tmp_path, "b.jsonl", ONE_JSON.replace('"c"', '"c1"').replace('"t"', '"led"'))
    third = write(tmp_path, "c.json", "  \n")
    assert flat(read_records([first, second, third])) == [("c1", "led", 0), ("c1", "led", 0)]


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    """A file that cannot be read names itself and the reason."""
    path = tmp_path / "none.csv"
    with pytest.raises(InputDataError) as caught:
        read_records([path])
    assert str(caught.value) == f"{path}: cannot read the file: No such file or directory"


def test_text_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 are reported with their line."""
    path = tmp_path / "r.csv"
    path.write_bytes(HEADER.encode() + b"c1,l\xffed,0\n")
    with pytest.raises(InputDataError) as caught:
        read_records([path])
    assert str(caught.value) == f"{path}:2: not UTF-8 text (byte 0xff); save the file as UTF-8"


@settings(max_examples=150, deadline=None)
@given(
    st.booleans(),
    st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=12),
             min_size=1, max_size=5),
    st.data(),
    st.sampled_from([b"\xff", b"\xfe", b"\xc3(", b"\xed\xa0\x80"]),
)  # fmt: skip
def test_a_bad_byte_is_named_with_its_line_with_or_without_a_bom(
    tmp_path_factory: pytest.TempPathFactory,
    bom: bool,
    lines: list[str],
    data: st.DataObject,
    bad: bytes,
) -> None:
    """The line and the byte named are the bad byte's in the file as written: a leading
    byte order mark (which the reader drops) shifts neither."""
    at = data.draw(st.integers(0, len(lines) - 1))
    encoded = [line.encode() for line in lines]
    encoded[at] += bad
    path = tmp_path_factory.mktemp("bad") / "r.jsonl"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + b"\n".join(encoded) + b"\n")
    with pytest.raises(InputDataError) as caught:
        read_records([path])
    assert str(caught.value) == (
        f"{path}:{at + 1}: not UTF-8 text (byte 0x{bad[0]:02x}); save the file as UTF-8"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fmt": "xml"}, "unknown format 'xml'; use one of csv, jsonl, json"),
        ({"on_error": "ignore"}, "on_error must be 'fail' or 'skip', not 'ignore'"),
    ],
)
def test_unknown_options_are_value_errors(options: dict[str, str], message: str) -> None:
    """A format or error mode that does not exist is refused before reading anything."""
    with pytest.raises(ValueError, match=message):
        read_records([], **options)  # type: ignore[arg-type]
