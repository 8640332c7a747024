"""Value objects shared by every layer: frozen attrs classes built by named constructors.

One module per job keeps each small; everything is re-exported here.
"""

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
