"""The service's JSON shapes, for the OpenAPI document and the answers' checks.

Request bodies that are read by the library's own readers (records, polls, business hours,
time zones) are described here as JSON Schema for ``openapi_extra``: the endpoints read the
raw body, and /docs still shows what to send.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "BUSINESS_HOURS_BODY",
    "RECORDS_BODY",
    "STATUS_BODY",
    "TIMEZONES_BODY",
    "ErrorDetail",
    "EventList",
    "EventOut",
    "Health",
    "IngestCounts",
    "PollCounts",
    "ReplaceCounts",
    "ReportAnswer",
    "TriggerAnswer",
    "TriggerRequest",
    "body_of",
]


class ErrorDetail(BaseModel):
    """Every error: what went wrong and what to do."""

    detail: Any = Field(description="What went wrong (a string, or the validation errors).")


class Health(BaseModel):
    """The answer of ``GET /healthz``."""

    status: Literal["ok"]


class IngestCounts(BaseModel):
    """What ``POST /outages`` stored."""

    records_new: int = Field(description="Records stored by this request.")
    records_duplicate: int = Field(
        description="Records already stored, or repeated in the request."
    )
    events_created: int
    events_extended: int
    events_merged: int


class EventOut(BaseModel):
    """One outage event."""

    controller_id: str
    outage_type: str
    start_time: str = Field(description="The first report, ISO 8601 UTC ending in Z.")
    end_time: str = Field(description="The last report, ISO 8601 UTC ending in Z.")
    record_count: int


class EventList(BaseModel):
    """One page of events, and the cursor of the next page (None on the last page)."""

    events: list[EventOut]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null when there is none."
    )


class PollCounts(BaseModel):
    """What ``POST /store-status`` stored."""

    received: int
    new: int
    duplicates: int


class ReplaceCounts(BaseModel):
    """What ``PUT /business-hours`` or ``PUT /timezones`` stored."""

    rows: int = Field(description="Rows now stored (the previous ones were replaced).")


class TriggerRequest(BaseModel):
    """Options of ``POST /trigger_report`` (the body is optional); any other key is a 422,
    so that a misspelt option is not ignored."""

    model_config = ConfigDict(extra="forbid")

    now: str | None = Field(
        default=None,
        description="The report's 'now', ISO 8601 (naive = UTC); default: the latest poll.",
    )
    interpolation: Literal["nearest", "previous"] = "nearest"


class TriggerAnswer(BaseModel):
    """The id of a triggered report."""

    report_id: str


class ReportAnswer(BaseModel):
    """A report's state; ``data`` when Complete, ``error`` when Failed."""

    status: Literal["Running", "Complete", "Failed", "Cancelled"]
    data: list[dict[str, Any]] | None = Field(
        default=None, description="The report's rows (values rounded to 2 decimals)."
    )
    error: str | None = None


_ID = {"type": "string", "minLength": 1}

RECORDS_BODY: dict[str, Any] = {
    "record": {
        "type": "object",
        "required": ["controller_id", "outage_type", "timestamp"],
        "properties": {
            "controller_id": _ID,
            "outage_type": _ID,
            "timestamp": {
                "description": "ISO 8601 with Z or an offset (naive = UTC), or epoch seconds",
                "oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
            },
        },
    },
}
RECORDS_BODY["body"] = {
    "oneOf": [
        RECORDS_BODY["record"],
        {"type": "array", "maxItems": 10_000, "items": RECORDS_BODY["record"]},
    ]
}

_POLL = {
    "type": "object",
    "required": ["store_id", "status", "timestamp_utc"],
    "properties": {
        "store_id": _ID,
        "status": {"type": "string", "enum": ["active", "inactive"]},
        "timestamp_utc": {"type": "string", "format": "date-time"},
    },
}
STATUS_BODY = {"type": "array", "items": _POLL}
_HOURS_ROW = {
    "type": "object",
    "required": ["store_id", "dayOfWeek", "start_time_local", "end_time_local"],
    "properties": {
        "store_id": _ID,
        "dayOfWeek": {"type": "integer", "minimum": 0, "maximum": 6},
        "start_time_local": {"type": "string", "example": "09:00:00"},
        "end_time_local": {"type": "string", "example": "17:00:00"},
    },
}
BUSINESS_HOURS_BODY = {"type": "array", "items": _HOURS_ROW}
_TIMEZONE_ROW = {
    "type": "object",
    "required": ["store_id", "timezone_str"],
    "properties": {"store_id": _ID, "timezone_str": {"type": "string"}},
}
TIMEZONES_BODY = {"type": "array", "items": _TIMEZONE_ROW}


def body_of(schema: dict[str, Any], *, csv: str | None = None) -> dict[str, Any]:
    """``openapi_extra`` for an endpoint that reads its raw body.

    Args:
        schema: the JSON body's schema.
        csv: the CSV header the body may also come as (``text/csv``), if any.

    Returns:
        The OpenAPI ``requestBody`` to merge into the operation.
    """
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if csv is not None:
        content["text/csv"] = {
            "schema": {"type": "string", "description": f"CSV with the header: {csv}"}
        }
    return {"requestBody": {"required": True, "content": content}}
