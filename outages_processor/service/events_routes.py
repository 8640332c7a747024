"""``POST /outages`` and ``GET /events``: controller reports in, outage events out."""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from outages_processor._time import as_instant
from outages_processor.models.events import epoch_micros, from_epoch_micros
from outages_processor.service.bodies import BodyError, parse_records, read_body
from outages_processor.service.resources import Resources
from outages_processor.service.schemas import (
    RECORDS_BODY,
    ErrorDetail,
    EventList,
    IngestCounts,
    body_of,
)

__all__ = ["router"]

router = APIRouter(tags=["events"])

MAX_PAGE = 10_000
"""The most events one page may hold."""

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorDetail, "description": "Not what its Content-Encoding says."},
    413: {"model": ErrorDetail, "description": "More than 10,000 records, or too many bytes."},
    415: {"model": ErrorDetail, "description": "A Content-Encoding not taken."},
    422: {"model": ErrorDetail, "description": "A bad record (its index and why), bad JSON."},
}


@router.post(
    "/outages",
    response_model=IngestCounts,
    responses=_ERRORS,
    openapi_extra=body_of(RECORDS_BODY["body"]),
    summary="Store outage reports (one record or a list) and group them into events",
)
async def post_outages(request: Request) -> dict[str, int]:
    """Store one report or a list of up to 10,000, all or nothing.

    Timestamps are ISO 8601 with ``Z`` or an offset (naive = UTC) or epoch seconds. A bad
    record makes a 422 naming its index, and nothing of the request is stored. Concurrent
    requests share one database transaction (each still all or nothing).
    """
    resources = Resources.of(request)
    body = await read_body(request, resources.settings.max_body_bytes)
    batch = await run_in_threadpool(parse_records, body)
    result = await resources.writer.ingest(batch)
    counts = result.to_dict()
    del counts["records_skipped"]  # a request with a bad record is refused whole
    return counts


def encode_cursor(start_us: int, controller_id: str, outage_type: str) -> str:
    """The opaque cursor after an event: base64url of its sort key as JSON."""
    text = json.dumps([start_us, controller_id, outage_type], ensure_ascii=True)
    return base64.urlsafe_b64encode(text.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str, str]:
    """The sort key a cursor holds.

    Raises:
        BodyError: 422 when the cursor is not one :func:`encode_cursor` made.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw.decode("ascii"))
    except (ValueError, binascii.Error, RecursionError):
        key = None
    if (
        isinstance(key, list)
        and len(key) == 3
        and type(key[0]) is int  # pylint: disable=unidiomatic-typecheck
        and all(isinstance(part, str) for part in key[1:])
    ):
        try:
            from_epoch_micros(key[0])
        except (ValueError, OverflowError):
            pass
        else:
            return key[0], key[1], key[2]
    raise BodyError(422, "cursor: not a cursor of this service; pass next_cursor as given")


_LOST_PLUS: Final = re.compile(r"(:\d{2}(?:[.,]\d+)?) (\d{2}(?::?\d{2})?)$")
"""A time followed by a space and an offset's digits: a '+' sent as is in the query."""


def _instant(value: str | None, name: str) -> Any:
    """A query parameter's instant; a 422 saying what is wrong (and how to send a '+')."""
    if value is None:
        return None
    try:
        return as_instant(value, name)
    except ValueError as err:
        detail = str(err)
        lost = _LOST_PLUS.search(value)
        if lost is not None:
            sent = f"{value[: lost.start()]}{lost[1]}%2B{lost[2]}"
            detail += f"; a '+' in a URL is read as a space: write it as %2B ({sent})"
        raise BodyError(422, detail) from None


def _after(cursor: str | None) -> tuple[datetime, str, str] | None:
    """The key a page starts after, from its cursor."""
    if cursor is None:
        return None
    start_us, controller, kind = decode_cursor(cursor)
    return from_epoch_micros(start_us), controller, kind


@router.get(
    "/events",
    response_model=EventList,
    responses={422: {"model": ErrorDetail, "description": "A bad parameter or cursor."}},
    summary="List the outage events that overlap a time range, oldest first",
)
def get_events(
    request: Request,
    *,
    controller_id: str | None = None,
    outage_type: str | None = None,
    start_time: Annotated[
        str | None, Query(description="Only events ending at or after (ISO 8601, naive = UTC).")
    ] = None,
    end_time: Annotated[
        str | None, Query(description="Only events starting at or before (ISO 8601).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Events per page.")] = 1000,
    cursor: Annotated[
        str | None, Query(description="The next_cursor of the previous page.")
    ] = None,
) -> dict[str, Any]:
    """Events sorted by start time, controller id, outage type; one page at a time."""
    start = _instant(start_time, "start_time")
    end = _instant(end_time, "end_time")
    if start is not None and end is not None and start > end:
        raise BodyError(422, "start_time is after end_time")
    store = Resources.of(request).events
    # One more than asked tells whether there is a next page.
    events = store.events(
        controller_id, outage_type, start, end, after=_after(cursor), limit=limit + 1
    )
    page = events[:limit]
    next_cursor = None
    if len(events) > limit:
        last = page[-1]
        next_cursor = encode_cursor(
            epoch_micros(last.start_time), last.controller_id, last.outage_type
        )
    return {"events": [event.to_dict() for event in page], "next_cursor": next_cursor}
