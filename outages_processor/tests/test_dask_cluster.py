"""The report on a real Dask cluster: workers in processes read their shards over HTTP."""

from __future__ import annotations

import functools
import io
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from outages_processor.errors import InputDataError
from outages_processor.models.uptime import UptimeReport
from outages_processor.reports import build_report, write_report_csv
from outages_processor.reports import cluster as report_cluster
from outages_processor.scripts.main import app
from outages_processor.tests.uptime_data import generate, write_csv

runner = CliRunner()
STATUS_HEADER = "store_id,status,timestamp_utc"
CLIENT_RSS_LIMIT_MB = 250


class _Server:
    """A loopback HTTP server of one folder that logs the paths asked for."""

    def __init__(self, folder: Path) -> None:
        self.requests: list[str] = []
        requests = self.requests

        class Handler(SimpleHTTPRequestHandler):
            """Serves the folder; logs each request's path instead of printing it."""

            def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=W0622
                requests.append(self.path)

        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        """The URL of a file of the folder."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"


@pytest.fixture(name="served")
def fixture_served(tmp_path: Path) -> Iterator[_Server]:
    """An HTTP server on 127.0.0.1 serving ``tmp_path/www``."""
    folder = tmp_path / "www"
    folder.mkdir()
    server = _Server(folder)
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
    server.thread.join()


@pytest.fixture(name="client", scope="module")
def fixture_client() -> Iterator[Any]:
    """A client of a LocalCluster of two worker processes, one thread each."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def _csv(report: UptimeReport) -> bytes:
    stream = io.StringIO()
    write_report_csv(report.rows, stream)
    return stream.getvalue().encode("utf-8")


def _shards(status: Path, folder: Path, count: int) -> list[Path]:
    """Split a status file's rows into ``count`` shard files (each with the header)."""
    lines = status.read_text(encoding="utf-8").splitlines()[1:]
    size = -(-len(lines) // count)
    return [
        write_csv(folder / f"shard{number}.csv", STATUS_HEADER, lines[start : start + size])
        for number, start in enumerate(range(0, len(lines), size))
    ]


@pytest.mark.dask
@pytest.mark.parametrize("seed", [1, 5, 7, 11])
@pytest.mark.parametrize("interpolation", ["nearest", "previous"])
def test_url_shards_give_the_single_machine_report(
    client: Any, served: _Server, tmp_path: Path, seed: int, interpolation: str
) -> None:
    """Shards served over HTTP give the single-machine report of their rows, byte for byte."""
    status, hours, zones = generate(seed, stores=30).write(tmp_path)
    shards = _shards(status, tmp_path / "www", 3)
    alone = build_report(status, hours, zones, interpolation=interpolation)
    urls = [served.url(shard.name) for shard in shards]
    report = build_report(
        urls, hours, zones, interpolation=interpolation, cluster=client
    )
    assert (_csv(report), report.now, report.rejects) == (_csv(alone), alone.now, alone.rejects)


@pytest.mark.dask
def test_local_paths_and_a_given_now_give_the_single_machine_report(
    client: Any, tmp_path: Path
) -> None:
    """Local shard paths (the workers share this machine) and an explicit now work too."""
    status, hours, zones = generate(3, stores=20).write(tmp_path)
    shards = _shards(status, tmp_path, 4)
    now = "2023-03-15 12:00:00"
    alone = build_report(status, hours, zones, now=now)
    report = build_report(shards, hours, zones, now=now, cluster=client)
    assert (_csv(report), report.now) == (_csv(alone), alone.now)


@pytest.mark.dask
def test_a_glob_is_expanded_into_shards_for_the_workers(client: Any, tmp_path: Path) -> None:
    """A glob stands for its sorted matches, each read by a worker."""
    status, hours, zones = generate(4, stores=20).write(tmp_path)
    (tmp_path / "polls").mkdir()
    _shards(status, tmp_path / "polls", 3)
    report = build_report(str(tmp_path / "polls" / "*.csv"), hours, zones, cluster=client)
    assert _csv(report) == _csv(build_report(status, hours, zones))


def _parquet_shard(csv_shard: Path) -> Path:
    """The rows of a CSV shard as a Parquet file beside it (text columns)."""
    pq = pytest.importorskip("pyarrow.parquet")
    csv_module = pytest.importorskip("pyarrow.csv")
    pa = pytest.importorskip("pyarrow")
    options = csv_module.ConvertOptions(column_types={"store_id": pa.string()})
    table = csv_module.read_csv(csv_shard, convert_options=options)
    table = table.set_column(2, "timestamp_utc", table.column(2).cast(pa.string()))
    target = csv_shard.with_suffix(".parquet")
    pq.write_table(table, target)
    return target


@pytest.mark.dask
def test_parquet_shards_give_the_single_machine_report(client: Any, tmp_path: Path) -> None:
    """Parquet shards (beside CSV ones) are read by the workers into the same report."""
    status, hours, zones = generate(6, stores=20).write(tmp_path)
    first, *others = _shards(status, tmp_path, 3)
    shards = [_parquet_shard(first), *others]
    report = build_report(shards, hours, zones, cluster=client)
    assert _csv(report) == _csv(build_report(shards, hours, zones))
    assert _csv(report) == _csv(build_report(status, hours, zones))


@pytest.mark.dask
def test_the_workers_open_the_urls_not_the_client(
    client: Any, served: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the client's own opener broken, the workers still read every shard, once each."""
    status, hours, zones = generate(2, stores=20).write(tmp_path)
    shards = _shards(status, tmp_path / "www", 3)

    def no_opening_here(*_: object, **__: object) -> None:
        raise AssertionError("the client opened a shard")

    monkeypatch.setattr(report_cluster, "open_shard", no_opening_here)
    monkeypatch.setattr(report_cluster.httpx, "stream", no_opening_here)
    report = build_report(
        [served.url(shard.name) for shard in shards], hours, zones, cluster=client
    )
    assert _csv(report) == _csv(build_report(status, hours, zones))
    assert sorted(served.requests) == [f"/{shard.name}" for shard in shards]


def _bad_shard(folder: Path) -> Path:
    """A shard whose third row has an unknown status."""
    return write_csv(
        folder / "bad.csv",
        STATUS_HEADER,
        ["1,active,2023-01-23 12:00:00 UTC", "2,active,2023-01-23 12:00:00 UTC", "3,on,x"],
    )


@pytest.mark.dask
def test_a_bad_row_in_a_local_shard_is_the_single_machine_error(
    client: Any, tmp_path: Path
) -> None:
    """A bad row of a shard raises the very InputDataError the single-machine report does."""
    _, hours, zones = generate(2, stores=3).write(tmp_path)
    bad = _bad_shard(tmp_path)
    with pytest.raises(InputDataError) as alone:
        build_report(bad, hours, zones)
    with pytest.raises(InputDataError) as clustered:
        build_report([bad], hours, zones, cluster=client)
    assert str(clustered.value) == str(alone.value) == (
        f"{bad}:4: unknown status 'on': expected active or inactive"
    )


@pytest.mark.dask
def test_a_bad_row_in_a_url_shard_names_the_url_and_line(
    client: Any, served: _Server, tmp_path: Path
) -> None:
    """A bad row of a shard read over HTTP is ``URL:line: reason``, the first shard's first."""
    _, hours, zones = generate(2, stores=3).write(tmp_path)
    good = _shards(tmp_path / "status.csv", tmp_path / "www", 1)[0]
    bad = _bad_shard(tmp_path / "www")
    with pytest.raises(InputDataError) as alone:
        build_report(bad, hours, zones)
    with pytest.raises(InputDataError) as clustered:
        build_report([served.url(good.name), served.url(bad.name)], hours, zones, cluster=client)
    assert str(clustered.value) == str(alone.value).replace(str(bad), served.url("bad.csv"))


@pytest.mark.dask
def test_skipped_rows_of_url_shards_are_named_by_url(
    client: Any, served: _Server, tmp_path: Path
) -> None:
    """With on_error="skip", the rejects of a URL shard name the URL and the shard's line."""
    _, hours, zones = generate(2, stores=3).write(tmp_path)
    bad = _bad_shard(tmp_path / "www")
    alone = build_report(bad, hours, zones, on_error="skip")
    report = build_report([served.url(bad.name)], hours, zones, on_error="skip", cluster=client)
    assert [reject.location() for reject in report.rejects] == [served.url("bad.csv") + ":4"]
    assert [(r.line, r.reason, r.row) for r in report.rejects] == [
        (r.line, r.reason, r.row) for r in alone.rejects
    ]
    assert _csv(report) == _csv(alone)


@pytest.mark.dask
def test_a_missing_url_is_an_input_error(client: Any, served: _Server, tmp_path: Path) -> None:
    """A shard URL the server does not have says so, naming the URL."""
    _, hours, zones = generate(2, stores=3).write(tmp_path)
    url = served.url("nope.csv")
    with pytest.raises(InputDataError) as caught:
        build_report([url], hours, zones, cluster=client)
    assert str(caught.value) == f"{url}: cannot read the URL: HTTP 404 File not found"


def test_cluster_and_executor_are_exclusive(tmp_path: Path) -> None:
    """Giving both cluster= and executor= is a ValueError, before any work."""
    status, hours, zones = generate(2, stores=3).write(tmp_path)
    with ThreadPoolExecutor(1) as executor, pytest.raises(ValueError, match="not both"):
        build_report(status, hours, zones, executor=executor, cluster=object())


@pytest.mark.parametrize("status", [io.StringIO("x"), [("1", "active", "x")], []])
def test_a_cluster_takes_only_paths_or_urls(status: object) -> None:
    """A stream or rows cannot go to the workers; an empty list is no shards."""
    with pytest.raises((TypeError, ValueError), match="status|shards"):
        report_cluster.shard_sources(status)


# --------------------------------------------------------------------------- command line


@pytest.mark.dask
def test_the_command_line_reports_on_a_scheduler(
    client: Any, served: _Server, tmp_path: Path
) -> None:
    """--scheduler with URL shards prints the single-machine report's CSV."""
    status, hours, zones = generate(4, stores=15).write(tmp_path)
    shards = _shards(status, tmp_path / "www", 2)
    address = client.scheduler.address
    result = runner.invoke(
        app,
        [
            "uptime", "report", "--scheduler", address,
            *(item for shard in shards for item in ("--status", served.url(shard.name))),
            "--hours", str(hours), "--timezones", str(zones),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.encode("utf-8") == _csv(build_report(status, hours, zones))


def _cli(files: tuple[Path, Path, Path], *extra: str) -> Any:
    status, hours, zones = files
    return runner.invoke(
        app,
        [
            "uptime", "report", "--status", str(status), "--hours", str(hours),
            "--timezones", str(zones), *extra,
        ],
    )


def test_the_scheduler_option_without_dask_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without distributed installed, --scheduler is exit 3 naming the extra to install."""
    monkeypatch.setitem(sys.modules, "distributed", None)
    result = _cli(generate(2, stores=3).write(tmp_path), "--scheduler", "tcp://127.0.0.1:1")
    assert result.exit_code == 3
    assert result.stderr == (
        "error: --scheduler needs dask and distributed: "
        "pip install 'outages_processor[dask]'\n"
    )
    assert result.stdout == ""


@pytest.mark.dask
def test_an_unreachable_scheduler_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """A scheduler nobody listens at is one line on stderr, exit 1 (try again later)."""
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = _cli(generate(2, stores=3).write(tmp_path), "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: cannot reach the Dask scheduler at tcp://127.0.0.1:9: Timed out trying to "
        "connect to tcp://127.0.0.1:9 after 1 s; check the address and that the scheduler "
        "is running\n"
    )
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--scheduler", "tcp://127.0.0.1:1", "--jobs", "2"), "--jobs applies to this machine"),
    ],
)
def test_options_that_do_not_go_with_the_scheduler_are_usage_errors(
    tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    """--jobs with --scheduler is exit 2."""
    result = _cli(generate(2, stores=3).write(tmp_path), *extra)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {message}")


def test_a_status_store_does_not_go_with_the_scheduler(tmp_path: Path) -> None:
    """--db with --scheduler is exit 2: a cluster reads --status shards."""
    database = tmp_path / "uptime.db"
    result = runner.invoke(
        app, ["uptime", "report", "--db", str(database), "--scheduler", "tcp://127.0.0.1:1"]
    )
    assert result.exit_code == 2
    assert result.stderr == "error: --scheduler reports from --status shards, not from --db\n"


# --------------------------------------------------------------------------- at scale

# The client's peak is the kernel's high-water mark of its own address space (VmHWM):
# ru_maxrss would count the pytest process it was forked from, as Linux keeps it over exec.
_CLIENT = """
import sys, time
import distributed
from outages_processor.reports import build_report, write_report_csv
address, hours, zones, output, *urls = sys.argv[1:]
started = time.perf_counter()
with distributed.Client(address) as client:
    report = build_report(urls, hours, zones, cluster=client)
write_report_csv(report.rows, output)
with open("/proc/self/status", encoding="ascii") as status:
    peak = next(line for line in status if line.startswith("VmHWM:")).split()[1]
print(time.perf_counter() - started, peak)
"""


@pytest.mark.dask
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_the_client_stays_small_on_the_loop_scale_data_set(
    client: Any, served: _Server, tmp_path: Path
) -> None:
    """8 URL shards of 1.83M polls: the client process peaks under 250 MB, same CSV bytes."""
    bench = pytest.importorskip("outages_processor.tests.bench.bench_uptime")
    # pylint: disable-next=protected-access  # the benchmark's own inputs, as it writes them
    options = bench._prepare(tmp_path)
    status, hours, zones = (Path(value) for value in options[1::2])
    shards = _shards(status, tmp_path / "www", 8)
    expected = _csv(build_report(status, hours, zones))
    output = tmp_path / "report.csv"
    found = subprocess.run(
        [
            sys.executable, "-c", textwrap.dedent(_CLIENT), client.scheduler.address,
            str(hours), str(zones), str(output), *(served.url(shard.name) for shard in shards),
        ],
        capture_output=True, text=True, timeout=600, check=True,
    )
    seconds, peak_kb = found.stdout.split()
    print(f"client: {float(seconds):.1f} s, peak RSS {int(peak_kb) / 1024:.0f} MB")
    assert int(peak_kb) < CLIENT_RSS_LIMIT_MB * 1024
    assert output.read_bytes() == expected
