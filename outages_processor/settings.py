"""Settings for the KrakenFlex API: key, base URL, timeout, retries and the time budget.

Each value comes from the first place that has it: an explicit argument (a command-line
flag), then the environment, then a ``.env`` file in the working directory, then the
default below. There is no default API key.

This module is the one home of the defaults of the site job's settings: the retry policy
(:class:`~outages_processor.api.RetryPolicy`), the site job (``process_sites``) and the
command line all read them from here, and the command line's help shows them. It imports
httpx only when a URL is checked, so that the command line's help stays fast. The defaults
of the data rules (the site cut-off ``DEFAULT_SINCE``, the events ``DEFAULT_TOLERANCE``, the
stores' default time zone) stay beside their rules in ``core/``, which imports nothing of
this package but ``models``.

The key is checked when settings load: surrounding whitespace (a ``.env`` value ending in
``\n``, a variable ending in ``\r``) is stripped, and what is left must be printable ASCII
without whitespace, since it travels in an HTTP header. A bad key is a :class:`ConfigError`
naming where it came from, never its value.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import attrs

from outages_processor.errors import ConfigError

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_INITIAL_WAIT",
    "DEFAULT_MAX_RETRY_AFTER",
    "DEFAULT_MAX_RETRY_TIME",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_MAX_WORKERS",
    "DEFAULT_TIMEOUT",
    "DEFAULT_TRIES",
    "ENV_API_KEY",
    "ENV_BASE_URL",
    "ENV_EVENTS_DB",
    "ENV_REPORTS_DIR",
    "ENV_UPTIME_DB",
    "ServiceSettings",
    "Settings",
    "check_base_url",
]

DEFAULT_BASE_URL = "https://api.krakenflex.systems/interview-tests-mock-api/v1"
"""The public KrakenFlex API."""
DEFAULT_TIMEOUT = 10.0
"""Seconds to wait for a connection, a read or a write of one request."""
DEFAULT_TRIES = 5
"""Attempts per request, the first included."""
DEFAULT_MAX_RETRY_TIME = 60.0
"""Seconds one request may take, its retries and their waits included (a deadline)."""
DEFAULT_INITIAL_WAIT = 0.5
"""Seconds, the upper bound of the first backoff wait (each next bound doubles)."""
DEFAULT_MAX_WAIT = 8.0
"""Seconds, the cap of any backoff wait."""
DEFAULT_MAX_RETRY_AFTER = 30.0
"""Seconds, the cap of a wait asked for by a ``Retry-After`` header."""
DEFAULT_MAX_WORKERS = 32
"""Sites handled at once (each needs up to two requests, one after the other)."""
ENV_API_KEY = "KRAKENFLEX_API_KEY"
ENV_BASE_URL = "KRAKENFLEX_BASE_URL"
DEFAULT_EVENTS_DB = "outages.db"
"""The service's event database (the default of ``events --db``)."""
DEFAULT_UPTIME_DB = "uptime.db"
"""The service's status store (the default of ``uptime --db``)."""
DEFAULT_REPORTS_DIR = "reports"
"""Where the service keeps its reports' states and CSV files."""
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
"""The largest request body the service reads (bytes)."""
ENV_EVENTS_DB = "OUTAGES_DB"
ENV_UPTIME_DB = "UPTIME_DB"
ENV_REPORTS_DIR = "OUTAGES_REPORTS_DIR"
ENV_REPORT_WORKERS = "OUTAGES_REPORT_WORKERS"
ENV_WRITER_SOCKET = "OUTAGES_WRITER_SOCKET"


def _without_trailing_slash(url: str) -> str:
    return str(url).rstrip("/")


def check_base_url(url: str) -> str:
    """Check that ``url`` is an http(s) URL requests can be sent to.

    Args:
        url: the API root.

    Returns:
        The URL without a trailing slash.

    Raises:
        ConfigError: the URL cannot be parsed, or is not http(s) with a host.
    """
    # Imported here: the command line reads this module's defaults for its help.
    import httpx  # pylint: disable=import-outside-toplevel

    value = _without_trailing_slash(url)
    problem = f"base URL {value!r} is not an http(s) URL"
    try:
        parts = urlsplit(value)
        # httpx parses URLs its own way: what it refuses would fail at the first request.
        httpx.URL(value)
    except (ValueError, httpx.InvalidURL) as err:
        problem = f"base URL {value!r} cannot be parsed ({err})"
    else:
        if parts.scheme in ("http", "https") and parts.netloc:
            return value
    raise ConfigError(
        f"{problem}; pass --base-url or set {ENV_BASE_URL} to something like {DEFAULT_BASE_URL}"
    )


def _check_base_url(_instance: object, _attribute: object, value: str) -> None:
    check_base_url(value)


def _check_positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ConfigError(f"{attribute.name} must be greater than 0, not {value!r}")


def _check_tries(_instance: object, _attribute: object, value: int) -> None:
    if value < 1:
        raise ConfigError(f"retries must be at least 1 (the first attempt counts), not {value}")


def _strip_key(value: str) -> str:
    return str(value).strip()


def _key_problem(key: str) -> str | None:
    """What makes ``key`` unusable as an ``x-api-key`` header value, without quoting it."""
    for position, char in enumerate(key, start=1):
        if char.isspace():
            return f"character {position} is whitespace"
        if not char.isascii():
            return f"character {position} is not ASCII"
        if not char.isprintable():
            return f"character {position} is a control character"
    return None


def _key_error(source: str, problem: str) -> ConfigError:
    return ConfigError(
        f"{ENV_API_KEY} from {source} is not a valid API key ({problem}); an API key is "
        "printable ASCII with no spaces: correct it there"
    )


def _check_key(_instance: object, _attribute: object, value: str) -> None:
    if not value:
        raise ConfigError(
            f"no API key: pass --api-key, set {ENV_API_KEY}, or put {ENV_API_KEY}=... in a "
            ".env file in the working directory"
        )
    problem = _key_problem(value)
    if problem is not None:
        raise _key_error("the argument api_key", problem)


@attrs.frozen
class Settings:
    """Everything needed to talk to the KrakenFlex API.

    The API key is excluded from ``repr`` and comparisons so that it never shows up in
    logs or tracebacks. Surrounding whitespace is stripped from it; what is left must be
    printable ASCII without whitespace.

    Attributes:
        api_key: the value of the ``x-api-key`` header.
        base_url: the API root, without a trailing slash.
        timeout: seconds allowed for connecting, reading and writing one request.
        tries: attempts per request, the first included.
        max_retry_time: seconds one request may take in all, its retries, their waits
            and the reading of the answer included: a deadline, not just a retry cap.
    """

    api_key: str = attrs.field(repr=False, eq=False, converter=_strip_key, validator=_check_key)
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
            max_retry_time: the deadline of one request in seconds, retries included, if
                given explicitly.
            environ: the environment to read (default :data:`os.environ`).
            dotenv_path: the ``.env`` file to read, or None to read none. A missing file is
                not an error.

        Returns:
            The resolved settings.

        Raises:
            ConfigError: no API key anywhere, a value is invalid (the message names where
                it came from, never the key), or the ``.env`` file cannot be read as UTF-8.
        """
        env = os.environ if environ is None else environ
        dotenv = _read_dotenv(dotenv_path)

        def pick(explicit: str | None, name: str, flag: str) -> tuple[str | None, str]:
            """The value and where it came from (for messages that must not quote it)."""
            if explicit is not None:
                return explicit, f"the argument {flag}"
            if env.get(name):
                return env[name], "the environment"
            return dotenv.get(name) or None, f"the .env file {dotenv_path}"

        key, key_source = pick(api_key, ENV_API_KEY, "api_key (--api-key)")
        key = (key or "").strip()
        problem = _key_problem(key)
        if problem is not None:
            raise _key_error(key_source, problem)
        url = pick(base_url, ENV_BASE_URL, "base_url (--base-url)")[0] or DEFAULT_BASE_URL
        return cls(
            api_key=key,
            base_url=url,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            tries=DEFAULT_TRIES if tries is None else tries,
            max_retry_time=DEFAULT_MAX_RETRY_TIME if max_retry_time is None else max_retry_time,
        )


def _check_workers(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and value < 1:
        raise ConfigError(f"report_workers must be at least 1, not {value}")


def _check_size(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ConfigError(f"{attribute.name} must be at least 1, not {value!r}")


def _check_path(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value in ("", ":memory:"):
        raise ConfigError(f"{attribute.name} must name a file or folder, not {value!r}")


@attrs.frozen
class ServiceSettings:
    """Where the HTTP service keeps its data, and how much work it takes on.

    Every worker process of one service reads the same settings (the command line passes
    them through the environment), so they all share the databases and the reports.

    Attributes:
        events_db: the event database (SQLite file; created when missing).
        uptime_db: the status store (SQLite file; created when missing).
        reports_dir: where the reports' states and CSV files are kept (created if missing).
        report_workers: reports computed at once by each worker process (default: cores).
        max_body_bytes: the largest request body read; a larger one is refused (413).
        writer_socket: the Unix socket of the service's event writer process, which stores
            the ``POST /outages`` batches of every worker (``process_outages serve`` starts
            it and sets this); None: each process stores its own batches.
    """

    events_db: str = attrs.field(default=DEFAULT_EVENTS_DB, converter=str, validator=_check_path)
    uptime_db: str = attrs.field(default=DEFAULT_UPTIME_DB, converter=str, validator=_check_path)
    reports_dir: str = attrs.field(
        default=DEFAULT_REPORTS_DIR, converter=str, validator=_check_path
    )
    report_workers: int | None = attrs.field(default=None, validator=_check_workers)
    max_body_bytes: int = attrs.field(default=DEFAULT_MAX_BODY_BYTES, validator=_check_size)
    writer_socket: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServiceSettings:
        """Read the settings from the environment, the defaults for what is not set.

        Args:
            environ: the environment to read (default :data:`os.environ`): ``OUTAGES_DB``,
                ``UPTIME_DB``, ``OUTAGES_REPORTS_DIR``, ``OUTAGES_REPORT_WORKERS``,
                ``OUTAGES_WRITER_SOCKET``.

        Returns:
            The settings.

        Raises:
            ConfigError: a value is invalid (names the variable).
        """
        env = os.environ if environ is None else environ
        workers = env.get(ENV_REPORT_WORKERS) or None
        try:
            count = None if workers is None else int(workers)
        except ValueError:
            raise ConfigError(
                f"{ENV_REPORT_WORKERS} must be a whole number, not {workers!r}"
            ) from None
        return cls(
            events_db=env.get(ENV_EVENTS_DB) or DEFAULT_EVENTS_DB,
            uptime_db=env.get(ENV_UPTIME_DB) or DEFAULT_UPTIME_DB,
            reports_dir=env.get(ENV_REPORTS_DIR) or DEFAULT_REPORTS_DIR,
            report_workers=count,
            writer_socket=env.get(ENV_WRITER_SOCKET) or None,
        )

    def to_env(self) -> dict[str, str]:
        """The environment variables that :meth:`from_env` reads back as these settings.

        Returns:
            The variables (``max_body_bytes`` is not among them).
        """
        env = {
            ENV_EVENTS_DB: self.events_db,
            ENV_UPTIME_DB: self.uptime_db,
            ENV_REPORTS_DIR: self.reports_dir,
        }
        if self.report_workers is not None:
            env[ENV_REPORT_WORKERS] = str(self.report_workers)
        if self.writer_socket is not None:
            env[ENV_WRITER_SOCKET] = self.writer_socket
        return env


def _read_dotenv(path: str | os.PathLike[str] | None) -> dict[str, str]:
    if path is None or not Path(path).is_file():
        return {}
    # Imported here: only runs that have a .env file pay for it.
    from dotenv import dotenv_values  # pylint: disable=import-outside-toplevel

    try:
        data = Path(path).read_bytes()
        text = data.decode("utf-8")
    except OSError as err:
        raise ConfigError(
            f"{path}: cannot read the .env file ({err.strerror or type(err).__name__}); "
            "fix its permissions or remove it"
        ) from err
    except UnicodeDecodeError as err:
        # Neither the bytes nor the decoder's message: the line may hold the key.
        line = data[: err.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}:{line}: the .env file is not UTF-8 text; save it as UTF-8"
        ) from None
    values = dotenv_values(stream=io.StringIO(text))
    return {name: value for name, value in values.items() if value is not None}
