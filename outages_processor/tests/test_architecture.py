"""The architecture page's picture matches the package's folders, and the arrows point down."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
PAGE = PACKAGE.parent / "docs" / "pages" / "architecture.md"
FOLDERS = (
    "api", "core", "inputs", "models", "reports", "sandbox", "scripts", "service", "stores",
)

# Layer of each top-level part (DESIGN.md): a module imports from lower layers only; the base
# layer's modules (models, errors, settings) may use each other; core is pure and below the
# readers and stores that apply its kernels.
LAYERS = {
    "scripts": 5,
    "service": 5,
    "sites": 4,
    "events": 4,
    "reports": 4,
    "api": 3,
    "inputs": 3,
    "stores": 3,
    "sandbox": 3,
    "core": 2,
    "models": 1,
    "errors": 1,
    "settings": 1,
    "_time": 0,
    "_version": 0,
}
BASE = 1


def _picture() -> str:
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(r"```text\n(.*?)```", text, re.S)
    assert match is not None, "the page has no picture"
    return match.group(1)


def _modules(folder: str) -> set[str]:
    return {path.name for path in (PACKAGE / folder).glob("*.py") if path.name != "__init__.py"}


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_module_is_in_the_picture(folder: str) -> None:
    """Each module of a folder is named in the picture of docs/pages/architecture.md."""
    picture = _picture()
    assert f"{folder}/" in picture
    missing = sorted(name for name in _modules(folder) if name not in picture)
    assert not missing, f"{folder}/: {missing} are not in the architecture picture"


def test_every_module_of_the_picture_exists() -> None:
    """Each file the picture names exists in the package."""
    named = set(re.findall(r"\b([a-z_]+\.py)\b", _picture()))
    existing = {path.name for path in PACKAGE.rglob("*.py") if "tests" not in path.parts}
    assert sorted(named - existing) == []


def _part(module: str) -> str | None:
    """The top-level part of an ``outages_processor.x.y`` module name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "outages_processor" else None


@pytest.mark.parametrize(
    "path",
    sorted(p for p in PACKAGE.rglob("*.py") if "tests" not in p.relative_to(PACKAGE).parts),
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_imports_point_down(path: Path) -> None:
    """A module imports only from its own layer or the layers below (DESIGN.md)."""
    relative = path.relative_to(PACKAGE)
    own = relative.parts[0].removesuffix(".py")
    if own not in LAYERS:
        return  # __init__.py and __main__.py of the package itself
    wrong = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            part = _part(name)
            if part is None or part == own:
                continue
            layer = LAYERS.get(part, 0)
            both_base = layer <= BASE and LAYERS[own] <= BASE
            if layer >= LAYERS[own] and not both_base:
                wrong.append(name)
    if own == "core":
        allowed = {"core", "models"}
        wrong += [
            name
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
            for name in [node.module]
            if _part(name) not in (None, *allowed)
        ]
    assert not wrong, f"{relative} imports {sorted(set(wrong))} (arrows must point down)"
