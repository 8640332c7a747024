"""Use case: store uptime reports, built at once or triggered and served in the background.

* :func:`build_report` reads the three inputs and computes one row per store;
* :func:`write_report_csv` writes the rows atomically (a failed or interrupted run never
  leaves a partial report), :func:`read_report_csv` reads them back; :func:`run_report`
  builds and writes, as the command line does;
* :class:`ReportService` lets a web service trigger a report, answer at once with an id,
  and tell later (or from another process) whether it is Running, Complete or Failed.

The modules, each using only those listed after it: ``service`` (the report service),
``writing`` (the command line's whole job), ``report_csv`` (the report CSV format, written
and read), ``building`` (the use case), ``cluster`` (the use case on a Dask cluster, whose
workers read the status shards), ``workers`` (the work that runs in worker processes),
``spill`` (poll data passed to workers through files), ``states`` (a report's saved state
and locks), ``inputs`` (what the inputs may be, and the stores' schedules).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outages_processor.reports.building import (
        PARALLEL_MIN_BYTES,
        ProgressCallback,
        build_report,
    )
    from outages_processor.reports.report_csv import read_report_csv, write_report_csv
    from outages_processor.reports.service import ReportService
    from outages_processor.reports.writing import run_report
    from outages_processor.stores.rejects_csv import write_rejects_csv

_HOMES = {
    "PARALLEL_MIN_BYTES": "outages_processor.reports.building",
    "ProgressCallback": "outages_processor.reports.building",
    "ReportService": "outages_processor.reports.service",
    "build_report": "outages_processor.reports.building",
    "read_report_csv": "outages_processor.reports.report_csv",
    "run_report": "outages_processor.reports.writing",
    "write_rejects_csv": "outages_processor.stores.rejects_csv",
    "write_report_csv": "outages_processor.reports.report_csv",
}
# Loaded on first use: the command line's report needs neither the service nor its
# threads and locks, and a worker process needs none of these.

__all__ = [
    "PARALLEL_MIN_BYTES",
    "ProgressCallback",
    "ReportService",
    "build_report",
    "read_report_csv",
    "run_report",
    "write_rejects_csv",
    "write_report_csv",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
