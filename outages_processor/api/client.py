"""The HTTP client of the KrakenFlex API.

Everything about the wire lives here, once: the base URL, the ``x-api-key`` header,
timeouts, the retry policy, and the translation of HTTP failures into the errors of
:mod:`outages_processor.errors`. Endpoint modules call :meth:`KrakenFlexClient.request_json`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from types import TracebackType
from typing import Any, Self

import backoff
import httpx

from outages_processor._version import __version__
from outages_processor.api._deadline import DeadlinePassed, run_before
from outages_processor.api._errors import Transient, decode, give_up_error, status_error
from outages_processor.api._retry import RetryPolicy, parse_retry_after
from outages_processor.errors import ConfigError, InvalidResponseError
from outages_processor.settings import Settings

__all__ = ["KrakenFlexClient", "RetryPolicy"]

logger = logging.getLogger("outages_processor.api")

# Transport failures worth another attempt: the request may never have reached the server,
# or its answer was lost. Invalid URLs, unsupported schemes and local protocol errors are not.
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

_MIN_ATTEMPT_TIME = 0.05
"""Seconds: with less than this left before the deadline, no retry starts (it could not
even connect; the failure before it is the one to report)."""


_STILL_ARRIVING = "timed out (the answer was still arriving when the time ran out)"
"""The failure of an attempt whose answer had begun to arrive at the deadline."""


@dataclasses.dataclass(frozen=True)
class _Request:
    """One request, as every attempt at it sends it.

    Attributes:
        method: the HTTP method.
        url: the full URL.
        content: the body, or None.
        headers: the request headers (the key among them: never shown).
        endpoint: the request as ``"GET /outages"``, for messages.
    """

    method: str
    url: str
    content: bytes | None
    headers: dict[str, str] = dataclasses.field(repr=False)
    endpoint: str


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
        empty_ok: bool = False,
    ) -> Any:
        """Send one request, retrying transient failures, and decode its JSON answer.

        The whole request is bounded by ``retry.max_time`` seconds, a deadline: each
        attempt's timeout shrinks to what is left, no retry starts after it, and an attempt
        still running when it passes is abandoned (a server dripping its headers or body,
        or stalling at any point, cannot hold the caller past it by more than a few
        milliseconds).

        Args:
            method: ``"GET"`` or ``"POST"``.
            path: the path below the base URL, starting with ``/``, each segment already
                percent-encoded.
            json_body: a JSON-ready value to send as the body, or None for no body.
            site_id: the site the request is about, for error messages.
            empty_ok: accept a 2xx answer with an empty body (returned as None).

        Returns:
            The decoded JSON body of the 2xx answer (None for an accepted empty body).

        Raises:
            AuthError, NotFoundError, RejectedPayloadError: a 403, 404 or 400 answer
                (never retried).
            RateLimitedError, ServerError, ApiConnectionError: 429, 5xx or network failures
                that outlasted the retry policy or its deadline.
            InvalidResponseError: a 2xx answer whose body is not JSON.
            ConfigError: the request cannot be sent at all (for example a bad base URL).
            ApiError: any other unexpected status.
        """
        endpoint = f"{method} {path}"
        content = None if json_body is None else json.dumps(json_body).encode()
        headers = self._headers
        if content is not None:
            headers = {**headers, "content-type": "application/json"}
        response = self._send_with_retries(
            _Request(method, self.settings.base_url + path, content, headers, endpoint)
        )
        logger.debug("%s -> HTTP %d", endpoint, response.status_code)
        if response.is_success:
            if empty_ok and not response.content.strip():
                return None
            return decode(response, endpoint)
        raise status_error(response, endpoint, site_id)

    def _send_with_retries(self, request: _Request) -> httpx.Response:
        """Send until an answer that is not transient, within the policy and its deadline.

        Returns:
            The first answer that is neither a 429 nor a 5xx.

        Raises:
            RateLimitedError, ServerError, ApiConnectionError: the last transient failure,
                when the tries or the time ran out.
            ConfigError, InvalidResponseError: see :meth:`_send`.
        """
        deadline = time.monotonic() + self.retry.max_time
        failures: list[Transient] = []

        def attempt() -> httpx.Response:
            if failures and deadline - time.monotonic() < _MIN_ATTEMPT_TIME:
                # backoff cut its wait short at the deadline: no time is left for another
                # attempt, and the failure before stands.
                raise failures[-1]
            try:
                response = self._send(request, deadline)
            except Transient as err:
                failures.append(err)
                raise
            if response.status_code == 429 or response.status_code >= 500:
                failures.append(
                    Transient(
                        f"HTTP {response.status_code}",
                        response=response,
                        retry_after=parse_retry_after(response.headers.get("retry-after")),
                    )
                )
                raise failures[-1]
            return response

        def log_retry(details: Any) -> None:
            logger.warning(
                "%s failed (attempt %d of %d): %s; retrying in %.1f s",
                request.endpoint,
                details["tries"],
                self.retry.tries,
                details["exception"].cause,
                details["wait"],
            )

        retrying = backoff.on_exception(
            self.retry.wait_generator,
            Transient,
            max_tries=self.retry.tries,
            max_time=self.retry.max_time,
            jitter=None,
            giveup=lambda _err: time.monotonic() >= deadline,
            on_backoff=log_retry,
            deadline=deadline,  # handed to wait_generator: no wait runs past the deadline
        )(attempt)
        try:
            return retrying()
        except Transient as err:
            raise give_up_error(err, request.endpoint, len(failures)) from err

    def _send(self, request: _Request, deadline: float) -> httpx.Response:
        """One attempt, abandoned at ``deadline`` whatever the server does.

        Socket timeouts bound each read, not the answer: a server dripping its headers or
        body a byte at a time, or stalling late in an attempt, would outlast them. The
        exchange runs in a worker thread that is waited for only until the deadline.

        Args:
            request: what to send.
            deadline: ``time.monotonic()`` seconds past which the attempt is abandoned.

        Returns:
            The answer, its body read.

        Raises:
            Transient: a transport failure worth another attempt, or the deadline passed.
            ConfigError: the request cannot be sent at all.
            InvalidResponseError: the answer's content encoding is broken.
        """
        answering = threading.Event()
        try:
            return run_before(deadline, lambda: self._exchange(request, deadline, answering))
        except DeadlinePassed:
            if answering.is_set():
                raise Transient(_STILL_ARRIVING) from None
            raise Transient(
                f"timed out (no complete answer within the time limit of "
                f"{self.retry.max_time:g} s)"
            ) from None

    def _exchange(
        self, request: _Request, deadline: float, answering: threading.Event
    ) -> httpx.Response:
        """Send, and read the whole answer; runs in a worker thread (see :meth:`_send`).

        It touches nothing but its own request and answer (and the thread-safe connection
        pool), so it may safely be abandoned and finish late.

        Args:
            request, deadline: as for :meth:`_send`.
            answering: set once the status line and headers are in.

        Returns:
            The answer, its body read.

        Raises:
            Transient, ConfigError, InvalidResponseError: as for :meth:`_send`.
        """
        left = max(deadline - time.monotonic(), 0.0)
        timeout = httpx.Timeout(min(self.settings.timeout, left))
        try:
            built = self._http.build_request(
                request.method,
                request.url,
                content=request.content,
                headers=request.headers,
                timeout=timeout,
            )
            streamed = self._http.send(built, stream=True)
            answering.set()
            try:
                return _read_before(streamed, deadline)
            finally:
                streamed.close()
        except _RETRYABLE_TRANSPORT as err:
            raise Transient(self._describe_transport_error(err)) from err
        except httpx.DecodingError as err:
            raise InvalidResponseError(
                f"{request.endpoint}: the API's answer cannot be decoded "
                f"({type(err).__name__}); check the base URL points at the KrakenFlex API",
                endpoint=request.endpoint,
            ) from err
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            # A LocalProtocolError quotes the offending header, which may be the key: its
            # text is never shown, nor chained.
            raise ConfigError(
                f"{request.endpoint}: cannot send the request ({self._describe(err)}); "
                "check the base URL"
            ) from (None if isinstance(err, httpx.LocalProtocolError) else err)

    def _describe(self, err: Exception) -> str:
        """The type and text of an httpx error, the key scrubbed from the text."""
        if isinstance(err, httpx.LocalProtocolError):
            return type(err).__name__
        text = self._scrubbed(err)
        return f"{type(err).__name__}: {text}" if text else type(err).__name__

    def _describe_transport_error(self, err: httpx.HTTPError) -> str:
        """The cause of a transient transport failure, the key scrubbed from it."""
        if isinstance(err, httpx.TimeoutException):
            return f"timed out ({type(err).__name__})"
        return f"connection failed ({self._scrubbed(err) or type(err).__name__})"

    def _scrubbed(self, err: Exception) -> str:
        """The text of an error, the key replaced by ``***``."""
        return str(err).replace(self.settings.api_key, "***")


def _read_before(response: httpx.Response, deadline: float) -> httpx.Response:
    """Read the body of a streamed answer, giving up when ``deadline`` passes.

    Args:
        response: an answer whose body is not read yet.
        deadline: ``time.monotonic()`` seconds.

    Returns:
        The same answer with its body read.

    Raises:
        Transient: the body was still arriving at the deadline.
    """
    if response.is_stream_consumed:
        return response  # a transport that answers with bodies already read (MockTransport)
    chunks: list[bytes] = []
    for chunk in response.iter_raw():
        chunks.append(chunk)
        if time.monotonic() >= deadline:
            raise Transient(_STILL_ARRIVING)
    # Built again from the raw bytes so that the body decodes (gzip, charset) as httpx would.
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=b"".join(chunks),
        request=response.request,
    )
