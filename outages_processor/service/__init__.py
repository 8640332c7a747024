"""The HTTP service: outage events and store uptime reports (needs the ``serve`` extra).

``create_app(settings)`` builds the ASGI application, for ``process_outages serve`` or any
ASGI server (``uvicorn --factory outages_processor.service:app_from_env``). FastAPI is
imported only when an application is built, so ``import outages_processor`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from outages_processor.errors import ConfigError
from outages_processor.settings import ServiceSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["INSTALL_HINT", "ServiceSettings", "app_from_env", "create_app", "require_extra"]

INSTALL_HINT = "pip install 'outages_processor[serve]'"
"""What to run when the service's dependencies are missing."""


def require_extra() -> None:
    """Check that the ``serve`` extra (fastapi, uvicorn) is installed.

    Raises:
        ConfigError: it is not (the message says what to install).
    """
    try:
        import fastapi  # pylint: disable=import-outside-toplevel,unused-import
        import uvicorn  # pylint: disable=import-outside-toplevel,unused-import
    except ImportError as err:
        raise ConfigError(
            f"the service needs the 'serve' extra ({err.name or 'fastapi'} is missing): "
            f"run {INSTALL_HINT}"
        ) from None


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Build the service's ASGI application.

    Each process that runs it opens one event store, one status store and one report
    service when the application starts, and closes them when it stops.

    Args:
        settings: where the data lives; default: ``ServiceSettings()`` (``./outages.db``,
            ``./uptime.db``, ``./reports``).

    Returns:
        The FastAPI application.

    Raises:
        ConfigError: fastapi or uvicorn is not installed (the message says what to run).
    """
    require_extra()
    from outages_processor.service.app import build_app  # pylint: disable=import-outside-toplevel

    return build_app(settings)


def app_from_env() -> FastAPI:
    """The application with :meth:`ServiceSettings.from_env` (an ASGI server's factory).

    Returns:
        The FastAPI application.

    Raises:
        ConfigError: as :func:`create_app`, or an environment variable is invalid.
    """
    return create_app(ServiceSettings.from_env())
