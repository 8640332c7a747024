"""Status files for the readers' tests: every CSV variant, and generated polls.

Shared by the tests of the columnar reader and of the status store's readers; nothing here
needs an optional extra.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from hypothesis import strategies as st

HEADER = "store_id,status,timestamp_utc"
NO_HOURS = "store_id,dayOfWeek,start_time_local,end_time_local\n"
NO_ZONES = "store_id,timezone_str\n"


def status_inputs(folder: Path, status: bytes) -> tuple[Path, Path, Path]:
    """``status`` as a status file in ``folder``, beside empty hours and zones files."""
    (folder / "status.csv").write_bytes(status)
    (folder / "hours.csv").write_text(NO_HOURS, encoding="utf-8")
    (folder / "zones.csv").write_text(NO_ZONES, encoding="utf-8")
    return folder / "status.csv", folder / "hours.csv", folder / "zones.csv"


# Status files in every variant the pure readers know: clean ones the columnar reader takes,
# and the others, which it hands back to the pure readers.
CLEAN = {
    "plain": b"1,active,2023-01-22 12:09:39.388884 UTC\n1,inactive,2023-01-22 13:00:00 UTC\n",
    "fractions": b"1,active,2023-01-22 12:09:39.5 UTC\n2,inactive,2023-01-22 12:09:39.12 UTC\n",
    "crlf": b"1,active,2023-01-22 12:09:39 UTC\r\n2,inactive,2023-01-22 12:09:40 UTC\r\n",
    "blank lines": b"\n1,active,2023-01-22 12:09:39 UTC\n\n2,active,2023-01-22 12:09:39 UTC\n",
    "no final line break": b"1,inactive,2023-01-22 12:09:39 UTC",
    "before 1970": b"1,active,1969-07-20 20:17:40 UTC\n1,inactive,1969-07-21 02:56:15.1 UTC\n",
    "far years": b"1,active,0001-01-15 00:00:00 UTC\n2,inactive,9999-12-17 00:00:00 UTC\n",
    "leap day": b"1,active,2024-02-29 23:59:59.999999 UTC\n",
    "spaced status": b"1, active ,2023-01-22 12:09:39 UTC\n1,inactive\t,2023-01-22 12:00:00 UTC\n",
    "same instant": b"1,active,2023-01-22 12:00:00 UTC\n1,inactive,2023-01-22 12:00:00 UTC\n",
    "unicode store": "é,active,2023-01-22 12:00:00 UTC\n".encode(),
}
FALLBACK = {
    "quoted": b'"1",active,2023-01-22 12:09:39 UTC\n2,"inactive",2023-01-22 12:09:40 UTC\n',
    "bare cr": b"1,active,2023-01-22 12:09:39 UTC\r2,inactive,2023-01-22 12:09:40 UTC\r",
    "iso z": b"1,active,2023-01-22T12:09:39Z\n2,inactive,2023-01-22T12:09:40.5Z\n",
    "offset": b"1,active,2023-01-22T12:09:39+05:30\n",
    "padded time": b"1,active, 2023-01-22 12:09:39 UTC\n",
    "seven digits": b"1,active,2023-01-22 12:09:39.1234567 UTC\n",
    "bad status": b"1,up,2023-01-22 12:09:39 UTC\n2,active,2023-01-22 12:09:40 UTC\n",
    "empty store": b",active,2023-01-22 12:09:39 UTC\n2,active,2023-01-22 12:09:40 UTC\n",
    "few fields": b"1,active\n2,active,2023-01-22 12:09:40 UTC\n",
    "many fields": b"1,active,2023-01-22 12:09:39 UTC,x\n2,active,2023-01-22 12:09:40 UTC\n",
    "bad date": b"1,active,2023-02-29 12:09:39 UTC\n2,active,2023-01-22 12:09:40 UTC\n",
    "bad time": b"1,active,2023-01-22 24:00:00 UTC\n2,active,2023-01-22 12:09:40 UTC\n",
    "leap second": b"1,active,2023-01-22 23:59:60 UTC\n2,active,2023-01-22 12:09:40 UTC\n",
    "out of range": b"1,active,0001-01-14 00:00:00 UTC\n2,active,2023-01-22 12:09:40 UTC\n",
    "no zone": b"1,active,2023-01-22 12:09:39\n2,active,2023-01-22 12:09:40 UTC\n",
    "not utf-8": b"\xff,active,2023-01-22 12:09:39 UTC\n2,active,2023-01-22 12:09:40 UTC\n",
    "only bad rows": b"1,up,2023-01-22 12:09:39 UTC\n",
    "no rows": b"",
}


STORES = st.sampled_from(["1", "2", "store-3", "é4", " 5"])
MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 15), max_value=datetime(9999, 12, 16), timezones=st.just(timezone.utc)
)
RECENT = st.datetimes(
    min_value=datetime(1960, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(timezone.utc)
)


def status_stamp(moment: datetime) -> str:
    """The data files' style, with the fraction's trailing zeros dropped."""
    text = moment.replace(tzinfo=None, microsecond=0).isoformat(sep=" ")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return f"{text} UTC"


# Polls of random stores, statuses and times, and which of them to repeat.
POLL_ROWS = st.lists(
    st.tuples(STORES, st.booleans(), st.one_of(MOMENTS, RECENT)), min_size=1, max_size=40
)
REPEATS = st.lists(st.integers(0, 39), max_size=5)


def write_polls(
    folder: Path, rows: list[tuple[str, bool, datetime]], repeats: list[int], *, again: bool = False
) -> tuple[Path, Path, Path]:
    """The rows as a status file (beside empty hours and zones): each repeated row added at
    its instant with the other status (with ``again``, first with its own too)."""
    for index in repeats:
        if index < len(rows):
            store, active, moment = rows[index]
            rows.extend([(store, active, moment)] * again + [(store, not active, moment)])
    lines = "".join(
        f"{store},{'active' if active else 'inactive'},{status_stamp(moment)}\n"
        for store, active, moment in rows
    )
    return status_inputs(folder, f"{HEADER}\n{lines}".encode())
