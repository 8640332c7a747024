"""A status input of many files: lists, globs, URLs, CSV and Parquet, in the library and CLI."""

from __future__ import annotations

import functools
import http.server
import io
import socket
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outages_processor.errors import InputDataError, InputUnavailableError
from outages_processor.inputs.status_sources import FAST_HINT, Shard, status_shards
from outages_processor.reports import build_report, building, write_report_csv
from outages_processor.scripts.main import app
from outages_processor.tests.uptime_data import generate

HEADER = "store_id,status,timestamp_utc"
runner = CliRunner()


@pytest.fixture(name="files")
def fixture_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A small generated data set as the three CSV files."""
    return generate(11, stores=9).write(tmp_path)


def _rows(status: Path) -> list[str]:
    return status.read_text(encoding="utf-8").splitlines()[1:]


def _write_shards(folder: Path, chunks: Sequence[Sequence[str]], prefix: str = "s") -> list[Path]:
    """Write each chunk of rows as a status CSV of its own, named in sorted order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, chunk in enumerate(chunks):
        path = folder / f"{prefix}{number:03d}.csv"
        path.write_text("\n".join([HEADER, *chunk]) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _halves(rows: Sequence[str]) -> list[Sequence[str]]:
    middle = len(rows) // 2
    return [rows[:middle], rows[middle:]]


def _report_csv(status: object, hours: Path, zones: Path, **options: Any) -> str:
    stream = io.StringIO()
    write_report_csv(build_report(status, hours, zones, **options), stream)  # type: ignore[arg-type]
    return stream.getvalue()


def _write_parquet(path: Path, rows: Sequence[str], *, stamps: str = "text") -> Path:
    """Write status rows as Parquet: timestamps as text, or as a naive or UTC timestamp type."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    fields = [row.split(",") for row in rows]
    times: Any = [field[2] for field in fields]
    if stamps != "text":
        parsed = pa.array([text.removesuffix(" UTC") for text in times]).cast(pa.timestamp("us"))
        times = parsed if stamps == "naive" else parsed.cast(pa.timestamp("ns", "UTC"))
    table = pa.table(
        {
            "store_id": [field[0] for field in fields],
            "status": [field[1] for field in fields],
            "timestamp_utc": times,
            "extra": list(range(len(fields))),
        }
    )
    pq.write_table(table, path)
    return path


@pytest.fixture(name="served")
def fixture_served(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (a free port) serving tmp_path/www; its base URL."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        """Serves the folder without logging each request."""

        def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
            """No request log on stderr."""

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --------------------------------------------------------------------------- library


def test_several_files_give_the_report_of_their_concatenation(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """A list of CSV shards gives byte for byte the report of the one concatenated file."""
    status, hours, zones = files
    shards = _write_shards(tmp_path / "shards", _halves(_rows(status)))
    assert _report_csv(shards, hours, zones) == _report_csv(status, hours, zones)


def test_a_glob_stands_for_its_sorted_matches(tmp_path: Path) -> None:
    """A glob (``**`` recursive) expands to the files it matches, sorted by name."""
    _write_shards(tmp_path / "b" / "deep", [["x"]], prefix="z")
    _write_shards(tmp_path / "a", [["y"], ["y"]])
    (tmp_path / "a" / "notes.txt").write_text("no", encoding="utf-8")
    shards = status_shards(str(tmp_path / "**" / "*.csv"))
    assert shards is not None
    assert [Path(shard.location).relative_to(tmp_path).as_posix() for shard in shards.shards] == [
        "a/s000.csv",
        "a/s001.csv",
        "b/deep/z000.csv",
    ]


def test_a_glob_gives_the_report_of_the_files(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """build_report takes a glob string and reads every file it matches."""
    status, hours, zones = files
    _write_shards(tmp_path / "polls", _halves(_rows(status)))
    glob = str(tmp_path / "polls" / "*.csv")
    assert _report_csv(glob, hours, zones) == _report_csv(status, hours, zones)


@pytest.mark.parametrize(
    ("value", "shards"),
    [
        ("plain.csv", None),
        ("table.parquet", (Shard("table.parquet", parquet=True),)),
        ("TABLE.PQ", (Shard("TABLE.PQ", parquet=True),)),
        ("https://host/s.csv", (Shard("https://host/s.csv", url=True),)),
        ("s3://bucket/s.pq", (Shard("s3://bucket/s.pq", parquet=True, url=True),)),
        (["a.csv"], (Shard("a.csv"),)),
        (("a.csv", Path("b.pq")), (Shard("a.csv"), Shard("b.pq", parquet=True))),
        ([], None),
        ([("s1", "active", "2023-01-01 00:00:00 UTC")], None),
    ],
)
def test_what_a_status_input_stands_for(value: object, shards: tuple[Shard, ...] | None) -> None:
    """Paths, URLs and lists become shards by their text; one local CSV path stays as it is."""
    found = status_shards(value)
    assert (None if found is None else found.shards) == shards


def test_csv_and_parquet_shards_mix(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """A list mixing a CSV and a Parquet shard gives the report of the one CSV file."""
    status, hours, zones = files
    first, second = _halves(_rows(status))
    csv_shard = _write_shards(tmp_path / "shards", [first])[0]
    parquet_shard = _write_parquet(tmp_path / "shards" / "rest.parquet", second)
    assert _report_csv([csv_shard, parquet_shard], hours, zones) == _report_csv(
        status, hours, zones
    )


@pytest.mark.parametrize("stamps", ["text", "naive", "utc"])
def test_parquet_timestamps_may_be_text_or_timestamps(
    stamps: str, files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """A Parquet shard's timestamp_utc may be text, a naive (UTC) or a UTC timestamp type."""
    status, hours, zones = files
    shard = _write_parquet(tmp_path / "all.pq", _rows(status), stamps=stamps)
    assert _report_csv(str(shard), hours, zones) == _report_csv(status, hours, zones)


def test_http_urls_are_read(
    files: tuple[Path, Path, Path], tmp_path: Path, served: str
) -> None:
    """CSV and Parquet shards served over HTTP give the report of the local file."""
    status, hours, zones = files
    first, second = _halves(_rows(status))
    _write_shards(tmp_path / "www", [first])
    _write_parquet(tmp_path / "www" / "rest.parquet", second)
    urls = [f"{served}/s000.csv", f"{served}/rest.parquet"]
    assert _report_csv(urls, hours, zones) == _report_csv(status, hours, zones)


def test_other_schemes_go_through_fsspec(files: tuple[Path, Path, Path]) -> None:
    """A ``memory://`` URL glob is listed and read by fsspec."""
    fsspec = pytest.importorskip("fsspec")
    status, hours, zones = files
    memory = fsspec.filesystem("memory")
    for number, chunk in enumerate(_halves(_rows(status))):
        memory.pipe(f"/i10/s{number}.csv", ("\n".join([HEADER, *chunk]) + "\n").encode())
    try:
        report = _report_csv("memory://i10/s*.csv", hours, zones)
    finally:
        memory.rm("/i10", recursive=True)
    assert report == _report_csv(status, hours, zones)


def test_polls_at_one_instant_in_two_shards_behave_as_in_one_file(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """An active and an inactive poll of a store at one instant: inactive wins, across shards."""
    _, hours, zones = files
    rows = [
        "s1,active,2023-01-25 10:00:00 UTC",
        "s1,active,2023-01-25 10:30:00 UTC",
        "s1,inactive,2023-01-25 10:30:00 UTC",
        "s1,active,2023-01-25 11:00:00 UTC",
    ]
    one = _write_shards(tmp_path / "one", [rows])
    two = _write_shards(tmp_path / "two", [rows[:2], rows[2:]])
    assert _report_csv(two, hours, zones) == _report_csv(one, hours, zones)


def test_pools_read_local_shards_in_byte_ranges(
    files: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shards read by a process pool (spilled, one folder per shard) or threads agree."""
    status, hours, zones = files
    shards = _write_shards(tmp_path / "shards", _halves(_rows(status)))
    expected = _report_csv(status, hours, zones)
    with ThreadPoolExecutor(2) as threads:
        assert _report_csv(shards, hours, zones, executor=threads) == expected
    monkeypatch.setattr(building, "PARALLEL_MIN_BYTES", 0)
    assert _report_csv(shards, hours, zones, jobs=2) == expected


def test_progress_counts_the_bytes_of_every_shard(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """The reading stage ends at the data bytes of all local shards together."""
    status, hours, zones = files
    shards = _write_shards(tmp_path / "shards", _halves(_rows(status)))
    seen: list[tuple[int, int]] = []
    build_report(
        shards,
        hours,
        zones,
        progress=lambda stage, done, total: seen.append((done, total))
        if stage == "reading"
        else None,
    )
    data = sum(path.stat().st_size - len(HEADER) - 1 for path in shards)
    assert seen[-1] == (data, data)
    assert {total for _, total in seen} == {data}


# --------------------------------------------------------------------------- errors


def _error(status: object, files: tuple[Path, Path, Path], **options: Any) -> str:
    with pytest.raises(InputDataError) as caught:
        build_report(status, files[1], files[2], **options)
    return str(caught.value)


def test_a_missing_shard_is_named(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """A missing file in a list is one error naming it."""
    missing = tmp_path / "gone.csv"
    assert _error([files[0], missing], files) == (
        f"{missing}: cannot read the file: No such file or directory"
    )


def test_a_glob_matching_nothing_is_an_error(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """A glob that matches no file is an error naming the pattern."""
    pattern = str(tmp_path / "none" / "*.csv")
    assert _error(pattern, files) == (
        f"{pattern}: the status glob matches no file; check the pattern (quote it, so that "
        "the shell leaves it to us) and the folder"
    )


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_bad_row_names_its_shard_and_line(
    jobs: int, files: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad row in the second shard is ``that-file:line``."""
    monkeypatch.setattr(building, "PARALLEL_MIN_BYTES", 0)
    rows = _rows(files[0])
    shards = _write_shards(tmp_path / "shards", [rows[:5], [*rows[5:8], "s9,maybe,x", *rows[8:]]])
    assert _error(shards, files, jobs=jobs) == (
        f"{shards[1]}:5: unknown status 'maybe': expected active or inactive"
    )


def test_a_bad_parquet_row_names_its_row(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """A bad Parquet row is ``file.parquet:row N`` (N counting the rows from 1)."""
    rows = _rows(files[0])[:4]
    shard = _write_parquet(tmp_path / "bad.parquet", [*rows[:2], "s9,active,yesterday", *rows])
    message = _error([files[0], shard], files)
    assert message.startswith(f"{shard}:row 3: bad timestamp 'yesterday'")


def test_skipped_rows_name_their_shards(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    """In skip mode each reject names its shard and line (a Parquet row's number)."""
    rows = _rows(files[0])
    csv_shard = _write_shards(tmp_path / "shards", [[rows[0], "s9,maybe,x", *rows[1:5]]])[0]
    parquet = _write_parquet(tmp_path / "shards" / "b.parquet", [*rows[5:], "s9,maybe,x"])
    report = build_report([csv_shard, parquet], files[1], files[2], on_error="skip")
    assert [reject.location() for reject in report.rejects] == [
        f"{csv_shard}:3",
        f"{parquet}:{len(rows) - 4}",
    ]


def test_an_unreachable_url_is_one_line(files: tuple[Path, Path, Path]) -> None:
    """A URL whose server cannot be reached is one line naming it."""
    url = f"http://127.0.0.1:{_free_port()}/status.csv"
    message = _error(url, files)
    assert message.startswith(f"{url}: cannot read the URL: ")
    assert "\n" not in message


def test_a_url_answering_404_is_one_line(files: tuple[Path, Path, Path], served: str) -> None:
    """A URL the server does not have is named with the HTTP status."""
    url = f"{served}/none.csv"
    assert _error([files[0], url], files) == f"{url}: cannot read the URL: HTTP 404 File not found"


@pytest.fixture(name="answering")
def fixture_answering() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 answering ``GET /<code>`` with that status code."""

    class Answering(http.server.BaseHTTPRequestHandler):
        """Answers the status code its path names, with an empty body."""

        def do_GET(self) -> None:  # pylint: disable=invalid-name  # http.server's name
            """Answer the code of the path."""
            self.send_response(int(self.path.strip("/").split(".")[0]))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
            """No request log on stderr."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("code", "transient"),
    [(404, False), (403, False), (410, False), (408, True), (429, True), (500, True),
     (502, True), (503, True)],
)
def test_a_url_error_status_is_transient_only_when_trying_later_may_help(
    files: tuple[Path, Path, Path], answering: str, code: int, transient: bool
) -> None:
    """408, 429 and 5xx are InputUnavailableError (transient); other error statuses are not."""
    url = f"{answering}/{code}.csv"
    with pytest.raises(InputDataError) as caught:
        build_report([files[0], url], files[1], files[2])
    assert isinstance(caught.value, InputUnavailableError) is transient
    assert caught.value.transient is transient
    assert str(caught.value).startswith(f"{url}: cannot read the URL: HTTP {code}")


def test_an_unreachable_url_is_transient(files: tuple[Path, Path, Path]) -> None:
    """A server that cannot be reached may be back later: InputUnavailableError."""
    url = f"http://127.0.0.1:{_free_port()}/status.csv"
    with pytest.raises(InputUnavailableError) as caught:
        build_report(url, files[1], files[2])
    assert caught.value.transient


@pytest.mark.parametrize(("code", "exit_code"), [(503, 1), (404, 3)])
def test_the_cli_exits_1_for_a_url_to_try_later_and_3_for_one_to_fix(
    files: tuple[Path, Path, Path], answering: str, code: int, exit_code: int
) -> None:
    """A status URL answering 503 is exit 1 (try again later), 404 exit 3; one line each."""
    url = f"{answering}/{code}.csv"
    result = runner.invoke(
        app,
        ["uptime", "report", "--status", url, "--hours", str(files[1]), "--timezones",
         str(files[2])],
    )
    assert result.exit_code == exit_code
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {url}: cannot read the URL: HTTP {code}")
    assert result.stderr.count("\n") == 1


def test_an_unknown_scheme_is_one_line(files: tuple[Path, Path, Path]) -> None:
    """A scheme no fsspec backend knows is one line naming the URL."""
    pytest.importorskip("fsspec")
    message = _error("nosuchscheme://bucket/status.csv", files)
    assert message.startswith("nosuchscheme://bucket/status.csv: cannot read the URL: ")
    assert "nosuchscheme" in message.split(": ", 2)[2]
    assert "\n" not in message


@pytest.mark.parametrize(
    ("module", "status", "purpose"),
    [
        ("pyarrow.parquet", "polls.parquet", "reading Parquet needs pyarrow"),
        ("fsspec", "s3://bucket/polls.csv", "reading s3://, gs:// and other URLs needs fsspec"),
    ],
)
def test_a_missing_optional_dependency_names_the_extra(
    module: str,
    status: str,
    purpose: str,
    files: tuple[Path, Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without pyarrow (or fsspec) a Parquet (or s3://) shard says what to install."""
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "polls.parquet").write_bytes(b"not read")
    assert _error(status, files) == (
        f"{status}: {purpose}, which is not installed: {FAST_HINT}"
    )


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"path": "a.csv", "line": 3}, "a.csv:3: bad"),
        ({"path": "a.pq", "row": 3}, "a.pq:row 3: bad"),
        ({"row": 3}, "row 3: bad"),
        ({"line": 3}, "line 3: bad"),
        ({"path": "a.csv"}, "a.csv: bad"),
        ({}, "bad"),
    ],
)
def test_input_errors_say_where(options: dict[str, Any], text: str) -> None:
    """An input error's location is ``file:line``, or ``file:row N`` for a Parquet row."""
    assert str(InputDataError("bad", **options)) == text


# --------------------------------------------------------------------------- property


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_split_into_shards_gives_the_same_report(
    data: st.DataObject, files: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Splitting a status file's rows into k shards, in any way, gives the same report."""
    status, hours, zones = files
    rows = _rows(status)
    shards = data.draw(st.integers(1, 5), label="shards")
    owner = data.draw(st.lists(st.integers(0, shards - 1), min_size=len(rows), max_size=len(rows)))
    chunks = [
        [row for row, shard in zip(rows, owner) if shard == number] for number in range(shards)
    ]
    folder = tmp_path_factory.mktemp("split")
    paths = _write_shards(folder, chunks)
    assert _report_csv(paths, hours, zones) == _report_csv(status, hours, zones)


# --------------------------------------------------------------------------- command line


def test_the_cli_takes_status_repeatedly_and_globs(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """``--status`` repeated, or given a quoted glob, reports the polls of every file."""
    status, hours, zones = files
    shards = _write_shards(tmp_path / "polls", _halves(_rows(status)))
    expected = _report_csv(status, hours, zones)
    tail = ["--hours", str(hours), "--timezones", str(zones), "-q"]
    repeated = ["uptime", "report", "--status", str(shards[0]), "--status", str(shards[1])]
    globbed = ["uptime", "report", "--status", str(tmp_path / "polls" / "*.csv")]
    for args in (repeated + tail, globbed + tail):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert result.stdout == expected


def test_the_cli_names_the_shard_of_a_bad_row(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """A bad row of the second --status file is one line naming it, exit 3, no traceback."""
    status, hours, zones = files
    rows = _rows(status)
    shards = _write_shards(tmp_path / "polls", [rows[:3], ["s9,maybe,x", *rows[3:]]])
    args = ["uptime", "report", "--status", str(shards[0]), "--status", str(shards[1])]
    result = runner.invoke(app, [*args, "--hours", str(hours), "--timezones", str(zones)])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {shards[1]}:2: unknown status 'maybe': expected active or inactive "
        "(fix the row, or leave bad rows out with --on-error skip)\n"
    )


def test_the_cli_help_says_status_repeats_and_takes_globs() -> None:
    """The report's help says --status may be repeated and given a glob or URL."""
    result = runner.invoke(app, ["uptime", "report", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "Repeat --status for several" in text
    assert "a glob in quotes" in text
    assert "FILE|GLOB|URL" in text


def test_ingest_takes_several_status_files(
    files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """``uptime ingest --status A --status B`` stores the polls of both files."""
    status, hours, zones = files
    shards = _write_shards(tmp_path / "polls", _halves(_rows(status)))
    db = tmp_path / "store.db"
    args = ["uptime", "ingest", "--db", str(db), "--status", str(shards[0])]
    result = runner.invoke(app, [*args, "--status", str(shards[1]), "--hours", str(hours),
                                 "--timezones", str(zones)])
    assert result.exit_code == 0, result.output
    report = runner.invoke(app, ["uptime", "report", "--db", str(db), "-q"])
    assert report.exit_code == 0, report.output
    assert report.stdout == _report_csv(status, hours, zones)
