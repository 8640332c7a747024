"""``python -m outages_processor.tests.bench``: names run benchmarks, options reach the one
they follow, and a mistake is one line."""

from __future__ import annotations

import subprocess
import sys

import pytest

_BENCH = [sys.executable, "-m", "outages_processor.tests.bench"]


def _bench(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_BENCH, *arguments], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("name", "option"),
    [
        ("service", "--rounds"),
        ("events", "--records"),
        ("columnar", "--polls"),
        ("compare", "--baseline"),
    ],
)
def test_options_after_a_name_reach_that_benchmark(name: str, option: str) -> None:
    """``NAME --help`` is the benchmark's own help, listing its options."""
    finished = _bench(name, "--help")
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.startswith(f"== {name} ==\nusage: bench_{name}")
    assert option in finished.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("service", "--no-such-option"), "unrecognized arguments: --no-such-option"),
        (("events", "--records", "many"), "invalid int value: 'many'"),
        (("sites", "--rounds", "2"), "benchmark 'sites' takes no options"),
        (("nope",), "unknown benchmark nope"),
        (("compare",), "compare needs --baseline DIR"),
    ],
)
def test_a_mistake_is_refused_before_anything_runs(
    arguments: tuple[str, ...], message: str
) -> None:
    """A wrong name or option stops with one message, no traceback, exit 1 or 2."""
    finished = _bench(*arguments)
    assert finished.returncode in (1, 2)
    assert message in finished.stderr
    assert "Traceback" not in finished.stderr


@pytest.mark.parametrize("module", ["bench_service", "bench_events"])
def test_a_benchmark_module_run_alone_reads_its_options(module: str) -> None:
    """``python -m ...bench.bench_service --help`` parses the command line it was given."""
    finished = subprocess.run(
        [sys.executable, "-m", f"outages_processor.tests.bench.{module}", "--bogus"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert finished.returncode == 2
    assert "unrecognized arguments: --bogus" in finished.stderr
