"""Events messages a user reads: JSON-array rejects name their element, --help's FILE...."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outages_processor.errors import InputDataError
from outages_processor.inputs.record_inputs import read_records
from outages_processor.scripts.main import app

GOOD = {"controller_id": "c1", "outage_type": "led", "timestamp": 0}
BAD = {"controller_id": "c1", "outage_type": "led", "timestamp": "soon"}
BAD_REASON = (
    "timestamp 'soon' is neither ISO 8601 (e.g. 2024-01-01T00:10:00Z) nor Unix epoch seconds"
)


def _one_line_array(tmp_path: Path, elements: list[dict[str, object]]) -> str:
    """Write ``elements`` as a JSON array on ONE line; return the path."""
    path = tmp_path / "reports.json"
    path.write_text(json.dumps(elements) + "\n", encoding="utf-8")
    return str(path)


def test_a_bad_element_of_a_one_line_array_is_named_by_its_index(tmp_path: Path) -> None:
    """Fail mode: the error names the element's index, not only line 1."""
    path = _one_line_array(tmp_path, [GOOD, GOOD, BAD])
    with pytest.raises(InputDataError) as caught:
        read_records([path])
    assert str(caught.value) == f"{path}:1: {BAD_REASON} (array element at index 2)"


@settings(max_examples=25, deadline=None)
@given(bad=st.lists(st.booleans(), min_size=1, max_size=8))
def test_skipped_array_elements_name_their_indexes(
    tmp_path_factory: pytest.TempPathFactory, bad: list[bool]
) -> None:
    """Skip mode: each reject of a one-line array names its own element's index."""
    elements = [BAD if is_bad else GOOD for is_bad in bad]
    path = _one_line_array(tmp_path_factory.mktemp("a"), elements)
    batch = read_records([path], on_error="skip")
    assert [reject.reason for reject in batch.rejects] == [
        f"{BAD_REASON} (array element at index {index})"
        for index, is_bad in enumerate(bad)
        if is_bad
    ]


@pytest.mark.parametrize(
    ("layout", "line", "suffix"),
    [
        ("[{bad}, {good}]", 1, " (array element at index 0)"),
        ("[{good}, {bad}]", 1, " (array element at index 1)"),
        ("[\n{good},\n{bad}\n]", 3, ""),
        ("[\n{good}, {bad},\n{good}\n]", 2, " (array element at index 1)"),
        ("[\n{bad}, {good}\n]", 2, " (array element at index 0)"),
        ("[{good},\n{bad}]", 2, ""),
    ],
)
def test_the_index_is_named_only_when_elements_share_a_line(
    tmp_path: Path, layout: str, line: int, suffix: str
) -> None:
    """An element alone on its line is found by its line; one sharing it, by its index too."""
    text = layout.replace("{good}", json.dumps(GOOD)).replace("{bad}", json.dumps(BAD))
    path = tmp_path / "reports.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputDataError) as caught:
        read_records([str(path)])
    assert str(caught.value) == f"{path}:{line}: {BAD_REASON}{suffix}"


def test_events_ingest_lists_the_element_index(tmp_path: Path) -> None:
    """The command line's skipped lines carry the index too."""
    path = _one_line_array(tmp_path, [BAD, GOOD])
    result = CliRunner().invoke(
        app, ["events", "ingest", "--db", str(tmp_path / "e.db"), "--on-error", "skip", path]
    )
    assert result.exit_code == 0
    assert result.stderr == f"skipped {path}:1: {BAD_REASON} (array element at index 0)\n"


def test_events_ingest_help_writes_the_files_as_file_dots() -> None:
    """``events ingest --help`` shows ``FILE...`` (one or more), never ``{FILE}``."""
    result = CliRunner().invoke(app, ["events", "ingest", "--help"])
    assert result.exit_code == 0
    usage = result.output.splitlines()[0]
    assert usage == "Usage: process_outages events ingest [OPTIONS] FILE..."
