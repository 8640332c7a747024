"""Benchmark of outage event ingest and queries on 1,000,000 records.

Run with ``python -m outages_processor.tests.bench.bench_events [--records N] [--repeat R]``.
Prints numbers; asserts nothing. The targets it reports against:

* ingest of a 1M-record CSV into a fresh database at most 1.0x the *floor*: the time to
  parse the same CSV and its timestamps and insert the raw rows, in file order, into a
  SQLite table with a primary key in one transaction (plain sqlite3 defaults, as a
  straightforward loader would);
* a query for one controller on the 1M-record database under 10 ms.

The input (10,000 controllers x 3 outage types, reports every 10 minutes +/- 1 minute
during outages, shuffled, 2% duplicates) is generated once, seeded, into ``.bench/``
(ignored by git) and reused by later runs.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

from outages_processor.models.events import OutageRecord
from outages_processor.events import ingest_files
from outages_processor.stores.event_store import EventStore
from outages_processor._time import parse_instant_micros as parse_timestamp

CONTROLLERS = 10_000
TYPES = ("battery", "comms", "led")
SEED = 20240101
DUPLICATE_SHARE = 0.02
START = datetime(2024, 1, 1)
WINDOW_SECONDS = 30 * 86_400
LATENCY_SAMPLES = 200


def generate(path: Path, records: int, seed: int = SEED) -> None:
    """Write ``records`` shuffled reports with duplicates to ``path`` as CSV (seeded).

    Each (controller, type) gets outages of geometric length (mean about 8 reports) that
    report every 600 +/- 60 seconds, until it has its share of distinct reports; then 2%
    of the rows are repeated and everything is shuffled.
    """
    rng = random.Random(seed)
    rows = _distinct_rows(rng, records - int(records * DUPLICATE_SHARE))
    rows.extend(rng.choice(rows) for _ in range(records - len(rows)))
    rng.shuffle(rows)
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["controller_id", "outage_type", "timestamp"])
        writer.writerows(
            (controller, kind, (START + timedelta(seconds=second)).isoformat() + "Z")
            for controller, kind, second in rows
        )
    partial.replace(path)


def _distinct_rows(rng: random.Random, distinct: int) -> list[tuple[str, str, int]]:
    """``distinct`` reports (controller, type, seconds after START), grouped in outages."""
    keys = [(f"ctrl-{number:05d}", kind) for number in range(CONTROLLERS) for kind in TYPES]
    rows: list[tuple[str, str, int]] = []
    for index, (controller, kind) in enumerate(keys):
        want = distinct // len(keys) + (1 if index < distinct % len(keys) else 0)
        seen: set[int] = set()
        while len(seen) < want:
            second = rng.randrange(WINDOW_SECONDS)
            for _ in range(min(want - len(seen), 1 + int(rng.expovariate(1 / 8)))):
                if second in seen:
                    break
                seen.add(second)
                rows.append((controller, kind, second))
                second += 600 + rng.randint(-60, 60)
    return rows


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def floor(csv_path: Path, db_path: Path) -> tuple[float, float]:
    """The reference: parse the CSV and its timestamps, insert the raw rows with a PK.

    Returns:
        (parse seconds, insert seconds, commit and close included).
    """
    _remove_database(db_path)
    began = time.perf_counter()
    with csv_path.open(newline="", encoding="utf-8") as stream:
        reader = csv.reader(stream)
        next(reader)
        rows = [(controller, kind, parse_timestamp(stamp)) for controller, kind, stamp in reader]
    parsed = time.perf_counter()
    connection = sqlite3.connect(db_path, isolation_level=None)
    try:
        connection.execute(
            "CREATE TABLE raw (controller_id TEXT NOT NULL, outage_type TEXT NOT NULL,"
            " timestamp_us INTEGER NOT NULL,"
            " PRIMARY KEY (controller_id, outage_type, timestamp_us))"
        )
        connection.execute("BEGIN")
        # OR IGNORE: the input holds duplicates, as real report streams do.
        connection.executemany("INSERT OR IGNORE INTO raw VALUES (?, ?, ?)", rows)
        connection.execute("COMMIT")
    finally:
        connection.close()
    return parsed - began, time.perf_counter() - parsed


def ingest(csv_path: Path, db_path: Path) -> float:
    """The real thing, as the command line does it: read the CSV, ingest it, close.

    Returns:
        Seconds.
    """
    _remove_database(db_path)
    began = time.perf_counter()
    ingest_files(db_path, [csv_path])
    return time.perf_counter() - began


def _median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


def _latencies(action: Callable[[int], object], count: int) -> list[float]:
    samples = []
    for number in range(count):
        began = time.perf_counter()
        action(number)
        samples.append(time.perf_counter() - began)
    return samples


def latencies(db_path: Path, seed: int = SEED) -> tuple[float, float, float]:
    """Median latencies on the 1M-record database, in milliseconds.

    Returns:
        (one-record ingest, one-controller query, one-hour time-range query).
    """
    rng = random.Random(seed + 1)
    with EventStore(db_path) as store:

        def one_record(number: int) -> None:
            # A new record next to existing reports (a microsecond offset keeps it new).
            offset = timedelta(seconds=rng.randrange(WINDOW_SECONDS), microseconds=number + 1)
            controller = f"ctrl-{rng.randrange(CONTROLLERS):05d}"
            store.ingest([OutageRecord(controller, rng.choice(TYPES), START + offset)])

        def one_controller(_number: int) -> None:
            store.events(controller_id=f"ctrl-{rng.randrange(CONTROLLERS):05d}")

        def one_hour(_number: int) -> None:
            offset = timedelta(seconds=rng.randrange(WINDOW_SECONDS))
            start = START.replace(tzinfo=timezone.utc) + offset
            store.events(start=start, end=start + timedelta(hours=1))

        write = _latencies(one_record, LATENCY_SAMPLES)
        query = _latencies(one_controller, LATENCY_SAMPLES)
        window = _latencies(one_hour, LATENCY_SAMPLES // 10)
    return _median_ms(write), _median_ms(query), _median_ms(window)


def main(argv: Sequence[str] | None = None) -> None:
    """Generate the input if needed, run the floor and the ingest, print the numbers."""
    parser = argparse.ArgumentParser(prog="bench_events", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="rows in the CSV")
    parser.add_argument("--repeat", type=int, default=3, help="runs of floor and ingest")
    parser.add_argument("--dir", type=Path, default=Path(".bench"), help="work folder")
    options = parser.parse_args(list(argv or ()))
    options.dir.mkdir(parents=True, exist_ok=True)
    csv_path = options.dir / f"events-{options.records}-{SEED}.csv"
    if not csv_path.exists():
        began = time.perf_counter()
        generate(csv_path, options.records)
        print(f"generated {csv_path} in {time.perf_counter() - began:.1f} s")
    floor_db, ingest_db = options.dir / "floor.db", options.dir / "events.db"
    floors: list[tuple[float, float]] = []
    ingests: list[float] = []
    for _ in range(options.repeat):  # alternate, so that machine noise hits both alike
        floors.append(floor(csv_path, floor_db))
        ingests.append(ingest(csv_path, ingest_db))
    _remove_database(floor_db)
    with EventStore(ingest_db) as store:
        counts = store.counts()
    print(
        f"events benchmark: {options.records:,} CSV records, {counts['records']:,} distinct, "
        f"{counts['series']:,} controller/type pairs, {counts['events']:,} events; "
        f"median of {options.repeat} runs (cpus: {os.cpu_count()})"
    )
    _print_ingest(options.records, floors, ingests)
    _print_latencies(*latencies(ingest_db))
    _remove_database(ingest_db)  # the generated CSV stays, to be reused by the next run


def _print_ingest(records: int, floors: list[tuple[float, float]], ingests: list[float]) -> None:
    floor_total = statistics.median(parse + insert for parse, insert in floors)
    ingest_total = statistics.median(ingests)
    print(
        f"floor  (parse CSV + timestamps, INSERT raw rows into a PK table, 1 transaction): "
        f"{floor_total:6.2f} s  (parse {statistics.median(p for p, _ in floors):.2f} s, "
        f"insert {statistics.median(i for _, i in floors):.2f} s; runs "
        f"{', '.join(f'{p + i:.2f}' for p, i in floors)})"
    )
    print(
        f"ingest (ingest_files: read_records + EventStore.ingest, fresh database):      "
        f"{ingest_total:6.2f} s  (runs {', '.join(f'{t:.2f}' for t in ingests)})"
    )
    print(f"ratio ingest / floor: {ingest_total / floor_total:.2f}  (target <= 1.00)")
    print(f"ingest throughput: {records / ingest_total:,.0f} records/s")


def _print_latencies(write_ms: float, query_ms: float, window_ms: float) -> None:
    print(f"single-record ingest latency, median of {LATENCY_SAMPLES}: {write_ms:.2f} ms")
    print(
        f"one-controller query latency, median of {LATENCY_SAMPLES}: {query_ms:.2f} ms  "
        "(target < 10 ms)"
    )
    print(
        f"one-hour time-range query latency, median of {LATENCY_SAMPLES // 10}: "
        f"{window_ms:.2f} ms"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
