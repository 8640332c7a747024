"""``process_outages serve``: run the HTTP service under uvicorn (needs the ``serve`` extra).

The settings travel to the worker processes through the environment (the variables
:meth:`~outages_processor.settings.ServiceSettings.from_env` reads), so ``--workers N``
starts N processes that share the same databases and reports folder. One more process, the
event writer (:mod:`~outages_processor.stores.event_writer`), stores the
``POST /outages`` batches of all of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import attrs
import typer

from outages_processor.scripts._common import EXIT_NEEDS_FIX, fail, reported_errors
from outages_processor.settings import (
    DEFAULT_EVENTS_DB,
    DEFAULT_REPORTS_DIR,
    DEFAULT_UPTIME_DB,
    ENV_EVENTS_DB,
    ENV_REPORTS_DIR,
    ENV_UPTIME_DB,
)

__all__ = ["serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
APP_FACTORY = "outages_processor.service:app_from_env"
"""What uvicorn imports in each worker process."""
INSTALL_HINT = "pip install 'outages_processor[serve]'"
"""What to run when the service's dependencies are missing."""


def serve(  # pylint: disable=too-many-arguments,too-many-positional-arguments
    host: Annotated[
        str, typer.Option(metavar="HOST", help="The address to listen on.")
    ] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option(metavar="PORT", min=0, max=65535, help="The port to listen on.")
    ] = DEFAULT_PORT,
    workers: Annotated[
        int, typer.Option(metavar="N", min=1, help="Worker processes (they share the data).")
    ] = 1,
    events_db: Annotated[
        str,
        typer.Option(metavar="PATH", envvar=ENV_EVENTS_DB, help="The event database."),
    ] = DEFAULT_EVENTS_DB,
    uptime_db: Annotated[
        str,
        typer.Option(metavar="PATH", envvar=ENV_UPTIME_DB, help="The status store."),
    ] = DEFAULT_UPTIME_DB,
    reports_dir: Annotated[
        str,
        typer.Option(
            metavar="DIR", envvar=ENV_REPORTS_DIR, help="Where reports and their states are kept."
        ),
    ] = DEFAULT_REPORTS_DIR,
    report_workers: Annotated[
        Optional[int],
        typer.Option(
            metavar="N", min=1, help="Reports computed at once per process. [default: cores]"
        ),
    ] = None,
) -> None:
    """Run the HTTP API for outage events and store uptime reports (docs at /docs)."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.settings import ServiceSettings

    try:
        # Checked here: nothing imports the service package, uvicorn imports it by name.
        import fastapi  # pylint: disable=import-outside-toplevel,unused-import
        import uvicorn  # pylint: disable=import-outside-toplevel
    except ImportError as err:
        fail(
            f"the service needs the 'serve' extra ({err.name or 'fastapi'} is missing): "
            f"run {INSTALL_HINT}",
            EXIT_NEEDS_FIX,
        )
    with reported_errors():
        settings = ServiceSettings(
            events_db=_absolute(events_db),
            uptime_db=_absolute(uptime_db),
            reports_dir=_absolute(reports_dir),
            report_workers=report_workers,
        )
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.stores.event_writer import writer_running

    with reported_errors(), writer_running(settings.events_db) as socket_path:
        settings = attrs.evolve(settings, writer_socket=socket_path)
        os.environ.update(settings.to_env())
        try:
            uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers)
        except OSError as err:
            fail(f"cannot serve on {host}:{port}: {err.strerror or err}", EXIT_NEEDS_FIX)


def _absolute(path: str) -> str:
    """The path made absolute: every worker then finds the same file."""
    return str(Path(path).absolute()) if path not in ("", ":memory:") else path
