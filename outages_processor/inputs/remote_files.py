"""Files behind URLs, streamed: ``http(s)://`` with httpx, any other scheme through fsspec.

A status shard given as a URL is read through :class:`RemoteText`, whose failures are one
line naming the URL: an :class:`~outages_processor.errors.InputUnavailableError` (transient)
when trying again later may help (a network failure or timeout; HTTP 408, 429 or 5xx), an
:class:`~outages_processor.errors.InputDataError` otherwise.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Final

from outages_processor.errors import InputDataError, InputUnavailableError
from outages_processor.inputs.optional_deps import one_line, optional_module

if TYPE_CHECKING:
    import httpx

__all__ = ["HTTP_SCHEMES", "HTTP_TIMEOUT_SECONDS", "RemoteText", "http_status_error", "url_error"]

HTTP_TIMEOUT_SECONDS: Final = 60.0
"""The longest wait for an HTTP server to connect or send the next bytes, in seconds."""

HTTP_SCHEMES: Final = frozenset(("http", "https"))
"""The schemes read with httpx; any other goes through fsspec."""


class RemoteText:
    """A URL's text, streamed, closed on leaving (a context manager over a text stream)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._closers: list[Any] = []

    def __enter__(self) -> io.TextIOWrapper:
        scheme = self.url.split("://", 1)[0].lower()
        try:
            raw = self._http() if scheme in HTTP_SCHEMES else self._fsspec()
        except BaseException:
            self.__exit__()
            raise
        stream = io.TextIOWrapper(
            io.BufferedReader(raw),
            encoding="utf-8-sig",
            errors="surrogateescape",
            newline="",
        )
        self._closers.insert(0, stream)
        return stream

    def __exit__(self, *_: object) -> None:
        for closer in self._closers:
            closer.close()
        self._closers.clear()

    def _http(self) -> io.RawIOBase:
        """Start a streaming GET of the URL; its body as a binary stream.

        Raises:
            InputDataError: the server cannot be reached, or answers other than 200.
        """
        # pylint: disable-next=import-outside-toplevel  # loaded only when a URL is read
        import httpx

        client = httpx.Client(timeout=HTTP_TIMEOUT_SECONDS, follow_redirects=True)
        self._closers.append(client)
        try:
            response = client.send(client.build_request("GET", self.url), stream=True)
        except httpx.HTTPError as err:
            raise url_error(self.url, err) from err
        self._closers.insert(0, response)
        if response.status_code != 200:
            raise http_status_error(self.url, response.status_code, response.reason_phrase)
        return _HttpBody(self.url, response)

    def _fsspec(self) -> io.RawIOBase:
        """Open the URL through fsspec.

        Raises:
            InputDataError: fsspec is missing, the scheme is unknown or its backend is
                not installed, or the file cannot be opened.
        """
        fsspec = optional_module("fsspec", "reading s3://, gs:// and other URLs", self.url)
        try:
            raw = fsspec.open(self.url, "rb").open()
        except (ImportError, ValueError, OSError) as err:
            raise url_error(self.url, err) from err
        self._closers.append(raw)
        return _Named(raw, self.url)


_RETRY_LATER_STATUSES: Final = frozenset((408, 429))


def url_error(url: str, err: BaseException) -> InputDataError:
    """A URL that cannot be read, as one line; transient for a network failure or timeout.

    Args:
        url: the URL, as named in the message.
        err: what reading it raised.

    Returns:
        An :class:`InputUnavailableError` for a network failure, else an
        :class:`InputDataError`.
    """
    message = f"cannot read the URL: {one_line(err)}"
    # httpx's transport errors and fsspec's network errors may pass; a missing file, a
    # refused permission or an unknown scheme will not.
    if _is_network_failure(err):
        return InputUnavailableError(message, path=url)
    return InputDataError(message, path=url)


def _is_network_failure(err: BaseException) -> bool:
    """True for a failure of the network rather than of the request."""
    if isinstance(err, (ConnectionError, TimeoutError)):
        return True
    # pylint: disable-next=import-outside-toplevel  # loaded with the URL's reading
    import httpx

    return isinstance(err, httpx.TransportError)


def http_status_error(url: str, status: int, reason: str) -> InputDataError:
    """The error of a URL answered with an HTTP error status (transient for 408, 429, 5xx).

    Args:
        url: the URL, as named in the message.
        status: the HTTP status code.
        reason: the reason phrase (may be empty).

    Returns:
        An :class:`InputUnavailableError` when trying again later may help, else an
        :class:`InputDataError`.
    """
    message = f"cannot read the URL: HTTP {status} {reason}".rstrip()
    if status >= 500 or status in _RETRY_LATER_STATUSES:
        return InputUnavailableError(message, path=url)
    return InputDataError(message, path=url)


class _HttpBody(io.RawIOBase):
    """A streaming HTTP response's body as a raw binary stream (read once, in order)."""

    def __init__(self, url: str, response: httpx.Response) -> None:
        super().__init__()
        self.name = url
        self._chunks = response.iter_bytes()
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` with the next bytes of the body; 0 at its end.

        Raises:
            InputDataError: the connection failed while the body was read.
        """
        # pylint: disable-next=import-outside-toplevel  # loaded with the response
        import httpx

        while not self._pending:
            try:
                self._pending = next(self._chunks, b"")
            except httpx.HTTPError as err:
                raise url_error(self.name, err) from err
            if not self._pending:
                return 0
        view = memoryview(buffer).cast("B")
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


class _Named(io.RawIOBase):
    """A binary stream under the name of its URL (what the readers name in messages)."""

    def __init__(self, raw: Any, name: str) -> None:
        super().__init__()
        self.name = name
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the stream underneath."""
        data = self._raw.read(len(memoryview(buffer)))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()
