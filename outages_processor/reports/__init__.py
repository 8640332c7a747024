"""Use case: store uptime reports, built at once or triggered and served in the background.

* :func:`build_report` reads the three inputs and computes one row per store;
* :func:`write_report_csv` writes the rows atomically (a failed or interrupted run never
  leaves a partial report); :func:`run_report` does both, as the command line does;
* :class:`ReportService` lets a web service trigger a report, answer at once with an id,
  and tell later (or from another process) whether it is Running, Complete or Failed.

The modules, each using only those listed after it: ``service`` (the report service),
``writing`` (CSV out), ``building`` (the use case), ``workers`` (the work that runs in
worker processes), ``inputs`` (what the inputs may be, and the stores' schedules).
"""

from outages_processor.reports.building import PARALLEL_MIN_BYTES, ProgressCallback, build_report
from outages_processor.reports.service import ReportService
from outages_processor.reports.writing import run_report, write_rejects_csv, write_report_csv

__all__ = [
    "PARALLEL_MIN_BYTES",
    "ProgressCallback",
    "ReportService",
    "build_report",
    "run_report",
    "write_rejects_csv",
    "write_report_csv",
]
