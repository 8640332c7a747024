"""Hostile event inputs: huge epoch literals, deep nesting, non-UTF-8 stdin (issue 7, 6 and 9).

Each is one bad record at ``file:line`` (or one bad input), found cheaply, never a traceback.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outages_processor.errors import InputDataError
from outages_processor.scripts.main import app
from outages_processor._time import parse_instant_micros as parse_timestamp
from outages_processor.inputs.record_inputs import read_records

FAST = 2.0
"""Seconds a hostile record may cost at most (before the fix: 7 s for 1e400000)."""

ROW = '{"controller_id": "c1", "outage_type": "led", "timestamp": %s}'
LONG = "1" + "0" * 5000
TOO_LONG = "epoch seconds are at most 40 characters long"

# (file name, content, the reason given for its bad record on line 2)
HOSTILE = [
    (
        "string.csv",
        "controller_id,outage_type,timestamp\nc1,led,1e400000\n",
        "timestamp 1e400000 is outside the years 1 to 9999",
    ),
    (
        "negative.csv",
        "controller_id,outage_type,timestamp\nc1,led,-1e999990\n",
        "timestamp -1e999990 is outside the years 1 to 9999",
    ),
    (
        "digits.csv",
        f"controller_id,outage_type,timestamp\nc1,led,{LONG}\n",
        f"timestamp '{LONG[:24]}...' (5001 characters): {TOO_LONG}",
    ),
    (
        "string.jsonl",
        "\n" + ROW % '"1e999990"' + "\n",
        "timestamp 1e999990 is outside the years 1 to 9999",
    ),
    (
        "number.jsonl",
        "\n" + ROW % "1e400000" + "\n",
        "timestamp 1E+400000 is outside the years 1 to 9999",
    ),
    (
        "integer.jsonl",
        "\n" + ROW % LONG + "\n",
        f"timestamp {LONG[:24]}... (5001 characters): {TOO_LONG}",
    ),
    (
        "fraction.jsonl",
        "\n" + ROW % ("1." + "0" * 5000) + "\n",
        f"timestamp 1.{'0' * 22}... (5002 characters): {TOO_LONG}",
    ),
    (
        "array.json",
        "[\n" + ROW % "9e999990" + "\n]\n",
        "timestamp 9E+999990 is outside the years 1 to 9999",
    ),
    (
        "array-integer.json",
        "[\n" + ROW % LONG + "\n]\n",
        f"timestamp {LONG[:24]}... (5001 characters): {TOO_LONG}",
    ),
]


@pytest.mark.parametrize(("name", "content", "reason"), HOSTILE)
def test_huge_epoch_literal_is_a_bad_record_found_fast(
    name: str, content: str, reason: str
) -> None:
    """An out-of-range or overlong epoch literal fails at file:line in well under a second."""
    Path(name).write_text(content, encoding="utf-8")
    began = time.perf_counter()
    with pytest.raises(InputDataError) as caught:
        read_records([name])
    assert time.perf_counter() - began < FAST
    assert str(caught.value) == f"{name}:2: {reason}"


@pytest.mark.parametrize(("name", "content", "reason"), HOSTILE)
def test_huge_epoch_literal_is_skipped_fast(name: str, content: str, reason: str) -> None:
    """In skip mode the same record is set aside, as cheaply, and the good ones kept."""
    Path(name).write_text(content, encoding="utf-8")
    began = time.perf_counter()
    batch = read_records([name], on_error="skip")
    assert time.perf_counter() - began < FAST
    assert [(item.location(), item.reason) for item in batch.rejects] == [(f"{name}:2", reason)]


@pytest.mark.parametrize(
    "text",
    ["1e400000", "-1e999990", "1e-999990" + "0" * 40, "9" * 41, "1." + "0" * 5000, "1e" + "9" * 50],
)
def test_parse_timestamp_bounds_the_literal(text: str) -> None:
    """parse_timestamp refuses out-of-range or overlong numbers before converting them."""
    began = time.perf_counter()
    with pytest.raises(ValueError):
        parse_timestamp(text)
    assert time.perf_counter() - began < FAST


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("1704067800", 1_704_067_800_000_000),
        ("1704067800.1234565", 1_704_067_800_123_456),
        ("1.7040678e9", 1_704_067_800_000_000),
        ("1e-400000", 0),
        ("-62135596800", -62_135_596_800_000_000),
        ("253402300799.999999", 253_402_300_799_999_999),
    ],
)
def test_parse_timestamp_keeps_valid_epoch_seconds(text: str, micros: int) -> None:
    """The bound leaves every valid epoch value alone, at both ends of the range."""
    assert parse_timestamp(text) == micros


def test_json_integer_limit_is_a_bad_record_not_a_crash() -> None:
    """A 5000-digit integer in any field is a bad record, not Python's int limit error."""
    Path("big.jsonl").write_text(
        '{"controller_id": %s, "outage_type": "led", "timestamp": 0}\n' % LONG,
        encoding="utf-8",
    )
    with pytest.raises(InputDataError, match=r"^big\.jsonl:1: controller_id must be a string"):
        read_records(["big.jsonl"])


def test_deep_nesting_in_json_lines_is_a_bad_record() -> None:
    """100k-deep nesting on one line is a bad record (skippable), not a RecursionError."""
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    Path("deep.jsonl").write_text(ROW % "0" + "\n" + deep + "\n", encoding="utf-8")
    batch = read_records(["deep.jsonl"], on_error="skip")
    assert len(batch) == 1
    assert [(item.location(), item.reason) for item in batch.rejects] == [
        ("deep.jsonl:2", "invalid JSON: nested too deeply")
    ]


def test_deep_nesting_in_a_json_array_fails_at_its_line() -> None:
    """In a JSON array the deep element cannot be delimited: the file fails at its line."""
    deep = "[" * 100_000 + "]" * 100_000
    Path("deep.json").write_text("[\n" + ROW % "0" + ",\n" + deep + "\n]", encoding="utf-8")
    with pytest.raises(InputDataError) as caught:
        read_records(["deep.json"], on_error="skip")
    assert str(caught.value) == "deep.json:3: invalid JSON: nested too deeply"


def test_non_utf8_stdin_is_one_bad_input_line() -> None:
    """Non-UTF-8 bytes on standard input name the byte and the line."""
    stdin = io.TextIOWrapper(io.BytesIO(b"controller_id,outage_type,timestamp\nc\xff,t,0\n"))
    with pytest.raises(InputDataError) as caught:
        read_records(["-"], stdin=stdin)
    assert str(caught.value) == "-:2: not UTF-8 text (byte 0xff); save the file as UTF-8"


def invoke(*args: str, stdin: bytes | str | None = None) -> tuple[int, str, str]:
    """Run ``process_outages events ARGS``; return exit code, stdout, stderr."""
    result = CliRunner().invoke(app, ["events", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


SURROGATE = '{"controller_id": "c\\ud800", "outage_type": "led", "timestamp": 0}\n'
SURROGATE_REASON = (
    "controller_id has a lone surrogate (U+D800) at character 2; "
    "remove it (ids must be printable text)"
)


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (SURROGATE, f"-:1: {SURROGATE_REASON}"),
        ("[" * 100_000 + "]" * 100_000, "-:1: invalid JSON: nested too deeply"),
        ('{"a": ' * 100_000 + "}" * 100_000, "-:1: invalid JSON: nested too deeply"),
        (ROW % LONG, f"-:1: timestamp {LONG[:24]}... (5001 characters): {TOO_LONG}"),
        (b"controller_id,outage_type,timestamp\n\xfe\n", "-:2: not UTF-8 text (byte 0xfe); "
         "save the file as UTF-8"),
    ],
)
def test_cli_hostile_stdin_is_one_line_exit_3_and_no_database(
    stdin: bytes | str, message: str
) -> None:
    """Each hostile input is one stderr line, exit 3, no traceback, and no database file."""
    code, out, err = invoke("ingest", "--db", "fresh.db", "-", stdin=stdin)
    assert (code, out, err) == (3, "", f"error: {message}\n")
    assert not Path("fresh.db").exists()


def test_cli_skips_a_hostile_record_and_stores_the_rest() -> None:
    """With --on-error skip the hostile record is listed and the good one stored."""
    stdin = ROW % "0" + "\n" + SURROGATE + ROW % LONG + "\n"
    code, out, err = invoke("ingest", "--db", "x.db", "--on-error", "skip", "-", stdin=stdin)
    assert code == 0
    assert out.startswith("x.db: 1 new record, 0 duplicates, 2 skipped;")
    assert err == (
        f"skipped -:2: {SURROGATE_REASON}\n"
        f"skipped -:3: timestamp {LONG[:24]}... (5001 characters): {TOO_LONG}\n"
    )


def test_cli_all_records_skipped_creates_no_database() -> None:
    """A batch with nothing to store leaves a fresh --db path alone."""
    code, out, _ = invoke("ingest", "--db", "none.db", "--on-error", "skip", "-", stdin=SURROGATE)
    assert code == 0
    assert out.startswith("none.db: 0 new records, 0 duplicates, 1 skipped;")
    assert not Path("none.db").exists()
