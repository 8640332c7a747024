"""The ``process_outages events`` commands: ingest controller outage reports, list events.

The use case (:mod:`outages_processor.events`) is imported inside the commands, so that
``process_outages --help`` stays fast.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from outages_processor.core.defaults import DEFAULT_TOLERANCE
from outages_processor.models.common import OnError
from outages_processor.scripts._common import (
    VariadicUsage,
    check_rejects,
    check_writable,
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
    from outages_processor.models.events import IngestResult, OutageEvent

__all__ = ["app"]

DEFAULT_DB = "outages.db"
"""The event database when neither --db nor $OUTAGES_DB names one."""

PROGRESS_MIN_LINES = 200_000
"""Inputs with fewer lines than this finish too fast to need a progress bar."""

_BAR_TITLES = {"reading": "Ingesting", "storing": "Storing"}
"""The progress bars' titles, by stage of the ingest."""

app = typer.Typer(
    name="events",
    help=(
        "Group the periodic outage reports of controllers into outage events, kept in a "
        "SQLite database, and list them."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)


class InputFormat(str, enum.Enum):
    """The formats ``--format`` accepts."""

    CSV = "csv"
    JSONL = "jsonl"
    JSON = "json"


def _database_path(value: str) -> str:
    """Refuse --db values that name no file: SQLite would use a throw-away database."""
    if value in ("", ":memory:"):
        raise typer.BadParameter(
            f"{value!r} is not a file; give the path of the event database file"
        )
    return value


_DB_OPTION = typer.Option(
    "--db",
    envvar="OUTAGES_DB",
    metavar="PATH",
    callback=_database_path,
    help="The event database (SQLite file).",
)


@app.command(cls=VariadicUsage)
def ingest(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    files: Annotated[
        list[str],
        typer.Argument(
            metavar="FILE",
            help="Report files (CSV, JSON Lines or a JSON array); - reads standard input.",
            show_default=False,
        ),
    ],
    db: Annotated[str, _DB_OPTION] = DEFAULT_DB,
    input_format: Annotated[
        Optional[InputFormat],
        typer.Option(
            "--format",
            help="Format of every FILE. [default: by extension: .csv, .jsonl/.ndjson, .json]",
            show_default=False,
        ),
    ] = None,
    tolerance: Annotated[
        Optional[float],
        typer.Option(
            metavar="MINUTES",
            min=0.0,
            help="Largest gap between the reports of one event, fixed when the database is "
            f"created. [default: {DEFAULT_TOLERANCE.total_seconds() / 60:g} for a new "
            "database, else the recorded one]",
            show_default=False,
        ),
    ] = None,
    on_error: Annotated[
        OnError, on_error_option("record", "everything and nothing is stored")
    ] = "fail",
    rejects: Annotated[Optional[Path], rejects_option("record", "file,line,reason,row")] = None,
) -> None:
    """Store outage reports and group them into events.

    All the FILEs are one batch: it is stored completely or not at all.
    """
    check_rejects(rejects, on_error)
    check_writable(rejects)
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.events import ingest_files

    bars = progress_bars(
        enabled=stderr_is_terminal(), min_total=PROGRESS_MIN_LINES, labels=_BAR_TITLES
    )
    with reported_errors(), bars as progress:
        result = ingest_files(
            db,
            files,
            fmt=None if input_format is None else input_format.value,
            tolerance=None if tolerance is None else timedelta(minutes=tolerance),
            on_error=on_error,
            rejects_path=rejects,
            progress=progress,
        )
    with stdout_data(f"stored the batch in {db}") as stdout:
        stdout.write(_ingest_summary(db, result) + "\n")
    report_skipped(
        "bad record",
        ((item.location(), item.reason) for item in result.rejects),
        len(result.rejects),
        rejects,
    )


def _ingest_summary(db: str, result: IngestResult) -> str:
    records = plural(result.records_new, "new record")
    duplicates = plural(result.records_duplicate, "duplicate")
    events = plural(result.events_created, "event")
    return (
        f"{db}: {records}, {duplicates}, {result.records_skipped} skipped; "
        f"{events} created, {result.events_extended} extended, {result.events_merged} merged"
    )


@app.command("list")
def list_events(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    db: Annotated[str, _DB_OPTION] = DEFAULT_DB,
    controller: Annotated[
        Optional[str], typer.Option(metavar="ID", help="Only this controller's events.")
    ] = None,
    outage_type: Annotated[
        Optional[str], typer.Option("--type", metavar="TYPE", help="Only events of this type.")
    ] = None,
    start: Annotated[
        Optional[datetime],
        typer.Option(
            metavar="ISO",
            parser=parse_instant,
            help="Only events that end at or after this instant (no offset = UTC).",
        ),
    ] = None,
    end: Annotated[
        Optional[datetime],
        typer.Option(
            metavar="ISO",
            parser=parse_instant,
            help="Only events that start at or before this instant (no offset = UTC).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON array of events.")
    ] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV with a header row.")] = False,
) -> None:
    """List the outage events that overlap a time range, oldest first.

    Events are sorted by start time, controller and type; times are UTC.
    """
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv", param_hint="'--csv'")
    if start is not None and end is not None and start > end:
        raise typer.BadParameter("--start is after --end", param_hint="'--start'")
    # pylint: disable-next=import-outside-toplevel
    from outages_processor import events as use_case

    # Read-only: listing never writes, so it works in a read-only folder and leaves no file.
    with reported_errors():
        events = use_case.list_events(
            db, controller_id=controller, outage_type=outage_type, start=start, end=end
        )
    if not (events or as_json or as_csv):
        typer.echo("no events match", err=True)
        return
    with stdout_data() as stdout:
        if as_json:
            stdout.write(json.dumps([event.to_dict() for event in events], indent=2) + "\n")
        elif as_csv:
            use_case.write_events_csv(events, stdout)
        else:
            stdout.write(_table(events) + "\n")


_COLUMNS = ("controller_id", "outage_type", "start_time", "end_time", "record_count")
_HEADINGS = ("CONTROLLER", "TYPE", "START", "END", "RECORDS")


def _table(events: Sequence[OutageEvent]) -> str:
    """A plain text table: columns padded to their widest cell, the count right-aligned."""
    rows = [_HEADINGS] + [
        tuple(str(event.to_dict()[name]) for name in _COLUMNS) for event in events
    ]
    widths = [max(len(row[index]) for row in rows) for index in range(len(_COLUMNS))]
    lines = []
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths)]
        cells.append(row[-1].rjust(widths[-1]))
        lines.append("  ".join(cells))
    return "\n".join(lines)
