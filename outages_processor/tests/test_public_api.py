"""The curated public surface of ``import outages_processor``.

The surface is ONE table, ``outages_processor._EXPORTS`` (public name -> defining module).
These tests hold ``__all__``, the lazy loading and the ``TYPE_CHECKING`` imports (what type
checkers and editors see) to that table, so adding or moving a name is one edit there plus
the block the failing test prints.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import outages_processor

EXPORTS: dict[str, str] = outages_processor._EXPORTS  # pylint: disable=protected-access
INIT = Path(outages_processor.__file__)
MAX_LINE = 100

# What a notebook user of each job reaches for first: the jobs' calls, their settings and
# results, the shared concepts, the store and the root error.
NOTEBOOK_ESSENTIALS = {
    "EventStore",
    "Events",
    "IngestResult",
    "OnError",
    "OutagesError",
    "ProgressCallback",
    "Reject",
    "Settings",
    "SiteResult",
    "UptimeReport",
    "build_report",
    "ingest_files",
    "list_events",
    "process_sites",
}
# Internal formats and retired names that must not be public.
NOT_PUBLIC = {"RecordBatch", "RejectedRecord", "RejectedRow", "WeeklyHours", "PARALLEL_MIN_BYTES"}


def type_checking_block(exports: dict[str, str]) -> str:
    """The ``if TYPE_CHECKING:`` block that imports every public name from its module."""
    by_module: dict[str, list[str]] = {}
    for name, module in exports.items():
        by_module.setdefault(module, []).append(name)
    lines = ["if TYPE_CHECKING:"]
    for module in sorted(by_module):
        names = sorted(by_module[module])
        line = f"    from {module} import {', '.join(names)}"
        if len(line) <= MAX_LINE:
            lines.append(line)
        else:
            lines += [f"    from {module} import (", *(f"        {n}," for n in names), "    )"]
    return "\n".join(lines) + "\n"


def type_checking_imports(source: str) -> dict[str, str]:
    """The names the ``if TYPE_CHECKING:`` block of a module imports, and from where."""
    imported: dict[str, str] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                assert isinstance(statement, ast.ImportFrom) and statement.module
                imported.update({alias.name: statement.module for alias in statement.names})
    return imported


def test_all_is_exactly_the_export_table_and_sorted() -> None:
    """``__all__`` lists exactly the names of the one export table (and the version), sorted."""
    assert outages_processor.__all__ == sorted([*EXPORTS, "__version__"])


def test_type_checking_imports_are_the_export_table() -> None:
    """The TYPE_CHECKING block imports exactly the table's names from the table's modules."""
    imported = type_checking_imports(INIT.read_text(encoding="utf-8"))
    assert imported == EXPORTS, (
        f"{INIT} is stale: replace its TYPE_CHECKING block with\n{type_checking_block(EXPORTS)}"
    )


def test_the_block_check_sees_a_drift() -> None:
    """A TYPE_CHECKING block missing a table name is told apart from the table."""
    block = type_checking_block({"OnError": "outages_processor.models.common"})
    assert type_checking_imports(block) == {"OnError": "outages_processor.models.common"}
    assert type_checking_imports(block) != EXPORTS


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_every_public_name_resolves_to_its_module(name: str) -> None:
    """Each public name imports from the package and is the object its module defines."""
    value = getattr(outages_processor, name)
    assert value is getattr(importlib.import_module(EXPORTS[name]), name)


def test_the_surface_is_curated() -> None:
    """Internal formats and retired names are not exported; what notebooks need is."""
    assert not NOT_PUBLIC & set(outages_processor.__all__)
    assert NOTEBOOK_ESSENTIALS <= set(outages_processor.__all__)


def test_unknown_names_raise_attribute_error() -> None:
    """A name that is not public is an AttributeError, as for any module."""
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        getattr(outages_processor, "nothing_here")


def test_internal_formats_are_not_reachable_from_the_package() -> None:
    """``outages_processor.RecordBatch`` is an AttributeError: it is an internal format."""
    with pytest.raises(AttributeError, match="has no attribute 'RecordBatch'"):
        getattr(outages_processor, "RecordBatch")


def test_dir_lists_the_public_names() -> None:
    """``dir()`` shows the public names for completion in notebooks."""
    assert set(outages_processor.__all__) <= set(dir(outages_processor))


def test_errors_share_one_root() -> None:
    """Every exported error class derives from OutagesError."""
    errors = [n for n, module in EXPORTS.items() if module == "outages_processor.errors"]
    assert len(errors) == 19
    for name in errors:
        assert issubclass(getattr(outages_processor, name), outages_processor.OutagesError)


def test_importing_the_package_is_light() -> None:
    """``import outages_processor`` loads neither httpx nor sqlite3 until they are used."""
    code = (
        "import sys, outages_processor; "
        "print(sorted(m for m in ('httpx', 'sqlite3', 'backoff') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
