"""The status store's endpoints (polls, business hours, time zones) and the reports.

Bodies are JSON lists of rows (keyed by the CSV columns) or ``text/csv`` in the files'
format; both go through the status store's readers, so bad rows are refused by the same
rules, with the row and the reason, and nothing of the request is stored.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from outages_processor.errors import InputDataError, ReportError
from outages_processor.models.uptime import ReportState
from outages_processor.service.bodies import BodyError, decode_json, read_body
from outages_processor.service.negotiation import wants_csv
from outages_processor.service.resources import Resources
from outages_processor.service.schemas import (
    BUSINESS_HOURS_BODY,
    STATUS_BODY,
    TIMEZONES_BODY,
    ErrorDetail,
    PollCounts,
    ReplaceCounts,
    ReportAnswer,
    TriggerAnswer,
    TriggerRequest,
    body_of,
)

__all__ = ["router"]

router = APIRouter(tags=["uptime"])

_ROWS_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorDetail, "description": "Not what its Content-Encoding says."},
    413: {"model": ErrorDetail, "description": "The body is too large."},
    415: {
        "model": ErrorDetail,
        "description": "Neither JSON nor text/csv, or a Content-Encoding not taken.",
    },
    422: {"model": ErrorDetail, "description": "A bad row (which one and why); nothing stored."},
}


async def _rows_of(request: Request) -> Any:
    """The body as the store's readers take it: CSV bytes, or rows (mappings)."""
    body = await read_body(request, Resources.of(request).settings.max_body_bytes)
    # Media types are case-insensitive (RFC 9110, 8.3.1).
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind == "text/csv":
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise BodyError(422, f"the body is not UTF-8 (byte {err.start})") from None
        return body
    if kind not in ("application/json", ""):
        raise BodyError(415, f"send application/json or text/csv, not {kind}")
    value = decode_json(body)
    if not isinstance(value, list):
        raise BodyError(422, "expected a JSON list of rows (objects keyed by the CSV columns)")
    return [_row(index, item) for index, item in enumerate(value)]


def _row(index: int, item: object) -> dict[str, str]:
    """One JSON row as the CSV text its values would be."""
    if not isinstance(item, dict):
        raise BodyError(422, f"row {index}: expected an object keyed by the CSV columns")
    row: dict[str, str] = {}
    for name, value in item.items():
        if isinstance(value, str):
            row[name] = value
        elif isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            row[name] = str(value)
        else:
            raise BodyError(422, f"row {index}: {name} must be a string or a number")
    return row


async def _load(request: Request, method: Callable[[Any], Any]) -> Any:
    """Read the body and hand it to a store method, bad rows named as the body has them."""
    rows = await _rows_of(request)
    try:
        if isinstance(rows, bytes):
            return await run_in_threadpool(_from_file, method, rows)
        return await run_in_threadpool(method, rows)
    except InputDataError as err:
        raise BodyError(422, _where(err, json_rows=isinstance(rows, list))) from None


def _from_file(method: Callable[[Any], Any], body: bytes) -> Any:
    """Call ``method`` on a CSV body written to a private temporary file.

    The store reads a file as the command line's ``uptime ingest`` does: a clean one with
    the fast readers (several times faster than a text stream, row by row), any other row
    by row, with the same messages. The file is removed afterwards. Where no temporary file
    can be written (a full or read-only disk), the body is read as a text stream instead.
    """
    with contextlib.ExitStack() as stack:
        try:
            path = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="outages-body-")))
            path /= "body.csv"
            path.write_bytes(body)
        except OSError:
            return method(io.StringIO(body.decode("utf-8"), newline=""))
        return method(path)


def _where(err: InputDataError, *, json_rows: bool) -> str:
    """The reader's message, its place said as the body's: a JSON row's index, a CSV line."""
    if err.line is None:
        return f"{err.reason}; nothing was stored"
    # The readers count a header line before JSON rows too: the first row is line 2.
    place = f"row {err.line - 2}" if json_rows else f"line {err.line}"
    return f"{place}: {err.reason}; nothing was stored"


@router.post(
    "/store-status",
    response_model=PollCounts,
    responses=_ROWS_ERRORS,
    openapi_extra=body_of(STATUS_BODY, csv="store_id,status,timestamp_utc"),
    summary="Add polls to the status store (idempotent; all or nothing)",
)
async def post_store_status(request: Request) -> dict[str, int]:
    """Store polls: a JSON list or a CSV body in the status file's format."""
    result = await _load(request, Resources.of(request).status.ingest_polls)
    return {"received": result.received, "new": result.new, "duplicates": result.duplicates}


@router.put(
    "/business-hours",
    response_model=ReplaceCounts,
    responses=_ROWS_ERRORS,
    openapi_extra=body_of(
        BUSINESS_HOURS_BODY, csv="store_id,dayOfWeek,start_time_local,end_time_local"
    ),
    summary="Replace the stores' business hours",
)
async def put_business_hours(request: Request) -> dict[str, int]:
    """Replace every store's business hours with the rows sent."""
    return {"rows": await _load(request, Resources.of(request).status.replace_hours)}


@router.put(
    "/timezones",
    response_model=ReplaceCounts,
    responses=_ROWS_ERRORS,
    openapi_extra=body_of(TIMEZONES_BODY, csv="store_id,timezone_str"),
    summary="Replace the stores' time zones",
)
async def put_timezones(request: Request) -> dict[str, int]:
    """Replace every store's time zone with the rows sent."""
    return {"rows": await _load(request, Resources.of(request).status.replace_timezones)}


@router.post(
    "/trigger_report",
    response_model=TriggerAnswer,
    responses={
        409: {"model": ErrorDetail, "description": "The status store holds no polls yet."},
        422: {"model": ErrorDetail, "description": "A bad option."},
    },
    summary="Start an uptime report over the status store; answers at once",
)
def trigger_report(
    request: Request, options: Annotated[TriggerRequest | None, Body()] = None
) -> dict[str, str]:
    """Start a report on the service's bounded executor; poll ``/get_report`` for it."""
    chosen = options or TriggerRequest()
    resources = Resources.of(request)
    try:
        report_id = resources.reports.trigger_store(
            resources.settings.uptime_db, now=chosen.now, interpolation=chosen.interpolation
        )
    except ValueError as err:
        raise BodyError(422, str(err)) from None
    except InputDataError:
        # The service made its status store when it started: it holds no polls yet.
        raise BodyError(
            409, "the status store holds no polls yet: load some with POST /store-status first"
        ) from None
    return {"report_id": report_id}


@router.get(
    "/get_report",
    response_model=ReportAnswer,
    response_model_exclude_none=True,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        404: {"model": ErrorDetail, "description": "No report has this id."},
    },
    summary="A report's state; its rows (JSON or CSV) once Complete",
)
def get_report(
    request: Request,
    report_id: Annotated[str, Query(description="The id /trigger_report returned.")],
    format: Annotated[  # pylint: disable=redefined-builtin
        Literal["json", "csv"] | None,
        Query(description="csv: the CSV file (as Accept: text/csv)."),
    ] = None,
) -> Any:
    """Running, Complete with the rows (or the CSV file), Failed with the reason."""
    csv = format == "csv" or (format is None and wants_csv(request.headers.getlist("accept")))
    try:
        status = Resources.of(request).reports.get(report_id, include_rows=not csv)
    except ReportError as err:
        raise BodyError(404, str(err)) from None
    if status.state is ReportState.FAILED:
        return {"status": status.state.value, "error": status.error}
    if status.state is not ReportState.COMPLETE or status.csv_path is None:
        return {"status": status.state.value}
    if csv:
        return FileResponse(
            status.csv_path, media_type="text/csv", filename=f"report-{report_id}.csv"
        )
    return {"status": status.state.value, "data": [row.to_dict() for row in status.rows or ()]}
