"""Spill folders: where the worker processes of one report pass poll data through files.

A spill folder is ``uptime-<pid>-<random>`` in the temporary folder, named after the
process that owns it, which holds a lock on its ``.lock`` file while it uses it. A process
killed outright (``kill -9``) cannot remove its folder, so each new spill folder first
removes the folders of processes that are gone: their pid is not alive and nobody holds
their lock.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from outages_processor.reports.states import HELD, FileLock

__all__ = ["PREFIX", "remove_stale_folders", "spill_folder"]

PREFIX: Final = "uptime-"
"""How every spill folder's name starts (then the owner's pid, a dash, random letters)."""

_NAME: Final = re.compile(re.escape(PREFIX) + r"(\d+)-\w+")
_LOCK: Final = ".lock"


@contextlib.contextmanager
def spill_folder() -> Iterator[str]:
    """Make a spill folder for this process (after removing stale ones); remove it after.

    Yields:
        The folder's path.
    """
    remove_stale_folders()
    path = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-")
    lock = FileLock.hold(Path(path, _LOCK))
    try:
        yield path
    finally:
        lock.release()
        shutil.rmtree(path, ignore_errors=True)


def remove_stale_folders(directory: str | None = None) -> list[str]:
    """Remove the spill folders of processes that are gone.

    Args:
        directory: where to look; default: the temporary folder.

    Returns:
        The folders removed.
    """
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory or tempfile.gettempdir()))
    except OSError:
        return removed  # no temporary folder to clean: a new one will be made or fail
    for entry in entries:
        match = _NAME.fullmatch(entry.name)
        if match is None or _alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            if not entry.is_dir(follow_symlinks=False):
                continue
            lock = FileLock.try_take(Path(entry.path, _LOCK))
            if lock is HELD:
                continue  # its pid was reused, or it lives in another pid namespace
            try:
                shutil.rmtree(entry.path)
            finally:
                if lock is not None:
                    lock.release()
            removed.append(entry.path)
    return removed


def _alive(pid: int) -> bool:
    """True when a process with this id exists (or may exist: it is not ours to signal)."""
    if os.name != "posix":  # pragma: no cover - on Windows os.kill would end the process
        return False  # the lock alone tells
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True
