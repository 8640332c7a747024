"""Settings for the KrakenFlex API: key, base URL, timeout and retries.

Each value comes from the first place that has it: an explicit argument (a command-line
flag), then the environment, then a ``.env`` file in the working directory, then the
default below. There is no default API key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from outages_processor.errors import ConfigError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRY_TIME",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TRIES",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "Settings",
]

DEFAULT_BASE_URL = "https://api.krakenflex.systems/interview-tests-mock-api/v1"
"""The public KrakenFlex API."""
DEFAULT_TIMEOUT = 10.0
"""Seconds to wait for a connection, a read or a write of one request."""
DEFAULT_TRIES = 5
"""Attempts per request, the first included."""
DEFAULT_MAX_RETRY_TIME = 60.0
"""Seconds after the first attempt of a request past which no retry starts."""
ENV_API_KEY = "KRAKENFLEX_API_KEY"
ENV_BASE_URL = "KRAKENFLEX_BASE_URL"


def _without_trailing_slash(url: str) -> str:
    return str(url).rstrip("/")


def _check_base_url(_instance: object, _attribute: object, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"base URL {value!r} is not an http(s) URL; pass --base-url or set {ENV_BASE_URL} "
            f"to something like {DEFAULT_BASE_URL}"
        )


def _check_positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{attribute.name} must be greater than 0, not {value!r}")


def _check_tries(_instance: object, _attribute: object, value: int) -> None:
    if value < 1:
        raise ConfigError(f"retries must be at least 1 (the first attempt counts), not {value}")


def _check_key(_instance: object, _attribute: object, value: str) -> None:
    if not value.strip():
        raise ConfigError(
            f"no API key: pass --api-key, set {ENV_API_KEY}, or put {ENV_API_KEY}=... in a "
            ".env file in the working directory"
        )


@attrs.frozen
class Settings:
    """Everything needed to talk to the KrakenFlex API.

    The API key is excluded from ``repr`` and comparisons so that it never shows up in
    logs or tracebacks.

    Attributes:
        api_key: the value of the ``x-api-key`` header.
        base_url: the API root, without a trailing slash.
        timeout: seconds allowed for connecting, reading and writing one request.
        tries: attempts per request, the first included.
        max_retry_time: seconds after the first attempt past which no retry starts.
    """

    api_key: str = attrs.field(repr=False, eq=False, validator=_check_key)
    base_url: str = attrs.field(
        default=DEFAULT_BASE_URL,
        converter=_without_trailing_slash,
        validator=_check_base_url,
    )
    timeout: float = attrs.field(default=DEFAULT_TIMEOUT, validator=_check_positive)
    tries: int = attrs.field(default=DEFAULT_TRIES, validator=_check_tries)
    max_retry_time: float = attrs.field(default=DEFAULT_MAX_RETRY_TIME, validator=_check_positive)

    @classmethod
    def load(
        cls,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        tries: int | None = None,
        max_retry_time: float | None = None,
        environ: Mapping[str, str] | None = None,
        dotenv_path: str | os.PathLike[str] | None = ".env",
    ) -> Settings:
        """Resolve settings: argument > environment > ``.env`` file > default.

        Args:
            api_key: the API key, if given explicitly.
            base_url: the API root, if given explicitly.
            timeout: seconds per request, if given explicitly.
            tries: attempts per request, if given explicitly.
            max_retry_time: retry time budget in seconds, if given explicitly.
            environ: the environment to read (default :data:`os.environ`).
            dotenv_path: the ``.env`` file to read, or None to read none. A missing file is
                not an error.

        Returns:
            The resolved settings.

        Raises:
            ConfigError: no API key anywhere, or a value is invalid.
        """
        env = os.environ if environ is None else environ
        dotenv = _read_dotenv(dotenv_path)

        def pick(explicit: str | None, name: str) -> str | None:
            if explicit is not None:
                return explicit
            return env.get(name) or dotenv.get(name) or None

        key = pick(api_key, ENV_API_KEY) or ""
        url = pick(base_url, ENV_BASE_URL) or DEFAULT_BASE_URL
        return cls(
            api_key=key,
            base_url=url,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            tries=DEFAULT_TRIES if tries is None else tries,
            max_retry_time=DEFAULT_MAX_RETRY_TIME if max_retry_time is None else max_retry_time,
        )


def _read_dotenv(path: str | os.PathLike[str] | None) -> dict[str, str]:
    if path is None or not Path(path).is_file():
        return {}
    # Imported here: only runs that have a .env file pay for it.
    from dotenv import dotenv_values  # pylint: disable=import-outside-toplevel

    return {name: value for name, value in dotenv_values(path).items() if value is not None}
