"""The HTTP client of the KrakenFlex API.

Everything about the wire lives here, once: the base URL, the ``x-api-key`` header,
timeouts, the retry policy, and the translation of HTTP failures into the errors of
:mod:`outages_processor.errors`. Endpoint modules call :meth:`KrakenFlexClient.request_json`.
"""

from __future__ import annotations

import json
import logging
from types import TracebackType
from typing import Any, Self

import backoff
import httpx

from outages_processor._version import __version__
from outages_processor.api._retry import RetryPolicy, parse_retry_after
from outages_processor.errors import (
    ApiConnectionError,
    ApiError,
    AuthError,
    ConfigError,
    InvalidResponseError,
    NotFoundError,
    RateLimitedError,
    RejectedPayloadError,
    ServerError,
)
from outages_processor.settings import Settings

__all__ = ["KrakenFlexClient", "RetryPolicy"]

logger = logging.getLogger("outages_processor.api")

# Transport failures worth another attempt: the request may never have reached the server,
# or its answer was lost. Invalid URLs, unsupported schemes and local protocol errors are not.
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class _Transient(Exception):
    """One attempt failed in a way another attempt may fix (internal to this module)."""

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


class KrakenFlexClient:
    """A client of the KrakenFlex API with timeouts, retries and error translation.

    Thread-safe: one client can serve several sites concurrently. Close it when done, or
    use it as a context manager.

    Args:
        settings: key, base URL, timeout and tries (see :meth:`Settings.load`).
        retry: the retry policy; by default built from ``settings.tries`` and
            ``settings.max_retry_time``.
        transport: an httpx transport to send requests through (for tests or proxies).
        http_client: a ready ``httpx.Client`` to use instead of building one; it is not
            closed by :meth:`close`. Its own base URL is ignored: requests use full URLs.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy(tries=settings.tries, max_time=settings.max_retry_time)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=httpx.Timeout(settings.timeout),
            transport=transport,
            follow_redirects=False,
        )
        self._headers = {
            "x-api-key": settings.api_key,
            "accept": "application/json",
            "user-agent": f"outages_processor/{__version__}",
        }

    def __repr__(self) -> str:
        return f"KrakenFlexClient(base_url={self.settings.base_url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool, if this client created it."""
        if self._owns_http:
            self._http.close()

    def request_json(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        site_id: str | None = None,
    ) -> Any:
        """Send one request, retrying transient failures, and decode its JSON answer.

        Args:
            method: ``"GET"`` or ``"POST"``.
            path: the path below the base URL, starting with ``/``.
            json_body: a JSON-ready value to send as the body, or None for no body.
            site_id: the site the request is about, for error messages.

        Returns:
            The decoded JSON body of the 2xx answer.

        Raises:
            AuthError, NotFoundError, RejectedPayloadError: a 403, 404 or 400 answer
                (never retried).
            RateLimitedError, ServerError, ApiConnectionError: 429, 5xx or network failures
                that outlasted the retry policy.
            InvalidResponseError: a 2xx answer whose body is not JSON.
            ApiError: any other unexpected status.
        """
        endpoint = f"{method} {path}"
        url = self.settings.base_url + path
        content = None if json_body is None else json.dumps(json_body).encode()
        headers = self._headers
        if content is not None:
            headers = {**headers, "content-type": "application/json"}

        attempts = 0

        def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            try:
                response = self._http.request(method, url, content=content, headers=headers)
            except _RETRYABLE_TRANSPORT as err:
                raise _Transient(_describe_transport_error(err)) from err
            except httpx.HTTPError as err:
                raise ConfigError(
                    f"{endpoint}: cannot send the request ({type(err).__name__}: {err}); "
                    "check the base URL"
                ) from err
            if response.status_code == 429 or response.status_code >= 500:
                raise _Transient(
                    f"HTTP {response.status_code}",
                    response=response,
                    retry_after=parse_retry_after(response.headers.get("retry-after")),
                )
            return response

        def log_retry(details: Any) -> None:
            logger.warning(
                "%s failed (attempt %d of %d): %s; retrying in %.1f s",
                endpoint,
                details["tries"],
                self.retry.tries,
                details["exception"].cause,
                details["wait"],
            )

        retrying = backoff.on_exception(
            self.retry.wait_generator,
            _Transient,
            max_tries=self.retry.tries,
            max_time=self.retry.max_time,
            jitter=None,
            on_backoff=log_retry,
        )(attempt)
        try:
            response = retrying()
        except _Transient as err:
            raise _give_up_error(err, endpoint, attempts) from err
        logger.debug("%s -> HTTP %d", endpoint, response.status_code)
        if response.is_success:
            return _decode(response, endpoint)
        raise _status_error(response, endpoint, site_id)


def _describe_transport_error(err: httpx.HTTPError) -> str:
    if isinstance(err, httpx.TimeoutException):
        return f"timed out ({type(err).__name__})"
    detail = str(err) or type(err).__name__
    return f"connection failed ({detail})"


def _decode(response: httpx.Response, endpoint: str) -> Any:
    try:
        return response.json()
    except ValueError as err:
        raise InvalidResponseError(
            f"{endpoint}: the API answered HTTP {response.status_code} with a body that is "
            f"not JSON ({_snippet(response)}); check the base URL points at the KrakenFlex API",
            endpoint=endpoint,
            status_code=response.status_code,
        ) from err


def _api_message(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return None


def _snippet(response: httpx.Response, limit: int = 80) -> str:
    text = " ".join(response.text.split())
    if not text:
        return "empty body"
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _status_error(response: httpx.Response, endpoint: str, site_id: str | None) -> ApiError:
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


def _give_up_error(err: _Transient, endpoint: str, tries: int) -> ApiError:
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
