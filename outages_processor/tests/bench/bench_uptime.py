"""Store uptime report benchmark at the scale of a real chain.

A seeded generator writes a status file like the real one: 14,092 stores, about 1.83
million polls over 7.75 days, roughly one poll per store per hour with gaps, timestamps
``YYYY-MM-DD HH:MM:SS.ffffff UTC`` with the fraction's trailing zeros dropped, rows in no
particular order; the business hours and time zones are the real 2023 ones (bundled in
``data/``). Then, in rounds, it times:

* the floor: a loop over ``csv.reader`` rows of the status file calling
  ``datetime.fromisoformat`` on each timestamp (less its `` UTC`` suffix), storing nothing,
  timed in a fresh interpreter (the loop alone, not the interpreter's start-up);
* the full command line with default settings, CSV in and CSV out, in a fresh interpreter
  (``python -m outages_processor uptime report ...``), so start-up counts;
* the same with ``--jobs 1``;

and prints the wall times (median and best of the rounds), their ratio to the floor, the
peak memory of all the command's processes together, and whether both runs wrote the same
CSV. Memory is sampled every 10 ms from ``/proc``, in separate runs (sampling takes CPU):
the sum over the command's process and its children of the proportional set size (PSS,
which shares each shared page among the processes that map it, so pages a forked worker
shares with its parent count once), with the plain sum of resident set sizes beside it.

Run: ``python -m outages_processor.tests.bench.bench_uptime`` (or ``tox -e bench``).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import importlib.util
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
STORES = 14_092
HOURS = 186  # 7.75 days
KEEP = 0.70  # share of hourly slots with a poll: about 1.83 million polls
ROUNDS = 5
START = datetime(2023, 1, 18, tzinfo=timezone.utc)


def generate_status(path: Path, seed: int = 2023) -> int:
    """Write a Loop-scale status CSV to ``path``; return the number of polls.

    Each store polls in about 70% of the hours, at a random instant within the hour; its
    status follows a sticky random walk around its own share of inactive polls (on
    average 10%), so outages come in runs and most stores have a few.
    """
    rng = random.Random(seed)
    hours = [(START + timedelta(hours=hour)).strftime("%Y-%m-%d %H:") for hour in range(HOURS)]
    lines: list[str] = []
    for store in _store_ids(rng):
        lines.extend(_store_lines(rng, store, hours))
    rng.shuffle(lines)
    with open(path, "w", encoding="utf-8", newline="") as stream:
        stream.write("store_id,status,timestamp_utc\n")
        stream.writelines(lines)
    return len(lines)


def _store_lines(rng: random.Random, store: str, hours: list[str]) -> list[str]:
    """One store's status lines: a poll in about 70% of the hours, outages in runs."""
    inactive_share = rng.betavariate(1.0, 9.0)
    inactive = rng.random() < inactive_share
    starts = (f"{store},active,", f"{store},inactive,")
    lines = []
    for hour in hours:
        if rng.random() >= KEEP:
            continue
        if rng.random() < 0.3:
            inactive = rng.random() < inactive_share
        seconds, fraction = divmod(rng.randrange(3_600_000_000), 1_000_000)
        stamp = f"{hour}{seconds // 60:02d}:{seconds % 60:02d}"
        if fraction:
            stamp += f".{fraction:06d}".rstrip("0")
        lines.append(f"{starts[inactive]}{stamp} UTC\n")
    return lines


def _store_ids(rng: random.Random) -> list[str]:
    """The stores of the real hours and time zones files, topped up with new 19-digit ids."""
    known: set[str] = set()
    with gzip.open(DATA / "menu_hours_2023.csv.gz", "rt", encoding="utf-8") as stream:
        known.update(row["store_id"] for row in csv.DictReader(stream))
    with open(DATA / "timezones_2023.csv", encoding="utf-8") as stream:
        known.update(row["store_id"] for row in csv.DictReader(stream))
    stores = sorted(known)[:STORES]
    while len(stores) < STORES:
        candidate = str(rng.randrange(10**18, 10**19))
        if candidate not in known:
            known.add(candidate)
            stores.append(candidate)
    return stores


_FLOOR = """
import csv, sys, time
from datetime import datetime
parse = datetime.fromisoformat
started = time.perf_counter()
with open(sys.argv[1], encoding="utf-8", newline="") as stream:
    rows = csv.reader(stream)
    next(rows)
    for row in rows:
        parse(row[2][:-4])
print(time.perf_counter() - started)
"""


def floor(path: Path) -> float:
    """Seconds to read every row with csv.reader and parse each timestamp, storing nothing.

    Timed in a fresh interpreter, as the report is, but without the start-up: only the loop.
    """
    result = subprocess.run(
        [sys.executable, "-c", _FLOOR, str(path)], capture_output=True, text=True, check=True
    )
    return float(result.stdout)


class TreeMemory:
    """Samples the memory of a process and all its descendants until stopped."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_pss = 0
        self.peak_rss = 0
        self.peak_processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree(self.pid)
            pss = rss = 0
            for pid in pids:
                found = _rollup(pid)
                pss += found.get("Pss", 0)
                rss += found.get("Rss", 0)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_processes = max(self.peak_processes, len(pids))
            self._stop.wait(self.interval)


def _tree(root: int) -> list[int]:
    found = [root]
    index = 0
    while index < len(found):
        pid = found[index]
        index += 1
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
        except OSError:
            continue
        found.extend(int(child) for child in children.split())
    return found


def _rollup(pid: int) -> dict[str, int]:
    """Rss and Pss of one process, in kB (empty when it is gone)."""
    values: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii")
    except OSError:
        return values
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            values[name] = int(rest.split()[0])
    return values


def run_cli(arguments: list[str], *, sample_memory: bool = False) -> tuple[float, TreeMemory]:
    """Run the command line in a fresh interpreter; return its wall time and memory.

    Sampling memory reads ``/proc`` every few milliseconds, which takes CPU from the run:
    time and memory are measured in separate runs.
    """
    if importlib.util.find_spec("outages_processor.__main__") is not None:
        command = [sys.executable, "-m", "outages_processor", *arguments]
    else:  # pragma: no cover - a checkout without the package's __main__
        command = [sys.executable, "-c", "from outages_processor.scripts.main import run; run()"]
        command += arguments
    started = time.perf_counter()
    with subprocess.Popen(command, stderr=subprocess.PIPE) as process:
        memory = TreeMemory(process.pid)
        with memory if sample_memory else contextlib.nullcontext(memory):
            _, errors = process.communicate()
    elapsed = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{errors.decode()}")
    return elapsed, memory


def _prepare(root: Path) -> list[str]:
    """Write the three inputs into ``root``; return the command line's input options."""
    status, hours, zones = root / "status.csv", root / "hours.csv", root / "timezones.csv"
    started = time.perf_counter()
    polls = generate_status(status)
    with gzip.open(DATA / "menu_hours_2023.csv.gz", "rb") as source, open(hours, "wb") as target:
        shutil.copyfileobj(source, target)
    shutil.copyfile(DATA / "timezones_2023.csv", zones)
    print(
        f"generated {polls:,} polls of {STORES:,} stores "
        f"({status.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return ["--status", str(status), "--hours", str(hours), "--timezones", str(zones)]


class _Runs:
    """Wall times and peak memory of one way of running, round after round."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.times: list[float] = []
        self.ratios: list[float] = []
        self.memory: TreeMemory | None = None

    def add(self, elapsed: float, floor_time: float) -> None:
        """Record one round (ratios pair each run with the floor of its own round)."""
        self.times.append(elapsed)
        self.ratios.append(elapsed / floor_time)

    def line(self) -> str:
        """The numbers, as one line."""
        text = (
            f"{self.name:8} median {statistics.median(self.times):5.2f} s, "
            f"best {min(self.times):5.2f} s"
        )
        if self.memory is not None:
            text += (
                f"; x floor: median {statistics.median(self.ratios):.2f}, "
                f"best {min(self.ratios):.2f}; peak memory {self.memory.peak_pss / 1024:.0f} MB "
                f"PSS ({self.memory.peak_rss / 1024:.0f} MB RSS summed over "
                f"{self.memory.peak_processes} processes)"
            )
        return text


def main() -> None:
    """Generate the data, time the floor and the report in rounds, and print the numbers."""
    with tempfile.TemporaryDirectory(prefix="bench-uptime-") as folder:
        root = Path(folder)
        inputs = ["uptime", "report", *_prepare(root)]
        status = root / "status.csv"
        runs = {name: _Runs(name) for name in ("floor", "default", "jobs 1")}
        for _ in range(ROUNDS):
            floor_time = floor(status)
            runs["floor"].add(floor_time, floor_time)
            for name, extra in (("default", []), ("jobs 1", ["--jobs", "1"])):
                elapsed, _ = run_cli([*inputs, "--output", str(root / f"{name}.csv"), *extra])
                runs[name].add(elapsed, floor_time)
        for name, extra in (("default", []), ("jobs 1", ["--jobs", "1"])):
            _, runs[name].memory = run_cli(
                [*inputs, "--output", str(root / "memory.csv"), *extra], sample_memory=True
            )
        for run in runs.values():
            print(run.line(), flush=True)
        same = (root / "default.csv").read_bytes() == (root / "jobs 1.csv").read_bytes()
        print(f"default and --jobs 1 wrote the same CSV: {'yes' if same else 'NO'}", flush=True)


if __name__ == "__main__":
    main()
