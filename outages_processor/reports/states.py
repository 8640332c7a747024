"""Where a report service keeps its reports: one JSON state and one CSV per report, and locks.

A report's state is a :class:`ReportRecord`, kept as ``<id>.json`` in the service's folder,
written atomically, so that any process reading the folder sees a whole state. While a
process computes a report it holds an exclusive lock on ``<id>.lock``; the operating system
releases the lock when the process ends, however it ends, so a Running state whose lock
nobody holds belongs to a process that died.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Final

import attrs
import filelock

from outages_processor._time import parse_instant_datetime
from outages_processor.errors import ReportError
from outages_processor.models.uptime import ReportState
from outages_processor.stores.output_files import write_text_atomic

__all__ = ["HELD", "FileLock", "ReportFiles", "ReportRecord"]

_REPORT_ID: Final = re.compile(r"[0-9a-f]{32}")


class FileLock:
    """An exclusive lock on a file, held by an open descriptor until released.

    The operating system releases it when the descriptor closes or the process ends. The
    locking itself is the ``filelock`` package's (flock on POSIX, msvcrt on Windows), which
    also copes with a lock file removed by its holder while another process waited for it.
    """

    def __init__(self, path: Path, lock: filelock.BaseFileLock | None) -> None:
        self.path = path
        self._lock = lock

    @staticmethod
    def _new(path: Path) -> filelock.BaseFileLock:
        # Not thread-local: a report's lock is taken in one thread and released in another.
        return filelock.FileLock(path, thread_local=False)

    @classmethod
    def hold(cls, path: Path) -> FileLock:
        """Create ``path`` and lock it (waiting for the lock if need be)."""
        lock = cls._new(path)
        lock.acquire()
        return cls(path, lock)

    @classmethod
    def try_take(cls, path: Path) -> FileLock | None:
        """Lock ``path`` if nobody holds it.

        Returns:
            The lock; :data:`HELD` when someone holds it; None when the file is gone.
        """
        if not path.exists():
            # Its holder finished (and removed it) or never began: there is nothing to take.
            return None
        lock = cls._new(path)
        try:
            lock.acquire(blocking=False)
        except filelock.Timeout:
            return HELD
        return cls(path, lock)

    def release(self) -> None:
        """Remove the file and release the lock."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        if self._lock is not None:
            self._lock.release()


HELD: Final = FileLock(Path(os.devnull), None)
"""What :meth:`FileLock.try_take` answers when someone else holds the lock."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _optional_instant(value: object) -> datetime | None:
    """An ISO 8601 text as an aware datetime (no offset: UTC); None stays None.

    Raises:
        TypeError: the value is not text.
        ValueError: the text is not ISO 8601.
    """
    if value is None:
        return None
    return _instant(value)


def _instant(value: object) -> datetime:
    """An ISO 8601 text as an aware datetime (no offset: UTC).

    Raises:
        TypeError: the value is not text.
        ValueError: the text is not ISO 8601.
    """
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 text, not {value!r}")
    return parse_instant_datetime(value)


def _optional(kind: type) -> Any:
    return attrs.validators.optional(attrs.validators.instance_of(kind))


@attrs.frozen
class ReportRecord:  # pylint: disable=too-many-instance-attributes  # the JSON file's fields
    """What a report service keeps about one report: the contents of its ``<id>.json``.

    Attributes:
        report_id: the report's id (32 hexadecimal characters).
        state: Running, Complete, Failed or Cancelled.
        created_at: when it was triggered (aware, UTC).
        pid: the process that computes it (None in states written without one).
        finished_at: when it finished (None while Running).
        error: why it failed (Failed only).
        csv: the report CSV's file name in the service's folder (Complete only).
        rows: the number of report rows (Complete only).
        now: the instant the report's windows end at (Complete only).
    """

    report_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    state: ReportState = attrs.field(converter=ReportState)
    created_at: datetime = attrs.field(validator=attrs.validators.instance_of(datetime))
    pid: int | None = attrs.field(default=None, validator=_optional(int))
    finished_at: datetime | None = attrs.field(default=None, validator=_optional(datetime))
    error: str | None = attrs.field(default=None, validator=_optional(str))
    csv: str | None = attrs.field(default=None, validator=_optional(str))
    rows: int | None = attrs.field(default=None, validator=_optional(int))
    now: datetime | None = attrs.field(default=None, validator=_optional(datetime))

    @classmethod
    def running(cls, report_id: str) -> ReportRecord:
        """The state of a report triggered just now by this process."""
        return cls(report_id, ReportState.RUNNING, _utc_now(), pid=os.getpid())

    def finished(
        self,
        state: ReportState,
        *,
        error: str | None = None,
        csv: str | None = None,
        rows: int | None = None,
        now: datetime | None = None,
    ) -> ReportRecord:
        """This report, finished now in ``state`` (Complete, Failed or Cancelled)."""
        return attrs.evolve(
            self, state=state, finished_at=_utc_now(), error=error, csv=csv, rows=rows, now=now
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the state file: fields that are set, instants in ISO 8601."""
        data: dict[str, Any] = {}
        for field in attrs.fields(ReportRecord):
            value = getattr(self, field.name)
            if isinstance(value, ReportState):
                value = value.value
            elif isinstance(value, datetime):
                value = value.isoformat()
            if value is not None:
                data[field.name] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportRecord:
        """Read a state file's JSON object.

        Raises:
            KeyError: a required field is missing.
            TypeError: a field has the wrong type.
            ValueError: an unknown state, or an instant that is not ISO 8601.
        """
        return cls(
            data["report_id"],
            data["state"],
            _instant(data["created_at"]),
            pid=data.get("pid"),
            finished_at=_optional_instant(data.get("finished_at")),
            error=data.get("error"),
            csv=data.get("csv"),
            rows=data.get("rows"),
            now=_optional_instant(data.get("now")),
        )


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

    def write_state(self, record: ReportRecord) -> None:
        """Write a report's state atomically."""
        write_text_atomic(
            self.path(record.report_id, ".json"), json.dumps(record.to_json(), sort_keys=True)
        )

    def read_state(self, report_id: str) -> ReportRecord:
        """Read a report's state.

        Raises:
            ReportError: the id is malformed, no report has it here, or its file is
                damaged (not a JSON object naming this report, or not a whole state).
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
        try:
            return ReportRecord.from_json(state)
        except (KeyError, TypeError, ValueError) as err:
            raise self.damaged(report_id, repr(err)) from err

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
