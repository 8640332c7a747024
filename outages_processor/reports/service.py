"""A report service: trigger reports that compute in the background, and ask about them.

This is the interface a web service exposes as ``/trigger_report`` and ``/get_report``.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from concurrent.futures import Executor
from datetime import datetime, timezone
from typing import Any

from outages_processor.models.uptime import (
    Interpolation,
    OnError,
    ReportState,
    ReportStatus,
)
from outages_processor.reports.building import build_report
from outages_processor.reports.inputs import HoursInput, StatusInput, TimezonesInput
from outages_processor.reports.writing import write_report_csv
from outages_processor.storage import csv_inputs
from outages_processor.storage.report_states import HELD, FileLock, ReportFiles

__all__ = ["ReportService"]

logger = logging.getLogger(__name__)


class ReportService:
    """Trigger reports that compute in the background, and ask how they are doing.

    Each report's state is a small JSON file in ``directory`` beside its CSV, so another
    process, or this one after a restart, sees the same states. A report whose process
    died while Running reads as Failed: the running process holds a lock on the report,
    which the operating system releases when the process ends, however it ends.

    Example, in a web service::

        service = ReportService("reports/")
        report_id = service.trigger("status.csv", "hours.csv", "timezones.csv")
        service.get(report_id).state   # ReportState.RUNNING, then COMPLETE
    """

    def __init__(self, directory: str | os.PathLike[str], executor: Executor | None = None) -> None:
        """Serve reports kept in ``directory`` (created if missing).

        Args:
            directory: where states and reports are kept.
            executor: where reports compute (see :func:`build_report`); default: each report
                decides, by the size of its input.
        """
        self.files = ReportFiles(directory)
        self.directory = self.files.directory
        self.executor = executor
        self._threads: dict[str, threading.Thread] = {}

    def trigger(
        self,
        status: StatusInput,
        hours: HoursInput,
        timezones: TimezonesInput,
        *,
        now: datetime | None = None,
        interpolation: Interpolation = "nearest",
        on_error: OnError = "fail",
    ) -> str:
        """Start a report in the background and return its id at once.

        Args:
            status: as :func:`build_report` (read in the background).
            hours: as :func:`build_report`.
            timezones: as :func:`build_report`.
            now: as :func:`build_report`.
            interpolation: as :func:`build_report`.
            on_error: as :func:`build_report`.

        Returns:
            The report id: 32 hexadecimal characters.
        """
        report_id = uuid.uuid4().hex
        lock = FileLock.hold(self.files.path(report_id, ".lock"))
        state = {
            "report_id": report_id,
            "state": ReportState.RUNNING.value,
            "created_at": _utc_now(),
            "pid": os.getpid(),
        }
        self.files.write_state(state)
        thread = threading.Thread(
            target=self._compute,
            args=(state, lock, (status, hours, timezones)),
            kwargs={"now": now, "interpolation": interpolation, "on_error": on_error},
            name=f"uptime-report-{report_id}",
        )
        self._threads[report_id] = thread
        thread.start()
        return report_id

    def _compute(
        self,
        state: dict[str, Any],
        lock: FileLock,
        inputs: tuple[StatusInput, HoursInput, TimezonesInput],
        **options: Any,
    ) -> None:
        report_id = state["report_id"]
        try:
            report = build_report(*inputs, executor=self.executor, **options)
            write_report_csv(report.rows, self.files.path(report_id, ".csv"))
        except Exception as err:  # pylint: disable=broad-exception-caught
            # Whatever went wrong belongs in the report's state, where get() shows it.
            logger.info("report %s failed", report_id, exc_info=True)
            state.update(state=ReportState.FAILED.value, error=str(err) or type(err).__name__)
        else:
            state.update(
                state=ReportState.COMPLETE.value,
                csv=f"{report_id}.csv",
                rows=len(report.rows),
                now=report.now.isoformat(),
            )
        finally:
            state.update(finished_at=_utc_now())
            self.files.write_state(state)
            lock.release()

    def get(self, report_id: str, *, include_rows: bool = False) -> ReportStatus:
        """Return a report's state: Running, Complete (with its CSV) or Failed (with why).

        Args:
            report_id: an id :meth:`trigger` returned.
            include_rows: also read the rows of a Complete report (values as written, 2
                decimals).

        Raises:
            ReportError: the id is malformed, or no report has it in this directory.
        """
        state = self.files.read_state(report_id)
        if state["state"] == ReportState.RUNNING.value:
            state = self._check_running(report_id, state)
        csv_path = self.files.path(report_id, ".csv") if state.get("csv") else None
        finished = state.get("finished_at")
        return ReportStatus(
            report_id,
            ReportState(state["state"]),
            datetime.fromisoformat(state["created_at"]),
            None if finished is None else datetime.fromisoformat(finished),
            csv_path,
            state.get("error"),
            tuple(csv_inputs.read_report_csv(csv_path)) if include_rows and csv_path else None,
        )

    def _check_running(self, report_id: str, state: dict[str, Any]) -> dict[str, Any]:
        """Turn a Running state whose process has gone into Failed."""
        lock = FileLock.try_take(self.files.path(report_id, ".lock"))
        if lock is HELD:
            return state
        try:
            # Read again: the report may have finished since the first read.
            state = self.files.read_state(report_id)
            if state["state"] == ReportState.RUNNING.value:
                state.update(
                    state=ReportState.FAILED.value,
                    finished_at=_utc_now(),
                    error=f"the process computing the report (pid {state.get('pid')}) "
                    "stopped before it finished; trigger the report again",
                )
                self.files.write_state(state)
        finally:
            if lock is not None:
                lock.release()
        return state

    def wait(self, report_id: str, timeout: float | None = None) -> ReportStatus:
        """Wait for a report triggered by this service object to finish; return its state.

        Raises:
            ReportError: as :meth:`get`.
        """
        thread = self._threads.get(report_id)
        if thread is not None:
            thread.join(timeout)
        return self.get(report_id)

    def close(self) -> None:
        """Wait for every report this object triggered to finish."""
        for thread in list(self._threads.values()):
            thread.join()

    def __enter__(self) -> ReportService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()
