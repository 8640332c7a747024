"""Settings: flag > environment > .env file > default, validated, key never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from outages_processor.errors import ConfigError
from outages_processor.settings import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, DEFAULT_TRIES, Settings

from .conftest import FAKE_KEY


def test_explicit_values_win_over_environment_and_dotenv(tmp_path: Path) -> None:
    """A flag beats the environment, which beats the .env file."""
    dotenv = tmp_path / ".env"
    dotenv.write_text("KRAKENFLEX_API_KEY=from-dotenv\nKRAKENFLEX_BASE_URL=http://dotenv/v1\n")
    env = {"KRAKENFLEX_API_KEY": "from-env"}
    assert Settings.load(api_key="flag", environ=env, dotenv_path=dotenv).api_key == "flag"
    loaded = Settings.load(environ=env, dotenv_path=dotenv)
    assert loaded.api_key == "from-env"
    assert loaded.base_url == "http://dotenv/v1"


def test_dotenv_in_the_working_directory_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By default ``./.env`` supplies what the environment lacks."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"KRAKENFLEX_API_KEY={FAKE_KEY}\n")
    assert Settings.load(environ={}).api_key == FAKE_KEY


def test_defaults_apply_when_nothing_is_set() -> None:
    """Base URL, timeout and tries have public defaults."""
    settings = Settings.load(api_key=FAKE_KEY, environ={}, dotenv_path=None)
    assert (settings.base_url, settings.timeout, settings.tries) == (
        DEFAULT_BASE_URL,
        DEFAULT_TIMEOUT,
        DEFAULT_TRIES,
    )


def test_missing_key_names_the_environment_variable() -> None:
    """No key anywhere is a ConfigError that says where to put one."""
    with pytest.raises(ConfigError, match="no API key: pass --api-key, set KRAKENFLEX_API_KEY"):
        Settings.load(environ={}, dotenv_path=None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "ftp://x"}, "is not an http(s) URL"),
        ({"base_url": "nonsense"}, "is not an http(s) URL"),
        ({"timeout": 0}, "timeout must be greater than 0"),
        ({"tries": 0}, "retries must be at least 1"),
    ],
)
def test_invalid_values_are_config_errors(kwargs: dict[str, object], message: str) -> None:
    """Bad values are refused with a message saying what is wrong."""
    with pytest.raises(ConfigError) as info:
        Settings.load(api_key=FAKE_KEY, environ={}, dotenv_path=None, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_trailing_slash_of_base_url_is_dropped() -> None:
    """``.../v1/`` and ``.../v1`` are the same root."""
    assert Settings(api_key=FAKE_KEY, base_url="http://h/v1/").base_url == "http://h/v1"


def test_key_is_not_in_repr_nor_equality() -> None:
    """The key never appears in repr, and two settings differing only by key are equal."""
    settings = Settings(api_key=FAKE_KEY)
    assert FAKE_KEY not in repr(settings)
    assert settings == Settings(api_key="other-fake-key")
