"""Every default has one home: the library, the retry policy and the CLI's help agree."""

from __future__ import annotations

import inspect
import subprocess
import sys
from datetime import timedelta

import attrs
import pytest
from typer.testing import CliRunner

from outages_processor import settings
from outages_processor.api import RetryPolicy
from outages_processor.core.events import DEFAULT_TOLERANCE
from outages_processor.core.filtering import DEFAULT_SINCE
from outages_processor.sandbox import FAULT_KINDS
from outages_processor.scripts.main import app
from outages_processor.sites import process_sites

runner = CliRunner()


@pytest.mark.parametrize(
    ("field", "default"),
    [
        ("tries", settings.DEFAULT_TRIES),
        ("max_time", settings.DEFAULT_MAX_RETRY_TIME),
        ("initial_wait", settings.DEFAULT_INITIAL_WAIT),
        ("max_wait", settings.DEFAULT_MAX_WAIT),
        ("max_retry_after", settings.DEFAULT_MAX_RETRY_AFTER),
    ],
)
def test_the_retry_policy_defaults_come_from_settings(field: str, default: float) -> None:
    """RetryPolicy's defaults are the settings module's constants."""
    assert getattr(attrs.fields(RetryPolicy), field).default == default


@pytest.mark.parametrize(
    ("field", "default"),
    [
        ("base_url", settings.DEFAULT_BASE_URL),
        ("timeout", settings.DEFAULT_TIMEOUT),
        ("tries", settings.DEFAULT_TRIES),
        ("max_retry_time", settings.DEFAULT_MAX_RETRY_TIME),
    ],
)
def test_the_settings_defaults_are_the_named_constants(field: str, default: object) -> None:
    """Settings' field defaults are the module's named constants."""
    assert getattr(attrs.fields(settings.Settings), field).default == default


def test_the_site_job_uses_the_settings_concurrency() -> None:
    """process_sites handles DEFAULT_MAX_WORKERS sites at once by default."""
    parameter = inspect.signature(process_sites).parameters["max_workers"]
    assert parameter.default == settings.DEFAULT_MAX_WORKERS


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ([], f"[default: {DEFAULT_SINCE:%Y-%m-%dT%H:%M:%SZ}]"),
        ([], f"[default: {settings.DEFAULT_TIMEOUT:g}]"),
        ([], f"[default: {settings.DEFAULT_TRIES}]"),
        ([], f"[default: {settings.DEFAULT_MAX_RETRY_TIME:g}]"),
        ([], f"[default: {settings.DEFAULT_MAX_WORKERS};"),
        (["events", "ingest"], f"[default: {DEFAULT_TOLERANCE // timedelta(minutes=1)} for"),
        (["sandbox", "serve"], f"[default: {','.join(FAULT_KINDS)}]"),
    ],
)
def test_the_help_shows_the_library_defaults(command: list[str], shown: str) -> None:
    """Each command's help shows the library's own default values."""
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert shown in " ".join(result.stdout.split())


def test_the_command_line_loads_no_network_code_for_its_help() -> None:
    """Reading the defaults for the help imports neither httpx nor backoff."""
    code = (
        "import sys, outages_processor.scripts.main; "
        "print(sorted(m for m in ('httpx', 'sqlite3', 'backoff') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
