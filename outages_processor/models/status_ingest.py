"""What loading a status store did: :class:`PollIngest` (polls) and :class:`StoreIngest`."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from outages_processor.models.common import Reject
from outages_processor.models.rejects import Rejects

__all__ = ["PollIngest", "StoreIngest"]


def _rejects(items: Iterable[Reject]) -> Rejects:
    return items if isinstance(items, Rejects) else Rejects(items)


@attrs.frozen
class PollIngest:
    """What one ingest of polls did to a status store.

    Attributes:
        received: the valid polls given (``new + duplicates``).
        new: the polls stored by this ingest (a store and instant not stored before).
        duplicates: the polls already stored, or given twice. One at an instant stored
            as active that says inactive turns it inactive (inactive wins) and counts here.
        rejects: the invalid input rows that were skipped (``on_error="skip"`` only).
    """

    received: int = 0
    new: int = 0
    duplicates: int = 0
    rejects: Rejects = attrs.field(factory=Rejects, converter=_rejects)

    def to_dict(self) -> dict[str, int]:
        """Return the counts as a plain dict (JSON-ready), without the rejects themselves.

        Returns:
            ``{received, new, duplicates, skipped}``.
        """
        return {
            "received": self.received,
            "new": self.new,
            "duplicates": self.duplicates,
            "skipped": len(self.rejects),
        }


@attrs.frozen
class StoreIngest:
    """What one load of a status store from up to three inputs did (one transaction).

    Attributes:
        polls: what the polls did (all zero when no status input was given).
        hours: the business hours rows now stored, or None when they were left as they were.
        timezones: the time zones now stored, or None when they were left as they were.
        rejects: every input row skipped (``on_error="skip"`` only), status rows first.
    """

    polls: PollIngest = PollIngest()
    hours: int | None = None
    timezones: int | None = None
    rejects: Rejects = attrs.field(factory=Rejects, converter=_rejects)

    def to_dict(self) -> dict[str, int | None]:
        """Return the counts as a plain dict (JSON-ready), without the rejects themselves.

        Returns:
            ``{polls_received, polls_new, polls_duplicate, hours, timezones, skipped}``.
        """
        return {
            "polls_received": self.polls.received,
            "polls_new": self.polls.new,
            "polls_duplicate": self.polls.duplicates,
            "hours": self.hours,
            "timezones": self.timezones,
            "skipped": len(self.rejects),
        }
