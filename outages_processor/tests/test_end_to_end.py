"""The whole job over 127.0.0.1 against the sandbox: faults, retries, exit codes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from outages_processor.sandbox import (
    FAULT_KINDS,
    SANDBOX_API_KEY,
    Faults,
    Sandbox,
    expected_outages,
)
from outages_processor.scripts.main import app

from .conftest import FAKE_KEY

runner = CliRunner()
SITE = "norwich-pear-tree"


def job(sandbox: Sandbox, *args: str, key: str = SANDBOX_API_KEY) -> list[str]:
    """Command-line arguments that point the job at a running sandbox."""
    return ["--base-url", sandbox.base_url, "--api-key", key, *args]


def attempts(sandbox: Sandbox, method: str, path_end: str) -> int:
    """How many requests the sandbox received for one endpoint."""
    return sum(1 for m, path, _ in sandbox.request_log if m == method and path.endswith(path_end))


def test_twenty_seeded_runs_survive_twenty_percent_faults_of_every_kind() -> None:
    """With 20% injected faults, 20 seeded runs exit 0 and each posts the ten outages once."""
    statuses: set[int | str] = set()
    for seed in range(20):
        with Sandbox(faults=Faults(rate=0.2, seed=seed, kinds=FAULT_KINDS)) as sandbox:
            result = runner.invoke(app, job(sandbox, "--site", SITE))
            accepted = sandbox.accepted_posts
            statuses.update(status for _, _, status in sandbox.request_log)
        assert result.exit_code == 0, (seed, result.output)
        assert accepted == [(SITE, expected_outages(SITE))], seed
        assert len(accepted[0][1]) == 10
    # The runs did meet every kind of fault: the test is not vacuous.
    assert {429, 500, 502, 503, "drop"} <= statuses


@pytest.mark.parametrize("kind", ["500", "503", "429", "drop"])
def test_persistent_failure_makes_exactly_the_asked_attempts(kind: str) -> None:
    """With every request failing, ``--retries 3`` makes 3 attempts and exits 1 quickly."""
    started = time.monotonic()
    with Sandbox(faults=Faults(rate=1.0, seed=1, kinds=(kind,))) as sandbox:
        result = runner.invoke(app, job(sandbox, "--site", SITE, "--retries", "3"))
        count = attempts(sandbox, "GET", "/outages")
    assert result.exit_code == 1
    assert count == 3
    assert time.monotonic() - started < 20
    assert len(result.stderr.strip().splitlines()) == 3  # two retry warnings, one error
    assert "Traceback" not in result.output


def test_unreachable_api_exits_1() -> None:
    """A port nobody listens on is a connection error, exit 1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    result = runner.invoke(
        app, ["--site", SITE, "--base-url", url, "--api-key", FAKE_KEY, "--retries", "2"]
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith(
        f"{SITE}: error: GET /outages: connection failed"
    )


def test_bad_key_is_one_attempt_and_exit_3() -> None:
    """A refused key: one request, exit 3, one clear line."""
    with Sandbox() as sandbox:
        result = runner.invoke(app, job(sandbox, "--site", SITE, key=FAKE_KEY))
        log = list(sandbox.request_log)
    assert result.exit_code == 3
    assert len(log) == 1
    assert result.stderr == (
        f"{SITE}: error: GET /outages: the API refused the API key (HTTP 403); check "
        "KRAKENFLEX_API_KEY or --api-key\n"
    )


def test_unknown_site_is_one_attempt_and_exit_3() -> None:
    """An unknown site: one site-info request, exit 3, the site named."""
    with Sandbox() as sandbox:
        result = runner.invoke(app, job(sandbox, "--site", "no-such-site"))
        count = attempts(sandbox, "GET", "/site-info/no-such-site")
    assert result.exit_code == 3
    assert count == 1
    assert "the API does not know site 'no-such-site'" in result.stderr


def test_rejected_outages_are_one_attempt_and_exit_3() -> None:
    """A list the API rejects (another cut-off) is posted once: exit 3."""
    with Sandbox() as sandbox:
        result = runner.invoke(app, job(sandbox, "--site", SITE, "--since", "2021-06-01T00:00:00Z"))
        count = attempts(sandbox, "POST", f"/site-outages/{SITE}")
    assert result.exit_code == 3
    assert count == 1
    assert "HTTP 400: Unexpected outages received" in result.stderr


def test_rate_limited_site_is_retried_then_exit_1() -> None:
    """The API's rate-limited site answers 429 every time: exit 1 after the retries."""
    with Sandbox() as sandbox:
        result = runner.invoke(app, job(sandbox, "--site", "too-much-too-soon", "--retries", "2"))
        count = attempts(sandbox, "GET", "/site-info/too-much-too-soon")
    assert result.exit_code == 1
    assert count == 2
    assert "rate limit was exceeded (HTTP 429) after 2 attempts" in result.stderr


def test_several_sites_fetch_outages_once() -> None:
    """``--site a --site b --site c`` sends one GET /outages."""
    with Sandbox() as sandbox:
        result = runner.invoke(
            app, job(sandbox, "--site", SITE, "--site", "kingfisher", "--site", "no-such-site")
        )
        count = attempts(sandbox, "GET", "/outages")
        posted = sorted(site for site, _ in sandbox.accepted_posts)
    assert count == 1
    assert posted == ["kingfisher", SITE]
    assert result.exit_code == 3


def test_debug_output_never_contains_the_key() -> None:
    """``-vv`` against a real server, with retries, never prints the key."""
    with Sandbox(api_key=FAKE_KEY, faults=Faults(rate=0.3, seed=3, kinds="500")) as sandbox:
        result = runner.invoke(app, ["-vv", *job(sandbox, "--site", SITE, key=FAKE_KEY)])
    assert result.exit_code == 0
    assert "DEBUG" in result.stderr and "retrying" in result.stderr
    assert FAKE_KEY not in result.output


def test_sandbox_flag_runs_the_main_job_in_a_fresh_process() -> None:
    """``python -m outages_processor --site norwich-pear-tree --sandbox`` exits 0 offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKENFLEX_")}
    completed = subprocess.run(
        [sys.executable, "-m", "outages_processor", "--site", SITE, "--sandbox", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == f"{SITE}: posted 10 outages\n"
    assert '"posted": true' in completed.stdout
