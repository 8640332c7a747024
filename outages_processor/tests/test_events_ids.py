"""Controller ids and outage types: control characters are bad input, the rest round-trips.

Issue 7, point 7: a NUL in an id used to poison the event database (SQLite's
``json_extract`` stops at NUL, so later batches failed with "UNIQUE constraint failed").
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.core.events import group_events
from outages_processor.errors import InputDataError
from outages_processor.models.events import (
    OutageRecord,
    RecordBatch,
    identifier_problem,
)
from outages_processor.events import ingest_files
from outages_processor.stores.event_store import EventStore
from outages_processor.inputs.record_inputs import read_records

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def jsonl(path: Path, *rows: tuple[str, str, int]) -> Path:
    """Write records (timestamps in epoch seconds) to a JSON Lines file."""
    lines = [
        json.dumps({"controller_id": c, "outage_type": t, "timestamp": s}) for c, t, s in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("c\x00", "controller_id has a control character (U+0000) at character 2"),
        ("\tc", "controller_id has a control character (U+0009) at character 1"),
        ("c\n", "controller_id has a control character (U+000A) at character 2"),
        ("c\x7f", "controller_id has a control character (U+007F) at character 2"),
        ("c\x85", "controller_id has a control character (U+0085) at character 2"),
        ("c\udfff", "controller_id has a lone surrogate (U+DFFF) at character 2"),
    ],
)
def test_bad_id_in_json_lines_is_a_bad_record_at_its_line(
    tmp_path: Path, text: str, reason: str
) -> None:
    """A control character or lone surrogate in an id rejects the record at file:line."""
    path = jsonl(tmp_path / "r.jsonl", ("ok", "led", 0), (text, "led", 0))
    with pytest.raises(InputDataError) as caught:
        read_records([path])
    assert str(caught.value) == f"{path}:2: {reason}; remove it (ids must be printable text)"


def test_bad_type_in_csv_is_a_bad_row_even_for_a_known_controller(tmp_path: Path) -> None:
    """The CSV fast path checks a type first seen under an already known controller."""
    path = tmp_path / "r.csv"
    path.write_text("controller_id,outage_type,timestamp\nc,led,0\nc,\"l\x00\",0\n")
    batch = read_records([path], on_error="skip")
    assert [(item.line, item.reason) for item in batch.rejects] == [
        (3, "outage_type has a control character (U+0000) at character 2; "
            "remove it (ids must be printable text)")
    ]


@pytest.mark.parametrize("text", ["ctrl 1", "ctrl\u00a01", "k\u2028", "\U0001f600", "\u200d"])
def test_printable_and_other_unusual_text_is_an_id(text: str) -> None:
    """Spaces, NBSP, line separators, emoji and joiners are not control characters."""
    assert identifier_problem("controller_id", text) is None


def test_model_refuses_a_nul_in_an_id() -> None:
    """OutageRecord refuses what the readers refuse."""
    with pytest.raises(ValueError, match=r"outage_type has a control character \(U\+0000\)"):
        OutageRecord("c", "led\x00", T0)


def test_store_refuses_a_hand_made_batch_with_a_nul(tmp_path: Path) -> None:
    """A RecordBatch built by hand with a NUL in an id stores nothing, with a clear error."""
    with EventStore(tmp_path / "e.db") as store:
        with pytest.raises(InputDataError, match=r"U\+0000.*; nothing was stored$"):
            store.ingest(RecordBatch({"c\x00": {"led": [0]}}))
        assert store.counts() == {"records": 0, "events": 0, "series": 0}


def test_nul_in_a_stored_id_does_not_poison_later_batches(tmp_path: Path) -> None:
    """A database holding NUL ids (stored by an older version) still takes later batches."""
    path = tmp_path / "e.db"
    with EventStore(path) as store:
        store.ingest([OutageRecord("c", "led", T0)])
        # As an older version stored it: straight SQL, past today's checks.
        db = store._db  # pylint: disable=protected-access
        db.execute("INSERT INTO series (series_id, controller_id, outage_type) VALUES (7, ?, ?)",
                   ("c\x00x", "led"))
        db.execute("INSERT INTO series (series_id, controller_id, outage_type) VALUES (8, ?, ?)",
                   ("c\x00y", "led"))
        store.ingest([OutageRecord("c", "led", T0 + timedelta(minutes=10))])
        store.ingest([OutageRecord("c", "led", T0 + timedelta(minutes=20))])
        assert [event.record_count for event in store.events()] == [3]


def test_emoji_ids_round_trip_through_two_batches(tmp_path: Path) -> None:
    """Ids outside the BMP are found again by the next batch (no JSON escapes involved)."""
    path = tmp_path / "e.db"
    with EventStore(path) as store:
        store.ingest([OutageRecord("\U0001f600", "\U0001f50b", T0)])
        store.ingest([OutageRecord("\U0001f600", "\U0001f50b", T0 + timedelta(minutes=10))])
        assert [(e.controller_id, e.record_count) for e in store.events()] == [("\U0001f600", 2)]


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@settings(max_examples=60, deadline=None)
@given(ids=st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)), min_size=1, max_size=4))
def test_any_text_id_is_rejected_or_round_trips(ids: list[tuple[str, str]]) -> None:
    """For arbitrary text ids: a bad record at file:line, or two batches list them exactly."""
    with tempfile.TemporaryDirectory() as folder:
        first = jsonl(Path(folder, "a.jsonl"), *((c, t, 0) for c, t in ids))
        second = jsonl(Path(folder, "b.jsonl"), *((c, t, 600) for c, t in ids))
        bad = any(
            identifier_problem(name, value)
            for pair in ids
            for name, value in zip(("controller_id", "outage_type"), pair)
        )
        if bad:
            with pytest.raises(InputDataError) as caught:
                read_records([first])
            assert (caught.value.path, caught.value.line is not None) == (str(first), True)
            return
        db = Path(folder, "e.db")
        ingest_files(db, [first])
        ingest_files(db, [second])
        records = [
            OutageRecord(c, t, EPOCH + timedelta(seconds=s)) for c, t in ids for s in (0, 600)
        ]
        with EventStore(db, read_only=True) as store:
            assert store.events() == group_events(records)
