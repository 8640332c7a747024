"""The report and spill locks (the filelock package): held until released, by any thread."""

from __future__ import annotations

import threading
from pathlib import Path

from outages_processor.reports.states import HELD, FileLock


def test_a_held_lock_is_seen_as_held(tmp_path: Path) -> None:
    """While one holder has the lock, taking it answers HELD."""
    lock = FileLock.hold(tmp_path / "r.lock")
    try:
        assert FileLock.try_take(tmp_path / "r.lock") is HELD
    finally:
        lock.release()


def test_a_lock_released_by_another_thread_is_free(tmp_path: Path) -> None:
    """A lock taken in one thread and released in another is free and its file gone."""
    lock = FileLock.hold(tmp_path / "r.lock")
    worker = threading.Thread(target=lock.release)
    worker.start()
    worker.join()
    assert not (tmp_path / "r.lock").exists()
    assert FileLock.try_take(tmp_path / "r.lock") is None


def test_a_lock_file_nobody_holds_can_be_taken(tmp_path: Path) -> None:
    """A lock file left by a process that died is free to take (and removed on release)."""
    (tmp_path / "r.lock").write_bytes(b"")
    lock = FileLock.try_take(tmp_path / "r.lock")
    assert lock is not None and lock is not HELD
    lock.release()
    assert not (tmp_path / "r.lock").exists()
