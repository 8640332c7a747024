"""Where a report service keeps its reports: one JSON state and one CSV per report, and locks.

A report's state is ``<id>.json`` in the service's folder, written atomically, so that any
process reading the folder sees a whole state. While a process computes a report it holds
an exclusive lock on ``<id>.lock``; the operating system releases the lock when the process
ends, however it ends, so a Running state whose lock nobody holds belongs to a process that
died.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Final

from outages_processor.errors import ReportError
from outages_processor.stores.output_files import write_text_atomic

__all__ = ["HELD", "FileLock", "ReportFiles"]

_REPORT_ID: Final = re.compile(r"[0-9a-f]{32}")


class FileLock:
    """An exclusive lock on a file, held by an open descriptor until released.

    The operating system releases it when the descriptor closes or the process ends.
    """

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self.descriptor = descriptor

    @classmethod
    def hold(cls, path: Path) -> FileLock:
        """Create ``path`` and lock it (waiting for the lock if need be)."""
        descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        _lock_file(descriptor, blocking=True)
        return cls(path, descriptor)

    @classmethod
    def try_take(cls, path: Path) -> FileLock | None:
        """Lock ``path`` if nobody holds it.

        Returns:
            The lock; :data:`HELD` when someone holds it; None when the file is gone.
        """
        try:
            descriptor = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return None
        if not _lock_file(descriptor, blocking=False):
            os.close(descriptor)
            return HELD
        return cls(path, descriptor)

    def release(self) -> None:
        """Remove the file and release the lock."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self.descriptor)


HELD: Final = FileLock(Path(os.devnull), -1)
"""What :meth:`FileLock.try_take` answers when someone else holds the lock."""


class ReportFiles:
    """The files of a report service's folder, by report id.

    Raises:
        ReportError: (from the methods taking a report id) the id is not 32 lowercase
            hexadecimal characters, which also keeps every path inside the folder.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        """Use ``directory`` (created if missing)."""
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def path(self, report_id: str, suffix: str) -> Path:
        """The file of a report with this suffix (``.json``, ``.csv``, ``.lock``)."""
        if not isinstance(report_id, str) or not _REPORT_ID.fullmatch(report_id):
            raise ReportError(
                f"invalid report id {report_id!r}: expected the 32 hexadecimal characters "
                "that trigger() returned"
            )
        return self.directory / f"{report_id}{suffix}"

    def write_state(self, state: dict[str, Any]) -> None:
        """Write a report's state (it names its ``report_id``) atomically."""
        write_text_atomic(self.path(state["report_id"], ".json"), json.dumps(state, sort_keys=True))

    def read_state(self, report_id: str) -> dict[str, Any]:
        """Read a report's state.

        Raises:
            ReportError: the id is malformed, no report has it here, or its file is
                damaged (not a JSON object naming this report).
        """
        path = self.path(report_id, ".json")
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ReportError(
                f"unknown report id {report_id!r}: no such report in {self.directory}; "
                "use an id that trigger() returned for this directory"
            ) from None
        except ValueError as err:  # not UTF-8
            raise self.damaged(report_id, str(err)) from err
        try:
            state = json.loads(text)
        except ValueError as err:
            raise self.damaged(report_id, f"not JSON: {err}") from err
        if not isinstance(state, dict) or state.get("report_id") != report_id:
            raise self.damaged(report_id, f"not the state of report {report_id}")
        return state

    def damaged(self, report_id: str, reason: str) -> ReportError:
        """The error telling that a report's state file is damaged.

        States are written atomically: a damaged one was written by something else.

        Args:
            report_id: the report.
            reason: what is wrong with the file.
        """
        path = self.path(report_id, ".json")
        return ReportError(
            f"the state of report {report_id!r} is damaged ({path}: {reason}); "
            "trigger the report again"
        )


if sys.platform == "win32":  # pragma: no cover
    _msvcrt = importlib.import_module("msvcrt")

    def _lock_file(descriptor: int, *, blocking: bool) -> bool:
        try:
            _msvcrt.locking(descriptor, _msvcrt.LK_LOCK if blocking else _msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _lock_file(descriptor: int, *, blocking: bool) -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True
