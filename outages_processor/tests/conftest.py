"""Fixtures shared by the tests."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

import backoff._sync
import pytest

FAKE_KEY = "fake-test-key-0000"
"""An obviously fake API key: tests assert it never leaks into output."""

BASE_URL = "https://api.test/v1"
"""A base URL only respx ever answers."""


@pytest.fixture(name="client")
def fixture_client() -> Iterator[Any]:
    """A client of the fake base URL that makes one attempt per request (respx answers)."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.api import KrakenFlexClient, RetryPolicy
    from outages_processor.settings import Settings  # pylint: disable=import-outside-toplevel

    with KrakenFlexClient(
        Settings(api_key=FAKE_KEY, base_url=BASE_URL), retry=RetryPolicy(tries=1)
    ) as client:
        yield client


def bundled_json(name: str) -> Any:
    """Load one of the sandbox's bundled JSON files (recorded public API answers)."""
    return json.loads(
        files("outages_processor.sandbox").joinpath("data").joinpath(name).read_text()
    )


@pytest.fixture(name="clean_env", autouse=True)
def fixture_clean_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Run each test without the user's KrakenFlex settings and outside any .env file."""
    for name in ("KRAKENFLEX_API_KEY", "KRAKENFLEX_BASE_URL", "OP_DEBUG", "OUTAGES_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def bundled_outages() -> list[Any]:
    """The /outages answer the sandbox serves: the recorded list plus kingfisher's own."""
    recorded: list[Any] = bundled_json("outages.json")
    extra = [item for item in bundled_json("outages_kingfisher.json") if item not in recorded]
    return recorded + extra


@pytest.fixture(name="sleeps")
def fixture_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the retry policy's sleeps instead of sleeping."""
    recorded: list[float] = []
    # backoff sleeps through its own module's reference to time.
    monkeypatch.setattr(backoff._sync.time, "sleep", recorded.append)  # pylint: disable=protected-access
    return recorded


@pytest.fixture(name="restore_logging", autouse=True)
def fixture_restore_logging() -> Iterator[None]:
    """Undo the command line's logging set-up after each test."""
    yield
    for name in ("outages_processor", "httpx", "httpcore"):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
