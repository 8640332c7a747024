"""The ``process_outages uptime`` command: store uptime reports from status polls.

The report code is imported inside the command, so that ``process_outages --help`` stays
fast.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, cast

import typer

from outages_processor._time import format_utc_text
from outages_processor.models.common import Engine, OnError
from outages_processor.scripts._common import (
    EXIT_NEEDS_FIX,
    EXIT_TRANSIENT,
    EXIT_USAGE,
    check_rejects,
    check_writable,
    fail,
    on_error_option,
    parse_instant,
    plural,
    progress_bars,
    rejects_option,
    report_skipped,
    reported_errors,
    stderr_is_terminal,
    stdout_data,
)

if TYPE_CHECKING:
    from outages_processor.models.status_ingest import StoreIngest
    from outages_processor.models.uptime import UptimeReport

__all__ = ["app"]

DEFAULT_DB = "uptime.db"
"""The status store when neither --db nor $UPTIME_DB names one."""
DB_ENV = "UPTIME_DB"
"""The environment variable naming the status store."""

app = typer.Typer(
    name="uptime",
    help=(
        "Store uptime reports: each store's uptime and downtime within its business hours "
        "over the last hour, day and week, from periodic status polls."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)


class Interpolation(str, enum.Enum):
    """The values ``--interpolation`` accepts."""

    NEAREST = "nearest"
    PREVIOUS = "previous"


def _parse_now(value: str) -> datetime:
    """``--now``: an instant (see ``parse_instant``) in the range a report can take.

    Raises:
        typer.BadParameter: not a timestamp, or out of range (a usage error, exit 2).
    """
    moment = parse_instant(value)
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.models.uptime import instant_problem

    problem = instant_problem(moment.timestamp())
    if problem is not None:
        raise typer.BadParameter(f"{value!r} is {problem}")
    return moment


def _database_path(value: Optional[str]) -> Optional[str]:
    """Refuse --db values that name no file: SQLite would use a throw-away database."""
    if value in ("", ":memory:"):
        raise typer.BadParameter(
            f"{value!r} is not a file; give the path of the status database file"
        )
    return value


_STATUS_OPTION = typer.Option(
    "--status",
    help="Status polls: store_id, status (active|inactive), timestamp_utc. A CSV file, or "
    "Parquet (.parquet, .pq; needs the fast extra); a glob in quotes (polls/*.csv, ** for "
    "any depth of folders), expanded here; or a URL (http:// or https://; s3:// and other "
    "schemes with the fast extra). Repeat --status for several: their polls are combined.",
    show_default=False,
    metavar="FILE|GLOB|URL",
)
_HOURS_OPTION = typer.Option(
    "--hours",
    help="Business hours CSV: store_id, dayOfWeek (or day; 0 = Monday), "
    "start_time_local, end_time_local. A store without rows is open 24x7.",
    show_default=False,
    dir_okay=False,
    metavar="FILE",
)
_TIMEZONES_OPTION = typer.Option(
    "--timezones",
    help="Time zones CSV: store_id, timezone_str. A store without one is in "
    "America/Chicago.",
    show_default=False,
    dir_okay=False,
    metavar="FILE",
)
_DB_OPTION = typer.Option(
    "--db",
    envvar=DB_ENV,
    metavar="PATH",
    callback=_database_path,
    help="The status store (SQLite file).",
)


def _report_store(
    db: Optional[str], files: Sequence[object], on_error: OnError, rejects: Optional[Path]
) -> Optional[str]:
    """The store a report reads, or None for the three files; a usage error if mixed.

    Raises:
        typer.Exit: the options mix a store with files, or give neither (exit 2).
    """
    if db is not None and any(path is not None for path in files):
        fail("give either --db or --status, --hours and --timezones, not both", EXIT_USAGE)
    if db is None and all(path is not None for path in files):
        return None
    if db is None:
        db = os.environ.get(DB_ENV) or None
        if db is None or any(path is not None for path in files):
            fail(
                "give --status, --hours and --timezones, or --db (a status store)", EXIT_USAGE
            )
        db = _database_path(db)
    if on_error != "fail" or rejects is not None:
        fail("--on-error and --rejects apply to input files, not to --db", EXIT_USAGE)
    return db


@app.command()
def ingest(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    status: Annotated[Optional[list[str]], _STATUS_OPTION] = None,
    hours: Annotated[Optional[Path], _HOURS_OPTION] = None,
    timezones: Annotated[Optional[Path], _TIMEZONES_OPTION] = None,
    db: Annotated[str, _DB_OPTION] = DEFAULT_DB,
    on_error: Annotated[
        OnError, on_error_option("row", "everything and nothing is stored")
    ] = "fail",
    rejects: Annotated[Optional[Path], rejects_option("row", "file,line,reason,row")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print what was stored as one JSON object.")
    ] = False,
) -> None:
    """Load a status store: add polls, replace business hours and time zones.

    The polls are added to those stored (the same poll twice is stored once); hours and
    time zones, when given, replace the stored ones. All in one transaction: stored
    completely or not at all.
    """
    if not status and hours is None and timezones is None:
        fail("give at least one of --status, --hours and --timezones", EXIT_USAGE)
    check_rejects(rejects, on_error)
    check_writable(rejects)
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.reports.store_jobs import load_store

    with reported_errors(), _skip_hint(on_error):
        result = load_store(
            db,
            status=_status_input(status),
            hours=hours,
            timezones=timezones,
            on_error=on_error,
            rejects=rejects,
        )
    if as_json:
        with stdout_data(f"stored the data in {db}") as stdout:
            stdout.write(json.dumps(result.to_dict()) + "\n")
    else:
        typer.echo(_ingest_summary(db, result), err=True)
    report_skipped(
        "bad row",
        ((item.location(), item.reason) for item in result.rejects),
        len(result.rejects),
        rejects,
    )


def _ingest_summary(db: str, result: StoreIngest) -> str:
    """One line: what the ingest stored."""
    parts = [
        f"{plural(result.polls.new, 'new poll')}, "
        f"{plural(result.polls.duplicates, 'duplicate')}, {len(result.rejects)} skipped"
    ]
    if result.hours is not None:
        parts.append(plural(result.hours, "hours row"))
    if result.timezones is not None:
        parts.append(plural(result.timezones, "time zone"))
    return f"{db}: " + "; ".join(parts)


@app.command()
def prune(
    before: Annotated[
        datetime,
        typer.Option(
            metavar="ISO",
            parser=parse_instant,
            help="Drop the polls before this instant (no offset = UTC); polls at it are kept.",
            show_default=False,
        ),
    ],
    db: Annotated[str, _DB_OPTION] = DEFAULT_DB,
) -> None:
    """Drop a status store's old polls (later reports see only the polls left)."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.reports.store_jobs import prune_store

    with reported_errors():
        dropped = prune_store(db, before)
    typer.echo(f"{db}: dropped {plural(dropped, 'poll')} before {format_utc_text(before)}",
               err=True)


@app.command()
def report(  # pylint: disable=too-many-arguments,too-many-positional-arguments,too-many-locals
    status: Annotated[Optional[list[str]], _STATUS_OPTION] = None,
    hours: Annotated[Optional[Path], _HOURS_OPTION] = None,
    timezones: Annotated[Optional[Path], _TIMEZONES_OPTION] = None,
    db: Annotated[
        Optional[str],
        typer.Option(
            "--db",
            metavar="PATH",
            callback=_database_path,
            help="Report from this status store instead of --status, --hours and "
            f"--timezones (${DB_ENV} when none of the four is given).",
            show_default=False,
        ),
    ] = None,
    now: Annotated[
        Optional[datetime],
        typer.Option(
            metavar="ISO",
            parser=_parse_now,
            help="The instant the windows end at (no offset = UTC). [default: the latest poll]",
            show_default=False,
        ),
    ] = None,
    interpolation: Annotated[
        Interpolation,
        typer.Option(
            help="nearest: the status of the nearest poll; previous: of the latest poll before."
        ),
    ] = Interpolation.NEAREST,
    output: Annotated[
        Optional[Path],
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            dir_okay=False,
            help="Write the report to FILE (atomically) instead of standard output.",
        ),
    ] = None,
    jobs: Annotated[
        Optional[int],
        typer.Option(
            "--jobs",
            "-j",
            metavar="N",
            min=1,
            help="Processes to use; 1 computes in this process. [default: the machine's cores]",
            show_default=False,
        ),
    ] = None,
    on_error: Annotated[
        OnError, on_error_option("row", "the report and nothing is written")
    ] = "fail",
    rejects: Annotated[Optional[Path], rejects_option("row", "file,line,reason,row")
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="No progress bar and no summary on stderr."),
    ] = False,
    scheduler: Annotated[
        Optional[str],
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="Run on the Dask cluster of this scheduler (tcp://host:8786): its workers "
            "read the --status shards themselves (paths on the workers' machines, or URLs). "
            "Needs the dask extra.",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        Engine,
        typer.Option(
            help="How the status file is read. python: the pure readers. columnar: pyarrow "
            "and numpy, faster on large files (pip install 'outages_processor[fast]'); a file "
            "with a bad row, quotes or another CSV variant is read the pure way, so the "
            "report, errors and rejects are the same. auto: columnar when installed."
        ),
    ] = "auto",
) -> None:
    """Compute each store's uptime and downtime within business hours, as CSV.

    From the three CSV files, or from a status store (--db). Columns: store_id,
    uptime_last_hour (minutes), uptime_last_day (hours), uptime_last_week (hours),
    downtime_last_hour (minutes), downtime_last_day (hours), downtime_last_week (hours).
    """
    status_input = _status_input(status)
    store = _report_store(db, (status_input, hours, timezones), on_error, rejects)
    _check_scheduler(scheduler, store, jobs)
    check_rejects(rejects, on_error)
    check_writable(output)
    check_writable(rejects)
    if store is not None:
        _report_from_store(store, output, now, interpolation, quiet)
        return
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.reports import run_report

    bars = progress_bars(enabled=not quiet and stderr_is_terminal())
    # The report and the rejects file appear together or not at all (run_report stages
    # them); a report on stdout that cannot be written is one line and exit 3.
    with (
        _cluster_client(scheduler) as cluster,
        stdout_data() as stdout,
        reported_errors(),
        _skip_hint(on_error),
        bars as progress,
    ):
        result = run_report(
            cast("str | list[str]", status_input),
            cast(Path, hours),
            cast(Path, timezones),
            stdout if output is None else output,
            rejects=rejects,
            now=now,
            interpolation=interpolation.value,
            jobs=jobs,
            on_error=on_error,
            progress=progress,
            cluster=cluster,
            engine=engine,
        )
    if not quiet:
        _summary(result, output, rejects)


def _status_input(values: Optional[list[str]]) -> str | list[str] | None:
    """The ``--status`` values as the library takes them: one path, glob or URL, or a list."""
    if not values:
        return None
    return values[0] if len(values) == 1 else list(values)


def _check_scheduler(scheduler: Optional[str], store: Optional[str], jobs: Optional[int]) -> None:
    """Refuse options that do not go with ``--scheduler``: exit 2."""
    if scheduler is None:
        return
    if store is not None:
        fail("--scheduler reports from --status shards, not from --db", EXIT_USAGE)
    if jobs is not None:
        fail("--jobs applies to this machine, not to --scheduler", EXIT_USAGE)


@contextlib.contextmanager
def _cluster_client(address: Optional[str]) -> Iterator[object | None]:
    """A Dask client connected to the scheduler at ``address``, or None without one.

    Raises:
        typer.Exit: dask is not installed (exit 3), the address is not one (exit 2), or
            the scheduler cannot be reached within dask's connect timeout (exit 1).
    """
    if address is None:
        yield None
        return
    try:
        # pylint: disable-next=import-outside-toplevel  # the optional dask extra
        import distributed
    except ImportError:
        fail(
            "--scheduler needs dask and distributed: pip install 'outages_processor[dask]'",
            EXIT_NEEDS_FIX,
        )
    try:
        # (distributed is untyped, or Any where it is not installed.)
        client = cast(Callable[[str], Any], distributed.Client)(address)
    except ValueError as err:
        fail(f"--scheduler {address!r} is not a scheduler address: {err}", EXIT_USAGE)
    except OSError as err:
        fail(
            f"cannot reach the Dask scheduler at {address}: {err}; check the address and "
            "that the scheduler is running",
            EXIT_TRANSIENT,
        )
    with client:
        yield client


def _report_from_store(
    store: str,
    output: Optional[Path],
    now: Optional[datetime],
    interpolation: Interpolation,
    quiet: bool,
) -> None:
    """``uptime report --db``: the report of a status store, as the files' report."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.reports.store_jobs import run_store_report

    bars = progress_bars(enabled=not quiet and stderr_is_terminal())
    with stdout_data() as stdout, reported_errors(), bars as progress:
        result = run_store_report(
            store,
            stdout if output is None else output,
            now=now,
            interpolation=interpolation.value,
            progress=progress,
        )
    if not quiet:
        _summary(result, output, None)


@contextlib.contextmanager
def _skip_hint(on_error: OnError) -> Iterator[None]:
    """Add what to do to the message of a bad row: fix it, or skip bad rows."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.errors import InputDataError

    try:
        yield
    except InputDataError as err:
        # Line 1 is the header: a bad header cannot be skipped. (A Parquet row has a row
        # number instead of a line, and no header line.)
        if on_error == "skip" or (err.row is None and (err.line is None or err.line < 2)):
            raise
        hint = "(fix the row, or leave bad rows out with --on-error skip)"
        raise InputDataError(
            f"{err.reason} {hint}", path=err.path, line=err.line, row=err.row
        ) from err


def _summary(result: UptimeReport, output: Optional[Path], rejects: Optional[Path]) -> None:
    """Say on stderr what was written and what was skipped."""
    where = "" if output is None else f" to {output}"
    now = format_utc_text(result.now)
    stores = len(result.rows)
    typer.echo(
        f"wrote {stores} {'store' if stores == 1 else 'stores'}{where} (now: {now})",
        err=True,
    )
    report_skipped(
        "bad row",
        ((item.location(), item.reason) for item in result.rejects),
        len(result.rejects),
        rejects,
    )
