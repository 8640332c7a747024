"""The rejects of a job as one value: rows for a notebook, a one-line repr."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from outages_processor.models._frames import RowsMixin
from outages_processor.models.common import Reject

__all__ = ["Rejects"]


class Rejects(RowsMixin, tuple[Reject, ...]):
    """The input rows or records a job skipped (``on_error="skip"``), in input order.

    A tuple of :class:`~outages_processor.models.common.Reject`, with ``to_dicts()``,
    ``to_pandas()`` (columns ``file, line, reason, row``) and a notebook preview.
    """

    __slots__ = ()

    COLUMNS: ClassVar[tuple[str, ...]] = Reject.COLUMNS
    NULLABLE_INT_COLUMNS: ClassVar[tuple[str, ...]] = ("line",)

    def __new__(cls, items: Iterable[Reject] = ()) -> Rejects:
        return super().__new__(cls, items)

    def __repr__(self) -> str:
        if not self:
            return "Rejects(0 rejects)"
        first = self[0]
        noun = "reject" if len(self) == 1 else "rejects"
        return f"Rejects({len(self)} {noun}, first {first.location()}: {_short(first.reason)})"


def _short(text: str, limit: int = 80) -> str:
    """One line of at most ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
