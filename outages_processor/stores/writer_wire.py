"""The messages between the service's workers and its event writer (see ``writer_process``).

One local stream (a Unix socket in a private folder) per worker. Every message is a frame:
4 bytes of length (big-endian), then a :mod:`marshal` payload of plain values (marshal:
no code runs on reading, and it is the quickest codec of ints, strings, lists and dicts).

* a worker sends ``(request_id, timestamps)``: a batch's ``controller_id -> outage_type
  -> [µs]`` (what :class:`~outages_processor.models.events.RecordBatch` holds);
* the writer answers ``(request_id, 0, (new, duplicate, created, extended, merged))``, or
  ``(request_id, 1, kind, message)`` when the batch was not stored (the error's class name).

The writer process also tells its parent, on its standard output, whether it started: one
frame holding ``""`` once it listens, or why it cannot start (:func:`start_frame`,
:func:`read_start`).
"""

from __future__ import annotations

import asyncio
import marshal
import struct
from typing import IO, Any, Final

from outages_processor.errors import (
    EventStoreBusyError,
    EventStoreError,
    InputDataError,
    OutagesError,
)
from outages_processor.models.events import IngestResult, RecordBatch

__all__ = [
    "MAX_FRAME",
    "WireError",
    "error_of",
    "read_frame",
    "read_start",
    "reply_frame",
    "request_frame",
    "request_of",
    "result_of",
    "start_frame",
]

MAX_FRAME: Final = 256 << 20
"""The largest frame read (bytes): far above a request's, which the body limit bounds."""

_LENGTH: Final = struct.Struct(">I")
_ERRORS: Final[dict[str, type[OutagesError]]] = {
    error.__name__: error for error in (EventStoreBusyError, EventStoreError, InputDataError)
}


class WireError(Exception):
    """A frame that is not one of this module's (the other end is not a writer or worker)."""


def _frame(value: Any) -> bytes:
    payload = marshal.dumps(value)
    return _LENGTH.pack(len(payload)) + payload


def start_frame(failure: str | None) -> bytes:
    """The frame that tells the parent the writer listens (None), or why it cannot start."""
    return _frame(failure or "")


def read_start(stream: IO[bytes]) -> str | None:
    """What a writer said of its start: None once it listens, else why it cannot start.

    Raises:
        WireError: it said nothing (it exited first) or something else.
    """
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        raise WireError("the event writer exited before it listened")
    (length,) = _LENGTH.unpack(header)
    payload = stream.read(min(length, MAX_FRAME))
    try:
        message = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        message = None
    if not isinstance(message, str):
        raise WireError("the event writer said something else than whether it started")
    return message or None


def request_frame(request_id: int, batch: RecordBatch) -> bytes:
    """The frame that asks the writer to store ``batch``."""
    timestamps = {
        controller: {kind: list(values) for kind, values in by_type.items()}
        for controller, by_type in batch.timestamps.items()
    }
    return _frame((request_id, timestamps))


def reply_frame(request_id: int, outcome: IngestResult | BaseException) -> bytes:
    """The frame of a stored batch's counts, or of the error that kept it out."""
    if isinstance(outcome, IngestResult):
        counts = (
            outcome.records_new,
            outcome.records_duplicate,
            outcome.events_created,
            outcome.events_extended,
            outcome.events_merged,
        )
        return _frame((request_id, 0, counts))
    return _frame((request_id, 1, type(outcome).__name__, str(outcome)))


async def read_frame(reader: asyncio.StreamReader) -> Any:
    """The next message, or None at the end of the stream.

    Raises:
        WireError: the frame is too long or its payload is not marshal data.
        ConnectionError: the stream broke.
    """
    try:
        header = await reader.readexactly(_LENGTH.size)
    except asyncio.IncompleteReadError as err:
        if err.partial:
            raise WireError("the stream ended inside a frame") from None
        return None
    (length,) = _LENGTH.unpack(header)
    if length > MAX_FRAME:
        raise WireError(f"a frame of {length} bytes")
    try:
        message = marshal.loads(await reader.readexactly(length))
    except asyncio.IncompleteReadError:
        raise WireError("the stream ended inside a frame") from None
    except (EOFError, ValueError, TypeError) as err:
        raise WireError(f"not a message: {err}") from None
    if message is None:  # None means the end of the stream to the caller
        raise WireError("an empty message")
    return message


def request_of(message: Any) -> tuple[int, RecordBatch]:
    """The request id and batch of a request message.

    Raises:
        WireError: the message is not a request.
    """
    match message:
        case (int() as request_id, dict() as timestamps):
            return request_id, RecordBatch(timestamps)
    raise WireError("not a request")


def result_of(message: Any) -> tuple[int, IngestResult | OutagesError]:
    """The request id and outcome of a reply message.

    Raises:
        WireError: the message is not a reply.
    """
    match message:
        case (int() as request_id, 0, (int(), int(), int(), int(), int()) as counts):
            new, duplicate, created, extended, merged = counts
            return request_id, IngestResult(
                records_new=new,
                records_duplicate=duplicate,
                events_created=created,
                events_extended=extended,
                events_merged=merged,
            )
        case (int() as request_id, 1, str() as kind, str() as text):
            return request_id, error_of(kind, text)
    raise WireError("not a reply")


def error_of(kind: str, message: str) -> OutagesError:
    """The error a reply names, rebuilt (an unknown kind as a plain :class:`OutagesError`)."""
    return _ERRORS.get(kind, OutagesError)(message)
