"""The one rejects CSV format: what the writer writes, the reader reads back."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outages_processor.errors import InputDataError
from outages_processor.models.common import Reject
from outages_processor.stores.rejects_csv import read_rejects_csv, write_rejects_csv

# Text as it can come from any input line: commas, quotes, CR and LF inside a CSV row.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
REJECTS = st.lists(
    st.builds(
        Reject,
        path=_TEXT,
        line=st.none() | st.integers(min_value=1, max_value=10**9),
        reason=_TEXT,
        row=_TEXT,
    ),
    max_size=5,
)


@given(rejects=REJECTS)
def test_what_is_written_reads_back_the_same(rejects: list[Reject]) -> None:
    """Any rejects written to a stream read back equal, in order."""
    stream = io.StringIO(newline="")
    assert write_rejects_csv(rejects, stream) == len(rejects)
    stream.seek(0)
    assert read_rejects_csv(stream) == rejects


def test_the_header_is_file_line_reason_row(tmp_path: Path) -> None:
    """The file starts with the one rejects header, whichever job wrote it."""
    path = tmp_path / "rejects.csv"
    write_rejects_csv([Reject("a.csv", 3, "bad", "x,y")], path)
    assert path.read_text(encoding="utf-8") == 'file,line,reason,row\na.csv,3,bad,"x,y"\n'
    assert read_rejects_csv(path) == [Reject("a.csv", 3, "bad", "x,y")]


def test_a_file_with_another_header_is_refused(tmp_path: Path) -> None:
    """A CSV that is not a rejects file is one InputDataError naming file:1."""
    path = tmp_path / "other.csv"
    path.write_text("source,line,reason,record\n", encoding="utf-8")
    with pytest.raises(InputDataError) as caught:
        read_rejects_csv(path)
    assert str(caught.value) == (
        f"{path}:1: not a rejects file: expected the header file,line,reason,row"
    )


@pytest.mark.parametrize("row", ["a\rb", "a\r\nb", "a\nb", '"a",\r'])
def test_a_row_with_line_breaks_stays_one_reject(row: str) -> None:
    """A row holding a bare CR (not quoted by the csv module alone) reads back whole."""
    stream = io.StringIO(newline="")
    write_rejects_csv([Reject("a.csv", 2, "bad", row)], stream)
    stream.seek(0)
    assert read_rejects_csv(stream) == [Reject("a.csv", 2, "bad", row)]
