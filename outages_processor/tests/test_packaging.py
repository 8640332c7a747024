"""What the distributions carry, read from pyproject.toml (``tox -e wheel`` builds and checks).

Building a wheel needs hatchling and takes seconds, so the test suite checks the build
configuration; the ``wheel`` tox environment builds the wheel and lists it.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def pyproject() -> dict[str, Any]:
    """The parsed pyproject.toml of the checkout."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def test_the_wheel_leaves_the_tests_out() -> None:
    """The wheel's build excludes the tests and their benchmark data."""
    wheel = pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["outages_processor"]
    assert "outages_processor/tests" in wheel["exclude"]


def test_the_sdist_keeps_the_tests_and_the_examples() -> None:
    """The sdist carries the package with its tests and docs/ with the example data."""
    sdist = pyproject()["tool"]["hatch"]["build"]["targets"]["sdist"]
    assert {"outages_processor", "docs"} <= set(sdist["include"])
    assert "exclude" not in sdist
    assert (ROOT / "docs" / "examples" / "uptime" / "status.csv").is_file()


def test_the_test_extra_can_run_the_notebook() -> None:
    """The ``test`` extra installs what the executed notebook and the to_pandas tests need."""
    extra = pyproject()["project"]["optional-dependencies"]["test"]
    names = {re.split(r"[<>=\[;]", requirement)[0].strip() for requirement in extra}
    assert {"ipykernel", "nbclient", "nbformat", "pandas"} <= names


def test_the_wheel_check_runs_in_the_default_tox_run() -> None:
    """``tox`` with no arguments includes the environment that builds and lists the wheel."""
    tox = (ROOT / "tox.ini").read_text(encoding="utf-8")
    env_list = re.search(r"^env_list\s*=\s*(.*)$", tox, re.M)
    assert env_list is not None
    assert "wheel" in [name.strip() for name in env_list.group(1).split(",")]
    assert "[testenv:wheel]" in tox
