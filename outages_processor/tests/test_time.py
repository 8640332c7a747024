"""Every timestamp rule of the package, pinned helper by helper (inputs -> outputs)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal

import pytest

from outages_processor import _time
from outages_processor._time import (
    MAX_EPOCH_CHARS,
    UTC_SUFFIX,
    as_instant,
    day_seconds_time,
    epoch_seconds_datetime,
    epoch_seconds_micros,
    format_utc,
    format_utc_text,
    overlong_epoch,
    parse_aware,
    parse_http_date_seconds,
    parse_instant_datetime,
    parse_instant_micros,
    parse_instant_seconds,
    shortened,
    status_stamps_to_iso,
)

UTC = timezone.utc
PLUS_2 = timezone(timedelta(hours=2))
T0 = datetime(2023, 1, 22, 12, 9, 39, tzinfo=UTC)
"""2023-01-22T12:09:39Z."""
T0_SECONDS = 1674389379
T0_MICROS = T0_SECONDS * 1_000_000

# Fraction digits 0 to 6, each as the datetime, the seconds and the microseconds it means.
FRACTIONS = [
    ("", 0),
    (".3", 300_000),
    (".38", 380_000),
    (".388", 388_000),
    (".3888", 388_800),
    (".38888", 388_880),
    (".388884", 388_884),
]


def test_the_public_helpers_are_the_ones_pinned_here() -> None:
    """Every public name of _time.py has a table below (a new helper needs one)."""
    assert set(_time.__all__) == {
        "EPOCH",
        "MAX_EPOCH_CHARS",
        "MAX_MICROS",
        "MIN_MICROS",
        "NAIVE_EPOCH",
        "ONE_MICROSECOND",
        "UTC_SUFFIX",
        "as_instant",
        "day_seconds_time",
        "epoch_seconds_datetime",
        "epoch_seconds_micros",
        "format_utc",
        "format_utc_text",
        "overlong_epoch",
        "parse_aware",
        "parse_http_date_seconds",
        "parse_instant_datetime",
        "parse_instant_micros",
        "parse_instant_seconds",
        "shortened",
        "status_stamps_to_iso",
    }


def test_the_bounds_are_the_years_1_to_9999() -> None:
    """MIN_MICROS and MAX_MICROS are the first and last microsecond a datetime holds."""
    assert _time.EPOCH + timedelta(microseconds=_time.MIN_MICROS) == datetime.min.replace(
        tzinfo=UTC
    )
    assert _time.EPOCH + timedelta(microseconds=_time.MAX_MICROS) == datetime.max.replace(
        tzinfo=UTC
    )
    assert UTC_SUFFIX == " UTC"


@pytest.mark.parametrize(("text", "expected"), [
    ("2023-01-22T12:09:39Z", T0),
    ("2023-01-22T12:09:39.5+00:00", T0 + timedelta(microseconds=500_000)),
    ("2023-01-22T14:09:39+02:00", T0),
    ("2023-01-22 12:09:39Z", T0),
])  # fmt: skip
def test_parse_aware_reads_iso_with_an_offset(text: str, expected: datetime) -> None:
    """parse_aware: ISO 8601 with Z or an offset -> that aware datetime."""
    assert parse_aware(text) == expected
    assert parse_aware(text).tzinfo is not None


@pytest.mark.parametrize(("text", "message"), [
    ("2023-01-22T12:09:39", "has no time zone offset (add 'Z' for UTC)"),
    ("2023-01-22 12:09:39 UTC", "Invalid isoformat string"),
    ("yesterday", "Invalid isoformat string"),
])  # fmt: skip
def test_parse_aware_refuses_naive_and_non_iso(text: str, message: str) -> None:
    """parse_aware: no offset, the ' UTC' style and non-ISO text are ValueErrors."""
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_aware(text)


@pytest.mark.parametrize(("fraction", "micros"), FRACTIONS)
@pytest.mark.parametrize("style", ["{} UTC", "{}Z", "{}+00:00", " {} UTC ", "{}   UTC"])
def test_parse_instant_seconds_reads_both_styles(fraction: str, micros: int, style: str) -> None:
    """parse_instant_seconds: ' UTC' or Z/offset, 0-6 fraction digits -> float seconds."""
    text = style.format(f"2023-01-22 12:09:39{fraction}")
    assert parse_instant_seconds(text) == T0_SECONDS + micros / 1_000_000


def test_parse_instant_seconds_applies_the_offset() -> None:
    """parse_instant_seconds: an offset moves the instant (14:09+02:00 is 12:09Z)."""
    assert parse_instant_seconds("2023-01-22T14:09:39+02:00") == T0_SECONDS


@pytest.mark.parametrize(("text", "message"), [
    ("2023-01-22 12:09:39", "no time zone; add ' UTC', 'Z' or an offset"),
    ("2023-01-22 12:09:39+00:00 UTC", "it has both an offset and UTC"),
    ("2023-01-22 12:09:39 CET", "expected a UTC time like"),
    ("", "expected a UTC time like"),
])  # fmt: skip
def test_parse_instant_seconds_refuses(text: str, message: str) -> None:
    """parse_instant_seconds: naive, both zones, other zones or no time -> ValueError."""
    with pytest.raises(ValueError, match=message):
        parse_instant_seconds(text)


@pytest.mark.parametrize(("text", "expected"), [
    ("2023-01-22T12:09:39Z", T0),
    ("2023-01-22T12:09:39", T0),
    ("2023-01-22 12:09:39 UTC", T0),
    ("  2023-01-22 12:09:39.388884 UTC ", T0 + timedelta(microseconds=388_884)),
    ("2023-01-22T14:09:39+02:00", datetime(2023, 1, 22, 14, 9, 39, tzinfo=PLUS_2)),
    ("2023-01-22", datetime(2023, 1, 22, tzinfo=UTC)),
])  # fmt: skip
def test_parse_instant_datetime(text: str, expected: datetime) -> None:
    """parse_instant_datetime: ISO 8601 or ' UTC'; naive = UTC; an offset is kept."""
    moment = parse_instant_datetime(text)
    assert moment == expected
    assert moment.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["", "noon", "2023-01-22 12:09:39 CET", "1674389379"])
def test_parse_instant_datetime_refuses_non_timestamps(text: str) -> None:
    """parse_instant_datetime: text that is not such a timestamp -> ValueError."""
    with pytest.raises(ValueError):
        parse_instant_datetime(text)


@pytest.mark.parametrize(("fraction", "micros"), FRACTIONS)
@pytest.mark.parametrize("style", ["{}Z", "{}", "{}+00:00", "{}+02:00"])
def test_parse_instant_micros_reads_iso(fraction: str, micros: int, style: str) -> None:
    """parse_instant_micros: ISO 8601, 0-6 fraction digits, naive = UTC -> int µs."""
    shift = -7_200_000_000 if style.endswith("+02:00") else 0
    text = style.format(f"2023-01-22T12:09:39{fraction}")
    assert parse_instant_micros(text) == T0_MICROS + micros + shift


@pytest.mark.parametrize(("text", "expected"), [
    ("1674389379", T0_MICROS),
    ("1674389379.5", T0_MICROS + 500_000),
    ("1674389379.0000005", T0_MICROS),
    ("1674389379.0000015", T0_MICROS + 2),
    ("1.674389379e9", T0_MICROS),
    ("-1", -1_000_000),
    ("0", 0),
])  # fmt: skip
def test_parse_instant_micros_reads_epoch_seconds(text: str, expected: int) -> None:
    """parse_instant_micros: epoch seconds -> µs, rounded half to even."""
    assert parse_instant_micros(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("1e12", "outside the years 1 to 9999"),
    ("-1e12", "outside the years 1 to 9999"),
    ("1e999990", "outside the years 1 to 9999"),
    ("1" * (MAX_EPOCH_CHARS + 1), f"epoch seconds are at most {MAX_EPOCH_CHARS} characters"),
    ("2023-01-22 12:09:39 UTC", "neither ISO 8601"),
    ("noon", "neither ISO 8601"),
])  # fmt: skip
def test_parse_instant_micros_refuses(text: str, message: str) -> None:
    """parse_instant_micros: out-of-range or overlong epochs and non-timestamps -> ValueError."""
    with pytest.raises(ValueError, match=message):
        parse_instant_micros(text)


@pytest.mark.parametrize(("value", "expected"), [
    (T0_SECONDS, T0_MICROS),
    ("0.0000025", 2),
    ("0.0000035", 4),
    (Decimal("-0.5"), -500_000),
    ("253402300799.999999", _time.MAX_MICROS),
])  # fmt: skip
def test_epoch_seconds_micros(value: str | int | Decimal, expected: int) -> None:
    """epoch_seconds_micros: seconds -> µs, half to even, up to year 9999."""
    assert epoch_seconds_micros(value) == expected


@pytest.mark.parametrize("value", [253402300800, "-62135596801", "1e20", "nan", "Infinity"])
def test_epoch_seconds_micros_refuses_out_of_range(value: str | int) -> None:
    """epoch_seconds_micros: beyond the years 1 to 9999 (or not finite) -> ValueError."""
    with pytest.raises(ValueError, match="outside the years 1 to 9999"):
        epoch_seconds_micros(value)


@pytest.mark.parametrize(("text", "expected"), [
    ("short", "short"),
    ("x" * 48, "x" * 48),
    ("x" * 49, "x" * 24 + "..."),
])  # fmt: skip
def test_shortened(text: str, expected: str) -> None:
    """shortened: text over 48 characters is cut to 24 and '...'."""
    assert shortened(text) == expected


def test_overlong_epoch() -> None:
    """overlong_epoch: says how long the literal is and the limit."""
    assert overlong_epoch("'1111'", 41) == (
        f"timestamp '1111' (41 characters): epoch seconds are at most {MAX_EPOCH_CHARS} "
        "characters long"
    )


@pytest.mark.parametrize(("value", "expected"), [
    (T0, "2023-01-22T12:09:39Z"),
    (T0 + timedelta(microseconds=5), "2023-01-22T12:09:39.000005Z"),
    (datetime(2023, 1, 22, 14, 9, 39, tzinfo=PLUS_2), "2023-01-22T12:09:39Z"),
])  # fmt: skip
def test_format_utc(value: datetime, expected: str) -> None:
    """format_utc: aware datetime -> ISO 8601 in UTC with Z, microseconds kept."""
    assert format_utc(value) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (T0, "2023-01-22 12:09:39 UTC"),
    (T0 + timedelta(microseconds=999_999), "2023-01-22 12:09:39 UTC"),
    (datetime(2023, 1, 22, 14, 9, 39, tzinfo=PLUS_2), "2023-01-22 12:09:39 UTC"),
])  # fmt: skip
def test_format_utc_text(value: datetime, expected: str) -> None:
    """format_utc_text: aware datetime -> the data files' ' UTC' style, whole seconds."""
    assert format_utc_text(value) == expected


@pytest.mark.parametrize(("seconds", "expected"), [
    (0, _time.EPOCH),
    (T0_SECONDS + 0.5, T0 + timedelta(microseconds=500_000)),
    (-1.25, _time.EPOCH - timedelta(seconds=1.25)),
])  # fmt: skip
def test_epoch_seconds_datetime(seconds: float, expected: datetime) -> None:
    """epoch_seconds_datetime: float seconds -> aware UTC datetime."""
    moment = epoch_seconds_datetime(seconds)
    assert moment == expected
    assert moment.tzinfo is UTC


@pytest.mark.parametrize("seconds", [1e12, -1e12])
def test_epoch_seconds_datetime_refuses_out_of_range(seconds: float) -> None:
    """epoch_seconds_datetime: beyond the years 1 to 9999 -> ValueError."""
    with pytest.raises(ValueError):
        epoch_seconds_datetime(seconds)


@pytest.mark.parametrize(("seconds", "expected"), [
    (0, time(0)),
    (9 * 3600 + 30 * 60, time(9, 30)),
    (86_399, time(23, 59, 59)),
    (86_400, time(0)),
])  # fmt: skip
def test_day_seconds_time(seconds: int, expected: time) -> None:
    """day_seconds_time: seconds since midnight -> naive time of day (a whole day: 00:00)."""
    assert day_seconds_time(seconds) == expected


@pytest.mark.parametrize(("text", "line_end", "expected"), [
    ("a,2023-01-22 12:09:39 UTC\n", "\n", "a,2023-01-22 12:09:39Z\n"),
    ("a,2023-01-22 12:09:39.5 UTC\nb,x UTC\n", ",\n", "a,2023-01-22 12:09:39.5Z,\nb,xZ,\n"),
    ("a,2023-01-22T12:09:39Z\n", ",\n", "a,2023-01-22T12:09:39Z\n"),
    ("a,2023-01-22 12:09:39 UTC", "\n", "a,2023-01-22 12:09:39 UTC"),
    ("a,12:09:39 UTC,b\n", "\n", "a,12:09:39 UTC,b\n"),
])  # fmt: skip
def test_status_stamps_to_iso(text: str, line_end: str, expected: str) -> None:
    """status_stamps_to_iso: only a ' UTC' that ends a line becomes 'Z' + line_end."""
    assert status_stamps_to_iso(text, line_end) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Sun, 22 Jan 2023 12:09:39 GMT", T0_SECONDS),
    ("Sun, 22 Jan 2023 12:09:39 -0000", T0_SECONDS),
    ("Sun, 22 Jan 2023 14:09:39 +0200", T0_SECONDS),
])  # fmt: skip
def test_parse_http_date_seconds(text: str, expected: float) -> None:
    """parse_http_date_seconds: an HTTP date (no zone: UTC) -> float epoch seconds."""
    assert parse_http_date_seconds(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "Sun, 99 Jan 2023 12:09:39 GMT", "120"])
def test_parse_http_date_seconds_refuses(text: str) -> None:
    """parse_http_date_seconds: anything but an HTTP date -> ValueError naming it."""
    with pytest.raises(ValueError, match="is not an HTTP date"):
        parse_http_date_seconds(text)


@pytest.mark.parametrize(("value", "expected"), [
    ("2023-01-22T12:09:39Z", T0),
    ("2023-01-22T12:09:39", T0),
    (" 2023-01-22 12:09:39 UTC ", T0),
    ("2023-01-22T14:09:39+02:00", T0),
    (datetime(2023, 1, 22, 12, 9, 39), T0),
    (datetime(2023, 1, 22, 14, 9, 39, tzinfo=PLUS_2), T0),
    (T0_SECONDS, T0),
    (T0_SECONDS + 0.5, T0 + timedelta(microseconds=500_000)),
    (Decimal("1674389379.0000005"), T0),
])  # fmt: skip
def test_as_instant_accepts(value: object, expected: datetime) -> None:
    """as_instant: text (naive = UTC, ' UTC'), datetimes, epoch numbers -> aware UTC."""
    moment = as_instant(value, "now", epoch=True)
    assert moment == expected
    assert moment.tzinfo is UTC


@pytest.mark.parametrize(("value", "epoch", "error", "message"), [
    ("noon", False, ValueError, "now: 'noon' is not an ISO 8601 string"),
    (T0_SECONDS, False, TypeError, "now must be an ISO 8601 string .* or a datetime, not int"),
    (True, True, TypeError, "or a number of Unix epoch seconds, not bool"),
    (1e12, True, ValueError, "now: 1000000000000.0 epoch seconds is outside the years"),
    ("0001-01-01T00:00:00+01:00", False, ValueError, "is outside the years 1 to 9999"),
])  # fmt: skip
def test_as_instant_refuses(
    value: object, epoch: bool, error: type[Exception], message: str
) -> None:
    """as_instant: wrong types -> TypeError, bad text or out-of-range -> ValueError."""
    with pytest.raises(error, match=message):
        as_instant(value, "now", epoch=epoch)
