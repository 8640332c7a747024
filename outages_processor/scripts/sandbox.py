"""The ``process_outages sandbox`` commands: run the local emulator of the KrakenFlex API.

The sandbox itself is imported inside the command, so that ``process_outages --help``
stays fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from outages_processor.scripts._common import EXIT_NEEDS_FIX, fail

if TYPE_CHECKING:
    from outages_processor.sandbox import Faults, Sandbox

__all__ = ["app"]

_ALL_FAULTS = "500,502,503,drop,429"
_POLL_SECONDS = 0.2

app = typer.Typer(
    name="sandbox",
    help=(
        "Run a local emulator of the KrakenFlex API with bundled public data, optionally "
        "injecting faults: for trying the job and testing it with no network."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.callback()
def _sandbox() -> None:
    """Run a local emulator of the KrakenFlex API."""


def _faults_field(field: str) -> Callable[[Any], Any]:
    """An option callback that checks one field of :class:`Faults` as the library does."""

    def check(value: Any) -> Any:
        # pylint: disable-next=import-outside-toplevel
        from outages_processor.sandbox import Faults

        try:
            Faults(**{field: value})
        except ValueError as err:
            raise typer.BadParameter(str(err)) from err
        return value

    return check


def _describe(faults: Faults) -> str:
    text = "no faults"
    if faults.rate:
        seed = "" if faults.seed is None else f", seed {faults.seed}"
        text = f"{faults.rate:.0%} of requests get one of {','.join(faults.kinds)}{seed}"
    if faults.latency:
        text += f"; {faults.latency:g} s added to every request"
    return text


def _wait_for_interrupt(sandbox: Sandbox) -> None:
    """Block while the sandbox runs; Ctrl-C raises :class:`KeyboardInterrupt` here."""
    while sandbox.running:
        time.sleep(_POLL_SECONDS)


@app.command()
def serve(  # pylint: disable=too-many-arguments
    host: Annotated[
        str,
        typer.Option(metavar="ADDRESS", help="Address to listen on; keep the loopback default."),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            metavar="PORT", min=0, max=65535, help="TCP port to listen on; 0 picks a free one."
        ),
    ] = 8080,
    fail_rate: Annotated[
        float,
        typer.Option(
            metavar="P",
            callback=_faults_field("rate"),
            help="Probability, 0 to 1, that a request gets a fault instead of its answer.",
        ),
    ] = 0.0,
    seed: Annotated[
        int | None,
        typer.Option(
            metavar="N", help="Seed of the fault draws: the same seed, the same faults."
        ),
    ] = None,
    faults: Annotated[
        str,
        typer.Option(
            metavar="KINDS",
            callback=_faults_field("kinds"),
            help="Comma-separated faults to draw from: 500 (JSON), 502 (HTML), 503, "
            "drop (close without answering), 429 (with Retry-After: 1).",
        ),
    ] = _ALL_FAULTS,
    latency: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            callback=_faults_field("latency"),
            help="Delay added to every request, in seconds.",
        ),
    ] = 0.0,
) -> None:
    """Serve the API on HOST:PORT until Ctrl-C, printing the settings that point to it.

    Stdout gets KRAKENFLEX_BASE_URL=... and KRAKENFLEX_API_KEY=... lines, ready for a .env
    file or `export`.
    """
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.sandbox import SANDBOX_API_KEY, Faults, Sandbox

    settings = Faults(rate=fail_rate, seed=seed, kinds=faults, latency=latency)
    try:
        sandbox = Sandbox(host=host, port=port, faults=settings)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="'--host'") from err
    try:
        sandbox.start()
    except OSError as err:
        fail(
            f"cannot listen on {host}:{port}: {err.strerror or err}; "
            "choose another --port (0 picks a free one)",
            EXIT_NEEDS_FIX,
        )
    try:
        typer.echo(f"KRAKENFLEX_BASE_URL={sandbox.base_url}")
        typer.echo(f"KRAKENFLEX_API_KEY={SANDBOX_API_KEY}")
        typer.echo(
            f"Sandbox of the KrakenFlex API on {sandbox.base_url} ({_describe(settings)}).\n"
            "In another shell, export the two lines above, then run for example:\n"
            "  process_outages --site norwich-pear-tree\n"
            "Press Ctrl-C to stop.",
            err=True,
        )
        _wait_for_interrupt(sandbox)
    except KeyboardInterrupt:
        typer.echo("Sandbox stopped.", err=True)
    finally:
        sandbox.stop()
