"""Poll times with their status in the sign: one double per poll, one array per store.

A store's polls travel between the readers and the workers as one array of doubles, active
and inactive alike: ``+(t - ORIGIN)`` for an active poll at ``t`` and ``-(t - ORIGIN)`` for
an inactive one, ``t`` in seconds since the Unix epoch. :data:`ORIGIN` lies two days before
the first instant a :class:`~datetime.datetime` can hold, so every magnitude is positive
whatever the sign of ``t``: a poll before 1970 keeps its status, and no poll is ever ``0.0``
(whose sign a sort would lose). This module is the one home of that encoding: what encodes
here decodes here.

The shift costs precision: a poll in 2023 comes back within 4 microseconds of its time
(half a unit in the last place at 6.4e10 seconds), one near the year 9999 within 16.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from itertools import repeat
from operator import mul, sub
from typing import Final

__all__ = ["ORIGIN", "all_active", "decode", "encode", "encode_many"]

ORIGIN: Final = datetime.min.replace(tzinfo=timezone.utc).timestamp() - 2 * 86_400.0
"""The instant the magnitudes count from (seconds since the Unix epoch): 0001-01-01 less
two days, before any instant a datetime can hold, so ``t - ORIGIN > 0`` for every poll."""


def encode(active: bool, instant: float) -> float:
    """One poll as a signed number.

    Args:
        active: the poll's status is ``active``.
        instant: its time, seconds since the Unix epoch (any sign).

    Returns:
        ``instant - ORIGIN``, negated for an inactive poll; never zero.
    """
    shifted = instant - ORIGIN
    return shifted if active else -shifted


def encode_many(seconds: Iterable[float], signs: Iterable[float]) -> Iterator[float]:
    """Many polls as signed numbers, with C-level passes only (no Python code per poll).

    Args:
        seconds: the polls' times, seconds since the Unix epoch.
        signs: ``1.0`` for each active poll, ``-1.0`` for each inactive one.

    Returns:
        The same numbers as :func:`encode` gives, lazily.
    """
    return map(mul, map(sub, seconds, repeat(ORIGIN)), signs)


def all_active(signed: Iterable[float]) -> bool:
    """True when every poll of a (non-empty) store's signed times is active."""
    return min(signed) > 0.0


def decode(signed: Iterable[float]) -> tuple[list[float], list[float]]:
    """Split one store's signed poll times into sorted active and inactive times.

    Args:
        signed: numbers from :func:`encode` or :func:`encode_many`, in any order.

    Returns:
        ``(active, inactive)``: seconds since the Unix epoch, each sorted ascending.
    """
    ordered = sorted(signed)
    # Inactive polls are the negative numbers, the most recent first once sorted.
    split = bisect_left(ordered, 0.0)
    inactive = list(map(ORIGIN.__sub__, reversed(ordered[:split])))
    active = list(map(ORIGIN.__add__, ordered[split:]))
    return active, inactive
