"""The API key: checked when settings load, and never shown, whatever bytes it holds."""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outages_processor.api import KrakenFlexClient, RetryPolicy
from outages_processor.errors import ApiConnectionError, ConfigError
from outages_processor.sandbox import Sandbox
from outages_processor.scripts.main import app
from outages_processor.settings import Settings
from outages_processor.sites import process_sites

from .conftest import FAKE_KEY

runner = CliRunner()
SITE = "norwich-pear-tree"
MARKER = "FAKEKEYQZX"
"""Part of every generated key: it appears in output only if the key leaked."""


@pytest.fixture(name="sandbox", scope="module")
def fixture_sandbox() -> Iterator[Sandbox]:
    """A sandbox on 127.0.0.1 that accepts only FAKE_KEY (h11 checks the header for real)."""
    with Sandbox(api_key=FAKE_KEY) as server:
        yield server


@pytest.mark.parametrize("ending", ["\r", "\n", "\r\n", " ", "\t"])
def test_key_from_the_environment_is_stripped_of_surrounding_whitespace(
    sandbox: Sandbox, ending: str
) -> None:
    """A variable ending in CR or LF works: the whitespace is stripped, not sent."""
    env = {"KRAKENFLEX_API_KEY": FAKE_KEY + ending, "KRAKENFLEX_BASE_URL": sandbox.base_url}
    result = runner.invoke(app, ["--site", SITE, "--dry-run"], env=env)
    assert (result.exit_code, result.stderr) == (
        0,
        f"{SITE}: 10 outages selected, not posted (dry run)\n",
    )


def test_dotenv_key_with_an_escaped_newline_works(sandbox: Sandbox) -> None:
    """A quoted ``.env`` value ending in ``\\n`` is stripped like any surrounding space."""
    Path(".env").write_text(f'KRAKENFLEX_API_KEY="{FAKE_KEY}\\n"\n', encoding="utf-8")
    result = runner.invoke(app, ["--site", SITE, "--dry-run", "--base-url", sandbox.base_url])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("fake\rkey", "character 5 is whitespace"),
        ("fake key", "character 5 is whitespace"),
        ("fake\x1bkey", "character 5 is a control character"),
        ("fake\x7fkey", "character 5 is a control character"),
        ("fakekéy", "character 6 is not ASCII"),
        ("fake\udcffkey", "character 5 is not ASCII"),
    ],
)
@pytest.mark.parametrize(
    ("where", "source"),
    [
        ("flag", "the argument api_key (--api-key)"),
        ("env", "the environment"),
        ("dotenv", "the .env file .env"),
    ],
)
def test_invalid_key_is_exit_3_naming_where_it_came_from(
    key: str, problem: str, where: str, source: str
) -> None:
    """A key no header can carry: exit 3, one line naming the variable and its source."""
    args = ["--site", SITE, "--base-url", "http://127.0.0.1:9/v1"]
    env: dict[str, str] = {}
    if where == "flag":
        args += ["--api-key", key]
    elif where == "env":
        env["KRAKENFLEX_API_KEY"] = key
    else:
        Path(".env").write_bytes(
            f'KRAKENFLEX_API_KEY="{key}"\n'.encode("utf-8", "surrogateescape")
        )
    result = runner.invoke(app, args, env=env)
    if where == "dotenv" and "\udcff" in key:
        assert result.stderr == (
            "error: .env:1: the .env file is not UTF-8 text; save it as UTF-8\n"
        )
    else:
        assert result.stderr == (
            f"error: KRAKENFLEX_API_KEY from {source} is not a valid API key ({problem}); an "
            "API key is printable ASCII with no spaces: correct it there\n"
        )
    assert result.exit_code == 3
    assert result.stdout == ""


def test_non_utf8_dotenv_is_exit_3_with_its_line() -> None:
    """A ``.env`` file that is not UTF-8: exit 3, one line naming file and line."""
    Path(".env").write_bytes(b"# settings\nKRAKENFLEX_API_KEY=caf\xe9\n")
    result = runner.invoke(app, ["--site", SITE])
    assert (result.exit_code, result.stderr) == (
        3,
        "error: .env:2: the .env file is not UTF-8 text; save it as UTF-8\n",
    )


def test_settings_refuse_a_key_with_a_line_break() -> None:
    """Built directly, Settings strips the ends of the key and refuses a CR or LF inside."""
    assert Settings(api_key=f" {FAKE_KEY}\n").api_key == FAKE_KEY
    with pytest.raises(ConfigError, match=r"from the argument api_key .*character 5") as info:
        Settings(api_key="fake\nkey")
    assert "fake\nkey" not in repr(info.value)


def test_local_protocol_error_text_is_never_shown() -> None:
    """httpx's "Illegal header value b'…'" is in neither our message nor its traceback."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError(f"Illegal header value b'{FAKE_KEY}'")

    settings_ = Settings(api_key=FAKE_KEY, base_url="http://api.test/v1")
    with KrakenFlexClient(settings_, transport=httpx.MockTransport(refuse)) as client:
        with pytest.raises(ConfigError) as info:
            client.request_json("GET", "/outages")
    shown = "".join(traceback.format_exception(info.value))
    assert "ConfigError: GET /outages: cannot send the request (LocalProtocolError)" in shown
    assert FAKE_KEY not in shown


def test_transport_error_text_is_scrubbed_of_the_key(sleeps: list[float]) -> None:
    """A transient transport error quoting the key is reported with the key masked."""

    def echo(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused {request.headers['x-api-key']}")

    settings_ = Settings(api_key=FAKE_KEY, base_url="http://api.test/v1")
    policy = RetryPolicy(tries=2)
    with KrakenFlexClient(settings_, retry=policy, transport=httpx.MockTransport(echo)) as c:
        with pytest.raises(ApiConnectionError) as info:
            c.request_json("GET", "/outages")
    assert str(info.value) == (
        "GET /outages: connection failed (proxy refused ***) after 2 attempts; check the "
        "network and the base URL, then try again later"
    )
    assert len(sleeps) == 1


def _encodable(text: str) -> bool:
    """True when ``text`` can be an environment variable's value."""
    try:
        os.fsencode(text)
    except UnicodeError:
        return False
    return True


KEYS = st.builds(lambda a, b: a + MARKER + b, st.text(max_size=6), st.text(max_size=6))
_VISIBLE_ASCII = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=6)
VALID_KEYS = st.builds(lambda a, b: a + MARKER + b, _VISIBLE_ASCII, _VISIBLE_ASCII)
"""Keys the settings take (visible ASCII), built as such: filtering KEYS for them discarded
most examples, and hypothesis's health check failed the test now and then."""


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(key=KEYS, where=st.sampled_from(["flag", "env"]))
def test_no_key_ever_appears_in_any_output(
    sandbox: Sandbox, tmp_path: Path, key: str, where: str
) -> None:
    """Whatever text the key is, it is absent from stderr (-vv tracebacks too), --json, --output."""
    output = tmp_path / "out.jsonl"
    output.unlink(missing_ok=True)
    args = ["-vv", "--site", SITE, "--json", "--output", str(output), "--retries", "1"]
    args += ["--base-url", sandbox.base_url]
    env = {}
    if where == "flag":
        args += ["--api-key", key]
    else:
        # An environment variable cannot hold NUL, nor text the OS cannot encode.
        assume("\x00" not in key and _encodable(key))
        env["KRAKENFLEX_API_KEY"] = key
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 3
    written = output.read_text(encoding="utf-8") if output.exists() else ""
    for text in (result.stdout, result.stderr, written):
        assert MARKER not in text
        assert MARKER not in json.dumps(text)


@settings(max_examples=40, deadline=None)
@given(key=VALID_KEYS)
def test_no_key_ever_appears_in_a_result_repr(key: str) -> None:
    """A refused valid key: the SiteResult, its error and their reprs never hold the key."""
    settings_ = Settings(api_key=key, base_url="http://127.0.0.1:9/v1", tries=1)

    forbid = httpx.MockTransport(lambda _request: httpx.Response(403, json={"message": "no"}))
    client = KrakenFlexClient(settings_, transport=forbid)
    with client:
        (result,) = process_sites([SITE], client=client)
    for shown in (repr(result), str(result.error), repr(result.error), repr(client)):
        assert MARKER not in shown
    assert MARKER not in repr(settings_)
