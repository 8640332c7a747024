"""The application factory: routes, the per-process resources, and JSON errors.

Every error answer is JSON ``{"detail": ...}``: bad input is 400, 404, 413, 415 or 422 with
one line saying what is wrong, logged without a traceback; only a failure of the service
itself is a 5xx.
"""

from __future__ import annotations

import collections
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from outages_processor._version import __version__
from outages_processor.errors import InputDataError, OutagesError, ReportError
from outages_processor.service import events_routes, uptime_routes
from outages_processor.service.bodies import BodyError
from outages_processor.service.resources import Resources
from outages_processor.service.schemas import Health
from outages_processor.settings import ServiceSettings

__all__ = ["HeadAsGet", "build_app", "query_checked"]

logger = logging.getLogger(__name__)

_DESCRIPTION = """\
Outage events from the periodic reports of controllers, and store uptime reports over a
status store that polls flow into. Errors are JSON `{"detail": ...}`.
"""


def build_app(settings: ServiceSettings | None = None) -> FastAPI:
    """The service's ASGI application (see :func:`outages_processor.service.create_app`)."""
    chosen = ServiceSettings() if settings is None else settings

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resources = await run_in_threadpool(Resources.open, chosen)
        app.state.resources = resources
        try:
            yield
        finally:
            await resources.writer.aclose()
            await run_in_threadpool(resources.close)

    app = FastAPI(
        title="outages_processor",
        version=__version__,
        description=_DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(query_checked)],
    )
    app.include_router(events_routes.router)
    app.include_router(uptime_routes.router)
    app.add_api_route(
        "/healthz", healthz, methods=["GET"], response_model=Health, summary="Liveness"
    )
    app.add_exception_handler(BodyError, _body_error)
    app.add_exception_handler(OutagesError, _library_error)
    app.add_middleware(HeadAsGet)
    return app


class HeadAsGet:
    """HEAD answered on every path as GET is, without the content (RFC 9110, 9.3.2).

    The routes are declared for GET only (one operation each in the OpenAPI document); a
    HEAD request reaches them as a GET, and the body of the answer is dropped, its status
    and headers (``Content-Length`` included) kept. Health checks and monitors send HEAD.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_content(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_content)


async def query_checked(request: Request) -> None:
    """Refuse a query parameter given twice or unknown to the route, before the route runs.

    Only one value of a repeated parameter would count, and an unknown one (a misspelt
    filter) would be ignored: either would answer a question other than the one asked.
    (``async``: it does no I/O, and FastAPI would run a plain function on a worker thread.)

    Raises:
        BodyError: 422 naming the parameter (and the ones the path takes).
    """
    dependant = getattr(request.scope.get("route"), "dependant", None)
    known = None if dependant is None else {param.alias for param in dependant.query_params}
    counts = collections.Counter(name for name, _ in request.query_params.multi_items())
    for name, count in counts.items():
        if known is not None and name not in known:
            takes = ", ".join(sorted(known)) or "none"
            raise BodyError(
                422, f"unknown query parameter {name!r}; {request.url.path} takes: {takes}"
            )
        if count > 1:
            raise BodyError(422, f"query parameter {name!r} is given {count} times; give it once")


def healthz() -> dict[str, str]:
    """The service answers."""
    return {"status": "ok"}


async def _body_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _library_error(request: Request, exc: Exception) -> JSONResponse:
    """The library's errors: bad input 422, unknown report 404, else the service's own."""
    assert isinstance(exc, OutagesError)
    if isinstance(exc, InputDataError):
        return JSONResponse({"detail": str(exc)}, status_code=422)
    if isinstance(exc, ReportError):
        return JSONResponse({"detail": str(exc)}, status_code=404)
    status = 503 if exc.transient else 500
    logger.error("%s %s failed: %s", request.method, request.url.path, exc)
    return JSONResponse({"detail": str(exc)}, status_code=status)
