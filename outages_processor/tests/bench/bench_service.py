"""Benchmark of the HTTP service under load: ``process_outages serve --workers 2``.

A real server runs as a subprocess on 127.0.0.1 (a free port), its databases in a temporary
folder; clients in this process drive it with httpx. Prints numbers; asserts nothing. It
measures, each beside its target:

* records/s ingested through ``POST /outages`` in batches of 100 from 4 concurrent clients
  (200,000 records into a fresh database), beside ``process_outages events ingest`` of the
  same records as a CSV file (a fresh interpreter, start-up included, and the library's
  :func:`~outages_processor.events.ingest_files` in this process, start-up excluded), in
  interleaved rounds; target: the service at least 0.30x the command line. Then batches of
  1 (5,000 records, 4 clients), beside the command line on the same records. The CPU time
  of the server's processes and of the clients (this process) is printed beside each run:
  the clients share the machine's cores with the server. Each round also posts the same
  batches to a server whose store stores nothing (:mod:`null_store_serve`: what HTTP and
  parsing cost), and after the rounds the store's time per record is split into its phases
  in-process; :mod:`bench_ingest_bounds` prints the bounds these set on this machine;
* p50/p99 latency of ``GET /events?controller_id=X`` (one controller), 500 requests one
  after the other, on a database of 1,000,000 records ingested by the command line first;
  target: p99 < 20 ms;
* the time from ``POST /trigger_report`` to the report in hand (``GET /get_report`` every
  20 ms, as CSV) on the 1.83M-poll data set of :mod:`bench_uptime` loaded into the status
  store with ``process_outages uptime ingest`` (timed too), beside ``process_outages uptime
  report --db`` on the same store, in interleaved rounds; target: at most 1.3x; and whether
  both wrote the same CSV.

The inputs are seeded: records by :func:`bench_events.generate`, polls by
:func:`bench_uptime._prepare` with the real 2023 business hours and time zones.

Run: ``python -m outages_processor.tests.bench service [OPTIONS]`` (or ``tox -e bench --
service [OPTIONS]``); the options (``--records``, ``--single``, ``--big``, ``--rounds``, ...;
``--help`` lists them) shrink it for a quick look.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import attrs
import httpx

from outages_processor.events import ingest_files
from outages_processor.tests.bench import bench_events, bench_uptime
from outages_processor.tests.bench.bench_ingest_bounds import (
    print_bounds,
    print_phases,
    store_phases,
)
from outages_processor.tests.bench.bench_uptime import _tree

CLIENTS = 4
BATCH = 100
WORKERS = 2
POLL_SECONDS = 0.02
START_TIMEOUT = 60.0
_TICK = os.sysconf("SC_CLK_TCK")


@attrs.frozen
class Options:
    """The sizes of one run of the benchmark (the defaults are the issue's)."""

    records: int = 200_000
    single: int = 5_000
    big: int = 1_000_000
    rounds: int = 3
    report_rounds: int = 3
    queries: int = 500
    uptime: bool = True
    cache: Path = Path(".bench")


def _command(*arguments: str, module: str = "outages_processor") -> list[str]:
    return [sys.executable, "-m", module, *arguments]


def _run(*arguments: str) -> float:
    """Run the command line in a fresh interpreter; return its wall time in seconds."""
    began = time.perf_counter()
    result = subprocess.run(_command(*arguments), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - began
    if result.returncode:
        raise SystemExit(f"process_outages {' '.join(arguments)} failed:\n{result.stderr}")
    return elapsed


def _cpu_seconds(root: int) -> float:
    """User + system CPU seconds of a process and its living descendants, from ``/proc``."""
    total = 0
    for pid in _tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1]
        except OSError:
            continue
        parts = fields.split()
        total += int(parts[11]) + int(parts[12])  # utime, stime (fields 14, 15)
    return total / _TICK


class Server:
    """``process_outages serve --workers 2`` in a subprocess on a free port of 127.0.0.1."""

    def __init__(
        self, folder: Path, events_db: Path, uptime_db: Path, module: str = "outages_processor"
    ) -> None:
        self.folder = folder
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log = folder / f"server-{time.monotonic_ns()}.log"
        command = _command(
            "serve", "--port", str(port), "--workers", str(WORKERS),
            "--events-db", str(events_db), "--uptime-db", str(uptime_db),
            "--reports-dir", str(folder / "reports"), module=module,
        )  # fmt: skip
        with open(self.log, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                command, stdout=log, stderr=log, env={**os.environ, "NO_COLOR": "1"}
            )

    def wait_until_up(self) -> None:
        """Return once every worker answers ``/healthz`` (a few in a row)."""
        deadline = time.monotonic() + START_TIMEOUT
        answered = 0
        while answered < 2 * WORKERS:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start:\n{self.log.read_text('utf-8')}")
            try:
                answered += httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200
            except httpx.TransportError:
                answered = 0
                time.sleep(0.05)

    def cpu_seconds(self) -> float:
        """CPU seconds used so far by the server's processes."""
        return _cpu_seconds(self.process.pid)

    def stop(self) -> None:
        """Stop the server (SIGTERM) and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    import socket  # pylint: disable=import-outside-toplevel

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(
    folder: Path, events_db: Path, uptime_db: Path, module: str = "outages_processor"
) -> Iterator[Server]:
    """A running server over these databases until the block ends (``module``: its main)."""
    server = Server(folder, events_db, uptime_db, module)
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def read_records(path: Path) -> list[dict[str, str]]:
    """The records of a generated CSV as the JSON objects ``POST /outages`` takes."""
    with path.open(newline="", encoding="utf-8") as stream:
        return [
            {"controller_id": row[0], "outage_type": row[1], "timestamp": row[2]}
            for row in list(csv.reader(stream))[1:]
        ]


def bodies(records: list[dict[str, str]], size: int) -> list[bytes]:
    """The records as JSON request bodies of ``size`` records (one object when 1)."""
    if size == 1:
        return [json.dumps(record).encode() for record in records]
    return [json.dumps(records[at : at + size]).encode() for at in range(0, len(records), size)]


@attrs.frozen
class Load:
    """One run of concurrent posting: wall seconds and CPU seconds of both sides."""

    records: int
    seconds: float
    server_cpu: float
    client_cpu: float

    @property
    def rate(self) -> float:
        """Records per second."""
        return self.records / self.seconds


def post_all(server: Server, payloads: list[bytes], records: int) -> Load:
    """POST every body to ``/outages`` from :data:`CLIENTS` threads; time it all."""
    failures: list[str] = []

    def client(share: list[bytes]) -> None:
        with httpx.Client(base_url=server.url, timeout=120.0) as session:
            headers = {"content-type": "application/json"}
            for payload in share:
                answer = session.post("/outages", content=payload, headers=headers)
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code} {answer.text[:200]}")
                    return

    threads = [
        threading.Thread(target=client, args=(payloads[number::CLIENTS],))
        for number in range(CLIENTS)
    ]
    server_before, client_before = server.cpu_seconds(), time.process_time()
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    load = Load(
        records,
        seconds,
        server.cpu_seconds() - server_before,
        time.process_time() - client_before,
    )
    if failures:
        raise SystemExit(f"POST /outages failed: {failures[0]}")
    return load


def _input(cache: Path, records: int, seed: int) -> Path:
    """A generated records CSV in the cache folder (made once, then reused)."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"events-{records}-{seed}.csv"
    if not path.exists():
        began = time.perf_counter()
        bench_events.generate(path, records, seed)
        print(f"generated {path} in {time.perf_counter() - began:.1f} s", flush=True)
    return path


def _describe(load: Load) -> str:
    cores = os.cpu_count() or 1
    return (
        f"{load.rate:9,.0f} records/s ({load.seconds:5.2f} s; CPU: server "
        f"{load.server_cpu / load.seconds / cores:4.0%}, clients "
        f"{load.client_cpu / load.seconds / cores:4.0%} of {cores} cores)"
    )


@attrs.frozen
class _Inputs:
    """One size of the ingest benchmark: its CSV file, its request bodies, its records."""

    csv_path: Path
    payloads: list[bytes]
    records: int
    batch: int


def ingestion(root: Path, options: Options) -> None:
    """Rounds of: the service (batches of 100, then of 1) and the command line, alternating."""
    many_csv = _input(options.cache, options.records, bench_events.SEED)
    single_csv = _input(options.cache, options.single, bench_events.SEED + 1)
    many = _Inputs(many_csv, bodies(read_records(many_csv), BATCH), options.records, BATCH)
    single = _Inputs(single_csv, bodies(read_records(single_csv), 1), options.single, 1)
    runs: dict[str, list[float]] = {name: [] for name in ("service", "cli", "library")}
    singles: dict[str, list[float]] = {"service": [], "cli": []}
    nulls: list[Load] = []
    for number in range(options.rounds):
        _ingest_round(root, number, (many, runs), (single, singles))
        nulls.append(_null_store_load(root, many))
        print(
            f"round {number + 1}: CLI events ingest: {runs['cli'][-1]:9,.0f} records/s "
            f"({options.records:,}), {singles['cli'][-1]:9,.0f} records/s ({options.single:,}); "
            f"ingest_files in-process: {runs['library'][-1]:9,.0f} records/s; "
            f"POST /outages x{BATCH} to a store that stores nothing: {_describe(nulls[-1])}",
            flush=True,
        )
    _print_ingestion(options, runs, singles)
    phases = store_phases(many.payloads, options.records, CLIENTS)
    print_phases(phases, CLIENTS, BATCH)
    null = max(nulls, key=lambda load: load.rate)
    cpu_us = (null.server_cpu + null.client_cpu) * 1e6 / null.records
    service, cli = (statistics.median(runs[name]) for name in ("service", "cli"))
    print_bounds(cpu_us, null.rate, phases, service, cli)


def _null_store_load(root: Path, inputs: _Inputs) -> Load:
    """The POSTs of ``inputs`` against a server whose store stores nothing (HTTP alone)."""
    database = root / "null.db"
    _remove_database(database)
    module = "outages_processor.tests.bench.null_store_serve"
    with serving(root, database, root / "null-uptime.db", module) as server:
        load = post_all(server, inputs.payloads, inputs.records)
    _remove_database(database)
    return load


def _ingest_round(root: Path, number: int, *sizes: tuple[_Inputs, dict[str, list[float]]]) -> None:
    """One round: each size through the service (a fresh database each), then the CLI."""
    database = root / "ingest.db"
    for inputs, table in sizes:
        _remove_database(database)
        with serving(root, database, root / "ingest-uptime.db") as server:
            load = post_all(server, inputs.payloads, inputs.records)
        table["service"].append(load.rate)
        name = f"batches of {inputs.batch}"
        print(f"round {number + 1}: POST /outages, {name:14}: {_describe(load)}", flush=True)
    for inputs, table in sizes:
        _remove_database(database)
        seconds = _run("events", "ingest", "--db", str(database), str(inputs.csv_path))
        table["cli"].append(inputs.records / seconds)
    inputs, table = sizes[0]
    _remove_database(database)
    began = time.perf_counter()
    ingest_files(database, [inputs.csv_path])
    table["library"].append(inputs.records / (time.perf_counter() - began))
    _remove_database(database)


def _print_ingestion(
    options: Options, runs: dict[str, list[float]], singles: dict[str, list[float]]
) -> None:
    service, cli, library = (
        statistics.median(runs[name]) for name in ("service", "cli", "library")
    )
    paired = statistics.median(s / c for s, c in zip(runs["service"], runs["cli"]))
    print(
        f"ingest, {options.records:,} records, median of {options.rounds} rounds: "
        f"POST /outages x{BATCH} from {CLIENTS} clients {service:,.0f} records/s; "
        f"CLI events ingest {cli:,.0f} records/s (start-up included); "
        f"ingest_files in-process {library:,.0f} records/s"
    )
    print(
        f"ratio service / CLI: {service / cli:.2f} (paired median {paired:.2f})  "
        f"(target >= 0.30); service / in-process library: {service / library:.2f}"
    )
    single_service, single_cli = (statistics.median(singles[name]) for name in ("service", "cli"))
    print(
        f"ingest, {options.single:,} records in batches of 1 from {CLIENTS} clients: "
        f"{single_service:,.0f} records/s; CLI on the same records {single_cli:,.0f} records/s "
        f"(start-up included; ratio {single_service / single_cli:.2f})",
        flush=True,
    )


def _percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def query_latency(server: Server, options: Options) -> None:
    """p50/p99 of ``GET /events`` for one (random) controller, one request at a time."""
    rng = random.Random(bench_events.SEED + 2)
    samples: list[float] = []
    with httpx.Client(base_url=server.url, timeout=30.0) as session:
        session.get("/events", params={"controller_id": "ctrl-00000"}).raise_for_status()
        for _ in range(options.queries):
            controller = f"ctrl-{rng.randrange(bench_events.CONTROLLERS):05d}"
            began = time.perf_counter()
            answer = session.get("/events", params={"controller_id": controller})
            samples.append(time.perf_counter() - began)
            answer.raise_for_status()
    print(
        f"GET /events?controller_id=X on {options.big:,} records, {options.queries} requests "
        f"in sequence: p50 {_percentile(samples, 0.50) * 1000:.2f} ms, "
        f"p99 {_percentile(samples, 0.99) * 1000:.2f} ms  (target p99 < 20 ms); "
        f"max {max(samples) * 1000:.2f} ms",
        flush=True,
    )


def service_report(server: Server, target: Path) -> float:
    """Seconds from ``POST /trigger_report`` to the CSV in hand; writes the CSV to ``target``."""
    with httpx.Client(base_url=server.url, timeout=120.0) as session:
        began = time.perf_counter()
        answer = session.post("/trigger_report")
        answer.raise_for_status()
        report_id = answer.json()["report_id"]
        while True:
            answer = session.get("/get_report", params={"report_id": report_id, "format": "csv"})
            answer.raise_for_status()
            if answer.headers["content-type"].startswith("text/csv"):
                break
            if answer.json()["status"] != "Running":
                raise SystemExit(f"the report did not complete: {answer.text[:500]}")
            time.sleep(POLL_SECONDS)
        elapsed = time.perf_counter() - began
    target.write_bytes(answer.content)
    return elapsed


def reports(root: Path, server: Server, options: Options, store: Path) -> None:
    """Rounds of: the service's report, then the command line's, on the same store."""
    times: dict[str, list[float]] = {"service": [], "cli": []}
    steps: dict[str, Callable[[], float]] = {
        "service": lambda: service_report(server, root / "service.csv"),
        "cli": lambda: _run(
            "uptime", "report", "--db", str(store), "--quiet", "--output", str(root / "cli.csv")
        ),
    }
    for number in range(options.report_rounds):
        for name, step in steps.items():
            times[name].append(step())
        print(
            f"round {number + 1}: trigger to Complete {times['service'][-1]:.2f} s, "
            f"CLI uptime report --db {times['cli'][-1]:.2f} s",
            flush=True,
        )
    paired = statistics.median(s / c for s, c in zip(times["service"], times["cli"]))
    median = {name: statistics.median(values) for name, values in times.items()}
    for name, label in (("service", "POST /trigger_report to Complete"),
                        ("cli", "CLI uptime report --db (start-up included)")):  # fmt: skip
        print(
            f"{label}: median {median[name]:.2f} s, "
            f"best {min(times[name]):.2f} s"
        )
    print(
        f"ratio service / CLI: median {median['service'] / median['cli']:.2f}, "
        f"best {min(times['service']) / min(times['cli']):.2f}, paired median {paired:.2f}  "
        f"(target <= 1.30)"
    )
    same = (root / "service.csv").read_bytes() == (root / "cli.csv").read_bytes()
    print(f"the service's report CSV equals the CLI's: {'yes' if same else 'NO'}", flush=True)


def big_database(root: Path, options: Options) -> tuple[Path, Path]:
    """The 1M-record event database and the 1.83M-poll status store, loaded by the CLI."""
    events_db, uptime_db = root / "events.db", root / "uptime.db"
    seconds = _run("events", "ingest", "--db", str(events_db),
                   str(_input(options.cache, options.big, bench_events.SEED)))  # fmt: skip
    print(f"CLI events ingest of {options.big:,} records: {seconds:.1f} s", flush=True)
    if options.uptime:
        inputs = bench_uptime._prepare(root)  # pylint: disable=protected-access
        seconds = _run("uptime", "ingest", *inputs, "--db", str(uptime_db))
        print(f"CLI uptime ingest of the status, hours and time zones: {seconds:.1f} s", flush=True)
    return events_db, uptime_db


def run(options: Options) -> None:
    """The whole benchmark with these sizes, in a temporary folder."""
    print(
        f"service benchmark: process_outages serve --workers {WORKERS} on 127.0.0.1, "
        f"{CLIENTS} client threads in this process (cpus: {os.cpu_count()}; load average "
        f"{os.getloadavg()[0]:.2f}: other processes share the machine)",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-service-") as folder:
        root = Path(folder)
        ingestion(root, options)
        events_db, uptime_db = big_database(root, options)
        with serving(root, events_db, uptime_db) as server:
            query_latency(server, options)
            if options.uptime:
                reports(root, server, options, uptime_db)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the sizes (the issue's by default) and run the benchmark."""
    defaults = Options()
    parser = argparse.ArgumentParser(prog="bench_service", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=defaults.records,
                        help="records posted in batches of 100")  # fmt: skip
    parser.add_argument("--single", type=int, default=defaults.single,
                        help="records posted one per request")  # fmt: skip
    parser.add_argument("--big", type=int, default=defaults.big,
                        help="records in the database GET /events reads")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=defaults.rounds, help="ingest rounds")
    parser.add_argument("--report-rounds", type=int, default=defaults.report_rounds,
                        help="report rounds")  # fmt: skip
    parser.add_argument("--queries", type=int, default=defaults.queries,
                        help="GET /events requests")  # fmt: skip
    parser.add_argument("--no-uptime", dest="uptime", action="store_false",
                        help="skip the status store and the reports")  # fmt: skip
    parser.add_argument("--dir", type=Path, default=defaults.cache,
                        help="where generated records are kept between runs")  # fmt: skip
    parsed = parser.parse_args(list(argv or ()))
    run(
        Options(
            records=parsed.records,
            single=parsed.single,
            big=parsed.big,
            rounds=parsed.rounds,
            report_rounds=parsed.report_rounds,
            queries=parsed.queries,
            uptime=parsed.uptime,
            cache=parsed.dir,
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
