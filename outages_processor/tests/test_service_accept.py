"""``GET /get_report`` picks JSON or CSV by the ``Accept`` header's weights (RFC 9110, 12.5.1).

Each of ``application/json`` and ``text/csv`` takes the weight (``q``, 1 by default) of the
most specific media range that matches it (``text/csv``, then ``text/*``, then ``*/*``);
no range: weight 0. CSV is sent when its weight is higher, or equal and not 0 with
``text/csv`` matched more specifically than JSON or named itself; otherwise JSON (so ``*/*``
and no header at all get JSON). ``format=`` overrides.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outages_processor.service.negotiation import wants_csv
from outages_processor.tests.service_server import Running, settings_in, thread_server

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "uptime"


@pytest.mark.parametrize(("accept", "csv"), [
    (None, False),
    ("", False),
    ("*/*", False),
    ("application/json", False),
    ("text/csv", True),
    ("TEXT/CSV", True),
    ("text/csv; charset=utf-8", True),
    ("text/*", True),
    ("text/csv, application/json", True),
    ("application/json, text/csv", True),
    ("text/csv, */*", True),
    ("application/json, text/csv;q=0.5", False),  # answered CSV before
    ("text/csv;q=0.5, application/json", False),
    ("application/json;q=0.4, text/csv;q=0.5", True),
    ("text/csv;q=0", False),  # "not CSV": answered CSV before
    ("text/csv; q=0.000", False),
    ("text/csv ; Q=0.3, application/json;q=0.2", True),
    ("text/*;q=0.9, application/json;q=0.8", True),
    ("text/*, text/csv;q=0", False),  # the most specific range decides
    ("*/*;q=0.1, text/csv;q=0.2", True),
    ("application/*, text/csv;q=0.9", False),
    ("text/csv;q=bad", False),  # a malformed weight: the range is ignored
    ("text/csv;q=1.5", False),
    ("text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8", False),
    ("text/csvx", False),
    ("text/csv,,", True),
])  # fmt: skip
def test_accept_table(accept: str | None, csv: bool) -> None:
    """Header by header (None: no header)."""
    assert wants_csv([] if accept is None else [accept]) is csv


WEIGHTS = st.integers(0, 1000).map(lambda value: value / 1000)


@settings(max_examples=300, deadline=None)
@given(WEIGHTS, WEIGHTS, st.booleans(), st.sampled_from(["q", "Q"]))
def test_the_higher_weight_wins(json_q: float, csv_q: float, csv_first: bool, q: str) -> None:
    """Both types named with weights, in either order: the heavier one; a tie is CSV."""
    ranges = [f"application/json;{q}={json_q:.3f}", f"text/csv;{q}={csv_q:.3f}"]
    header = ", ".join(reversed(ranges) if csv_first else ranges)
    expected = csv_q > 0 and csv_q >= json_q
    assert wants_csv([header]) is expected


@settings(max_examples=200, deadline=None)
@given(WEIGHTS, st.sampled_from(["text/*", "*/*"]))
def test_a_named_type_beats_a_wildcard_of_the_same_weight(weight: float, wildcard: str) -> None:
    """``text/csv`` named beside ``*/*`` of the same weight: CSV (unless the weight is 0);
    ``application/json`` named beside a wildcard that covers CSV too: JSON."""
    assert wants_csv([f"text/csv;q={weight:.3f}, */*;q={weight:.3f}"]) is (weight > 0)
    assert not wants_csv([f"application/json;q={weight:.3f}, {wildcard};q={weight:.3f}"])


@pytest.fixture(name="server")
def fixture_server(tmp_path: Path) -> Iterator[Running]:
    """A server with the example status store loaded."""
    with thread_server(settings_in(tmp_path, report_workers=1)) as running:
        with running.client() as client:
            for path, name in (("/store-status", "status"), ("/business-hours", "hours"),
                               ("/timezones", "timezones")):  # fmt: skip
                body = (EXAMPLES / f"{name}.csv").read_bytes()
                method = "POST" if path == "/store-status" else "PUT"
                answer = client.request(
                    method, path, content=body, headers={"content-type": "text/csv"}
                )
                assert answer.status_code == 200, answer.text
        yield running


@pytest.mark.parametrize(("accept", "kind"), [
    ("application/json, text/csv;q=0.5", "application/json"),
    ("text/csv;q=0", "application/json"),
    ("text/csv, application/json;q=0.5", "text/csv"),
])  # fmt: skip
def test_a_complete_report_comes_in_the_preferred_type(
    server: Running, accept: str, kind: str
) -> None:
    """Against a real server: the weights decide the answer's type."""
    with server.client() as client:
        report_id = client.post("/trigger_report", json={"now": "2023-01-25T12:00:00Z"}).json()[
            "report_id"
        ]
        for _ in range(600):
            answer = client.get("/get_report", params={"report_id": report_id},
                                headers={"accept": accept})  # fmt: skip
            if answer.headers["content-type"].startswith("text/csv") or answer.json()[
                "status"
            ] != "Running":
                break
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == kind
    if kind == "application/json":
        assert answer.json()["status"] == "Complete"
    else:
        assert answer.text.startswith("store_id,uptime_last_hour")
