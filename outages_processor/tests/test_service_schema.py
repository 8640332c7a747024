"""The OpenAPI document, and schemathesis over every endpoint of a real server: no 500 (issue 9).

Each operation gets a bounded, seeded run (``EXAMPLES`` cases, ``derandomize``): positive
and negative cases generated from the document, sent to uvicorn on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from outages_processor.tests.service_server import Running, settings_in, thread_server

EXAMPLES = 30
OPERATIONS = [
    ("GET", "/healthz"),
    ("POST", "/outages"),
    ("GET", "/events"),
    ("POST", "/store-status"),
    ("PUT", "/business-hours"),
    ("PUT", "/timezones"),
    ("POST", "/trigger_report"),
    ("GET", "/get_report"),
]


@pytest.fixture(name="server", scope="module")
def fixture_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One service in a thread for the module (report_workers=1 keeps reports in threads)."""
    folder: Path = tmp_path_factory.mktemp("schema")
    with thread_server(settings_in(folder, report_workers=1)) as running:
        yield running


@pytest.fixture(name="document", scope="module")
def fixture_document(server: Running) -> dict[str, Any]:
    """The server's /openapi.json."""
    answer = httpx.get(f"{server.base_url}/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def test_every_endpoint_is_documented(document: dict[str, Any]) -> None:
    """Each endpoint is in the document with its request body and its answers."""
    found = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert found == set(OPERATIONS)
    for method, path in OPERATIONS:
        operation = document["paths"][path][method.lower()]
        assert operation["summary"]
        assert "200" in operation["responses"]
        assert "schema" in operation["responses"]["200"]["content"]["application/json"]
        if method in ("POST", "PUT"):
            assert "requestBody" in operation, (method, path)


def test_the_docs_page_answers(server: Running) -> None:
    """/docs serves the interactive documentation."""
    answer = httpx.get(f"{server.base_url}/docs")
    assert answer.status_code == 200
    assert "swagger" in answer.text.lower()


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_generated_request_makes_a_500(
    server: Running, document: dict[str, Any], method: str, path: str
) -> None:
    """Schemathesis's cases for the operation, valid and invalid, never get a 5xx."""
    schema = schemathesis.openapi.from_dict(document)
    operation = schema[path][method]
    strategy = operation.as_strategy()
    with httpx.Client(base_url=server.base_url, timeout=30.0) as client:

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def check(case: Any) -> None:
            kwargs = case.as_transport_kwargs(base_url=server.base_url)
            answer = client.request(
                kwargs["method"],
                kwargs["url"],
                params=kwargs.get("params"),
                headers=kwargs.get("headers"),
                content=_content(kwargs),
            )
            assert answer.status_code < 500, (case.as_curl_command(), answer.text)
            if answer.status_code >= 400:
                assert "detail" in answer.json()

        check()  # pylint: disable=no-value-for-parameter


def _content(kwargs: dict[str, Any]) -> Any:
    """The body of a generated case as bytes (JSON-encoded when it is a value)."""
    if "json" in kwargs:
        return httpx.Request("POST", "http://x", json=kwargs["json"]).content
    return kwargs.get("data") or kwargs.get("content")
