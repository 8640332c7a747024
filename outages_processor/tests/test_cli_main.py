"""The main job on the command line: options, output, exit codes and messages."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
import respx
import typer
from typer.testing import CliRunner

from outages_processor import __version__
from outages_processor.scripts.main import app

from .conftest import BASE_URL, FAKE_KEY, bundled_json, bundled_outages

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("sleeps")
OPTIONS = ["--base-url", BASE_URL, "--api-key", FAKE_KEY]


@pytest.fixture(name="api")
def fixture_api() -> respx.Router:
    """A mocked API with both bundled sites; POSTs accepted."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        router.get("/outages", name="outages").respond(200, json=bundled_outages())
        for site in ("norwich-pear-tree", "kingfisher"):
            router.get(f"/site-info/{site}").respond(
                200, json=bundled_json(f"site-info_{site}.json")
            )
        router.post(path__startswith="/site-outages/", name="post").respond(200, json={})
        yield router


def test_main_job_posts_and_summarises_on_stderr(api: respx.Router) -> None:
    """``--site`` posts the outages and says so on stderr; stdout stays empty."""
    result = runner.invoke(app, ["--site", "norwich-pear-tree", *OPTIONS])
    assert result.exit_code == 0
    assert result.stderr == "norwich-pear-tree: posted 10 outages\n"
    assert result.stdout == ""
    assert api["post"].call_count == 1


def test_json_prints_one_object_per_site(api: respx.Router) -> None:
    """``--json`` prints one JSON line per site with site_id, outages and posted."""
    result = runner.invoke(app, ["-s", "norwich-pear-tree", "-s", "kingfisher", "--json", *OPTIONS])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["site_id"], len(r["outages"]), r["posted"]) for r in rows] == [
        ("norwich-pear-tree", 10, True),
        ("kingfisher", 3, True),
    ]
    assert set(rows[0]["outages"][0]) == {"id", "name", "begin", "end"}
    assert api["outages"].call_count == 1


@pytest.mark.usefixtures("api")
def test_output_file_gets_the_same_json(tmp_path: Path) -> None:
    """``--output FILE`` writes the JSON lines to a file."""
    target = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["-s", "kingfisher", "--output", str(target), *OPTIONS])
    assert result.exit_code == 0
    (row,) = [json.loads(line) for line in target.read_text().splitlines()]
    assert row["site_id"] == "kingfisher" and row["posted"] is True
    assert not [p for p in tmp_path.iterdir() if p.name != "out.jsonl"]


@pytest.mark.usefixtures("api")
def test_unwritable_output_is_exit_3(tmp_path: Path) -> None:
    """An output path in a missing folder fails with one line and exit 3."""
    target = tmp_path / "missing" / "out.jsonl"
    result = runner.invoke(app, ["-s", "kingfisher", "--output", str(target), *OPTIONS])
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1].startswith(f"error: cannot write {target}: ")


def test_dry_run_posts_nothing(api: respx.Router) -> None:
    """``--dry-run`` selects and says so without posting."""
    result = runner.invoke(app, ["-s", "norwich-pear-tree", "--dry-run", *OPTIONS])
    assert result.exit_code == 0
    assert result.stderr == "norwich-pear-tree: 10 outages selected, not posted (dry run)\n"
    assert api["post"].call_count == 0


def test_since_moves_the_cut_off(api: respx.Router) -> None:
    """``--since`` after every outage leaves nothing to post, exit 0."""
    result = runner.invoke(app, ["-s", "kingfisher", "--since", "2030-01-01", *OPTIONS])
    assert result.exit_code == 0
    assert result.stderr == "kingfisher: no outages to report since the cut-off; nothing posted\n"
    assert api["post"].call_count == 0


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            403,
            {"message": "Forbidden"},
            "error: GET /outages: the API refused the API key (HTTP 403); check "
            "KRAKENFLEX_API_KEY or --api-key",
        ),
        (
            404,
            {"message": "Site not found"},
            "error: GET /outages: the API does not know the resource (HTTP 404: Site not "
            "found); check the site id",
        ),
    ],
)
@respx.mock(base_url=BASE_URL)
def test_needs_a_fix_errors_exit_3_after_one_attempt(
    respx_mock: respx.Router, status: int, body: dict[str, str], message: str
) -> None:
    """A 403/404 is attempted once and reported as one line with exit 3."""
    route = respx_mock.get("/outages").respond(status, json=body)
    result = runner.invoke(app, ["-s", "kingfisher", *OPTIONS])
    assert result.exit_code == 3
    assert result.stderr == f"kingfisher: {message}\n"
    assert route.call_count == 1
    assert "Traceback" not in result.output


def test_rejected_post_is_exit_3(api: respx.Router) -> None:
    """A 400 on the POST is exit 3 with the API's message."""
    api["post"].respond(400, json={"message": "Unexpected outages received"})
    result = runner.invoke(app, ["-s", "kingfisher", *OPTIONS])
    assert result.exit_code == 3
    assert "HTTP 400: Unexpected outages received" in result.stderr
    assert api["post"].call_count == 1


@respx.mock(base_url=BASE_URL)
def test_persistent_server_errors_exit_1_after_the_retries(respx_mock: respx.Router) -> None:
    """``--retries 3`` makes exactly three attempts, then exit 1."""
    route = respx_mock.get("/outages").respond(500, json={"message": "boom"})
    result = runner.invoke(app, ["-s", "kingfisher", "--retries", "3", *OPTIONS])
    assert result.exit_code == 1
    assert route.call_count == 3
    assert result.stderr.splitlines()[-1] == (
        "kingfisher: error: GET /outages: the API failed with HTTP 500 "
        '(\'{"message":"boom"}\') after 3 attempts; try again later'
    )


@respx.mock(base_url=BASE_URL)
def test_network_failure_exits_1(respx_mock: respx.Router) -> None:
    """An unreachable API is exit 1 after the retries."""
    route = respx_mock.get("/outages").mock(side_effect=httpx.ConnectError("refused"))
    result = runner.invoke(app, ["-s", "a", "--retries", "2", *OPTIONS])
    assert result.exit_code == 1
    assert route.call_count == 2


def test_mixed_results_exit_with_the_needs_fix_code(api: respx.Router) -> None:
    """One unknown site and one good site: the good one is posted, exit 3."""
    api.get("/site-info/nowhere").respond(404, json={"message": "Site not found"})
    result = runner.invoke(app, ["-s", "nowhere", "-s", "kingfisher", *OPTIONS])
    assert result.exit_code == 3
    assert "kingfisher: posted 3 outages" in result.stderr
    assert "nowhere: error: GET /site-info/nowhere: the API does not know site 'nowhere'" in (
        result.stderr
    )


def test_missing_key_is_exit_3_naming_the_variable() -> None:
    """No key anywhere: one line naming KRAKENFLEX_API_KEY, exit 3, no request."""
    result = runner.invoke(app, ["--site", "kingfisher"])
    assert result.exit_code == 3
    assert result.stderr == (
        "error: no API key: pass --api-key, set KRAKENFLEX_API_KEY, or put "
        "KRAKENFLEX_API_KEY=... in a .env file in the working directory\n"
    )


def test_key_and_base_url_come_from_the_environment(api: respx.Router) -> None:
    """KRAKENFLEX_API_KEY and KRAKENFLEX_BASE_URL configure the job."""
    result = runner.invoke(
        app,
        ["-s", "kingfisher"],
        env={"KRAKENFLEX_API_KEY": FAKE_KEY, "KRAKENFLEX_BASE_URL": BASE_URL},
    )
    assert result.exit_code == 0
    assert api["outages"].calls.last.request.headers["x-api-key"] == FAKE_KEY


@pytest.mark.usefixtures("api")
def test_key_comes_from_a_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A .env file in the working directory supplies the key."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"KRAKENFLEX_API_KEY={FAKE_KEY}\n")
    result = runner.invoke(app, ["-s", "kingfisher", "--base-url", BASE_URL])
    assert result.exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "Missing option '--site'"),
        (["-s", "x", "--since", "yesterday"], "'yesterday' is not an ISO 8601 timestamp"),
        (["-s", "x", "--retries", "0"], "--retries"),
        (["-s", "x", "--timeout", "0"], "--timeout"),
        (["-s", "x", "--concurrency", "0"], "--concurrency"),
        (["--no-such-flag"], "No such option"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    """Bad command lines are exit 2 with a message naming the problem."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_version() -> None:
    """``--version`` prints the version."""
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"process_outages {__version__}\n"


def test_debug_output_never_contains_the_key(api: respx.Router) -> None:
    """With ``-vv`` every request is logged, and the key never appears."""
    api["outages"].mock(side_effect=[httpx.Response(503), httpx.Response(200, json=[])])
    result = runner.invoke(app, ["-vv", "-s", "kingfisher", *OPTIONS])
    assert result.exit_code == 0
    assert "GET /outages failed (attempt 1 of 5): HTTP 503" in result.stderr
    assert "DEBUG" in result.stderr
    assert FAKE_KEY not in result.output


@pytest.mark.usefixtures("api")
def test_op_debug_enables_debug_logging() -> None:
    """``OP_DEBUG=1`` logs as ``-vv`` does."""
    result = runner.invoke(app, ["-s", "kingfisher", *OPTIONS], env={"OP_DEBUG": "1"})
    assert result.exit_code == 0
    assert "DEBUG outages_processor" in result.stderr
    assert FAKE_KEY not in result.output


def command_paths(command: object, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of a click command tree, groups included."""
    paths = [path]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        paths.extend(command_paths(sub, (*path, name)))
    return paths


def test_every_command_has_help() -> None:
    """The main command and every sub-command answer ``--help`` with a description."""
    paths = command_paths(typer.main.get_command(app))
    assert {
        ("uptime", "report"),
        ("events", "ingest"),
        ("events", "list"),
        ("sandbox", "serve"),
    } <= set(paths)
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.stdout, path
        command = typer.main.get_command(app)
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        assert command.help, path


@pytest.mark.parametrize("verbose", [0, 2])
def test_logging_set_up_twice_keeps_one_handler_per_logger(verbose: int) -> None:
    """A second run in one process replaces the first run's handlers on every logger."""
    # pylint: disable-next=import-outside-toplevel
    from outages_processor.scripts._common import configure_logging

    configure_logging(2)
    configure_logging(verbose)
    for name in ("outages_processor", "httpx", "httpcore"):
        marked = [
            handler
            for handler in logging.getLogger(name).handlers
            if getattr(handler, "_outages_processor_cli", False)
        ]
        assert len(marked) == (1 if name == "outages_processor" or verbose >= 2 else 0)
