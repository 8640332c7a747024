"""Every error the library raises, under one root.

Catch :class:`OutagesError` to handle anything this package raises. The tree is shallow;
each class is one thing a caller would handle differently::

    OutagesError                      root; ``transient`` says whether retrying later may help
    +-- ConfigError                   missing or invalid settings (API key, base URL, ...)
    +-- ApiError                      the KrakenFlex API; carries ``endpoint`` and ``status_code``
    |   +-- AuthError                 403: the API key was refused
    |   +-- NotFoundError             404: unknown site; carries ``site_id``
    |   +-- RateLimitedError          429, after every retry          (transient)
    |   +-- RejectedPayloadError      400: the API refused a POST body; carries ``api_message``
    |   +-- ServerError               5xx, after every retry          (transient)
    |   +-- ApiConnectionError        network failure or timeout, after every retry (transient)
    |   +-- InvalidResponseError      a 2xx body that is not the documented shape
    +-- InputDataError                a bad input file or record; carries ``path`` and ``line``
    +-- EventStoreError               the SQLite event store cannot be used as asked
    |   +-- EventStoreBusyError       another writer held the database too long (transient)
    +-- StatusStoreError              the SQLite status store cannot be used as asked
    |   +-- StatusStoreBusyError      another writer held the database too long (transient)
    +-- ReportError                   a report service request that cannot be served
    +-- ClusterError                  the Dask cluster could not finish a report (a worker died)
        +-- ClusterUnavailableError   the scheduler was lost during the report (transient)

Messages say what went wrong and what to do next. No message, attribute or ``repr`` of
these classes ever contains the API key.
"""

from __future__ import annotations

__all__ = [
    "ApiConnectionError",
    "ApiError",
    "AuthError",
    "ClusterError",
    "ClusterUnavailableError",
    "ConfigError",
    "EventStoreBusyError",
    "EventStoreError",
    "InputDataError",
    "InputUnavailableError",
    "InvalidResponseError",
    "NotFoundError",
    "OutagesError",
    "RateLimitedError",
    "RejectedPayloadError",
    "ReportError",
    "ServerError",
    "StatusStoreBusyError",
    "StatusStoreError",
]


class OutagesError(Exception):
    """Root of every error raised by :mod:`outages_processor`.

    Attributes:
        transient: True when the same call may succeed if tried again later (a server
            error, a rate limit, a network failure); False when something must be fixed
            first (a key, a site id, an input file).
    """

    transient: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigError(OutagesError):
    """A setting is missing or invalid (for example no API key was given)."""


class ApiError(OutagesError):
    """The KrakenFlex API answered with an error, or could not be reached.

    Attributes:
        endpoint: the request that failed, as ``"GET /outages"``.
        status_code: the HTTP status of the last answer, or None when there was none.
    """

    def __init__(self, message: str, *, endpoint: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.status_code = status_code


class AuthError(ApiError):
    """The API refused the API key (HTTP 403)."""


class NotFoundError(ApiError):
    """The API does not know the site (HTTP 404).

    Attributes:
        site_id: the site that was asked for, when the request named one.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        status_code: int | None = 404,
        site_id: str | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, status_code=status_code)
        self.site_id = site_id


class RateLimitedError(ApiError):
    """The API kept answering 429 (rate limit exceeded) until the retries ran out."""

    transient = True


class RejectedPayloadError(ApiError):
    """The API refused the body of a POST (HTTP 400).

    Attributes:
        api_message: the ``message`` the API gave, when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        status_code: int | None = 400,
        api_message: str | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, status_code=status_code)
        self.api_message = api_message


class ServerError(ApiError):
    """The API kept failing with 5xx answers until the retries ran out."""

    transient = True


class ApiConnectionError(ApiError):
    """The API could not be reached, or did not answer in time, until the retries ran out."""

    transient = True


class InvalidResponseError(ApiError):
    """The API answered 2xx with a body that is not the documented shape."""


class InputDataError(OutagesError):
    """An input file or record is not valid.

    Attributes:
        path: the file (``"-"`` for standard input), or None for in-memory input.
        line: the 1-based line number of the bad row, or None when no line applies.
        row: the 1-based row number of the bad row of a file without lines (Parquet:
            ``polls.parquet:row 3``), or None.
        reason: what is wrong, without the location.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: str | None = None,
        line: int | None = None,
        row: int | None = None,
    ) -> None:
        where = f"row {row}" if row is not None else None if line is None else str(line)
        location = ""
        if path is not None:
            location = f"{path}:{where}: " if where is not None else f"{path}: "
        elif where is not None:
            location = f"{where}: " if row is not None else f"line {where}: "
        super().__init__(f"{location}{reason}")
        self.path = path
        self.line = line
        self.row = row
        self.reason = reason


class InputUnavailableError(InputDataError):
    """An input behind a URL could not be fetched now: a network failure or timeout, or the
    server answered 408, 429 or 5xx. Trying again later may work (``transient``)."""

    transient = True


class EventStoreError(OutagesError):
    """The event store cannot be used as asked (for example a tolerance mismatch)."""


class EventStoreBusyError(EventStoreError):
    """Another process kept the event database locked past the busy timeout; retry later."""

    transient = True


class StatusStoreError(OutagesError):
    """The status store (polls, business hours, time zones) cannot be used as asked."""


class StatusStoreBusyError(StatusStoreError):
    """Another process kept the status database locked past the busy timeout; retry later."""

    transient = True


class ReportError(OutagesError):
    """A report service request cannot be served (unknown or malformed report id)."""


class ClusterError(OutagesError):
    """The Dask cluster could not finish a report: a worker died while running part of it
    (a worker that runs out of memory is killed), as many times as the scheduler allows."""


class ClusterUnavailableError(ClusterError):
    """The client lost the Dask scheduler during a report (it stopped, restarted or became
    unreachable). Trying again once it is back may work (``transient``)."""

    transient = True
