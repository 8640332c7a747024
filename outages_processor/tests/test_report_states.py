"""The report service's saved states: one typed record, written and read as JSON."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outages_processor.models.uptime import ReportState
from outages_processor.reports.states import ReportRecord

_ID = "a" * 32
_INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
)


def test_a_running_state_holds_only_what_is_known() -> None:
    """A new Running state writes its id, state, creation time and pid, nothing else."""
    data = ReportRecord.running(_ID).to_json()
    assert sorted(data) == ["created_at", "pid", "report_id", "state"]
    assert data["state"] == "Running"


@given(
    state=st.sampled_from(list(ReportState)),
    created=_INSTANTS,
    finished=st.none() | _INSTANTS,
    error=st.none() | st.text(),
    rows=st.none() | st.integers(0, 10**6),
    now=st.none() | _INSTANTS,
)
def test_a_state_reads_back_as_written(  # pylint: disable=too-many-arguments
    state: ReportState,
    created: datetime,
    finished: datetime | None,
    error: str | None,
    rows: int | None,
    now: datetime | None,
) -> None:
    """Whatever its fields, a state's JSON object reads back as the same state."""
    record = ReportRecord(
        _ID, state, created, pid=7, finished_at=finished, error=error, rows=rows, now=now
    )
    assert ReportRecord.from_json(record.to_json()) == record


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"report_id": _ID, "state": "Running"}, KeyError),
        ({"report_id": _ID, "state": "Done", "created_at": "2023-01-01"}, ValueError),
        ({"report_id": _ID, "state": "Running", "created_at": 5}, TypeError),
        (
            {"report_id": _ID, "state": "Failed", "created_at": "2023-01-01", "error": 5},
            TypeError,
        ),
    ],
)
def test_a_damaged_state_is_refused(data: dict[str, object], error: type[Exception]) -> None:
    """A JSON object that is not a whole state raises the error the service reports."""
    with pytest.raises(error):
        ReportRecord.from_json(data)
