"""The columnar engine (pyarrow + numpy) gives the pure engine's report, errors and rejects."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outages_processor.errors import InputDataError
from outages_processor.inputs import status_file
from outages_processor.inputs.poll_blocks import StatusPart
from outages_processor.models.common import Engine, OnError
from outages_processor.reports import building
from outages_processor.reports.building import build_report
from outages_processor.reports.engines import AUTO_COLUMNAR_MIN_BYTES, columnar_wanted
from outages_processor.scripts.main import app
from outages_processor.tests.status_samples import (
    CLEAN,
    FALLBACK,
    HEADER,
    MOMENTS,
    POLL_ROWS,
    RECENT,
    REPEATS,
    status_inputs,
    status_stamp,
    write_polls,
)
from outages_processor.tests.uptime_data import generate

pytest.importorskip("pyarrow")
pytest.importorskip("numpy")

# pylint: disable=wrong-import-position  # only where pyarrow is installed
from outages_processor.inputs import status_columnar  # noqa: E402
from outages_processor.inputs.status_columnar import read_status_columnar  # noqa: E402

ENGINE_PAIR: tuple[Engine, Engine] = ("python", "columnar")


def _outcome(
    status: Path, hours: Path, zones: Path, engine: Engine, on_error: OnError = "fail"
) -> object:
    """The report's rows, now and rejects, or the error's message."""
    try:
        report = build_report(status, hours, zones, engine=engine, on_error=on_error, jobs=1)
    except InputDataError as err:
        return ("error", str(err))
    return (report.rows, report.now, report.rejects)


def _normal(part: StatusPart) -> tuple[dict[str, tuple[list[float], list[float]]], float, int]:
    """A part's polls by store (block layout aside), latest and count."""
    stores = {}
    for block in part.blocks:
        for store_id, active, inactive in block.polls():
            stores[store_id] = (list(active), list(inactive))
    return stores, part.latest, part.polls


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("interpolation", ["nearest", "previous"])
def test_generated_data_sets_give_the_same_report(
    seed: int, interpolation: str, tmp_path: Path
) -> None:
    """A generated data set's report is the same with either engine."""
    status, hours, zones = generate(seed).write(tmp_path)
    reports = [
        build_report(
            status, hours, zones, engine=engine, interpolation=interpolation, jobs=1  # type: ignore[arg-type]
        )
        for engine in ENGINE_PAIR
    ]
    assert reports[0] == reports[1]


def test_a_pool_with_the_columnar_engine_gives_the_same_report(tmp_path: Path) -> None:
    """With a process pool (two partitions), the columnar report equals the pure one."""
    status, hours, zones = generate(7, stores=40).write(tmp_path)
    pure = build_report(status, hours, zones, engine="python", jobs=2)
    columnar = build_report(status, hours, zones, engine="columnar", jobs=2)
    assert pure == columnar


@pytest.mark.parametrize("jobs", [1, 2])
def test_several_shards_give_the_same_report_with_either_engine(jobs: int, tmp_path: Path) -> None:
    """Shards (one of them quoted, so read the pure way) give one report with either engine."""
    status, hours, zones = generate(8, stores=30).write(tmp_path)
    lines = status.read_text(encoding="utf-8").splitlines()
    middle = len(lines) // 2
    first = tmp_path / "a.csv"
    first.write_text("\n".join(lines[:middle]) + "\n", encoding="utf-8")
    second = tmp_path / "b.csv"
    quoted = [",".join(f'"{field}"' for field in line.split(",")) for line in lines[middle:]]
    second.write_text("\n".join([lines[0], *quoted]) + "\n", encoding="utf-8")
    shards = [first, second]
    pure = build_report(shards, hours, zones, engine="python", jobs=jobs)
    columnar = build_report(shards, hours, zones, engine="columnar", jobs=jobs)
    assert pure == columnar == build_report(status, hours, zones, engine="python", jobs=1)


@pytest.mark.parametrize("partitions", [1, 2, 5])
def test_the_columnar_part_holds_the_pure_parts_polls(partitions: int, tmp_path: Path) -> None:
    """Each store's times (in file order), the latest and the count equal the pure part's."""
    status, _, _ = generate(3).write(tmp_path)
    layout = status_file.read_status_layout(status)
    pure = status_file.read_status_part(
        layout, layout.data_start, layout.size, partitions=partitions
    )
    columnar = read_status_columnar(status, partitions=partitions)
    assert columnar is not None
    assert _normal(columnar) == _normal(pure)
    assert len(columnar.blocks) == partitions


@pytest.mark.parametrize("name", sorted(CLEAN))
def test_a_clean_file_is_read_by_the_columnar_reader(name: str, tmp_path: Path) -> None:
    """The columnar reader takes a clean file and gives the pure reader's polls."""
    status, _, _ = status_inputs(tmp_path, f"{HEADER}\n".encode() + CLEAN[name])
    columnar = read_status_columnar(status)
    assert columnar is not None
    assert _normal(columnar) == _normal(status_file.read_status_sequential(status))


@pytest.mark.parametrize("name", sorted(FALLBACK))
def test_a_file_that_is_not_clean_goes_to_the_pure_readers(name: str, tmp_path: Path) -> None:
    """The columnar reader gives a file it cannot prove clean back (None)."""
    status, _, _ = status_inputs(tmp_path, f"{HEADER}\n".encode() + FALLBACK[name])
    assert read_status_columnar(status) is None


@pytest.mark.parametrize("bad_row", [None, 0, 333, 999])
def test_many_chunks_and_slices_parse_alike(
    bad_row: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With small blocks and slices (parsed by several threads), the polls are the same;
    a bad time in any slice, first, middle or last, sends the file to the pure readers."""
    monkeypatch.setattr(status_columnar, "_BLOCK_BYTES", 4096)
    monkeypatch.setattr(status_columnar, "_SLICE_ROWS", 37)
    data = generate(11, stores=25, days=3)
    status, _, _ = data.write(tmp_path)
    if bad_row is not None:
        lines = status.read_text(encoding="utf-8").splitlines()
        lines[1 + bad_row] = lines[1 + bad_row].replace(" UTC", "")
        status.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len(data.polls) > 1000
    columnar = read_status_columnar(status)
    if bad_row is not None:
        assert columnar is None
    else:
        assert columnar is not None
        assert _normal(columnar) == _normal(status_file.read_status_sequential(status))


@pytest.mark.parametrize("name", sorted({**CLEAN, **FALLBACK}))
@pytest.mark.parametrize("on_error", ["fail", "skip"])
def test_every_variant_gives_the_same_outcome(
    name: str, on_error: OnError, tmp_path: Path
) -> None:
    """Report, rejects or error message: the same with either engine, in either mode."""
    inputs = status_inputs(tmp_path, f"{HEADER}\n".encode() + {**CLEAN, **FALLBACK}[name])
    pure = _outcome(*inputs, "python", on_error)
    assert _outcome(*inputs, "columnar", on_error) == pure


@pytest.mark.parametrize(
    "header",
    [
        "timestamp_utc,store_id,status",
        "\ufeffstore_id,status,timestamp_utc",
        "x,status,timestamp_utc,store_id",
    ],
)
def test_other_column_orders_give_the_same_report(header: str, tmp_path: Path) -> None:
    """Columns in any order, extra columns and a byte order mark: the same report."""
    order = [name.lstrip("\ufeff") for name in header.split(",")]
    values = {
        "store_id": "7",
        "status": "inactive",
        "timestamp_utc": "2023-01-22 12:09:39 UTC",
        "x": "y",
    }
    row = ",".join(values[name] for name in order)
    text = f"{header}\n{row}\n{row.replace('inactive', 'active')}\n"
    inputs = status_inputs(tmp_path, text.encode())
    assert read_status_columnar(inputs[0]) is not None
    assert _outcome(*inputs, "columnar") == _outcome(*inputs, "python")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=POLL_ROWS,
    duplicates=REPEATS,
    interpolation=st.sampled_from(["nearest", "previous"]),
)
def test_generated_files_give_the_same_report(
    rows: list[tuple[str, bool, datetime]],
    duplicates: list[int],
    interpolation: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Random stores, statuses, times (pre-1970, fractions, polls sharing an instant)."""
    status, hours, zones = write_polls(tmp_path_factory.mktemp("generated"), rows, duplicates)
    columnar = read_status_columnar(status)
    assert columnar is not None
    assert _normal(columnar) == _normal(status_file.read_status_sequential(status))
    latest = max(moment for _, _, moment in rows)
    now = min(latest + timedelta(hours=1), datetime(9999, 12, 17, tzinfo=timezone.utc))
    reports = [
        build_report(
            status, hours, zones, engine=engine, now=now, interpolation=interpolation, jobs=1  # type: ignore[arg-type]
        )
        for engine in ENGINE_PAIR
    ]
    assert reports[0] == reports[1]


# Times in the clean style whose fields may be out of range (month 13, hour 24, ...).
_FIELDS = st.builds(
    "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}{} UTC".format,
    st.integers(0, 9999), st.integers(0, 19), st.integers(0, 39), st.integers(0, 29),
    st.integers(0, 69), st.integers(0, 69),
    st.one_of(st.just(""), st.from_regex(r"\A\.[0-9]{1,7}\Z")),
)  # fmt: skip
# What a time may be changed into: digits, the style's own characters, and others.
_NEAR_CHARACTERS = st.sampled_from(list("0123456789-: .TZ+U/aé\x00") + ["\x7f", "\u0660"])


def _columnar_agrees(stamp: str, folder: Path) -> None:
    """The columnar reader reads a file with this time as the pure reader does, or gives it
    back: it never takes a time the pure reader rejects, nor reads one as another instant."""
    row = f"1,active,{stamp}\n2,inactive,2023-01-22 12:09:40 UTC\n"
    status, _, _ = status_inputs(folder, f"{HEADER}\n{row}".encode())
    columnar = read_status_columnar(status)
    try:
        pure = status_file.read_status_sequential(status)
    except InputDataError:
        assert columnar is None
        return
    if pure.error is not None:
        assert columnar is None
    elif columnar is not None:
        assert _normal(columnar) == _normal(pure)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stamp=_FIELDS)
def test_a_time_with_fields_out_of_range_is_given_back(
    stamp: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Month 0 or 13, day 31 of a short month, 29 February of a common year, hour 24,
    minute or second 60, year 0, a seven-digit fraction: the pure reader's rejects."""
    _columnar_agrees(stamp, tmp_path_factory.mktemp("fields"))


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    stamp=st.one_of(MOMENTS.map(status_stamp), RECENT.map(status_stamp)),
    edits=st.lists(
        st.tuples(st.sampled_from(["replace", "insert", "delete"]), st.integers(0, 29),
                  _NEAR_CHARACTERS),
        min_size=1, max_size=3,
    ),
)  # fmt: skip
def test_a_time_with_characters_changed_is_read_alike_or_given_back(
    stamp: str, edits: list[tuple[str, int, str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A clean time with characters replaced, inserted or deleted."""
    characters = list(stamp)
    for kind, position, character in edits:
        position = min(position, len(characters) - (kind != "insert"))
        if kind == "replace":
            characters[position] = character
        elif kind == "insert":
            characters.insert(position, character)
        else:
            del characters[position]
    _columnar_agrees("".join(characters), tmp_path_factory.mktemp("edits"))


def _cli_args(folder: Path, *extra: str) -> list[str]:
    status, hours, zones = generate(1).write(folder)
    return [
        "uptime", "report", "--status", str(status), "--hours", str(hours),
        "--timezones", str(zones), "-q", *extra,
    ]  # fmt: skip


def test_the_command_writes_the_same_report_with_either_engine(tmp_path: Path) -> None:
    """``--engine columnar`` and ``--engine python`` write the same CSV."""
    outputs = []
    for engine in ("python", "columnar"):
        result = CliRunner().invoke(app, _cli_args(tmp_path, "--engine", engine))
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]


def test_an_unknown_engine_is_a_usage_error(tmp_path: Path) -> None:
    """``--engine fast`` exits 2 with typer's one line naming the choices."""
    result = CliRunner().invoke(app, _cli_args(tmp_path, "--engine", "fast"))
    assert result.exit_code == 2
    assert "'fast' is not one of 'auto', 'python', 'columnar'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("setting", "expected"), [(None, "1"), ("0", "0"), ("1", "1")])
def test_pyarrow_is_loaded_with_large_pages_unless_the_environment_says_otherwise(
    setting: str | None, expected: str
) -> None:
    """Checking for the engine sets mimalloc's large pages before pyarrow loads, and
    leaves a value the user gave."""
    code = (
        "import os\n"
        "from outages_processor.inputs.status_columnar import columnar_available\n"
        "assert columnar_available()\n"
        "print(os.environ['MIMALLOC_ALLOW_LARGE_OS_PAGES'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MIMALLOC_ALLOW_LARGE_OS_PAGES"}
    if setting is not None:
        env["MIMALLOC_ALLOW_LARGE_OS_PAGES"] = setting
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == expected

def test_the_columnar_engine_without_pyarrow_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--engine columnar`` without pyarrow exits 3 with one line naming the extra."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now fails
    result = CliRunner().invoke(app, _cli_args(tmp_path, "--engine", "columnar"))
    assert result.exit_code == 3
    assert result.stderr == (
        "error: the columnar engine needs pyarrow and numpy: "
        "pip install 'outages_processor[fast]'\n"
    )


@pytest.mark.parametrize(
    ("size", "engine", "wanted"),
    [
        (AUTO_COLUMNAR_MIN_BYTES - 1, "auto", False),
        (AUTO_COLUMNAR_MIN_BYTES, "auto", True),
        (100, "columnar", True),
        (AUTO_COLUMNAR_MIN_BYTES, "python", False),
    ],
)
def test_auto_picks_the_columnar_engine_for_files_of_4_mib_and_more(
    size: int, engine: Engine, wanted: bool, tmp_path: Path
) -> None:
    """``"auto"`` tries the columnar engine on local files of at least 4 MiB only."""
    path = tmp_path / "status.csv"
    path.write_bytes(b"x" * size)
    assert AUTO_COLUMNAR_MIN_BYTES == 4 << 20
    assert columnar_wanted(path, engine) is wanted

def test_auto_without_pyarrow_reads_with_the_pure_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``engine="auto"`` without pyarrow gives the pure report (no error)."""
    status, hours, zones = generate(2).write(tmp_path)
    expected = build_report(status, hours, zones, engine="python", jobs=1)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert build_report(status, hours, zones, engine="auto", jobs=1) == expected


def test_an_unknown_engine_is_a_value_error(tmp_path: Path) -> None:
    """``build_report(engine=...)`` refuses an engine it does not know."""
    status, hours, zones = generate(2).write(tmp_path)
    with pytest.raises(ValueError, match="unknown engine 'fast': use auto, python or columnar"):
        build_report(status, hours, zones, engine="fast", jobs=1)  # type: ignore[arg-type]


def test_the_columnar_engine_does_not_import_pandas(tmp_path: Path) -> None:
    """Reading a clean file leaves pandas unimported (importing it would cost 0.3 s)."""
    status, _, _ = generate(1).write(tmp_path)
    code = (
        "import sys\n"
        "from outages_processor.inputs.status_columnar import read_status_columnar\n"
        f"assert read_status_columnar({str(status)!r}) is not None\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout == "False\n"


def test_a_clean_file_is_computed_without_a_process_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large clean file read by the columnar engine is computed in this process."""
    status, hours, zones = generate(4).write(tmp_path)
    expected = build_report(status, hours, zones, engine="python", jobs=1)
    monkeypatch.setattr(building, "PARALLEL_MIN_BYTES", 0)

    def no_pool(workers: int) -> None:
        raise AssertionError(f"a pool of {workers} was started")

    monkeypatch.setattr(building, "process_pool", no_pool)
    assert build_report(status, hours, zones, engine="columnar", jobs=2) == expected


@pytest.mark.parametrize("name", ["plain", "quoted"])
def test_hours_and_zones_read_once_serve_either_outcome(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hours and zones given as one-shot iterators: the same report, file clean or not."""
    data = generate(5)
    status, _, _ = data.write(tmp_path)
    lines = status.read_text(encoding="utf-8").splitlines(keepends=True)
    if name == "quoted":  # a quoted field: the columnar reader gives the file back
        lines[1] = '"' + lines[1].replace(",", '",', 1)
    status.write_text("".join(lines), encoding="utf-8")
    expected = build_report(status, data.hours, data.zones, engine="python", jobs=1)
    monkeypatch.setattr(building, "PARALLEL_MIN_BYTES", 0)
    report = build_report(
        status, iter(data.hours), iter(data.zones), engine="columnar", jobs=2
    )
    assert report == expected
