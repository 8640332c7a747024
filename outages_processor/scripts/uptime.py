"""The ``process_outages uptime`` command: store uptime reports from status polls.

The report code is imported inside the command, so that ``process_outages --help`` stays
fast.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from outages_processor._time import format_utc_text
from outages_processor.models.common import OnError
from outages_processor.scripts._common import (
    check_rejects,
    check_writable,
    on_error_option,
    parse_instant,
    progress_bars,
    rejects_option,
    report_skipped,
    reported_errors,
    stderr_is_terminal,
    stdout_data,
)

if TYPE_CHECKING:
    from outages_processor.models.uptime import UptimeReport

__all__ = ["app"]

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


@app.command()
def report(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    status: Annotated[
        Path,
        typer.Option(
            help="Status polls CSV: store_id, status (active|inactive), timestamp_utc.",
            show_default=False,
            dir_okay=False,
            metavar="FILE",
        ),
    ],
    hours: Annotated[
        Path,
        typer.Option(
            help="Business hours CSV: store_id, dayOfWeek (or day; 0 = Monday), "
            "start_time_local, end_time_local. A store without rows is open 24x7.",
            show_default=False,
            dir_okay=False,
            metavar="FILE",
        ),
    ],
    timezones: Annotated[
        Path,
        typer.Option(
            help="Time zones CSV: store_id, timezone_str. A store without one is in "
            "America/Chicago.",
            show_default=False,
            dir_okay=False,
            metavar="FILE",
        ),
    ],
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
) -> None:
    """Compute each store's uptime and downtime within business hours, as CSV.

    Columns: store_id, uptime_last_hour (minutes), uptime_last_day (hours),
    uptime_last_week (hours), downtime_last_hour (minutes), downtime_last_day (hours),
    downtime_last_week (hours).
    """
    check_rejects(rejects, on_error)
    check_writable(output)
    check_writable(rejects)
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.reports import run_report

    bars = progress_bars(enabled=not quiet and stderr_is_terminal())
    # The report and the rejects file appear together or not at all (run_report stages
    # them); a report on stdout that cannot be written is one line and exit 3.
    with stdout_data() as stdout, reported_errors(), _skip_hint(on_error), bars as progress:
        result = run_report(
            status,
            hours,
            timezones,
            stdout if output is None else output,
            rejects=rejects,
            now=now,
            interpolation=interpolation.value,
            jobs=jobs,
            on_error=on_error,
            progress=progress,
        )
    if not quiet:
        _summary(result, output, rejects)


@contextlib.contextmanager
def _skip_hint(on_error: OnError) -> Iterator[None]:
    """Add what to do to the message of a bad row: fix it, or skip bad rows."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.errors import InputDataError

    try:
        yield
    except InputDataError as err:
        # Line 1 is the header: a bad header cannot be skipped.
        if on_error == "skip" or err.line is None or err.line < 2:
            raise
        hint = "(fix the row, or leave bad rows out with --on-error skip)"
        raise InputDataError(f"{err.reason} {hint}", path=err.path, line=err.line) from err


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
