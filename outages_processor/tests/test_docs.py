"""Every example in README.md and docs/pages/ runs, and prints what the page says.

Rules, per page, with a temporary copy of the clone's root as the working directory (its
``docs/examples`` data, so the paths the pages show resolve as they do in a fresh clone,
while whatever a command writes, ``outages.db`` or ``rejects.csv``, lands outside the checkout):

* a ```python block is executed; blocks of one page share one namespace;
* in a ```console block, each ``$ process_outages ...`` line is run through the command line
  (``# exit N`` at its end states a non-zero exit code); the lines after it, up to the next
  ``$`` line, must equal its stdout, where a line ``...`` stands for any number of lines.
  Other commands (``pip``, ``tox``, ...) are set-up steps and are not run here;
* in a ```console block, each ``$ curl ...`` line is sent with httpx to a real server of the
  service (``process_outages serve`` as ``create_app`` under uvicorn on 127.0.0.1, its data in
  the working directory) started for pages that hold such lines; ``http://127.0.0.1:8000``
  stands for its address, a report id (32 hex digits) in a command or its output for the
  last one the server returned, and a ``Running`` report is asked again until it is not;
* a ```text block right after a ```python block (nothing but blank lines between) must
  equal what that block printed, and right after a ```console block, what its last
  command printed on stderr. Blocks marked
  ```shell or ```json are illustrations and are not run.

``docs/notebook.ipynb`` runs top to bottom in a fresh kernel with ``docs/`` of such a copy as
its working directory, as Jupyter runs it when opened from a clone.
"""

from __future__ import annotations

import contextlib
import io

import fnmatch
import re
import shlex
import shutil
import sys
import time
from pathlib import Path

import httpx
import nbclient
import nbformat
import pytest
from typer.testing import CliRunner

from outages_processor.scripts.main import app
from outages_processor.tests.service_server import Running, settings_in, thread_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = Path("docs") / "examples"
NOTEBOOK = ROOT / "docs" / "notebook.ipynb"
# What the notebook's last cell prints: each job's DataFrame, its shape, its datetime columns.
NOTEBOOK_SUMMARY = [
    "outages (13, 6) times: ['begin', 'end']",
    "uptime (3, 7) times: []",
    "events (2, 5) times: ['start_time', 'end_time']",
]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs" / "pages").glob("*.md")])
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)
EXIT_NOTE = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


def blocks(page: Path) -> list[tuple[str, str, bool]]:
    """The fenced blocks of a page as (language, text, follows the previous block at once)."""
    found: list[tuple[str, str, bool]] = []
    end = 0
    text = page.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        found.append((match.group(1), match.group(2), not text[end : match.start()].strip()))
        end = match.end()
    return found


def console_commands(text: str) -> list[tuple[str, int, list[str]]]:
    """Split a console block into (command, expected exit code, expected stdout lines)."""
    commands: list[tuple[str, int, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            command = line[2:]
            code = 0
            note = EXIT_NOTE.search(command)
            if note:
                code = int(note.group(1))
                command = command[: note.start()]
            commands.append((command, code, []))
        elif commands:
            commands[-1][2].append(line)
    return commands


def lines_match(expected: list[str], actual: list[str]) -> bool:
    """Compare lines exactly, ``...`` matching any run of lines (trailing blanks ignored)."""
    while expected and not expected[-1].strip():
        expected = expected[:-1]
    pattern = "\n".join("*" if line == "..." else glob_escape(line.rstrip()) for line in expected)
    return fnmatch.fnmatchcase("\n".join(line.rstrip() for line in actual), pattern)


def glob_escape(text: str) -> str:
    """Escape glob characters so the text matches literally."""
    return re.sub(r"([*?\[])", r"[\1]", text)


DOCS_ADDRESS = "http://127.0.0.1:8000"
REPORT_ID = re.compile(r"\b[0-9a-f]{32}\b")


class CurlRunner:
    """Runs the ``curl`` lines of a page against a real server (see the module's rules)."""

    def __init__(self, server: Running) -> None:
        self.server = server
        self.report_id = ""

    def run(self, words: list[str], expected: list[str]) -> None:
        """Send one curl command; check its output against the page's lines."""
        method, url, headers, body = self.parse(words)
        deadline = time.monotonic() + 30
        while True:
            answer = httpx.request(method, url, headers=headers, content=body, timeout=30)
            text = answer.text
            if '"status":"Running"' not in text or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        found = REPORT_ID.search(text) if "report_id" in text else None
        if found:
            self.report_id = found.group(0)
        if expected and any(line.strip() for line in expected):
            wanted = [REPORT_ID.sub(self.report_id, line) for line in expected]
            assert lines_match(wanted, text.splitlines()), f"{shlex.join(words)} answered:\n{text}"

    def parse(self, words: list[str]) -> tuple[str, str, dict[str, str], bytes | None]:
        """The method, URL, headers and body of a curl command line."""
        method, url, headers, body = "", "", {}, None
        options = iter(words[1:])
        for word in options:
            if word in ("-s", "--silent", "-S", "--show-error", "-f", "--fail"):
                continue
            if word in ("-X", "--request"):
                method = next(options)
            elif word in ("-H", "--header"):
                name, _, value = next(options).partition(":")
                headers[name.strip()] = value.strip()
            elif word in ("-d", "--data", "--data-binary"):
                data = next(options)
                body = Path(data[1:]).read_bytes() if data.startswith("@") else data.encode()
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
            else:
                assert not word.startswith("-"), f"curl option {word} is not supported here"
                url = REPORT_ID.sub(lambda _: self.report_id, word)
        assert url.startswith(DOCS_ADDRESS), url
        url = self.server.base_url + url[len(DOCS_ADDRESS) :]
        return method or ("POST" if body is not None else "GET"), url, headers, body


def run_console(text: str, curl: CurlRunner | None = None) -> str:
    """Run the process_outages (and curl) commands of one console block; return the last
    stderr of process_outages."""
    runner = CliRunner()
    stderr = ""
    for command, code, expected in console_commands(text):
        words = shlex.split(command)
        if words and words[0] == "curl" and curl is not None:
            curl.run(words, expected)
            continue
        env: dict[str, str] = {}
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        if not words or words[0] != "process_outages":
            continue
        result = runner.invoke(app, words[1:], env=env)
        stderr = result.stderr
        assert result.exit_code == code, f"{command!r}: {result.output}"
        if expected and any(line.strip() for line in expected):
            assert lines_match(expected, result.stdout.splitlines()), (
                f"{command!r} printed:\n{result.stdout}"
            )
    return stderr


@pytest.fixture(name="clone")
def fixture_clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working directory laid out as the clone's root (its docs/examples)."""
    shutil.copytree(ROOT / EXAMPLES, tmp_path / EXAMPLES)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_examples_of_the_page_run(page: Path, clone: Path) -> None:
    """The page's Python and command-line examples run and print what the page shows."""
    with contextlib.ExitStack() as stack:
        curl = None
        if "\n$ curl " in page.read_text(encoding="utf-8"):
            server = stack.enter_context(thread_server(settings_in(clone, report_workers=1)))
            curl = CurlRunner(server)
        _run_page(page, curl)


def _run_page(page: Path, curl: CurlRunner | None) -> None:
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    printed: str | None = None
    for language, text, adjacent in blocks(page):
        if language == "text" and adjacent and printed is not None:
            assert lines_match(text.splitlines(), printed.splitlines()), (
                f"{page.name}: expected\n{text}\ngot\n{printed}"
            )
        printed = None
        if language == "python":
            with contextlib.redirect_stdout(io.StringIO()) as stdout:
                exec(compile(text, str(page), "exec"), namespace)  # pylint: disable=exec-used
            printed = stdout.getvalue()
        elif language == "console":
            printed = run_console(text, curl)


@pytest.mark.parametrize(
    ("expected", "actual", "matches"),
    [
        (["a", "b"], ["a", "b"], True),
        (["a", "..."], ["a", "b", "c"], True),
        (["a", "b"], ["a", "c"], False),
        (["a [x]"], ["a [x]"], True),
        (["a"], ["a", "b"], False),
    ],
)
def test_output_comparison(expected: list[str], actual: list[str], matches: bool) -> None:
    """The docs' expected output matches exactly, with ``...`` as the only wildcard."""
    assert lines_match(expected, actual) is matches


def test_every_page_is_in_the_docs_navigation() -> None:
    """Each page under docs/pages is listed in docs/mkdocs.yml."""
    config = (ROOT / "docs" / "mkdocs.yml").read_text(encoding="utf-8")
    for page in (ROOT / "docs" / "pages").glob("*.md"):
        assert page.name in config, page.name


EXAMPLE_PATH = re.compile(r"docs/examples/[\w./-]+")


def test_readme_commands_use_files_of_a_fresh_clone() -> None:
    """Each data file a README command names is shipped under docs/examples/ in the clone."""
    named = [
        path
        for language, text, _ in blocks(ROOT / "README.md")
        if language == "console"
        for path in EXAMPLE_PATH.findall(text)
    ]
    assert named
    assert [path for path in named if not (ROOT / path).is_file()] == []


def test_pages_run_outside_the_checkout(clone: Path) -> None:
    """A command of a page writes into the temporary working directory, not the checkout."""
    run_console(f"$ process_outages events ingest {EXAMPLES.as_posix()}/events/reports.csv\n")
    assert (clone / "outages.db").is_file()
    assert not (ROOT / "outages.db").exists()


def test_the_notebook_is_stored_without_outputs() -> None:
    """docs/notebook.ipynb is kept clean: no outputs, no execution counts in the checkout."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert [(cell.outputs, cell.execution_count) for cell in code] == [([], None)] * len(code)


def test_the_notebook_runs_the_three_jobs_into_dataframes(
    clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook runs top to bottom in a fresh kernel of this interpreter, from docs/."""
    # Standard platform folders: jupyter_core warns about the old ones (warnings are errors).
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    # The kernelspec "python3" starts ``python``, which jupyter_client replaces by the
    # interpreter running this test, so the kernel imports this checkout's package.
    client = nbclient.NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(clone / "docs")}},
    )
    client.execute()
    printed = ["".join(out.get("text", "") for out in cell.outputs) for cell in notebook.cells[-2:]]
    assert printed[0].splitlines() == NOTEBOOK_SUMMARY
    assert Path(printed[1].strip()).resolve() == Path(sys.executable).resolve()
    assert [path.name for path in (clone / "docs").iterdir()] == ["examples"]
