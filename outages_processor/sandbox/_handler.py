"""The HTTP server of the sandbox: one thread per connection, HTTP/1.1 keep-alive, quiet."""

from __future__ import annotations

import logging
import socketserver
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from outages_processor.sandbox._faults import fault_reply
from outages_processor.sandbox._reply import Reply, message_reply
from outages_processor.sandbox._routes import Request, route
from outages_processor.sandbox._state import SandboxState

__all__ = ["MAX_BODY_BYTES", "SandboxHTTPServer", "SandboxRequestHandler"]

_LOG = logging.getLogger("outages_processor.sandbox")

MAX_BODY_BYTES = 1 << 20
"""Request bodies larger than this are refused with 413."""


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that carries the sandbox's shared state."""

    daemon_threads = True
    # Two servers must never share a port: binding a busy port has to fail.
    allow_reuse_port = False

    def __init__(self, address: tuple[str, int], state: SandboxState) -> None:
        """Bind and listen at once.

        Args:
            address: ``(host, port)``; port 0 picks a free port.
            state: what the request threads share.

        Raises:
            OSError: the address cannot be bound (port in use, unknown host, ...).
        """
        self.state = state
        super().__init__(address, SandboxRequestHandler)

    def server_bind(self) -> None:
        """Bind without the reverse DNS lookup of :class:`http.server.HTTPServer`."""
        socketserver.TCPServer.server_bind(self)  # pylint: disable=non-parent-init-called
        host, port = self.socket.getsockname()[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a failed exchange (usually a client gone away) at DEBUG, not on stderr."""
        _LOG.debug("connection from %s failed", client_address, exc_info=True)


class SandboxRequestHandler(BaseHTTPRequestHandler):
    """Answers each request: latency, then a fault or the endpoint's answer."""

    protocol_version = "HTTP/1.1"
    server_version = "outages-processor-sandbox"
    timeout = 30.0
    """Seconds an idle keep-alive connection is kept open."""
    # Headers and body are two writes: without this, Nagle's algorithm and delayed ACKs
    # add about 40 ms to each answer on a keep-alive connection.
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def setup(self) -> None:
        """Register the connection so that stopping the sandbox can close it."""
        super().setup()
        self.server.state.track(self.connection)

    def finish(self) -> None:
        """Unregister the connection."""
        try:
            super().finish()
        finally:
            self.server.state.untrack(self.connection)

    def version_string(self) -> str:
        """The ``Server`` header: the sandbox's name, without Python's version."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        """Log through :mod:`logging` at DEBUG instead of writing to stderr."""
        _LOG.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        """Answer a GET."""
        self._answer()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _answer(self) -> None:
        state = self.server.state
        path = urlsplit(self.path).path
        body = self._read_body()
        if not state.delay():
            self.close_connection = True
            return
        fault = state.draw_fault()
        reply: Reply | None
        if isinstance(body, Reply):  # unreadable request: say so and close, fault or not
            reply = body
        elif fault is not None:
            reply = fault_reply(fault)
        else:
            request = Request(self.command, path, self.headers.get("x-api-key"), body)
            reply = route(
                request, dataset=state.dataset, api_key=state.api_key, on_accept=state.accept
            )
        state.record(self.command, path, "drop" if reply is None else reply.status)
        if reply is None:
            _LOG.debug("%s %s: connection dropped (injected fault)", self.command, path)
            self.close_connection = True
            return
        self._send(reply)

    def _read_body(self) -> bytes | Reply:
        """Read the whole body, or say why it cannot be read (the connection is then closed)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return message_reply(411, "Length Required", close=True)
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            return message_reply(400, "Invalid Content-Length", close=True)
        if length > MAX_BODY_BYTES:
            return message_reply(413, "Payload Too Large", close=True)
        return self.rfile.read(length)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(reply.body)
