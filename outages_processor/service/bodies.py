"""Request bodies: read with a size cap, their content coding undone, and outage records
parsed by the library's rules.

A body may come compressed (``Content-Encoding``, RFC 9110 section 8.4): ``gzip`` (or
``x-gzip``) and ``deflate`` (the zlib format), or a list of them in the order the sender
applied them, are undone as the bytes arrive by a :class:`BodyDecoder`, which holds the
decoded body to the same limit (a body that inflates past it is refused while inflating).
Any other coding is a 415 naming the ones taken; bytes that are not what their coding says
are a 400.

The records of ``POST /outages`` are decoded with the readers' JSON number hooks and checked
by :func:`~outages_processor.inputs.record_fields.record_of`, the rule every file reader
applies (ISO 8601 with ``Z`` or an offset, naive read as UTC, or epoch seconds), so that the
service and the command line accept exactly the same records. Pydantic is not used here: a
batch of 10,000 records parses several times faster this way.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Final

from starlette.requests import Request

from outages_processor.inputs.record_fields import (
    json_float,
    json_int,
    json_type,
    record_of,
    utf8_text,
)
from outages_processor.models.events import RecordBatch

__all__ = [
    "MAX_RECORDS",
    "BodyDecoder",
    "BodyError",
    "decode_json",
    "parse_records",
    "read_body",
]

MAX_RECORDS = 10_000
"""The records one ``POST /outages`` may carry."""


_WINDOW_BITS: Final = {
    "gzip": 16 + zlib.MAX_WBITS,
    "x-gzip": 16 + zlib.MAX_WBITS,
    "deflate": zlib.MAX_WBITS,
}
"""The content codings undone, and the zlib window bits that read each one's format."""
_ACCEPTED: Final = {"Accept-Encoding": "gzip, deflate"}
"""The header a 415 for an unknown coding carries (RFC 9110, section 12.5.3)."""


class BodyError(Exception):
    """A request body the service refuses: the HTTP status, the one-line reason, and the
    headers the answer carries (if any)."""

    def __init__(
        self, status_code: int, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers


class _Inflater:
    """One content coding undone, chunk by chunk, its output held to ``limit`` bytes."""

    def __init__(self, coding: str, limit: int) -> None:
        self.coding = coding
        self.room = limit
        self.limit = limit
        self._stream = zlib.decompressobj(_WINDOW_BITS[coding])

    def feed(self, data: bytes) -> bytes:
        """The decoded bytes of the next chunk of encoded ones.

        Raises:
            BodyError: 413 past the limit; 400 when the bytes are not of the coding.
        """
        out: list[bytes] = []
        try:
            while data:
                if self._stream.eof:
                    if self.coding == "deflate":
                        raise BodyError(400, "bytes after the end of the deflate stream")
                    # Another member of a gzip file (RFC 1952).
                    self._stream = zlib.decompressobj(_WINDOW_BITS[self.coding])
                # At most one byte past the room: enough to tell, never the whole bomb.
                piece = self._stream.decompress(data, self.room + 1)
                self.room -= len(piece)
                if self.room < 0:
                    raise BodyError(
                        413, f"the decoded request body is larger than {self.limit} bytes; "
                        "send less"
                    )  # fmt: skip
                out.append(piece)
                data = self._stream.unconsumed_tail or self._stream.unused_data
        except zlib.error as err:
            raise BodyError(400, f"the body is not valid {self.coding} data: {err}") from None
        return b"".join(out)

    def finish(self) -> None:
        """Check that the coded stream ended.

        Raises:
            BodyError: 400 when the body stops inside it.
        """
        if not self._stream.eof:
            raise BodyError(400, f"the {self.coding} body ends early: it was cut short")


class BodyDecoder:
    """Undo a request body's content codings as its chunks arrive.

    Args:
        header: the values of the request's ``Content-Encoding`` headers (each may list
            several codings, comma-separated, in the order they were applied).
        limit: the largest decoded body (bytes), and the largest output of every coding.

    Raises:
        BodyError: 415 for a coding other than ``gzip``, ``x-gzip``, ``deflate`` and
            ``identity``.
    """

    def __init__(self, header: Sequence[str], limit: int) -> None:
        codings = [part.strip().lower() for value in header for part in value.split(",")]
        self._inflaters: list[_Inflater] = []
        for coding in reversed([coding for coding in codings if coding not in ("", "identity")]):
            if coding not in _WINDOW_BITS:
                raise BodyError(
                    415,
                    f"Content-Encoding {coding} is not supported; send gzip, deflate or no "
                    "Content-Encoding",
                    headers=dict(_ACCEPTED),
                )
            self._inflaters.append(_Inflater(coding, limit))

    def feed(self, chunk: bytes) -> bytes:
        """The decoded bytes of the body's next chunk (possibly none yet).

        Raises:
            BodyError: as :meth:`_Inflater.feed`.
        """
        for inflater in self._inflaters:
            chunk = inflater.feed(chunk)
        return chunk

    def finish(self) -> None:
        """Check that every coded stream ended (call it after the last chunk).

        Raises:
            BodyError: 400 when the body was cut short.
        """
        for inflater in self._inflaters:
            inflater.finish()


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, refused once it grows past ``limit`` bytes.

    Args:
        request: the request.
        limit: the largest body accepted (bytes).

    Returns:
        The body.

    Raises:
        BodyError: 413 when the body (or its declared length) is larger than ``limit``, or
            decodes to more; 415 for an unknown content coding; 400 for a body that is not
            what its coding says.
    """
    too_large = BodyError(413, f"the request body is larger than {limit} bytes; send less")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    decoder = BodyDecoder(request.headers.getlist("content-encoding"), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(decoder.feed(chunk))
    decoder.finish()
    return b"".join(chunks)


def decode_json(body: bytes) -> object:
    """Decode a JSON body with the readers' number hooks (exact decimals, bounded size).

    A byte order mark before the JSON text is ignored (RFC 8259 allows it), as the command
    line's JSON readers ignore it.

    Raises:
        BodyError: 422 when the body is not UTF-8 JSON.
    """
    try:
        text = utf8_text(body)
    except UnicodeDecodeError as err:
        raise BodyError(422, f"the body is not UTF-8 (byte {err.start}); send UTF-8 JSON") from None
    try:
        return json.loads(text, parse_float=json_float, parse_int=json_int)
    except json.JSONDecodeError as err:
        raise BodyError(
            422, f"the body is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})"
        ) from None
    except RecursionError:
        raise BodyError(422, "the body is not valid JSON: nested too deeply") from None


def parse_records(body: bytes) -> RecordBatch:
    """The outage records of a ``POST /outages`` body: one record object or a list of them.

    Args:
        body: the raw body.

    Returns:
        The records as one batch.

    Raises:
        BodyError: 422 naming the first bad record's index and what is wrong with it (or
            what is wrong with the body); 413 for more than :data:`MAX_RECORDS` records.
    """
    value = decode_json(body)
    items = [value] if isinstance(value, dict) else value
    if not isinstance(items, list):
        raise BodyError(
            422, f"expected a record object or a list of records, found {json_type(value)}"
        )
    if len(items) > MAX_RECORDS:
        raise BodyError(
            413, f"{len(items)} records in one request; send at most {MAX_RECORDS} at a time"
        )
    groups: dict[str, dict[str, list[int]]] = {}
    for index, item in enumerate(items):
        record = record_of(item)
        if isinstance(record, str):
            raise BodyError(422, f"record {index}: {record}; nothing was stored")
        controller_id, outage_type, micros = record
        groups.setdefault(controller_id, {}).setdefault(outage_type, []).append(micros)
    return RecordBatch(groups)
