"""``process_outages``: report site outages; sub-commands for uptime, events and the sandbox.

Each command parses its options, calls one public function of the library, prints, and maps
errors to exit codes through :mod:`outages_processor.scripts._common`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from outages_processor._version import __version__
from outages_processor.core.defaults import DEFAULT_SINCE
from outages_processor.scripts import events, sandbox, serve, uptime
from outages_processor.scripts._common import (
    EXIT_NEEDS_FIX,
    EXIT_OK,
    EXIT_TRANSIENT,
    EXIT_USAGE,
    check_writable,
    configure_logging,
    exit_code_for,
    fail,
    parse_instant,
    reported_errors,
    stdout_data,
)
from outages_processor.settings import (
    DEFAULT_MAX_RETRY_TIME,
    DEFAULT_MAX_WORKERS,
    DEFAULT_TIMEOUT,
    DEFAULT_TRIES,
)

if TYPE_CHECKING:
    from outages_processor.models import SiteResult
    from outages_processor.settings import Settings

__all__ = ["app", "run"]

app = typer.Typer(
    name="process_outages",
    help=(
        "Report the outages of KrakenFlex sites (the main job), and compute store uptime "
        "reports and outage events.\n\n"
        "Example: process_outages --site norwich-pear-tree --sandbox"
    ),
    epilog=(
        "Exit codes: 0 ok; 1 failed, trying again later may help (server, network, rate "
        "limit); 2 usage; 3 failed, needs a fix (API key, site id, rejected outages, bad "
        "input)."
    ),
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(uptime.app)
app.add_typer(events.app)
app.add_typer(sandbox.app)
app.command("serve")(serve.serve)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"process_outages {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback(invoke_without_command=True)
def main(  # pylint: disable=too-many-arguments,too-many-positional-arguments,too-many-locals
    ctx: typer.Context,
    site: Annotated[
        Optional[list[str]],
        typer.Option(
            "--site", "-s", metavar="ID", help="Site to report; repeat for several sites."
        ),
    ] = None,
    since: Annotated[
        Optional[datetime],
        typer.Option(
            metavar="ISO8601",
            parser=parse_instant,
            help="Report outages that began at or after this instant (no offset = UTC). "
            f"[default: {DEFAULT_SINCE:%Y-%m-%dT%H:%M:%SZ}]",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Select the outages but post nothing.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON object per site per line on stdout."),
    ] = False,
    output: Annotated[
        Optional[Path],
        typer.Option(
            metavar="FILE", dir_okay=False, help="Also write the JSON lines to FILE (atomically)."
        ),
    ] = None,
    base_url: Annotated[
        Optional[str],
        typer.Option(
            metavar="URL", help="API root. [env: KRAKENFLEX_BASE_URL; default: the public API]"
        ),
    ] = None,
    api_key: Annotated[
        Optional[str],
        typer.Option(
            metavar="KEY",
            help="API key. [env: KRAKENFLEX_API_KEY, or a .env file in this directory]",
        ),
    ] = None,
    timeout: Annotated[
        Optional[float],
        typer.Option(
            metavar="SECONDS",
            min=0.001,
            help=f"Timeout of each request. [default: {DEFAULT_TIMEOUT:g}]",
        ),
    ] = None,
    retries: Annotated[
        Optional[int],
        typer.Option(
            metavar="N",
            min=1,
            help=f"Attempts per request, the first included. [default: {DEFAULT_TRIES}]",
        ),
    ] = None,
    max_time: Annotated[
        Optional[float],
        typer.Option(
            "--max-time",
            metavar="SECONDS",
            min=0.001,
            help="Deadline of each request, its retries and waits included: no attempt "
            f"runs past it. [default: {DEFAULT_MAX_RETRY_TIME:g}]",
        ),
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(metavar="N", min=1, help="Sites handled at once."),
    ] = DEFAULT_MAX_WORKERS,
    use_sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Run against an in-process emulator of the API with its bundled data: "
            "no network, no key needed.",
        ),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="-v shows progress, -vv debug details.",
        ),
    ] = 0,
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Report the outages of each --site to the KrakenFlex API."""
    configure_logging(verbose)
    if ctx.invoked_subcommand is not None:
        return
    if not site:
        typer.echo(ctx.get_usage(), err=True)
        typer.echo("error: Missing option '--site' (or a command).", err=True)
        raise typer.Exit(EXIT_USAGE)
    _check_job_arguments(site, base_url)
    check_writable(output)
    with reported_errors():
        # pylint: disable-next=import-outside-toplevel
        from outages_processor.sites import process_sites

        with _api_settings(
            use_sandbox,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            tries=retries,
            max_retry_time=max_time,
        ) as settings:
            results = process_sites(
                site,
                settings=settings,
                since=since or DEFAULT_SINCE,
                dry_run=dry_run,
                max_workers=concurrency,
            )
    _report(results, as_json=as_json, output=output)


def _check_job_arguments(sites: list[str], base_url: Optional[str]) -> None:
    """Refuse, as usage errors (one line, exit 2), site ids and a base URL no request fits."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.errors import ConfigError

    # pylint: disable-next=import-outside-toplevel
    from outages_processor.settings import check_base_url

    # pylint: disable-next=import-outside-toplevel
    from outages_processor.sites import check_site_id

    for site_id in sites:
        try:
            check_site_id(site_id)
        except ValueError as err:
            fail(f"--site: {err}", EXIT_USAGE)
    if base_url is not None:
        try:
            check_base_url(base_url)
        except ConfigError as err:
            fail(f"--base-url: {err}", EXIT_USAGE)


@contextlib.contextmanager
def _api_settings(  # pylint: disable=too-many-arguments
    use_sandbox: bool,
    *,
    api_key: Optional[str],
    base_url: Optional[str],
    timeout: Optional[float],
    tries: Optional[int],
    max_retry_time: Optional[float],
) -> Iterator[Settings]:
    """The settings of the run: the flags over the environment, or the sandbox's."""
    from outages_processor.settings import Settings  # pylint: disable=import-outside-toplevel

    if not use_sandbox:
        yield Settings.load(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            tries=tries,
            max_retry_time=max_retry_time,
        )
        return
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.sandbox import SANDBOX_API_KEY, Sandbox

    with Sandbox() as server:
        yield Settings.load(
            api_key=SANDBOX_API_KEY,
            base_url=server.base_url,
            timeout=timeout,
            tries=tries,
            max_retry_time=max_retry_time,
            environ={},
            dotenv_path=None,
        )


def _report(results: list[SiteResult], *, as_json: bool, output: Optional[Path]) -> None:
    # The summaries come first: they say what was posted even when an output then fails.
    for result in results:
        typer.echo(_summary(result), err=True)
    rows = [result.to_dict() for result in results]
    _write_rows(rows, as_json=as_json, output=output, done=_posted(results))
    codes = [exit_code_for(r.error) for r in results if r.error is not None]
    if codes:
        raise typer.Exit(EXIT_NEEDS_FIX if EXIT_NEEDS_FIX in codes else EXIT_TRANSIENT)


def _write_rows(
    rows: list[dict[str, object]], *, as_json: bool, output: Optional[Path], done: str
) -> None:
    """Print the JSON lines (--json) and write them to --output: the file appears only
    when stdout took them all; a failure is one line and exit 3."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.stores.output_files import output_files, write_json_lines

    try:
        with stdout_data(done) as stdout, output_files() as outputs:
            if output is not None:
                stream = outputs.open(output)
                write_json_lines(stream, rows)
                stream.flush()
            if as_json:
                write_json_lines(stdout, rows)
                stdout.flush()
    except OSError as err:
        fail(f"cannot write {output}: {err.strerror or err}; check the path", EXIT_NEEDS_FIX)


def _posted(results: list[SiteResult]) -> str:
    """What was posted, as ``posted 10 outages to a, 1 outage to b``, or ``""``."""
    parts = [
        f"{len(r.outages)} {'outage' if len(r.outages) == 1 else 'outages'} to {r.site_id}"
        for r in results
        if r.posted
    ]
    return f"posted {', '.join(parts)}" if parts else ""


def _summary(result: SiteResult) -> str:
    if result.error is not None:
        return f"{result.site_id}: error: {result.error}"
    count = len(result.outages)
    noun = "outage" if count == 1 else "outages"
    if result.posted:
        return f"{result.site_id}: posted {count} {noun}"
    if count:
        return f"{result.site_id}: {count} {noun} selected, not posted (dry run)"
    return f"{result.site_id}: no outages to report since the cut-off; nothing posted"


def run() -> None:
    """Entry point of the ``process_outages`` console script."""
    app()
