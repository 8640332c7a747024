"""Building, writing and scaling out the uptime report."""

from __future__ import annotations

import io
import multiprocessing
import random
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outages_processor.reports import building, inputs
from outages_processor.reports import spill as report_spill
from outages_processor.reports import workers as report_workers
from outages_processor.inputs import status_file
from outages_processor.inputs.tables import RowErrors
from outages_processor.core.uptime import compute_uptime
from outages_processor.errors import InputDataError
from outages_processor.models.common import Reject
from outages_processor.models.schedules import Schedule
from outages_processor.models.uptime import StoreUptime, UptimeReport
from outages_processor.reports import build_report, run_report, write_rejects_csv, write_report_csv
from outages_processor.tests.uptime_data import DataSet, generate, utc, write_csv

HOURS_HEADER = "store_id,day,start_time_local,end_time_local"


@pytest.fixture(name="data")
def fixture_data() -> DataSet:
    """A small generated data set."""
    return generate(7, stores=10)


@pytest.fixture(name="files")
def fixture_files(data: DataSet, tmp_path: Path) -> tuple[Path, Path, Path]:
    """The data set written as the three CSV files."""
    return data.write(tmp_path)


def _same_rows(got: Sequence[StoreUptime], expected: Sequence[StoreUptime]) -> bool:
    """Equal store ids, and values equal to a microsecond's worth of rounding."""
    return [(row.store_id, row.values()[1:]) for row in got] == [
        (row.store_id, pytest.approx(row.values()[1:], abs=1e-6)) for row in expected
    ]


def test_files_and_models_give_the_same_report(
    data: DataSet, files: tuple[Path, Path, Path]
) -> None:
    """Reading the CSVs gives what computing from the models gives."""
    report = build_report(*files)
    expected = compute_uptime(data.polls, data.hours, data.zones)
    assert [row.store_id for row in report] == [row.store_id for row in expected]
    assert _same_rows(report.rows, expected)
    assert report.now == max(poll.timestamp for poll in data.polls)


def test_models_and_streams_are_accepted(data: DataSet, files: tuple[Path, Path, Path]) -> None:
    """Poll values and open text streams work as inputs too."""
    from_files = build_report(*files)
    from_models = build_report(data.polls, data.hours, data.zones)
    with files[0].open(encoding="utf-8") as status, files[1].open(encoding="utf-8") as hours:
        from_streams = build_report(status, hours, io.StringIO(files[2].read_text()))
    assert from_streams.rows == from_files.rows
    assert _same_rows(from_models.rows, from_files.rows)


def _pool(kind: str) -> Executor:
    if kind == "threads":
        return ThreadPoolExecutor(3)
    return ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))


@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_results_do_not_depend_on_the_executor(kind: str, files: tuple[Path, Path, Path]) -> None:
    """Any executor gives exactly the rows computed in this thread."""
    alone = build_report(*files, jobs=1)
    with _pool(kind) as executor:
        assert build_report(*files, executor=executor).rows == alone.rows


def test_large_files_use_a_process_pool_by_default(
    files: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the size threshold, the default pool spills polls to files: same rows."""
    alone = build_report(*files, jobs=1)
    monkeypatch.setattr(building, "PARALLEL_MIN_BYTES", 0)
    assert build_report(*files, jobs=2).rows == alone.rows


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), workers=st.integers(1, 4), order=st.integers(0, 100))
def test_row_order_and_workers_change_nothing(
    seed: int, workers: int, order: int, tmp_path: Path
) -> None:
    """Shuffled input lines and any number of workers give the same report."""
    folder = tmp_path / f"{seed}-{workers}-{order}"
    folder.mkdir()
    status, hours, zones = generate(seed, stores=6, days=3).write(folder)
    expected = build_report(status, hours, zones, jobs=1).rows
    lines = status.read_text(encoding="utf-8").splitlines()
    body = lines[1:]
    random.Random(order).shuffle(body)
    status.write_text("\n".join([lines[0], *body]) + "\n", encoding="utf-8")
    with ThreadPoolExecutor(workers) as executor:
        assert build_report(status, hours, zones, executor=executor, jobs=workers).rows == expected


def test_quoted_status_files_are_read_whole_by_a_pool(tmp_path: Path) -> None:
    """A status file with quoted fields still works when split across workers."""
    status = write_csv(
        tmp_path / "s.csv", "store_id,status,timestamp_utc", ['"1",active,2023-01-22 12:00:00 UTC']
    )
    hours = write_csv(tmp_path / "h.csv", HOURS_HEADER, [])
    zones = write_csv(tmp_path / "z.csv", "store_id,timezone_str", ["1,UTC"])
    with ThreadPoolExecutor(2) as executor:
        report = build_report(status, hours, zones, executor=executor)
    assert [row.store_id for row in report] == ["1"]


def test_now_and_interpolation_are_parameters(files: tuple[Path, Path, Path]) -> None:
    """An explicit now moves the windows; previous reads differently from nearest."""
    now = utc("2023-03-12 18:00")
    nearest = build_report(*files, now=now)
    previous = build_report(*files, now=now, interpolation="previous")
    assert nearest.now == now and previous.interpolation == "previous"
    assert nearest.rows != previous.rows


def test_bad_status_rows_stop_the_report(files: tuple[Path, Path, Path]) -> None:
    """In fail mode the first bad status row raises with file and line."""
    status = files[0]
    lines = status.read_text(encoding="utf-8").splitlines()
    lines[4] = "x,active,soon"
    status.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputDataError) as caught:
        build_report(*files)
    assert str(caught.value) == (
        f"{status}:5: bad timestamp 'soon': expected a UTC time like "
        "2023-01-22 12:09:39.388884 UTC, or ISO 8601 with Z or an offset"
    )
    assert (caught.value.path, caught.value.line) == (str(status), 5)


def test_status_errors_come_before_hours_errors(files: tuple[Path, Path, Path]) -> None:
    """With bad rows in both, the status file's is the one reported."""
    status, hours, zones = files
    status.write_text(status.read_text(encoding="utf-8") + "1,on,x\n", encoding="utf-8")
    write_csv(hours, HOURS_HEADER, ["1,9,09:00,10:00"])
    with pytest.raises(InputDataError, match="status.csv:.*unknown status 'on'"):
        build_report(status, hours, zones)
    write_csv(status, "store_id,status,timestamp_utc", ["1,active,2023-01-22 12:00:00 UTC"])
    with pytest.raises(InputDataError, match="hours.csv:2: bad day of week '9'"):
        build_report(status, hours, zones)


def test_skip_mode_reports_every_skipped_row(files: tuple[Path, Path, Path]) -> None:
    """Bad rows of all three files are skipped and returned, with file and line."""
    status, hours, zones = files
    status.write_text(status.read_text(encoding="utf-8") + "1,on,x\n", encoding="utf-8")
    hours.write_text(hours.read_text(encoding="utf-8") + "1,9,09:00,10:00\n", encoding="utf-8")
    zones.write_text(zones.read_text(encoding="utf-8") + "1,Nowhere\n", encoding="utf-8")
    report = build_report(status, hours, zones, on_error="skip")
    assert [(Path(r.path).name, r.reason.split(" '")[0]) for r in report.rejects] == [
        ("status.csv", "unknown status"),
        ("hours.csv", "bad day of week"),
        ("timezones.csv", "unknown time zone"),
    ]


def test_skipped_in_memory_zones_are_reported(data: DataSet) -> None:
    """Unknown or conflicting zones given as models are rejected like file rows."""
    zones = [*data.zones, type(data.zones[0])("x", "Nowhere/Land")]
    zones.append(type(data.zones[0])(data.zones[0].store_id, "Asia/Tokyo"))
    report = build_report(data.polls, data.hours, zones, on_error="skip")
    assert [r.reason.split(" ")[0] for r in report.rejects] == ["unknown", "store"]
    with pytest.raises(InputDataError, match="<memory>: unknown time zone 'Nowhere/Land'"):
        build_report(data.polls, data.hours, zones)


@pytest.mark.parametrize(
    ("rows", "on_error", "message"),
    [
        pytest.param(
            [],
            "fail",
            "no status rows: the status file has a header but no polls",
            id="header-only",
        ),
        pytest.param(["1,on,x"], "skip", "no valid status rows (1 bad rows skipped)", id="all-bad"),
    ],
)
def test_a_status_file_without_polls_is_an_error(
    rows: list[str], on_error: str, message: str, files: tuple[Path, Path, Path]
) -> None:
    """A status file with no (valid) polls says so with its name."""
    status = write_csv(files[0], "store_id,status,timestamp_utc", rows)
    with pytest.raises(InputDataError) as caught:
        build_report(status, files[1], files[2], on_error=on_error)  # type: ignore[arg-type]
    assert str(caught.value) == f"{status}: {message}"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"interpolation": "linear"}, "unknown interpolation 'linear'"),
        ({"jobs": 0}, "jobs must be at least 1"),
        ({"now": "2023-01-01 noon"}, "now: '2023-01-01 noon' is not an ISO 8601 string"),
        ({"on_error": "ignore"}, "'on_error' must be in"),
    ],
)
def test_invalid_arguments_are_value_errors(
    options: dict[str, object], message: str, files: tuple[Path, Path, Path]
) -> None:
    """Arguments outside their range raise ValueError before any work."""
    with pytest.raises(ValueError, match=message):
        build_report(*files, **options)  # type: ignore[arg-type]


def test_progress_goes_through_each_stage(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """The callback sees reading, computing then writing, each reaching its total."""
    seen: list[tuple[str, int, int]] = []
    run_report(*files, tmp_path / "out.csv", progress=lambda *args: seen.append(args))
    stages = [stage for stage, _, _ in seen]
    assert stages == sorted(stages, key=["reading", "computing", "writing"].index)
    for stage in ("reading", "computing", "writing"):
        last = [(done, total) for name, done, total in seen if name == stage][-1]
        assert last[0] == last[1] > 0


def test_pool_progress_reports_reading(files: tuple[Path, Path, Path]) -> None:
    """With an executor, reading progress comes as each byte range is done."""
    seen: list[tuple[str, int, int]] = []
    with ThreadPoolExecutor(2) as executor:
        build_report(*files, executor=executor, progress=lambda *args: seen.append(args))
    reading = [(done, total) for stage, done, total in seen if stage == "reading"]
    assert reading[-1][0] == reading[-1][1]


def test_report_rows_as_dicts(files: tuple[Path, Path, Path]) -> None:
    """A report iterates its rows and gives plain dicts for a DataFrame."""
    report = build_report(*files)
    assert len(report) == len(report.rows) == len(list(report))
    assert report.to_dicts()[0] == report.rows[0].to_dict()


def test_the_csv_has_the_columns_and_two_decimals() -> None:
    """The report CSV: header, then values rounded to 2 decimals; odd ids are quoted."""
    rows = [StoreUptime("a,b", 1 / 3, 2.0, 3.005, 0.0, 0.5, 1e-9), StoreUptime("c", *[1.0] * 6)]
    stream = io.StringIO()
    assert write_report_csv(rows, stream) == 2
    assert stream.getvalue().splitlines() == [
        ",".join(StoreUptime.COLUMNS),
        '"a,b",0.33,2.00,3.00,0.00,0.50,0.00',
        "c,1.00,1.00,1.00,1.00,1.00,1.00",
    ]


def test_a_failed_write_leaves_no_report(tmp_path: Path) -> None:
    """If writing fails part way, no file (and no partial file) is left."""
    target = tmp_path / "report.csv"

    def rows() -> object:
        yield StoreUptime("a", *[1.0] * 6)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_report_csv(rows(), target)  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())


def test_bad_input_writes_nothing(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """run_report writes no report and no rejects when the input is bad."""
    write_csv(files[1], HOURS_HEADER, ["1,0,25:00,10:00"])
    output, rejects = tmp_path / "out" / "r.csv", tmp_path / "out" / "x.csv"
    output.parent.mkdir()
    with pytest.raises(InputDataError):
        run_report(*files, output, rejects=rejects)
    assert not list(output.parent.iterdir())


def test_run_report_writes_the_report_and_the_rejects(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """The report and the skipped rows land in their files."""
    status = files[0]
    status.write_text(status.read_text(encoding="utf-8") + "1,on,x\n", encoding="utf-8")
    output, rejects = tmp_path / "r.csv", tmp_path / "rejects.csv"
    report = run_report(*files, output, rejects=rejects, on_error="skip")
    assert output.read_text(encoding="utf-8").count("\n") == len(report) + 1
    assert rejects.read_text(encoding="utf-8").splitlines() == [
        "file,line,reason,row",
        f"{status},{len(status.read_text().splitlines())},"
        "unknown status 'on': expected active or inactive,\"1,on,x\"",
    ]


def test_rejects_without_a_line(tmp_path: Path) -> None:
    """A reject with no line number writes an empty line field."""
    path = tmp_path / "rejects.csv"
    assert write_rejects_csv([Reject("<memory>", None, "bad", "x")], path) == 1
    assert path.read_text(encoding="utf-8").splitlines()[1] == "<memory>,,bad,x"


def test_uptime_report_validates_now() -> None:
    """A report's now must be aware."""
    with pytest.raises(ValueError, match="aware"):
        UptimeReport((), utc("2023-01-01").replace(tzinfo=None))


@pytest.mark.dask
def test_a_dask_cluster_works_as_the_executor(files: tuple[Path, Path, Path]) -> None:
    """distributed's Client.get_executor() (workers in processes) gives the same rows."""
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    alone = build_report(*files, jobs=1)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        report = build_report(*files, executor=client.get_executor(), jobs=2)
    assert report.rows == alone.rows


def test_spilled_transport_computes_the_same(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Polls and schedules passed through files give the values passed in memory give."""
    layout = status_file.read_status_layout(files[0])
    spill = tmp_path / "spill"
    spill.mkdir()
    whole = (layout, layout.data_start, layout.size, 2, "fail")
    direct = report_workers.read_part(*whole, None)
    spilled = report_workers.read_part(*whole, str(spill))
    assert all(isinstance(block, report_spill.SpilledBlock) for block in spilled.blocks)
    schedules = inputs.read_schedules(files[1], files[2], RowErrors())
    schedules_path = report_spill.save_schedules(schedules, str(spill))
    compute = report_workers.compute_partition
    for number in range(2):
        assert compute(
            [spilled.blocks[number]], schedules_path, direct.latest, "nearest"
        ) == compute([direct.blocks[number]], schedules, direct.latest, "nearest")


@pytest.mark.parametrize(
    ("threads", "expected"), [(0, "ProcessPoolExecutor fork"), (1, "WorkerPool fresh")]
)
def test_pools_fork_only_a_single_threaded_process(threads: int, expected: str) -> None:
    """A single-threaded process forks its pool; with another thread, fresh interpreters."""
    code = textwrap.dedent(
        f"""
        import threading
        from outages_processor.reports.pool import process_pool
        for _ in range({threads}):
            threading.Thread(target=threading.Event().wait, daemon=True).start()
        pool = process_pool(1)
        context = getattr(pool, "_mp_context", None)
        print(type(pool).__name__, "fresh" if context is None else context.get_start_method())
        pool.shutdown()
        """
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert found.stdout.strip() == expected


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_missing_status_file_is_an_input_error(jobs: int, files: tuple[Path, Path, Path]) -> None:
    """A status path that does not exist says it cannot be read."""
    with pytest.raises(InputDataError, match="nope.csv: cannot read the file: No such file"):
        build_report(files[0].with_name("nope.csv"), files[1], files[2], jobs=jobs)


def test_stores_sharing_hours_and_zone_share_one_schedule(tmp_path: Path) -> None:
    """Stores with equal hours and zone get equal business time, computed once."""
    status = write_csv(
        tmp_path / "s.csv",
        "store_id,status,timestamp_utc",
        ["1,active,2023-01-23 12:00:00 UTC", "2,inactive,2023-01-23 12:00:00 UTC"],
    )
    hours = write_csv(tmp_path / "h.csv", HOURS_HEADER, ["1,0,09:00,17:00", "2,0,09:00,17:00"])
    zones = write_csv(tmp_path / "z.csv", "store_id,timezone_str", ["1,UTC", "2,UTC"])
    schedules = inputs.read_schedules(hours, zones, RowErrors())
    assert schedules == {"1": Schedule("UTC", [(0, 32400, 61200)])} | {"2": schedules["1"]}
    assert schedules["1"] is schedules["2"]
    first, second = build_report(status, hours, zones)
    assert (first.uptime_last_day, second.downtime_last_day) == (3.0, 3.0)


def test_computing_progress_counts_stores(tmp_path: Path) -> None:
    """In this thread, computing progress advances store by store (every 1024 stores)."""
    rows = [f"{n},active,2023-01-22 12:00:00 UTC" for n in range(2100)]
    status = write_csv(tmp_path / "s.csv", "store_id,status,timestamp_utc", rows)
    hours = write_csv(tmp_path / "h.csv", HOURS_HEADER, [])
    zones = write_csv(tmp_path / "z.csv", "store_id,timezone_str", [])
    seen: list[tuple[str, int, int]] = []
    build_report(status, hours, zones, jobs=1, progress=lambda *args: seen.append(args))
    assert [args for args in seen if args[0] == "computing"] == [
        ("computing", 1024, 2100),
        ("computing", 2048, 2100),
        ("computing", 2100, 2100),
    ]
