"""Every timestamp parser and formatter of the package, named for what it returns.

* :func:`parse_aware`: ISO 8601 with an offset -> aware datetime (API payloads);
* :func:`parse_instant_datetime`: a time given by a user (ISO 8601 or ``... UTC``; no
  offset means UTC) -> aware datetime (the command line's ``--now``, ``--start``, ...);
* :func:`parse_instant_micros`: a report's time (ISO 8601, no offset means UTC, or Unix
  epoch seconds) -> int microseconds since the Unix epoch; :func:`epoch_seconds_micros`
  converts a number of epoch seconds the same way;
* :func:`parse_instant_seconds`: a status file's time (``... UTC`` or ISO 8601 with an
  offset; no offset is an error) -> float seconds since the Unix epoch;
* :func:`status_stamps_to_iso`: a chunk of status file lines whose ``... UTC`` times end
  each line -> the same lines with ISO 8601 ``...Z`` times (one C-level pass, for hot loops);
* :func:`parse_http_date_seconds`: an HTTP date (``Retry-After``) -> float seconds since the
  Unix epoch;
* :func:`epoch_seconds_datetime`: float seconds since the Unix epoch -> aware UTC datetime;
  :func:`day_seconds_time`: seconds since midnight -> time of day;
* :func:`format_utc`: aware datetime -> ISO 8601 UTC text ending in ``Z``;
  :func:`format_utc_text`: aware datetime -> ``2023-01-25 18:00:00 UTC`` (whole seconds),
  the style of the data files, for messages.

Every ISO 8601 text is read by :func:`_read_iso`: ``datetime.fromisoformat`` and the forms
RFC 3339 (the API's ``date-time``) adds, lower-case ``t`` and ``z`` and the leap second
``23:59:60`` UTC. Hot loops may call :data:`datetime.fromisoformat` through a module-level
alias for speed and fall back to these helpers when it refuses a text, but the rules (which
suffixes are accepted, what a missing offset means, the bounds of epoch numbers) are the
ones written here.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Final

__all__ = [
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
]

EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
"""The Unix epoch, aware."""
NAIVE_EPOCH: Final = datetime(1970, 1, 1)
"""The Unix epoch as a naive datetime: naive instants are UTC."""
ONE_MICROSECOND: Final = timedelta(microseconds=1)
MIN_MICROS: Final = (datetime.min - NAIVE_EPOCH) // ONE_MICROSECOND
"""The first instant a datetime holds (year 1), in microseconds since the Unix epoch."""
MAX_MICROS: Final = (datetime.max - NAIVE_EPOCH) // ONE_MICROSECOND
"""The last instant a datetime holds (year 9999), in microseconds since the Unix epoch."""
UTC_SUFFIX: Final = " UTC"
"""How the data files mark a UTC time (``2023-01-22 12:09:39.388884 UTC``)."""
_ISO_UTC: Final = "Z"
"""How ISO 8601 marks a UTC time; what :data:`UTC_SUFFIX` becomes for ``fromisoformat``."""
_UTC_LINE_END: Final = f"{UTC_SUFFIX}\n"
MAX_EPOCH_CHARS: Final = 40
"""The longest epoch seconds literal read: ample for 12 digits, a fraction and an exponent.

Converting a long literal costs time quadratic in its length (``1e999990`` would cost a
minute), so longer ones are refused before any conversion."""

_NUMBER: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_MAX_EXPONENT: Final = 11
"""The largest decimal exponent of a number of seconds in the years 1 to 9999 (2.5e11)."""
_SHOWN_CHARS: Final = 24
"""How much of an overlong value an error message shows."""

_STATUS_TIME_HINT: Final = (
    "expected a UTC time like 2023-01-22 12:09:39.388884 UTC, or ISO 8601 with Z or an offset"
)
_fromisoformat = datetime.fromisoformat
_LEAP_SECOND: Final = ":60"
_LAST_SECOND: Final = ":59"
_END_OF_DAY: Final = (23, 59, 59)
"""A leap second is inserted after 23:59:59 UTC, so only there may a 60th second be."""


def _read_iso(text: str) -> datetime:
    """:meth:`datetime.fromisoformat`, and RFC 3339's forms that it refuses.

    RFC 3339 (the API's ``date-time``) allows ``t`` and ``z`` for ``T`` and ``Z``, and a
    leap second, ``23:59:60`` UTC (in any offset). A leap second is read as the last
    microsecond of its UTC day: it sorts after every other instant of that day and before
    the next day. Callers in hot loops try ``fromisoformat`` first and come here on failure.

    Raises:
        ValueError: ``text`` is neither (the message of ``fromisoformat``), or has a 60th
            second that is not 23:59:60 UTC.
    """
    try:
        return _fromisoformat(text)
    except ValueError as err:
        refused = err
    fixed = text
    if fixed[10:11] == "t":
        fixed = f"{fixed[:10]}T{fixed[11:]}"
    if fixed[-1:] == "z":
        fixed = f"{fixed[:-1]}Z"
    leap = fixed[16:19] == _LEAP_SECOND and fixed[13:14] == ":"
    if leap:
        fixed = f"{fixed[:16]}{_LAST_SECOND}{fixed[19:]}"
    if fixed == text:
        raise refused
    try:
        value = _fromisoformat(fixed)
    except ValueError:
        raise refused from None
    if leap and _utc_clock(value) != _END_OF_DAY:
        raise ValueError(f"{text!r}: a 60th second (a leap second) is 23:59:60 UTC only")
    return value.replace(microsecond=999_999) if leap else value


def _utc_clock(value: datetime) -> tuple[int, int, int] | None:
    """The hour, minute and second of ``value`` in UTC (naive is UTC); None past year 9999
    or before year 1."""
    try:
        utc = value if value.tzinfo is None else value.astimezone(timezone.utc)
    except OverflowError:
        return None
    return utc.hour, utc.minute, utc.second


def parse_aware(text: str) -> datetime:
    """Parse an ISO 8601 timestamp that carries a UTC offset or ``Z``.

    Args:
        text: the timestamp, such as ``"2022-01-01T00:00:00.000Z"``.

    Returns:
        An aware :class:`~datetime.datetime`.

    Raises:
        ValueError: when ``text`` is not ISO 8601 or has no offset.
    """
    value = _read_iso(text)
    # fromisoformat gives a fixed offset or none, so tzinfo alone tells; one test only,
    # as this runs twice for each item of GET /outages.
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone offset (add 'Z' for UTC)")
    return value


def format_utc(value: datetime) -> str:
    """Format an aware instant as ISO 8601 in UTC with a ``Z`` suffix (microseconds kept)."""
    text = value.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    return f"{text}{_ISO_UTC}"


def format_utc_text(value: datetime) -> str:
    """Format an aware instant the data files' way, for messages: whole seconds, in UTC.

    Args:
        value: the instant (aware).

    Returns:
        Such as ``"2023-01-25 18:00:00 UTC"`` (the fraction of a second is dropped).
    """
    return value.astimezone(timezone.utc).strftime(f"%Y-%m-%d %H:%M:%S{UTC_SUFFIX}")


def epoch_seconds_datetime(seconds: float) -> datetime:
    """Return the aware UTC instant ``seconds`` after the Unix epoch (rounded to 1 µs).

    Raises:
        OverflowError: ``seconds`` is beyond what a platform time holds.
        ValueError: the instant is outside the years 1 to 9999 (or ``seconds`` is NaN).
    """
    return datetime.fromtimestamp(seconds, timezone.utc)


def day_seconds_time(seconds: float) -> time:
    """Return the time of day ``seconds`` after midnight (a whole day, 86400, is midnight).

    Raises:
        OverflowError: ``seconds`` is beyond what a platform time holds.
        ValueError: ``seconds`` is NaN.
    """
    return epoch_seconds_datetime(seconds).time()


def status_stamps_to_iso(text: str, line_end: str = "\n") -> str:
    """Rewrite the ``... UTC`` times that end the lines of ``text`` as ISO 8601 ``...Z``.

    One C-level pass over a whole chunk, for the status file's fast reader: the result's
    times are what :meth:`datetime.fromisoformat` reads. Only a time that is followed by a
    line break changes; other lines are left as they are.

    Args:
        text: whole lines, each ending with ``"\n"``.
        line_end: what the line break after a rewritten time becomes (the fast reader,
            which splits on commas, gives ``",\n"``).

    Returns:
        The rewritten text.
    """
    return text.replace(_UTC_LINE_END, _ISO_UTC + line_end)


def parse_http_date_seconds(text: str) -> float:
    """Parse an HTTP date (RFC 9110, such as ``Wed, 21 Oct 2015 07:28:00 GMT``).

    Args:
        text: the date; one without a zone (``-0000``) is UTC.

    Returns:
        Seconds since the Unix epoch.

    Raises:
        ValueError: ``text`` is not such a date.
    """
    try:
        # Imported here: only a Retry-After date needs it, and it costs start-up time.
        import email.utils  # pylint: disable=import-outside-toplevel

        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        # Depending on the Python version, some malformed dates raise TypeError or IndexError.
        raise ValueError(f"{text!r} is not an HTTP date") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def parse_instant_seconds(text: str) -> float:
    """Parse a status file's timestamp into seconds since the Unix epoch.

    Args:
        text: ``2023-01-22 12:09:39.388884 UTC`` (0-6 fraction digits), or ISO 8601 with
            ``Z`` or an offset. Surrounding spaces are ignored.

    Returns:
        Seconds since 1970-01-01T00:00:00Z, with microseconds.

    Raises:
        ValueError: the text is neither style, or has no time zone.
    """
    stripped = text.strip()
    utc = stripped.endswith(UTC_SUFFIX)
    try:
        value = _read_iso(stripped[: -len(UTC_SUFFIX)].rstrip() if utc else stripped)
    except ValueError:
        raise ValueError(f"bad timestamp {text!r}: {_STATUS_TIME_HINT}") from None
    if utc:
        if value.tzinfo is not None:
            raise ValueError(f"bad timestamp {text!r}: it has both an offset and UTC")
        return (value.replace(tzinfo=timezone.utc) - EPOCH).total_seconds()
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"bad timestamp {text!r}: no time zone; add ' UTC', 'Z' or an offset")
    return (value - EPOCH).total_seconds()


_INSTANT_HINT: Final = "an ISO 8601 string such as '2023-01-25T12:00:00Z' or a datetime"


def as_instant(value: object, name: str, *, epoch: bool = False) -> datetime:
    """Accept an instant in the forms a caller has, as an aware UTC datetime.

    The rules are the command line's: text without an offset and naive datetimes are UTC.

    Args:
        value: an ISO 8601 string (``"2023-01-25T12:00:00Z"``, an offset, or none: UTC; the
            data files' ``"2023-01-25 12:00:00 UTC"`` too), a :class:`~datetime.datetime`
            (a ``pandas.Timestamp`` too; naive = UTC) or, when ``epoch`` is true, a number
            of Unix epoch seconds (``int``, ``float`` or ``Decimal``).
        name: the parameter, for messages (``"now"``).
        epoch: whether numbers of epoch seconds are accepted.

    Returns:
        The instant as an aware :class:`~datetime.datetime` in UTC.

    Raises:
        TypeError: ``value`` is none of the accepted types (the message lists them).
        ValueError: a string that is not a timestamp, or an instant outside the years
            1 to 9999.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_instant_datetime(value)
        except ValueError:
            raise ValueError(f"{name}: {value!r} is not {_INSTANT_HINT}") from None
    elif epoch and isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return _from_epoch_seconds(value, name)
    else:
        numbers = ", or a number of Unix epoch seconds" if epoch else ""
        raise TypeError(f"{name} must be {_INSTANT_HINT}{numbers}, not {type(value).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{name}: {value!r} is outside the years 1 to 9999") from None
    if type(moment) is not datetime:  # pylint: disable=unidiomatic-typecheck
        # A subclass such as pandas.Timestamp: keep a plain datetime (microseconds).
        moment = datetime.combine(moment.date(), moment.timetz())
    return moment


def _from_epoch_seconds(value: int | float | Decimal, name: str) -> datetime:
    """The instant ``value`` seconds after the Unix epoch, rounded half to even to 1 µs."""
    try:
        micros = int(Decimal(str(value)).scaleb(6).to_integral_value(ROUND_HALF_EVEN))
        return EPOCH + timedelta(microseconds=micros)
    except (ArithmeticError, OverflowError):
        raise ValueError(
            f"{name}: {value!r} epoch seconds is outside the years 1 to 9999"
        ) from None


def parse_instant_datetime(text: str) -> datetime:
    """Parse a user's instant: ISO 8601, or the ``2023-01-25 18:00:00 UTC`` of the data files.

    Args:
        text: the instant; surrounding spaces are ignored and no offset means UTC.

    Returns:
        An aware :class:`~datetime.datetime` (the offset given, or UTC).

    Raises:
        ValueError: ``text`` is not such a timestamp.
    """
    moment = _read_iso(text.strip().removesuffix(UTC_SUFFIX).rstrip())
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def parse_instant_micros(text: str) -> int:
    """Parse an ISO 8601 timestamp or a number of Unix epoch seconds.

    Args:
        text: such as ``"2024-01-01T00:10:00Z"``, ``"2024-01-01 00:10:00"`` (no offset:
            UTC), ``"1704067800"`` or ``"1704067800.5"`` (seconds since the Unix epoch).

    Returns:
        The instant in whole microseconds since the Unix epoch (UTC); epoch seconds are
        rounded to the nearest microsecond.

    Raises:
        ValueError: with the reason, when ``text`` is neither form or is out of range
            (before year 1 or after year 9999).
    """
    # Fast path: the common ISO 8601 form has its first '-' after a four-digit year.
    if text[4:5] == "-":
        try:
            moment = _fromisoformat(text)
        except ValueError:
            pass
        else:
            return _in_range(_micros(moment), text)
    if _NUMBER.fullmatch(text):
        if len(text) > MAX_EPOCH_CHARS:
            raise ValueError(overlong_epoch(repr(shortened(text)), len(text)))
        return epoch_seconds_micros(text)
    try:
        moment = _read_iso(text)
    except ValueError:
        raise ValueError(
            f"timestamp {shortened(text)!r} is neither ISO 8601 (e.g. 2024-01-01T00:10:00Z) "
            "nor Unix epoch seconds"
        ) from None
    return _in_range(_micros(moment), text)


def shortened(text: str) -> str:
    """Return ``text`` cut to a length an error message can show."""
    if len(text) <= 2 * _SHOWN_CHARS:
        return text
    return text[:_SHOWN_CHARS] + "..."


def overlong_epoch(shown: str, length: int) -> str:
    """Return the reason an epoch seconds literal of ``length`` characters is refused."""
    return (
        f"timestamp {shown} ({length} characters): epoch seconds are at most "
        f"{MAX_EPOCH_CHARS} characters long"
    )


def epoch_seconds_micros(value: str | int | Decimal) -> int:
    """Return a number of epoch seconds as whole microseconds, rounded half to even.

    Args:
        value: the seconds; a string is at most :data:`MAX_EPOCH_CHARS` long.

    Returns:
        Microseconds since the Unix epoch.

    Raises:
        ValueError: the instant is outside the years 1 to 9999.
    """
    if isinstance(value, int):
        micros = value * 1_000_000
    else:
        try:
            number = Decimal(value)
            # A huge exponent (1e999990) makes a huge integer: refuse it before converting.
            if number.is_finite() and number.adjusted() > _MAX_EXPONENT:
                raise ValueError
            micros = int((number * 1_000_000).to_integral_value(rounding=ROUND_HALF_EVEN))
        except (ArithmeticError, ValueError):
            # Exponents beyond Decimal's range (e.g. 1e1000000) reach here too; JSON NaN
            # and infinities are floats and never get this far.
            raise ValueError(f"timestamp {value} is outside the years 1 to 9999") from None
    return _in_range(micros, value)


def _in_range(micros: int, shown: object) -> int:
    if MIN_MICROS <= micros <= MAX_MICROS:
        return micros
    raise ValueError(f"timestamp {shown} is outside the years 1 to 9999")


def _micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an instant; naive is UTC."""
    return (moment - (NAIVE_EPOCH if moment.tzinfo is None else EPOCH)) // ONE_MICROSECOND
