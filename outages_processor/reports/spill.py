"""Passing poll data between the worker processes of one machine through files.

The readers produce :class:`~outages_processor.inputs.poll_blocks.PollBlock` values; a
worker that read one spills it to a file and sends back a :class:`SpilledBlock` (the store
ids and the file's name), which the computing worker reads back: sending megabytes through
a process pool's pipes costs more than the page cache. The stores' schedules, which every
computing worker needs, go to one file too (:func:`save_schedules`).

A spill folder is ``uptime-<pid>-<random>`` in the temporary folder, named after the
process that owns it, which holds a lock on its ``.lock`` file while it uses it. A process
killed outright (``kill -9``) cannot remove its folder, so each new spill folder first
removes the folders of processes that are gone: their pid is not alive and nobody holds
their lock.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import shutil
import tempfile
from array import array
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final, cast

import attrs

from outages_processor.inputs.poll_blocks import PollBlock, StatusPart
from outages_processor.models.schedules import Schedule
from outages_processor.reports.states import HELD, FileLock

__all__ = [
    "PREFIX",
    "SpilledBlock",
    "load_schedules",
    "remove_stale_folders",
    "save_schedules",
    "spill_block",
    "spill_folder",
    "spill_part",
]

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


# --------------------------------------------------------------------------- transport


@attrs.frozen
class SpilledBlock(PollBlock):
    """A :class:`PollBlock` whose poll times wait in a file: only its store ids travel.

    Attributes:
        path: the file holding the block (see :func:`spill_block`).
    """

    path: str

    def polls(self) -> Iterator[tuple[str, array[float], array[float]]]:
        """Yield ``(store_id, active_times, inactive_times)`` for each store, from the file."""
        with open(self.path, "rb") as stream:
            store_ids, counts, times = pickle.load(stream)
        yield from PollBlock(store_ids, counts, times).polls()


def spill_block(block: PollBlock, path: str | os.PathLike[str]) -> SpilledBlock:
    """Write a block to ``path``; return its stand-in, with the store ids and the file."""
    with open(path, "wb") as stream:
        pickle.dump((block.store_ids, block.counts, block.times), stream, pickle.HIGHEST_PROTOCOL)
    return SpilledBlock(block.store_ids, array("q"), array("d"), os.fspath(path))


def spill_part(part: StatusPart, folder: str, start: int) -> StatusPart:
    """Spill every block of a part read from byte ``start`` into ``folder``.

    Returns:
        The part with :class:`SpilledBlock` stand-ins for its blocks.
    """
    blocks = tuple(
        spill_block(block, os.path.join(folder, f"{start}-{number}.polls"))
        for number, block in enumerate(part.blocks)
    )
    return attrs.evolve(part, blocks=blocks)


_SCHEDULES: Final = "schedules.pickle"


def save_schedules(schedules: Mapping[str, Schedule], folder: str) -> str:
    """Write the stores' schedules to a file in ``folder``; return its path.

    Every computing worker needs the same schedules: one file beats one pickle per task.
    """
    path = os.path.join(folder, _SCHEDULES)
    with open(path, "wb") as stream:
        pickle.dump(dict(schedules), stream, pickle.HIGHEST_PROTOCOL)
    return path


def load_schedules(schedules: Mapping[str, Schedule] | str) -> Mapping[str, Schedule]:
    """The schedules themselves, read from their file if given its path."""
    if isinstance(schedules, str):
        with open(schedules, "rb") as stream:
            return cast("dict[str, Schedule]", pickle.load(stream))
    return schedules
