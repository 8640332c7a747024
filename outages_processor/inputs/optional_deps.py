"""Optional dependencies of the extra ``fast``: imported when used, or one clear error."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Final

from outages_processor.errors import InputDataError

__all__ = ["FAST_HINT", "one_line", "optional_module"]

FAST_HINT: Final = "pip install 'outages_processor[fast]'"
"""What to run when an optional dependency of the extra ``fast`` is missing."""


def optional_module(module: str, purpose: str, location: str) -> ModuleType:
    """Import an optional dependency of the extra ``fast``, or say how to install it.

    Raises:
        InputDataError: the module is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise InputDataError(
            f"{purpose} needs {module.split('.')[0]}, which is not installed: {FAST_HINT}",
            path=location,
        ) from err


def one_line(err: BaseException) -> str:
    """An exception's message on one line (the type's name when it has none)."""
    text = " ".join(str(err).split())
    return text or type(err).__name__
