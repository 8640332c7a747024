"""Value objects shared by every layer: frozen attrs classes built by named constructors.

One module per job keeps each small; the site job's models are re-exported here, loaded on
first use so that importing one small module of the package (``models.common``) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from outages_processor.models.outages import (
        Device,
        EnhancedOutage,
        Outage,
        SiteInfo,
        SiteResult,
        SiteResults,
    )

__all__ = [
    "Device",
    "EnhancedOutage",
    "Outage",
    "SiteInfo",
    "SiteResult",
    "SiteResults",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'outages_processor.models' has no attribute {name!r}")
    value = getattr(importlib.import_module("outages_processor.models.outages"), name)
    globals()[name] = value
    return value
