"""The status store reads a clean local file as a report would: faster than row by row.

A clean local file is read by the columnar engine (the ``fast`` extra, 4 MiB or more) or
else by the pure engine's range reader. Whatever reads it, a file gives the store the polls
(and the answer, or the error) that reading it row by row gives: every CSV variant,
generated polls of every year, repeated polls and both statuses at one instant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outages_processor.errors import InputDataError
from outages_processor.inputs.status_columnar import columnar_available
from outages_processor.reports import engines
from outages_processor.reports import status_store as status_store_module
from outages_processor.reports.status_store import StatusStore
from outages_processor.tests.status_samples import (
    CLEAN,
    FALLBACK,
    HEADER,
    POLL_ROWS,
    REPEATS,
    status_inputs,
    write_polls,
)
from outages_processor.tests.uptime_data import generate

READERS = [
    "range",
    pytest.param(
        "columnar",
        marks=pytest.mark.skipif(not columnar_available(), reason="needs the fast extra"),
    ),
]
"""The readers a store may read a clean file with (each compared with row by row)."""
_FUNCTIONS = {"range": "_part_rows", "columnar": "_columnar_rows"}


def _stored(
    status: Path, folder: Path, reader: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[object, list[tuple[str, int, int]], bool]:
    """Ingest ``status`` into a new store with only ``reader`` (or ``"rows"``: row by row);
    return the answer (or the error's message), the stored polls, and whether the reader
    took the file (rather than hand it to the row reader)."""
    used = False

    def spy(original: Callable[[Path], object]) -> Callable[[Path], object]:
        def read(path: Path) -> object:
            nonlocal used
            rows = original(path)
            used = rows is not None
            return rows

        return read

    with monkeypatch.context() as patch:
        patch.setattr(engines, "AUTO_COLUMNAR_MIN_BYTES", 0)
        for name, function in _FUNCTIONS.items():
            original = getattr(status_store_module, function)
            patch.setattr(status_store_module, function, spy(original) if name == reader else _none)
        with StatusStore(folder / f"{reader}.db") as store:
            try:
                answer: object = store.ingest_polls(status)
            except InputDataError as err:
                answer = str(err)
            return answer, store.database.polls(), used


def _none(_path: Path) -> None:
    return None


def _alike(status: Path, folder: Path, reader: str, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Assert ``reader`` stores what row by row stores; return whether it took the file."""
    by_reader = _stored(status, folder, reader, monkeypatch)
    by_rows = _stored(status, folder, "rows", monkeypatch)
    assert by_reader[:2] == by_rows[:2]
    return by_reader[2]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("name", sorted({**CLEAN, **FALLBACK}))
def test_every_variant_is_stored_as_row_by_row(
    name: str, reader: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each variant: the same answer or error and the same polls; the clean ones taken."""
    status, _, _ = status_inputs(tmp_path, f"{HEADER}\n".encode() + {**CLEAN, **FALLBACK}[name])
    took = _alike(status, tmp_path, reader, monkeypatch)
    assert took or name not in CLEAN


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@pytest.mark.parametrize("reader", READERS)
@given(rows=POLL_ROWS, duplicates=REPEATS)
def test_generated_polls_are_stored_as_row_by_row(
    reader: str,
    rows: list[tuple[str, bool, datetime]],
    duplicates: list[int],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Times of every year (far ones stored as their float seconds give them back), polls
    repeated and at one instant with both statuses."""
    folder = tmp_path_factory.mktemp("store")
    status, _, _ = write_polls(folder, rows, duplicates, again=True)
    assert _alike(status, folder, reader, monkeypatch)


@pytest.mark.parametrize("reader", READERS)
def test_a_generated_data_set_is_stored_as_row_by_row(
    reader: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A week of polls of many stores."""
    status, _, _ = generate(5, stores=40).write(tmp_path)
    assert _alike(status, tmp_path, reader, monkeypatch)


@given(micros=st.integers(-(1 << 31) * 10**6 + 1, (1 << 31) * 10**6 - 1))
def test_arithmetic_gives_the_stored_instant_from_1901_to_2038(micros: int) -> None:
    """A file's seconds (the float nearest whole microseconds) times 1e6, rounded, are the
    microseconds the round trip through a datetime gives."""
    seconds = micros / 1_000_000
    # pylint: disable=protected-access
    assert status_store_module._micros_of(seconds) == status_store_module._stored_micros(seconds)
    assert status_store_module._micros_of(seconds) == micros
