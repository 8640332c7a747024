"""Side-by-side comparison of this checkout against another one (a baseline), per job.

A change must not slow the three jobs down: this benchmark runs the same work with this
checkout's package and with a baseline checkout's (``--baseline DIR``, e.g. a ``git worktree``
of the last release), in interleaved rounds (A, B, A, B, ...) so that the machine's noise hits
both alike, and prints for each: best and median of each side, and the median of the paired
ratios (this / baseline of the same round; below 1.00 is faster).

* ``sites``: parse and filter 100,000 outages against 10,000 devices (best of 5, in a fresh
  interpreter of each side);
* ``uptime``: ``process_outages uptime report`` with default settings on the Loop-scale status
  file (about 1.83 million polls) and the real 2023 hours and time zones;
* ``events``: ``process_outages events ingest`` of 1,000,000 records into a fresh database.

Run: ``python -m outages_processor.tests.bench compare --baseline ../baseline`` (or
``tox -e bench -- compare --baseline DIR``).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from outages_processor.tests.bench import bench_events, bench_uptime

HERE = Path(__file__).resolve().parents[3]
JOBS = ("sites", "uptime", "events")

_PARSE_FILTER = (
    "from outages_processor.tests.bench.bench_sites import bench_parse_and_filter as b; b()"
)


def _environment(root: Path) -> dict[str, str]:
    """The environment that makes a fresh interpreter import the package from ``root``."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(root)
    # As installed packages run: from cached bytecode (pip compiles it on install), not
    # compiling every module's source at each start, which would favour fewer modules.
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


_CPU: dict[Path, list[float]] = {}
# The CPU seconds (user + system, the process and every child it waited for) of each run,
# by checkout: on a shared machine, other people's work stretches wall time, not CPU time.


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(root: Path, arguments: list[str]) -> tuple[float, str]:
    """Run ``python arguments`` with the package of ``root``; return wall seconds and stdout."""
    cpu = _children_cpu()
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, *arguments],
        capture_output=True,
        text=True,
        env=_environment(root),
        check=False,
        cwd=root,
    )
    elapsed = time.perf_counter() - started
    _CPU.setdefault(root, []).append(_children_cpu() - cpu)
    if result.returncode:
        raise SystemExit(f"{root}: {' '.join(arguments)} failed:\n{result.stderr}")
    return elapsed, result.stdout


def _sites(root: Path) -> float:
    _, output = _run(root, ["-c", _PARSE_FILTER])
    match = re.search(r"([0-9.]+) s best of 5", output)
    if match is None:
        raise SystemExit(f"{root}: unexpected output {output!r}")
    return float(match.group(1))


class _Side:
    """One side's times, round after round."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.times: list[float] = []

    def summary(self) -> str:
        """Best and median, as text."""
        return (
            f"{self.name}: best {min(self.times):.3f} s, "
            f"median {statistics.median(self.times):.3f} s"
        )


def _compare(
    job: str, rounds: int, baseline: Path, measure: Callable[[Path], float]
) -> None:
    """Run ``measure`` on both sides in interleaved rounds and print the comparison."""
    this, base = _Side("this"), _Side("baseline")
    for root in (HERE, baseline):
        measure(root)  # a warm-up: bytecode cached, files in the page cache
    _CPU.clear()
    for number in range(rounds):
        # Alternate which side goes first, so that neither always runs on a warmer cache.
        order = ((this, HERE), (base, baseline))
        for side, root in order if number % 2 == 0 else reversed(order):
            side.times.append(measure(root))
    ratios = [a / b for a, b in zip(this.times, base.times)]
    print(
        f"{job}: {this.summary()}; {base.summary()}; this/baseline paired: median "
        f"{statistics.median(ratios):.3f}, best {min(ratios):.3f}, worst {max(ratios):.3f} "
        f"({rounds} rounds)",
        flush=True,
    )
    this_cpu, base_cpu = _CPU.get(HERE, []), _CPU.get(baseline, [])
    if len(this_cpu) == len(base_cpu) == rounds:  # one process per round (not sites)
        cpu_ratios = [a / b for a, b in zip(this_cpu, base_cpu)]
        print(
            f"{job}, CPU seconds of all processes: this: best {min(this_cpu):.3f}, median "
            f"{statistics.median(this_cpu):.3f}; baseline: best {min(base_cpu):.3f}, median "
            f"{statistics.median(base_cpu):.3f}; this/baseline paired: median "
            f"{statistics.median(cpu_ratios):.3f}, best {min(cpu_ratios):.3f}, "
            f"worst {max(cpu_ratios):.3f}",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options, prepare the data, compare each job."""
    parser = argparse.ArgumentParser(prog="bench_compare", description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the other checkout")
    parser.add_argument("--rounds", type=int, default=6, help="rounds per job")
    parser.add_argument("--jobs", nargs="*", choices=JOBS, default=list(JOBS))
    options = parser.parse_args(argv)
    baseline = options.baseline.resolve()
    print(f"this: {HERE}; baseline: {baseline}; cpus: {os.cpu_count()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as folder:
        root = Path(folder)
        if "sites" in options.jobs:
            _compare("sites parse+filter", options.rounds, baseline, _sites)
        if "uptime" in options.jobs:
            inputs = ["-m", "outages_processor", "uptime", "report"]
            inputs += bench_uptime._prepare(root)  # pylint: disable=protected-access
            inputs += ["--output", str(root / "report.csv")]
            _compare("uptime report", options.rounds, baseline, lambda r: _run(r, inputs)[0])
        if "events" in options.jobs:
            records = root / "events.csv"
            bench_events.generate(records, 1_000_000)
            database = root / "events.db"

            def ingest(side_root: Path) -> float:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{database}{suffix}").unlink(missing_ok=True)
                arguments = ["-m", "outages_processor", "events", "ingest", str(records)]
                return _run(side_root, [*arguments, "--db", str(database)])[0]

            _compare("events ingest", options.rounds, baseline, ingest)


if __name__ == "__main__":
    main()
