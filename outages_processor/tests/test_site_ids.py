"""Site ids travel as exactly one path segment; ids that cannot are refused up front."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import unquote

import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from outages_processor.api import (
    KrakenFlexClient,
    check_site_id,
    get_site_info,
    post_site_outages,
)
from outages_processor.models import EnhancedOutage
from outages_processor.scripts.main import app
from outages_processor.sites import process_sites

from .conftest import BASE_URL, FAKE_KEY

runner = CliRunner()
OPTIONS = ["--base-url", BASE_URL, "--api-key", FAKE_KEY]


@respx.mock(base_url=BASE_URL, assert_all_called=False)
def test_dot_dot_site_is_refused_before_any_request(respx_mock: respx.Router) -> None:
    """``--site ..`` no longer posts to the API root: exit 2, one line, nothing sent."""
    respx_mock.route().respond(200, json={})
    result = runner.invoke(app, ["--site", "..", *OPTIONS])
    assert (result.exit_code, result.stderr) == (
        2,
        "error: --site: site id '..' is not a site: it would name another path\n",
    )
    assert respx_mock.calls.call_count == 0


@pytest.mark.parametrize(
    ("site", "message"),
    [
        ("", "a site id must not be empty"),
        ("  ", "a site id must not be empty"),
        (".", "site id '.' is not a site: it would name another path"),
        ("..", "site id '..' is not a site: it would name another path"),
        ("a\nb", "site id 'a\\nb' has a control character at position 2"),
        ("\x00", "site id '\\x00' has a control character at position 1"),
        ("a\x7f", "site id 'a\\x7f' has a control character at position 2"),
        ("\x85x", "site id '\\x85x' has a control character at position 1"),
        ("x\udcff", "site id 'x\\udcff' is not valid UTF-8 text (position 2)"),
    ],
)
@respx.mock(base_url=BASE_URL, assert_all_called=False)
def test_unusable_site_ids_are_usage_errors(
    respx_mock: respx.Router, site: str, message: str
) -> None:
    """Empty, dot segments, control characters, undecodable bytes: exit 2, one line."""
    respx_mock.route().respond(200, json={})
    result = runner.invoke(app, ["--site", "kingfisher", "--site", site, *OPTIONS])
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"error: --site: {message}\n"
    assert respx_mock.calls.call_count == 0


@pytest.mark.parametrize("site", ["", ".", "..", "a\tb", "\udcff"])
def test_the_library_refuses_the_same_ids(client: KrakenFlexClient, site: str) -> None:
    """process_sites, get_site_info and post_site_outages raise ValueError, sending nothing."""
    with respx.mock(assert_all_called=False) as router:
        with pytest.raises(ValueError):
            process_sites([site], client=client)
        with pytest.raises(ValueError):
            get_site_info(client, site)
        with pytest.raises(ValueError):
            post_site_outages(client, site, [])
        assert router.calls.call_count == 0


def test_non_utf8_site_on_a_real_command_line_is_exit_2() -> None:
    """An undecodable byte in ``--site`` (a real argv): exit 2, one line, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAKENFLEX_")}
    completed = subprocess.run(
        [sys.executable, "-m", "outages_processor", "--site", b"caf\xe9", *OPTIONS],
        capture_output=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr == (
        b"error: --site: site id 'caf\\udce9' is not valid UTF-8 text (position 4)\n"
    )


def _usable(site_id: str) -> bool:
    try:
        check_site_id(site_id)
    except ValueError:
        return False
    return True


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(site_id=st.text(min_size=1, max_size=12).filter(_usable))
def test_any_other_id_is_exactly_one_segment(client: KrakenFlexClient, site_id: str) -> None:
    """For every accepted id, GET and POST paths end in one segment that decodes to the id."""
    outage = EnhancedOutage("d", "D", "2022-01-01T00:00:00Z", "2022-01-01T00:00:00Z")
    with respx.mock(base_url=BASE_URL) as router:
        info = router.get(path__startswith="/site-info/").respond(
            200, json={"id": site_id, "name": "S", "devices": []}
        )
        post = router.post(path__startswith="/site-outages/").respond(200, json={})
        get_site_info(client, site_id)
        post_site_outages(client, site_id, [outage])
    for route, prefix in ((info, "/v1/site-info/"), (post, "/v1/site-outages/")):
        path = route.calls.last.request.url.raw_path.decode("ascii")
        assert path.startswith(prefix)
        segment = path.removeprefix(prefix)
        assert "/" not in segment and "?" not in segment and "#" not in segment
        assert unquote(segment, errors="strict") == site_id


@pytest.mark.parametrize(
    "url",
    ["http://[::1", "http://[::1]:x/v1", "ftp://example.com/v1", "nonsense", "http:///v1"],
)
def test_malformed_base_url_flag_is_a_usage_error(url: str) -> None:
    """A ``--base-url`` no request could use: exit 2, one line naming the flag."""
    result = runner.invoke(app, ["--site", "kingfisher", "--base-url", url, "--api-key", FAKE_KEY])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: --base-url: base URL {url!r} ")
    assert result.stderr.count("\n") == 1
    assert result.stderr.endswith(
        "; pass --base-url or set KRAKENFLEX_BASE_URL to something like "
        "https://api.krakenflex.systems/interview-tests-mock-api/v1\n"
    )


def test_malformed_base_url_in_the_environment_is_exit_3() -> None:
    """``KRAKENFLEX_BASE_URL=http://[::1`` is a configuration to fix: exit 3, one line."""
    result = runner.invoke(
        app,
        ["--site", "kingfisher", "--api-key", FAKE_KEY],
        env={"KRAKENFLEX_BASE_URL": "http://[::1"},
    )
    assert (result.exit_code, result.stderr) == (
        3,
        "error: base URL 'http://[::1' cannot be parsed (Invalid IPv6 URL); pass --base-url "
        "or set KRAKENFLEX_BASE_URL to something like "
        "https://api.krakenflex.systems/interview-tests-mock-api/v1\n",
    )
