"""The defaults of the data rules, named once (standard library only, cheap to import).

The command line shows them in its help without loading the calculations themselves.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["DEFAULT_SINCE", "DEFAULT_TOLERANCE"]

DEFAULT_SINCE = datetime(2022, 1, 1, tzinfo=timezone.utc)
"""Outages that began before this instant are not reported (``2022-01-01T00:00:00.000Z``)."""

DEFAULT_TOLERANCE = timedelta(minutes=12)
"""Largest gap between consecutive reports of one event: the 10-minute cadence plus slack."""
