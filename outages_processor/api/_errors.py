"""Translating HTTP answers and failures into the errors of :mod:`outages_processor.errors`.

Every translation of the KrakenFlex API's wire into our errors lives here, once; only
:mod:`outages_processor.api.client` calls it. The API key never reaches a message: the
answers quoted here are the server's, and the transport failures are scrubbed by the client.
"""

from __future__ import annotations

from typing import Any

import httpx

from outages_processor.errors import (
    ApiConnectionError,
    ApiError,
    AuthError,
    InvalidResponseError,
    NotFoundError,
    RateLimitedError,
    RejectedPayloadError,
    ServerError,
)

__all__ = ["Transient", "decode", "give_up_error", "status_error"]


class Transient(Exception):
    """One attempt failed in a way another attempt may fix (internal to :mod:`api`)."""

    def __init__(
        self,
        cause: str,
        *,
        response: httpx.Response | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(cause)
        self.cause = cause
        self.response = response
        self.retry_after = retry_after


def decode(response: httpx.Response, endpoint: str) -> Any:
    """Decode the JSON body of a 2xx answer.

    Args:
        response: the answer, its body read.
        endpoint: the request as ``"GET /outages"``, for the message.

    Returns:
        The decoded body.

    Raises:
        InvalidResponseError: the body is not JSON.
    """
    try:
        return response.json()
    except (ValueError, RecursionError) as err:
        # RecursionError: a body nested deeper than the JSON decoder can follow.
        raise InvalidResponseError(
            f"{endpoint}: the API answered HTTP {response.status_code} with a body that is "
            f"not JSON ({_snippet(response)}); check the base URL points at the KrakenFlex API",
            endpoint=endpoint,
            status_code=response.status_code,
        ) from err


def _api_message(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return None


def _snippet(response: httpx.Response, limit: int = 80) -> str:
    text = " ".join(response.text.split())
    if not text:
        return "empty body"
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def status_error(response: httpx.Response, endpoint: str, site_id: str | None) -> ApiError:
    """The error of an answer that is neither a success nor transient (never retried).

    Args:
        response: the answer (a 4xx but 429, or an unexpected status).
        endpoint: the request as ``"GET /outages"``, for the message.
        site_id: the site the request is about, or None.

    Returns:
        AuthError (401, 403), NotFoundError (404), RejectedPayloadError (400), or ApiError.
    """
    status = response.status_code
    message = _api_message(response)
    if status in (401, 403):
        return AuthError(
            f"{endpoint}: the API refused the API key (HTTP {status}); check "
            "KRAKENFLEX_API_KEY or --api-key",
            endpoint=endpoint,
            status_code=status,
        )
    if status == 404:
        what = f"site {site_id!r}" if site_id is not None else "the resource"
        return NotFoundError(
            f"{endpoint}: the API does not know {what} (HTTP 404: "
            f"{message or 'not found'}); check the site id",
            endpoint=endpoint,
            site_id=site_id,
        )
    if status == 400:
        return RejectedPayloadError(
            f"{endpoint}: the API rejected the outages sent (HTTP 400: "
            f"{message or _snippet(response)}); the request body does not match what the "
            "API expects for this site",
            endpoint=endpoint,
            api_message=message,
        )
    return ApiError(
        f"{endpoint}: unexpected answer HTTP {status} ({message or _snippet(response)})",
        endpoint=endpoint,
        status_code=status,
    )


def give_up_error(err: Transient, endpoint: str, tries: int) -> ApiError:
    """The error of a transient failure that outlasted the retry policy or its deadline.

    Args:
        err: the last failure.
        endpoint: the request as ``"GET /outages"``, for the message.
        tries: the attempts made.

    Returns:
        ApiConnectionError (no answer), RateLimitedError (429) or ServerError (5xx).
    """
    after = f"after {tries} attempt{'s' if tries != 1 else ''}"
    if err.response is None:
        return ApiConnectionError(
            f"{endpoint}: {err.cause} {after}; check the network and the base URL, then "
            "try again later",
            endpoint=endpoint,
        )
    status = err.response.status_code
    if status == 429:
        return RateLimitedError(
            f"{endpoint}: the API rate limit was exceeded (HTTP 429) {after}; wait a "
            "while and try again",
            endpoint=endpoint,
            status_code=status,
        )
    return ServerError(
        f"{endpoint}: the API failed with HTTP {status} ({_snippet(err.response)}) {after}; "
        "try again later",
        endpoint=endpoint,
        status_code=status,
    )
