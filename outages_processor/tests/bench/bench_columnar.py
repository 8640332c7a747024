"""The store uptime report's engines side by side with the stdlib floor and DuckDB SQL.

On the seeded Loop-scale data set of :mod:`bench_uptime` (about 1.83 million polls of 14,092
stores, the real 2023 business hours and time zones; ``--polls N`` scales the number of
stores, the extra ones copying the hours and zone of a real one), in interleaved rounds
(floor, duckdb, python, columnar, floor, duckdb, ...), each contender in a fresh interpreter:

* ``floor``: a loop over ``csv.reader`` rows of the status file calling
  ``datetime.fromisoformat`` on each timestamp less its `` UTC`` suffix, storing nothing
  (the loop alone is timed, not the interpreter's start-up: the stricter yardstick);
* ``duckdb``: :func:`report_sql`, the same report as one SQL statement over the same CSV
  files (window functions for the interpolation, a join against the business intervals of
  the week's local dates), written to a CSV file; the whole process is timed;
* ``python`` and ``columnar``: ``python -m outages_processor uptime report`` with
  ``--engine python`` / ``--engine columnar`` (without ``--engine`` on this checkout: the
  default command as ``python``, and ``columnar`` is "not available"); the whole process.

It prints for each the best and median wall time, the paired ratios (this run / the floor,
this run / DuckDB, of the same round; median and best), the CPU time of the timed runs
(``os.wait4``: the process and the children it waited for) over the floor's loop, with the
wall time that much CPU cannot beat on this machine's cores (CPU / cores), and two peak
memories:

* ``PSS``: the sum of the proportional set sizes of the contender's whole process tree,
  sampled every 10 ms from ``/proc`` in a separate run (sampling takes CPU), as
  :class:`bench_uptime.TreeMemory` does (RSS summed beside it);
* ``maxrss``: ``ru_maxrss`` of the timed runs, from ``os.wait4`` on the contender's process:
  the peak RSS of its largest single process (itself or a child it waited for), not a sum.

Before the rounds, one untimed run of each writes its report and checks it against the
python engine's, byte for byte (``same: yes/no``, with the first differing rows).

Generated inputs are kept in ``--dir`` (default ``.bench``) and reused.

Run: ``python -m outages_processor.tests.bench columnar [--polls N] [--rounds R]`` (or
``tox -e bench -- columnar ...``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import attrs

from outages_processor.tests.bench import bench_uptime

DEFAULT_POLLS = 1_830_000
"""The data set of :mod:`bench_uptime` (its own generator, byte for byte)."""
POLLS_PER_STORE = bench_uptime.HOURS * bench_uptime.KEEP
SEED = 2023
CONTENDERS = ("floor", "duckdb", "python", "columnar")
DEFAULT_ZONE = "America/Chicago"
_BUCKET_LINES = 500_000  # lines per bucket of the two-pass shuffle of a scaled data set


@attrs.frozen
class Inputs:
    """The three input files of one data set."""

    status: Path
    hours: Path
    zones: Path

    def options(self) -> list[str]:
        """The command line's input options."""
        return [
            "--status", str(self.status), "--hours", str(self.hours),
            "--timezones", str(self.zones),
        ]  # fmt: skip


# ---------------------------------------------------------------------------------------
# The data set


def data_set(cache: Path, polls: int) -> Inputs:
    """The data set of about ``polls`` polls in ``cache``, generated on first use.

    Generated in a temporary folder beside it and renamed, so an interrupted generation is
    never reused.
    """
    folder = cache / f"columnar-{polls}-{SEED}"
    inputs = Inputs(folder / "status.csv", folder / "hours.csv", folder / "timezones.csv")
    if folder.is_dir():
        return inputs
    cache.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{folder.name}.", dir=cache))
    try:
        if polls == DEFAULT_POLLS:
            bench_uptime._prepare(scratch)  # pylint: disable=protected-access
        else:
            started = time.perf_counter()
            made = generate_scaled(scratch, polls)
            print(
                f"generated {made:,} polls of {store_count(polls):,} stores in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
        scratch.rename(folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return inputs


def store_count(polls: int) -> int:
    """The number of stores of a data set of about ``polls`` polls (the density of the real)."""
    return max(1, round(polls / POLLS_PER_STORE))


def generate_scaled(folder: Path, polls: int, seed: int = SEED) -> int:
    """Write a status file of about ``polls`` polls, its hours and time zones; return polls.

    The first stores are :mod:`bench_uptime`'s; each further one has a new id and copies the
    hours rows and time zone of one of those (in turn), so the mix of schedules stays the
    real one. The status lines go to buckets at random and each bucket is shuffled in
    memory (a two-pass shuffle: memory is one bucket, not the whole file).
    """
    rng = random.Random(seed)
    base = bench_uptime._store_ids(rng)  # pylint: disable=protected-access
    stores = with_copies(rng, base, store_count(polls))
    write_schedules(folder, stores)
    with tempfile.TemporaryDirectory(dir=folder) as spill:
        paths = [Path(spill) / f"{index}.txt" for index in range(max(1, polls // _BUCKET_LINES))]
        made = _spread(rng, [store for store, _ in stores], paths)
        with open(folder / "status.csv", "w", encoding="utf-8", newline="") as target:
            target.write("store_id,status,timestamp_utc\n")
            for path in paths:
                lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
                rng.shuffle(lines)
                target.writelines(lines)
    return made


def _spread(rng: random.Random, stores: list[str], paths: list[Path]) -> int:
    """Write the stores' status lines to the bucket files at random; return their number."""
    hours = [
        (bench_uptime.START + timedelta(hours=hour)).strftime("%Y-%m-%d %H:")
        for hour in range(bench_uptime.HOURS)
    ]
    made = 0
    with contextlib.ExitStack() as stack:
        streams = [
            stack.enter_context(open(path, "w", encoding="utf-8", newline="")) for path in paths
        ]
        for store in stores:
            lines = bench_uptime._store_lines(rng, store, hours)  # pylint: disable=protected-access
            made += len(lines)
            for line in lines:
                streams[rng.randrange(len(streams))].write(line)
    return made


def with_copies(rng: random.Random, base: list[str], count: int) -> list[tuple[str, str]]:
    """``count`` stores as ``(id, template)``: the base ones, then new ids copying them."""
    stores = [(store, store) for store in base[:count]]
    taken = set(base)
    while len(stores) < count:
        candidate = str(rng.randrange(10**18, 10**19))
        if candidate not in taken:
            taken.add(candidate)
            stores.append((candidate, base[len(stores) % len(base)]))
    return stores


def write_schedules(folder: Path, stores: list[tuple[str, str]]) -> None:
    """Write the hours and time zones of ``stores``: each one's template's real rows."""
    copies: dict[str, list[str]] = {}
    for store, template in stores:
        copies.setdefault(template, []).append(store)
    for source, target in (
        (bench_uptime.DATA / "menu_hours_2023.csv.gz", folder / "hours.csv"),
        (bench_uptime.DATA / "timezones_2023.csv", folder / "timezones.csv"),
    ):
        raw = source.read_bytes()
        text = (gzip.decompress(raw) if source.suffix == ".gz" else raw).decode("utf-8")
        with open(target, "w", encoding="utf-8", newline="") as rows_out:
            reader = csv.reader(text.splitlines())
            writer = csv.writer(rows_out, lineterminator="\n")
            writer.writerow(next(reader))
            for row in reader:
                for store in copies.get(row[0], ()):
                    writer.writerow([store, *row[1:]])


# ---------------------------------------------------------------------------------------
# The DuckDB query


def _literal(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def report_sql(
    status: Sequence[str | os.PathLike[str]],
    hours: str | os.PathLike[str],
    zones: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    day_column: str = "dayOfWeek",
    offsets: bool = False,
) -> list[str]:
    """The store uptime report (defaults: ``now`` = the latest poll, ``nearest``) as DuckDB SQL.

    The statements write the report CSV, sorted by store id, values with 2 decimals, as the
    library does. The semantics are DESIGN.md's, as :mod:`outages_processor.core.uptime` and
    :mod:`outages_processor.core.business_hours` implement them:

    * two polls of a store at one instant are one poll, ``inactive`` if either is;
    * ``nearest``: each poll's status holds from the midpoint with the store's previous poll
      to the midpoint with its next one (the first reaches back and the last forward
      without end); polls outside the windows count;
    * business time: each slot on each of its weekdays from two local days before the
      week's first one to now's, local wall-clock times made instants as ``zoneinfo`` does
      with ``fold=0``, clipped to the week and merged per store; a store without hours rows
      is open 24x7, one without a time zone is in America/Chicago;
    * down time of a window: the business time in it covered by inactive spans, clamped to
      ``[0, business time]``; uptime: business time less down time.

    Timestamps are read as DuckDB's ``TIMESTAMP``, which takes ``... UTC`` as UTC (the
    benchmark's files have only those) but ignores an offset; ``offsets=True`` reads them as
    ``TIMESTAMPTZ``, right for ISO 8601 with offsets too and about twice as slow to parse.
    Instants are float seconds from integer microseconds (as the library's
    ``datetime.timestamp``). Columns are taken by position, in the order of the files at
    hand (the library takes them by name); the hours' day column is ``day_column``.

    Args:
        status: the status CSV files.
        hours: the business hours CSV file.
        zones: the time zones CSV file.
        output: the report CSV to write.
        day_column: the name of the hours file's day-of-week column (``day`` or
            ``dayOfWeek``).
        offsets: whether some timestamps carry an offset other than `` UTC``.

    Returns:
        The statements, to run one after another.
    """
    files = "[" + ", ".join(_literal(os.fspath(path)) for path in status) + "]"
    day = '"' + day_column.replace('"', '""') + '"'
    query = f"""
WITH
polls AS (
    -- One poll per store and instant: inactive wins a tie.
    SELECT store_id, us, us / 1e6 AS t, bool_or(inactive) AS inactive
    FROM raw_polls GROUP BY store_id, us
),
clock AS (
    -- now = the latest poll of all stores; the windows end there.
    SELECT max(us) / 1e6 AS now, max(us) / 1e6 - 3600 AS hour_start,
           max(us) / 1e6 - 86400 AS day_start, max(us) / 1e6 - 604800 AS week_start,
           make_timestamp(max(us)) AS now_utc,
           make_timestamp(max(us) - 604800000000) AS week_start_utc
    FROM polls
),
spans AS (
    -- nearest: a poll's status holds between the midpoints with its neighbours.
    SELECT store_id, inactive,
           coalesce((lag(t) OVER store + t) / 2, '-infinity'::DOUBLE) AS lo,
           coalesce((t + lead(t) OVER store) / 2, 'infinity'::DOUBLE) AS hi
    FROM polls
    WINDOW store AS (PARTITION BY store_id ORDER BY t)
),
zones AS (
    SELECT store_id, any_value(timezone_str) AS tz
    FROM read_csv({_literal(os.fspath(zones))}, header = true, auto_detect = false,
                  columns = {{'store_id': 'VARCHAR', 'timezone_str': 'VARCHAR'}})
    GROUP BY store_id
),
slots AS (
    -- A slot that ends at or before its start runs into the next day (equal: 24 hours).
    SELECT DISTINCT h.store_id, coalesce(z.tz, {_literal(DEFAULT_ZONE)}) AS tz, h.{day} AS dow,
           date_diff('second', TIME '00:00:00', h.start_time_local) AS opens,
           date_diff('second', TIME '00:00:00', h.end_time_local)
             + CASE WHEN h.end_time_local <= h.start_time_local THEN 86400 ELSE 0 END AS closes
    FROM read_csv({_literal(os.fspath(hours))}, header = true, auto_detect = false,
                  columns = {{'store_id': 'VARCHAR', {_literal(day_column)}: 'INTEGER',
                             'start_time_local': 'TIME', 'end_time_local': 'TIME'}}) AS h
    LEFT JOIN zones AS z USING (store_id)
),
local_days AS (
    -- Each zone's local dates, from two days before the week's first to now's.
    SELECT tz, day, isodow(day) - 1 AS dow
    FROM (
        SELECT tz, unnest(generate_series(
                   CAST(CAST(timezone(tz, timezone('UTC', week_start_utc)) AS DATE) - 2
                        AS TIMESTAMP),
                   CAST(CAST(timezone(tz, timezone('UTC', now_utc)) AS DATE) AS TIMESTAMP),
                   INTERVAL 1 DAY)) AS day
        FROM (SELECT DISTINCT tz FROM slots), clock
    )
),
walls AS (
    SELECT s.store_id, s.tz, d.day + to_seconds(s.opens) AS opens,
           d.day + to_seconds(s.closes) AS closes
    FROM slots AS s JOIN local_days AS d ON d.tz = s.tz AND d.dow = s.dow
),
conversions AS (
    -- ICU reads a repeated wall-clock time as its later occurrence; fold=0 (the library)
    -- takes the earlier one: the time read with the offset of a day before, when that
    -- reads back as the same wall-clock time and is earlier. (A skipped time takes the
    -- offset before the change in both.)
    SELECT tz, wall, late,
           timezone('UTC', wall - to_seconds(CAST(
               epoch(timezone(tz, late - INTERVAL 1 DAY)) - epoch(late - INTERVAL 1 DAY)
               AS BIGINT))) AS early
    FROM (
        SELECT tz, wall, timezone(tz, wall) AS late
        FROM (SELECT tz, opens AS wall FROM walls UNION SELECT tz, closes FROM walls)
    )
),
instants AS (
    SELECT tz, wall,
           epoch(CASE WHEN early < late AND timezone(tz, early) = wall THEN early ELSE late END)
             AS at
    FROM conversions
),
pieces AS (
    -- Each slot's business time on each date, clipped to the week.
    SELECT w.store_id, greatest(o.at, c.week_start) AS b, least(e.at, c.now) AS e
    FROM walls AS w
    JOIN instants AS o ON o.tz = w.tz AND o.wall = w.opens
    JOIN instants AS e ON e.tz = w.tz AND e.wall = w.closes
    CROSS JOIN clock AS c
    WHERE least(e.at, c.now) > greatest(o.at, c.week_start)
),
islands AS (
    -- Overlapping or touching pieces of a store merge: a piece starts a new interval when
    -- it begins after every earlier one ended.
    SELECT store_id, b, e,
           sum(CASE WHEN b <= reach THEN 0 ELSE 1 END)
             OVER (PARTITION BY store_id ORDER BY b, e ROWS UNBOUNDED PRECEDING) AS island
    FROM (
        SELECT store_id, b, e,
               max(e) OVER (PARTITION BY store_id ORDER BY b, e
                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
        FROM pieces
    )
),
business AS (
    SELECT store_id, min(b) AS b, max(e) AS e FROM islands GROUP BY store_id, island
    UNION ALL
    -- A store without hours rows is open 24x7.
    SELECT p.store_id, c.week_start, c.now
    FROM (SELECT DISTINCT store_id FROM polls) AS p CROSS JOIN clock AS c
    WHERE NOT EXISTS (SELECT 1 FROM slots AS s WHERE s.store_id = p.store_id)
),
totals AS (
    SELECT b.store_id,
           sum(greatest(b.e - greatest(b.b, c.hour_start), 0)) AS hour,
           sum(greatest(b.e - greatest(b.b, c.day_start), 0)) AS day,
           sum(b.e - b.b) AS week
    FROM business AS b CROSS JOIN clock AS c
    GROUP BY b.store_id
),
down AS (
    SELECT s.store_id,
           sum(greatest(least(s.hi, b.e) - greatest(s.lo, b.b, c.hour_start), 0)) AS hour,
           sum(greatest(least(s.hi, b.e) - greatest(s.lo, b.b, c.day_start), 0)) AS day,
           sum(least(s.hi, b.e) - greatest(s.lo, b.b)) AS week
    FROM spans AS s
    JOIN business AS b ON b.store_id = s.store_id AND s.lo < b.e AND s.hi > b.b
    CROSS JOIN clock AS c
    WHERE s.inactive
    GROUP BY s.store_id
),
report AS (
    SELECT store_id, total_hour, total_day, total_week,
           least(greatest(down_hour, 0), total_hour) AS down_hour,
           least(greatest(down_day, 0), total_day) AS down_day,
           least(greatest(down_week, 0), total_week) AS down_week
    FROM (
        SELECT p.store_id,
               coalesce(t.hour, 0) AS total_hour, coalesce(t.day, 0) AS total_day,
               coalesce(t.week, 0) AS total_week,
               coalesce(d.hour, 0) AS down_hour, coalesce(d.day, 0) AS down_day,
               coalesce(d.week, 0) AS down_week
        FROM (SELECT DISTINCT store_id FROM polls) AS p
        LEFT JOIN totals AS t USING (store_id)
        LEFT JOIN down AS d USING (store_id)
    )
)
SELECT store_id,
       printf('%.2f', (total_hour - down_hour) / 60) AS uptime_last_hour,
       printf('%.2f', (total_day - down_day) / 3600) AS uptime_last_day,
       printf('%.2f', (total_week - down_week) / 3600) AS uptime_last_week,
       printf('%.2f', down_hour / 60) AS downtime_last_hour,
       printf('%.2f', down_day / 3600) AS downtime_last_day,
       printf('%.2f', down_week / 3600) AS downtime_last_week
FROM report
ORDER BY store_id
"""
    stamp_type = "TIMESTAMPTZ" if offsets else "TIMESTAMP"
    raw = f"""
CREATE TEMP VIEW raw_polls AS
SELECT store_id, status = 'inactive' AS inactive, epoch_us(timestamp_utc) AS us
FROM read_csv({files}, header = true, auto_detect = false,
              columns = {{'store_id': 'VARCHAR', 'status': 'VARCHAR',
                         'timestamp_utc': {_literal(stamp_type)}}})
"""
    copy = f"COPY ({query}) TO {_literal(os.fspath(output))} (HEADER, DELIMITER ',')"
    return [raw, copy]


_DUCKDB = """
import sys, time, duckdb
started = time.perf_counter()
connection = duckdb.connect()
connection.execute("SET enable_progress_bar = false")  # it prints to stdout, and costs
for statement in sys.argv[1:]:
    connection.execute(statement)
print(time.perf_counter() - started)
"""


def hours_day_column(path: Path) -> str:
    """The name of the hours file's day-of-week column (``day`` or ``dayOfWeek``)."""
    with open(path, encoding="utf-8", newline="") as stream:
        header = next(csv.reader(stream))
    return "dayOfWeek" if "dayOfWeek" in header else "day"


# ---------------------------------------------------------------------------------------
# Running and measuring


@attrs.frozen
class Run:
    """One finished run of a contender."""

    seconds: float
    max_rss_kb: int
    stdout: str
    cpu_seconds: float = 0.0


def child_environment() -> dict[str, str]:
    """This process's environment for the contenders, with bytecode caching allowed.

    ``PYTHONDONTWRITEBYTECODE`` (set on some machines) would make every run compile the
    library's modules again, as no installed program does: the warm-up run writes them.
    """
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def run_measured(command: list[str], folder: Path) -> Run:
    """Run ``command``; return its wall time, ``ru_maxrss`` and CPU time (``os.wait4``: of
    the process and the children it waited for) and stdout.

    Raises:
        SystemExit: the command failed (with its standard error).
    """
    out_path, err_path = folder / "stdout.txt", folder / "stderr.txt"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(  # pylint: disable=consider-using-with
            command, stdout=out, stderr=err, env=child_environment()
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(
            f"{' '.join(command[:4])} ... failed:\n{err_path.read_text(encoding='utf-8')}"
        )
    cpu = usage.ru_utime + usage.ru_stime
    return Run(elapsed, usage.ru_maxrss, out_path.read_text(encoding="utf-8"), cpu)


def tree_memory(command: list[str]) -> bench_uptime.TreeMemory:
    """Run ``command`` while sampling its process tree's memory; return the peaks."""
    with subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=child_environment()
    ) as process:
        memory = bench_uptime.TreeMemory(process.pid)
        with memory:
            _, errors = process.communicate()
    if process.returncode:
        raise SystemExit(f"{' '.join(command[:4])} ... failed:\n{errors.decode()}")
    return memory


def engines(help_text: str) -> tuple[str, ...]:
    """The engines ``uptime report --help`` offers (empty: no ``--engine`` option)."""
    if "--engine" not in help_text:
        return ()
    return tuple(name for name in ("python", "columnar") if name in help_text)


def first_differences(reference: str, other: str, limit: int = 5) -> list[str]:
    """Up to ``limit`` lines telling where two report CSVs differ, by line number."""
    ours, theirs = reference.splitlines(), other.splitlines()
    found = [
        f"  line {number}: python {left!r} / other {right!r}"
        for number, (left, right) in enumerate(zip(ours, theirs), start=1)
        if left != right
    ][:limit]
    if len(found) < limit and len(ours) != len(theirs):
        found.append(f"  python has {len(ours)} lines, other {len(theirs)}")
    return found


def paired_ratios(times: Sequence[float], bases: Sequence[float]) -> list[float]:
    """Each round's time over the base's time of the same round."""
    return [time_ / base for time_, base in zip(times, bases, strict=True)]


@attrs.define
class Contender:
    """A way of producing the report (or the floor), its command and its numbers."""

    name: str
    command: Callable[[Path], list[str]]
    times: list[float] = attrs.field(factory=list)
    inner: list[float] = attrs.field(factory=list)
    cpu: list[float] = attrs.field(factory=list)
    max_rss_kb: int = 0
    memory: bench_uptime.TreeMemory | None = None

    def line(self, floor: Sequence[float], duckdb: Sequence[float]) -> str:
        """The numbers of the rounds, as one line."""
        text = (
            f"{self.name:9} best {min(self.times):6.2f} s, median "
            f"{statistics.median(self.times):6.2f} s"
        )
        for base_name, base in (("floor", floor), ("duckdb", duckdb)):
            if base is not self.times and base:
                ratios = paired_ratios(self.times, base)
                text += (
                    f"; x {base_name} median {statistics.median(ratios):4.2f} "
                    f"best {min(ratios):4.2f}"
                )
        if self.cpu and floor and self.times is not floor:
            # CPU time over the floor's loop: on n cores the wall time is at least this / n
            # of the floor (the floor's own CPU includes its start-up; its loop is the base).
            share = statistics.median(paired_ratios(self.cpu, floor))
            cores = os.cpu_count() or 1
            text += (
                f"; CPU median {statistics.median(self.cpu):.2f} s, x floor {share:.2f} "
                f"(on {cores} cores no faster than {share / cores:.2f} x floor)"
            )
        if self.memory is not None:
            text += (
                f"; peak PSS {self.memory.peak_pss / 1024:5.0f} MB (RSS sum "
                f"{self.memory.peak_rss / 1024:.0f} MB, {self.memory.peak_processes} "
                f"processes); maxrss {self.max_rss_kb / 1024:.0f} MB"
            )
        if self.inner:
            text += (
                f"; its statements alone (no start-up): best {min(self.inner):.2f} s, "
                f"median {statistics.median(self.inner):.2f} s"
            )
        return text


def _contenders(inputs: Inputs) -> tuple[list[Contender], list[str]]:
    """The contenders this checkout offers, and the names of those it does not."""
    report = [sys.executable, "-m", "outages_processor", "uptime", "report", "-q"]
    help_text = subprocess.run(
        [*report[:5], "--help"], capture_output=True, text=True, check=True
    ).stdout
    offered = engines(help_text)
    sql_day = hours_day_column(inputs.hours)

    def floor(_: Path) -> list[str]:
        script = bench_uptime._FLOOR  # pylint: disable=protected-access
        return [sys.executable, "-c", script, str(inputs.status)]

    def duckdb(output: Path) -> list[str]:
        statements = report_sql([inputs.status], inputs.hours, inputs.zones, output,
                                day_column=sql_day)  # fmt: skip
        return [sys.executable, "-c", _DUCKDB, *statements]

    def library(engine: str | None) -> Callable[[Path], list[str]]:
        extra = [] if engine is None else ["--engine", engine]
        return lambda output: [*report, *inputs.options(), "--output", str(output), *extra]

    contenders = [Contender("floor", floor), Contender("duckdb", duckdb)]
    contenders.append(Contender("python", library("python" if offered else None)))
    missing = []
    if "columnar" in offered:
        contenders.append(Contender("columnar", library("columnar")))
    else:
        missing.append("columnar")
    return contenders, missing


def _check(contenders: list[Contender], folder: Path) -> None:
    """Run each report once (a warm-up) and print whether it equals the python engine's."""
    outputs = {}
    for contender in contenders:
        output = folder / f"{contender.name}.csv"
        run_measured(contender.command(output), folder)
        if contender.name != "floor":
            outputs[contender.name] = output.read_text(encoding="utf-8")
    reference = outputs.pop("python")
    print(f"python engine: {reference.count(chr(10)) - 1:,} report rows", flush=True)
    for name, text in outputs.items():
        same = text == reference
        print(f"{name} same as the python engine: {'yes' if same else 'no'}", flush=True)
        for difference in [] if same else first_differences(reference, text):
            print(difference, flush=True)


def run(cache: Path, polls: int, rounds: int) -> None:
    """Generate (or reuse) the data set, run the rounds, and print the numbers."""
    inputs = data_set(cache, polls)
    size = inputs.status.stat().st_size
    print(
        f"status: {inputs.status} ({size / 1e6:.0f} MB); {os.cpu_count()} cpus, load average "
        f"{os.getloadavg()[0]:.2f}",
        flush=True,
    )
    contenders, missing = _contenders(inputs)
    with tempfile.TemporaryDirectory(prefix="bench-columnar-") as name:
        folder = Path(name)
        _check(contenders, folder)
        for _ in range(rounds):
            for contender in contenders:
                result = run_measured(contender.command(folder / "out.csv"), folder)
                # The floor's own figure is its loop; the others' the whole process.
                if contender.name == "floor":
                    contender.times.append(float(result.stdout.split()[-1]))
                else:
                    contender.times.append(result.seconds)
                    if contender.name == "duckdb":
                        contender.inner.append(float(result.stdout.split()[-1]))
                contender.cpu.append(result.cpu_seconds)
                contender.max_rss_kb = max(contender.max_rss_kb, result.max_rss_kb)
        for contender in contenders:
            contender.memory = tree_memory(contender.command(folder / "memory.csv"))
    print(
        f"{rounds} interleaved rounds (floor: the loop; others: the whole process); peak PSS "
        f"of the process tree sampled every 10 ms in a separate run; maxrss: the largest "
        f"single process (wait4)",
        flush=True,
    )
    floor_times, duckdb_times = contenders[0].times, contenders[1].times
    for contender in contenders:
        print(contender.line(floor_times, duckdb_times), flush=True)
    for name in missing:
        print(f"{name:9} not available (no --engine {name} on this checkout)", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.2f}", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(
        prog="bench_columnar", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--polls", type=int, default=DEFAULT_POLLS,
                        help="polls in the status file (1.83M: bench_uptime's)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--dir", type=Path, default=Path(".bench"),
                        help="where generated data sets are kept between runs")  # fmt: skip
    parsed = parser.parse_args(list(argv or ()))
    run(parsed.dir, parsed.polls, parsed.rounds)


if __name__ == "__main__":
    main(sys.argv[1:])
