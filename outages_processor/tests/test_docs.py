"""Every example in README.md and docs/pages/ runs, and prints what the page says.

Rules, per page, in a fresh copy of ``tests/docs_data`` as the working directory:

* a ```python block is executed; blocks of one page share one namespace;
* in a ```console block, each ``$ process_outages ...`` line is run through the command line
  (``# exit N`` at its end states a non-zero exit code); the lines after it, up to the next
  ``$`` line, must equal its stdout, where a line ``...`` stands for any number of lines.
  Other commands (``pip``, ``tox``, ...) are set-up steps and are not run here;
* a ```text block right after a ```python block (nothing but blank lines between) must
  equal what that block printed, and right after a ```console block, what its last
  command printed on stderr. Blocks marked
  ```shell or ```json are illustrations and are not run.
"""

from __future__ import annotations

import contextlib
import io

import fnmatch
import re
import shlex
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from outages_processor.scripts.main import app

ROOT = Path(__file__).resolve().parents[2]
DOCS_DATA = Path(__file__).resolve().parent / "docs_data"
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


def run_console(text: str) -> str:
    """Run the process_outages commands of one console block; return the last stderr."""
    runner = CliRunner()
    stderr = ""
    for command, code, expected in console_commands(text):
        words = shlex.split(command)
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


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_examples_of_the_page_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's Python and command-line examples run and print what the page shows."""
    if DOCS_DATA.is_dir():
        shutil.copytree(DOCS_DATA, tmp_path, dirs_exist_ok=True)
    monkeypatch.chdir(tmp_path)
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
            printed = run_console(text)


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
