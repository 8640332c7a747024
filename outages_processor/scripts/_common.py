"""What every command shares: exit codes, error reporting in one place, logging set-up."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import NoReturn

import typer

from outages_processor.errors import OutagesError

__all__ = [
    "EXIT_NEEDS_FIX",
    "EXIT_OK",
    "EXIT_TRANSIENT",
    "EXIT_USAGE",
    "configure_logging",
    "exit_code_for",
    "fail",
    "reported_errors",
    "stderr_is_terminal",
]

EXIT_OK = 0
"""Everything asked was done."""
EXIT_TRANSIENT = 1
"""Failed; trying again later may help (server error, network, rate limit)."""
EXIT_USAGE = 2
"""The command line was wrong (typer/click's own code for usage errors)."""
EXIT_NEEDS_FIX = 3
"""Failed; something must be fixed first (key, site id, input data, configuration)."""


def exit_code_for(error: OutagesError) -> int:
    """Map an error of the library to the documented exit code."""
    return EXIT_TRANSIENT if error.transient else EXIT_NEEDS_FIX


def fail(message: str, code: int = EXIT_NEEDS_FIX) -> NoReturn:
    """Print ``error: message`` on stderr and leave with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn any :class:`OutagesError` into one line on stderr and its exit code.

    With ``-vv`` (or ``OP_DEBUG=1``) the traceback is logged at DEBUG level too.
    """
    try:
        yield
    except OutagesError as error:
        logging.getLogger("outages_processor").debug("details", exc_info=True)
        fail(str(error), exit_code_for(error))


def configure_logging(verbose: int) -> None:
    """Send the library's log records to stderr.

    Args:
        verbose: 0 shows warnings (each retry), 1 adds info, 2 or ``OP_DEBUG=1`` adds debug.
    """
    if os.environ.get("OP_DEBUG", "").strip() not in ("", "0"):
        verbose = max(verbose, 2)
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logger = logging.getLogger("outages_processor")
    for handler in list(logger.handlers):
        if getattr(handler, "_outages_processor_cli", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    setattr(handler, "_outages_processor_cli", True)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    if verbose >= 2:
        # httpx logs each request line (never headers) at INFO/DEBUG.
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.DEBUG)
            logging.getLogger(name).addHandler(handler)


def stderr_is_terminal() -> bool:
    """True when stderr is an interactive terminal (progress bars are shown only then)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
