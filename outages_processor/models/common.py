"""What every job shares: the bad-row policy, a rejected row, and progress reports.

One definition each, imported by the uptime report, the event ingest and the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal, TypeAlias, get_args

import attrs

__all__ = [
    "ENGINES",
    "ON_ERROR_CHOICES",
    "Engine",
    "OnError",
    "ProgressCallback",
    "Reject",
    "check_on_error",
]

OnError: TypeAlias = Literal["fail", "skip"]
"""What to do with a bad input row: ``"fail"`` stops at the first one (an
:class:`~outages_processor.errors.InputDataError` naming its file and line); ``"skip"``
leaves it out and lists it among the result's rejects."""

ON_ERROR_CHOICES: tuple[OnError, ...] = get_args(OnError)

Engine: TypeAlias = Literal["auto", "python", "columnar"]
"""How the uptime report reads a status file: ``"python"``, the pure readers;
``"columnar"``, pyarrow and numpy (the ``fast`` extra); ``"auto"``, columnar when installed
(and the file is large enough to repay importing them)."""

ENGINES: tuple[Engine, ...] = get_args(Engine)

ProgressCallback: TypeAlias = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)`` while a job advances: ``stage`` names the
part of the work (``"reading"``, ``"computing"``, ``"storing"``, ``"writing"``), ``done`` and
``total`` count its units (bytes, stores, records or rows; ``total`` is 0 when unknown)."""


def check_on_error(value: str) -> OnError:
    """Return ``value`` as an :data:`OnError`.

    Raises:
        ValueError: it is not one of :data:`ON_ERROR_CHOICES`.
    """
    if value not in ON_ERROR_CHOICES:
        raise ValueError(f"'on_error' must be in {ON_ERROR_CHOICES}, not {value!r}")
    return value


@attrs.frozen
class Reject:
    """An input row or record left out because it is not valid (``on_error="skip"``).

    Attributes:
        path: the file it came from (``"-"`` for standard input, ``"<memory>"`` for
            Python values).
        line: its 1-based line number (where a record spans lines, the first), or None
            when unknown.
        reason: what is wrong with it.
        row: the row or record as written in the input (without its line break).
    """

    COLUMNS: ClassVar[tuple[str, ...]] = ("file", "line", "reason", "row")
    """The header of a rejects CSV file; :meth:`csv_values` gives a row in this order."""

    path: str
    line: int | None
    reason: str
    row: str

    def location(self) -> str:
        """Return ``path:line`` (the path alone when the line is unknown)."""
        return self.path if self.line is None else f"{self.path}:{self.line}"

    def csv_values(self) -> list[str]:
        """Return the reject as a rejects CSV row (see :attr:`COLUMNS`)."""
        return [self.path, "" if self.line is None else str(self.line), self.reason, self.row]

    def to_dict(self) -> dict[str, str | int | None]:
        """Return the reject as JSON-ready values, keyed as the rejects CSV header."""
        return {"file": self.path, "line": self.line, "reason": self.reason, "row": self.row}
