"""The sandbox: the KrakenFlex API on loopback, in a background thread."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from outages_processor.sandbox._data import load_dataset, with_sites
from outages_processor.sandbox._faults import Faults
from outages_processor.sandbox._handler import SandboxHTTPServer
from outages_processor.sandbox._routes import API_PATH
from outages_processor.sandbox._state import SandboxState

__all__ = ["SANDBOX_API_KEY", "Sandbox"]

_LOG = logging.getLogger("outages_processor.sandbox")

SANDBOX_API_KEY = "sandbox-key"
"""The key the sandbox accepts unless told otherwise. Fake on purpose: never a real key."""

_POLL_SECONDS = 0.02
"""How often the serving loop checks for a stop request (bounds the time stop() takes)."""


class Sandbox:
    """A local emulator of the KrakenFlex API, serving the bundled public data.

    It answers ``GET /outages``, ``GET /site-info/{site_id}`` (``norwich-pear-tree`` and
    ``kingfisher``) and ``POST /site-outages/{site_id}`` as the live API does: 403
    ``{"message": "Forbidden"}`` for a missing or wrong ``x-api-key``, 404 ``Site not
    found``, 429 for site ``too-much-too-soon``, 400 ``Unexpected outages received`` unless
    the POST body is exactly the expected list, in ``/outages`` order, and 200 ``{}`` when
    it is. Unknown paths get 404 ``Not Found``, wrong methods 405. Faults (see
    :class:`Faults`) are drawn for each request before it is handled.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with Sandbox(faults=Faults(rate=0.2, seed=7)) as sandbox:
            headers = {"x-api-key": SANDBOX_API_KEY}
            response = httpx.get(f"{sandbox.base_url}/outages", headers=headers)

    Requests are served concurrently, one thread per connection. Nothing is written to
    stderr; each request is logged at DEBUG on the ``outages_processor.sandbox`` logger,
    never with its key.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults = Faults(),
        api_key: str = SANDBOX_API_KEY,
        sites: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Prepare a sandbox; nothing listens before :meth:`start`.

        Args:
            host: the IPv4 address or host name to listen on.
            port: the TCP port, or 0 for any free port (read it back from :attr:`port`).
            faults: the faults to inject; none by default.
            api_key: the only ``x-api-key`` accepted.
            sites: more sites to serve beside the bundled ones: site id -> its site-info
                object ``{id, name, devices: [{id, name}]}`` (for benchmarks and tests).

        Raises:
            ValueError: ``port`` is not in 0-65535, or ``host`` or ``api_key`` is empty.
            TypeError: ``faults`` is not a :class:`Faults`.
        """
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer from 0 to 65535, got {port!r}")
        if not host:
            raise ValueError("host must not be empty")
        if not api_key:
            raise ValueError("api_key must not be empty")
        if not isinstance(faults, Faults):
            raise TypeError(f"faults must be a Faults, not {type(faults).__name__}")
        self._address = (host, port)
        dataset = load_dataset()
        if sites:
            dataset = with_sites({**_bundled_sites(), **sites})
        self._state = SandboxState(api_key=api_key, faults=faults, dataset=dataset)
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Self:
        """Start serving (see :meth:`start`)."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop serving (see :meth:`stop`)."""
        self.stop()

    def start(self) -> Self:
        """Listen and serve in a background daemon thread.

        Returns:
            The sandbox itself, now running.

        Raises:
            RuntimeError: it is already running.
            OSError: the address cannot be bound (port in use, unknown host, ...).
        """
        if self._server is not None:
            raise RuntimeError("the sandbox is already running; stop() it first")
        self._state.stopping.clear()
        server = SandboxHTTPServer(self._address, self._state)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name="outages-processor-sandbox",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        _LOG.debug("sandbox serving on %s with %r", self.base_url, self.faults)
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the listening socket, and wait.

        Requests in progress are cut short (their clients see a dropped connection).
        Stopping a sandbox that is not running does nothing.
        """
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        self._state.stopping.set()
        server.shutdown()
        self._state.close_connections()
        server.server_close()  # also waits for the request threads
        thread.join()
        _LOG.debug("sandbox stopped")

    def reset(self, *, faults: Faults | None = None) -> None:
        """Forget the requests and POSTs seen so far and restart the fault sequence.

        Args:
            faults: new faults to inject from now on, or None to keep the current ones.

        Raises:
            TypeError: ``faults`` is not a :class:`Faults` or None.
        """
        if faults is not None and not isinstance(faults, Faults):
            raise TypeError(f"faults must be a Faults, not {type(faults).__name__}")
        self._state.reset(faults)

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The TCP port the sandbox listens on.

        Raises:
            RuntimeError: the sandbox is not running.
        """
        if self._server is None:
            raise RuntimeError("the sandbox is not running; start() it or use it in a with block")
        return self._server.server_port

    @property
    def base_url(self) -> str:
        """The base URL to give a client, ``http://{host}:{port}/interview-tests-mock-api/v1``.

        Raises:
            RuntimeError: the sandbox is not running.
        """
        return f"http://{self._address[0]}:{self.port}{API_PATH}"

    @property
    def faults(self) -> Faults:
        """The faults injected now."""
        return self._state.faults

    @property
    def accepted_posts(self) -> list[tuple[str, list[dict[str, str]]]]:
        """``(site_id, body)`` of every POST answered 200, oldest first (a copy)."""
        return self._state.accepted_posts()

    @property
    def request_log(self) -> list[tuple[str, str, int | str]]:
        """``(method, path, status)`` of every request, oldest first (a copy).

        ``status`` is the HTTP status answered, or ``"drop"`` for a dropped connection.
        """
        return self._state.request_log()


def _bundled_sites() -> dict[str, Any]:
    return {site_id: json.loads(body) for site_id, body in load_dataset().site_bodies.items()}
