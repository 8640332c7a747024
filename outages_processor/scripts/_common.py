"""What every command shares: exit codes, error reporting in one place, writing data to
stdout, logging set-up, the ``--on-error`` choice and progress bars."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, Optional, TextIO

import typer
import typer.core

from outages_processor._time import parse_instant_datetime
from outages_processor.errors import OutagesError
from outages_processor.models.common import OnError, ProgressCallback
from outages_processor.stores.output_files import resolve_output, writes_in_place

__all__ = [
    "EXIT_NEEDS_FIX",
    "EXIT_OK",
    "EXIT_TRANSIENT",
    "EXIT_USAGE",
    "OnError",
    "VariadicUsage",
    "check_rejects",
    "check_writable",
    "configure_logging",
    "exit_code_for",
    "fail",
    "parse_instant",
    "plural",
    "report_skipped",
    "on_error_option",
    "progress_bars",
    "rejects_option",
    "reported_errors",
    "stderr_is_terminal",
    "stdout_data",
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
    except OSError as error:
        # Inputs are checked by the library; what is left is an output that cannot be
        # written (a full disk, a folder removed meanwhile).
        logging.getLogger("outages_processor").debug("details", exc_info=True)
        name = "an output file" if error.filename is None else error.filename
        fail(f"cannot write {name}: {error.strerror or error}; check the path", EXIT_NEEDS_FIX)


def check_writable(path: Optional[Path]) -> None:
    """Fail with exit 3 before any work when no file can be created at ``path``.

    Outputs are written at the end, atomically: checking the folder first spares a long
    computation (or an API call) whose result could not be kept.
    """
    if path is None:
        return
    try:
        # A symbolic link is written through to its target; a device or a FIFO in place.
        target = Path(resolve_output(path))
        in_place = writes_in_place(target)
    except OSError as err:
        fail(f"cannot write {path}: {err.strerror or err}; check the path", EXIT_NEEDS_FIX)
    if in_place:
        if not os.access(target, os.W_OK):
            fail(f"cannot write {path}: no permission to write {target}", EXIT_NEEDS_FIX)
        return
    folder = target.parent
    if not folder.is_dir():
        fail(f"cannot write {path}: no folder {folder}; check the path", EXIT_NEEDS_FIX)
    if not os.access(folder, os.W_OK | os.X_OK):
        fail(f"cannot write {path}: no permission to write in {folder}", EXIT_NEEDS_FIX)


class _StdoutFailed(Exception):
    """Writing the command's data to standard output failed (``__cause__`` says why)."""


class _GuardedStdout:
    """Standard output whose write errors are told apart from every other OSError.

    The stream is the ``sys.stdout`` of the moment the command starts writing (a test
    runner's, or the real one): a progress display replaces ``sys.stdout`` while it runs,
    and data must not go through it.
    """

    def __init__(self) -> None:
        self.stream: TextIO = sys.stdout

    def write(self, text: str, /) -> int:
        """Write ``text`` to standard output."""
        try:
            return self.stream.write(text)
        except OSError as err:
            raise _StdoutFailed from err

    def flush(self) -> None:
        """Flush standard output."""
        try:
            self.stream.flush()
        except OSError as err:
            raise _StdoutFailed from err


@contextlib.contextmanager
def stdout_data(done: str = "") -> Iterator[_GuardedStdout]:
    """Write a command's data to stdout; when it cannot be written, one line and exit 3.

    Standard output that is full (``> /dev/full``) or a pipe closed by its reader
    (``| head -1``) becomes ``error: [DONE but ]could not write stdout: REASON`` on stderr,
    exit 3, with no traceback and no "Exception ignored" at the interpreter's exit.

    Args:
        done: what the command has already done that a failure does not undo (such as
            ``"posted 3 outages to kingfisher"``), said first in the message.

    Yields:
        A stream with ``write`` and ``flush``; it is flushed when the block ends.
    """
    stream = _GuardedStdout()
    try:
        yield stream
        stream.flush()
    except _StdoutFailed as failure:
        _silence_stdout()
        cause = failure.__cause__
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else cause
        prefix = f"{done} but " if done else ""
        fail(f"{prefix}could not write stdout: {reason}", EXIT_NEEDS_FIX)


def _silence_stdout() -> None:
    """Point the process's stdout at /dev/null, so that the interpreter's last flush of
    what could not be written succeeds instead of printing "Exception ignored ..."."""
    stream = sys.__stdout__
    if stream is None or sys.stdout is not stream:
        return  # a test runner's stream: nothing is flushed at exit
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)


def configure_logging(verbose: int) -> None:
    """Send the library's log records to stderr.

    Args:
        verbose: 0 shows warnings (each retry), 1 adds info, 2 or ``OP_DEBUG=1`` adds debug.
    """
    if os.environ.get("OP_DEBUG", "").strip() not in ("", "0"):
        verbose = max(verbose, 2)
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logger = logging.getLogger("outages_processor")
    # A second run in one process (tests, notebooks) replaces the first run's handlers,
    # which may hold a stream that is closed by now.
    for name in ("outages_processor", "httpx", "httpcore"):
        named = logging.getLogger(name)
        for handler in list(named.handlers):
            if getattr(handler, "_outages_processor_cli", False):
                named.removeHandler(handler)
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


def on_error_option(unit: str, stops: str) -> Any:
    """The ``--on-error`` option, for inputs made of ``unit`` (row, record).

    Annotate the parameter with :data:`~outages_processor.models.common.OnError`: typer
    turns that ``Literal`` into the choice ``<fail|skip>``, so the choices have one home.
    """
    return typer.Option(
        "--on-error",
        help=f"fail: a bad {unit} stops {stops}. "
        f"skip: bad {unit}s are left out, counted and listed.",
    )


def rejects_option(unit: str, columns: str) -> Any:
    """The ``--rejects FILE`` option, for inputs made of ``unit`` (row, record)."""
    return typer.Option(
        metavar="FILE",
        dir_okay=False,
        help=f"With --on-error skip: write the skipped {unit}s to FILE as CSV ({columns}).",
    )


class VariadicUsage(typer.core.TyperCommand):
    """A command whose usage line writes a required list argument as ``FILE...``.

    typer writes it ``{FILE}``, which reads as a set or a template; ``FILE...`` is how
    usage lines say "one or more" (``cp SOURCE... DIRECTORY``).
    """

    # ``ctx`` is typer's vendored click Context, which typer does not export as a type.
    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """The usage line after the command name: options, then arguments."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, typer.core.TyperArgument) and param.nargs == -1 and param.metavar:
                pieces.append(f"{param.metavar}...")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


def check_rejects(rejects: Optional[Path], on_error: OnError) -> None:
    """``--rejects`` makes sense only with ``--on-error skip``: a usage error otherwise."""
    if rejects is not None and on_error != "skip":
        raise typer.BadParameter("--rejects needs --on-error skip", param_hint="'--rejects'")


@contextlib.contextmanager
def progress_bars(
    *, enabled: bool, min_total: int = 0, labels: Mapping[str, str] | None = None
) -> Iterator[Optional[ProgressCallback]]:
    """A progress callback drawing one bar per stage on stderr, or None when not ``enabled``.

    Nothing is drawn until the first update whose total reaches ``min_total``, and the
    display refreshes only on updates: it runs no thread of its own (a thread would make
    forking worker processes unsafe).

    Args:
        enabled: draw bars (stderr is a terminal and the user did not ask for quiet).
        min_total: the smallest total worth a bar.
        labels: the title of each stage's bar (the stage name itself otherwise).

    Yields:
        A :data:`~outages_processor.models.common.ProgressCallback`, or None.
    """
    titles = labels or {}
    if not enabled:
        yield None
        return
    # pylint: disable-next=import-outside-toplevel
    from rich.console import Console

    # pylint: disable-next=import-outside-toplevel
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    with contextlib.ExitStack() as stack:
        state: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if "progress" not in state:
                if total < min_total:
                    return
                state["progress"] = stack.enter_context(
                    Progress(
                        TextColumn("{task.description:<10}"),
                        BarColumn(),
                        TaskProgressColumn(),
                        console=Console(stderr=True, force_terminal=True),
                        auto_refresh=False,
                        transient=True,
                    )
                )
            bars: Any = state["progress"]
            if stage not in state:
                state[stage] = bars.add_task(titles.get(stage, stage), total=total)
            bars.update(state[stage], completed=min(done, total), total=total, refresh=True)

        yield update


def parse_instant(value: str) -> datetime:
    """An instant given on the command line as an aware datetime.

    ISO 8601, or the ``2023-01-25 18:00:00 UTC`` style of the data files; no offset means
    UTC.

    Raises:
        typer.BadParameter: the value is not a timestamp (a usage error, exit 2).
    """
    try:
        return parse_instant_datetime(value)
    except ValueError as err:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 timestamp, e.g. 2024-01-01T00:00:00Z"
        ) from err


SHOWN_SKIPS = 20
"""Skipped rows or records listed on stderr when no --rejects file keeps them."""


def plural(count: int, noun: str) -> str:
    """``1 poll``, ``2 polls``: a count and its noun, for one-line summaries."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def report_skipped(
    unit: str, skipped: Iterable[tuple[str, str]], count: int, rejects: Optional[Path]
) -> None:
    """Say on stderr what was skipped: where the rejects file is, or the first few.

    Args:
        unit: what was skipped, singular (``"bad row"``).
        skipped: ``(location, reason)`` of each skipped item, in input order.
        count: how many were skipped.
        rejects: the --rejects file that keeps them all, if one was given.
    """
    if not count:
        return
    if rejects is not None:
        noun = unit if count == 1 else f"{unit}s"
        typer.echo(f"skipped {count} {noun}; they are in {rejects}", err=True)
        return
    for shown, (location, reason) in enumerate(skipped):
        if shown == SHOWN_SKIPS:
            break
        typer.echo(f"skipped {location}: {reason}", err=True)
    if count > SHOWN_SKIPS:
        hidden = count - SHOWN_SKIPS
        typer.echo(f"... and {hidden} more; pass --rejects FILE to keep them all", err=True)
