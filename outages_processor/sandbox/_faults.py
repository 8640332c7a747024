"""Faults the sandbox injects on request, drawn reproducibly from a seed."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from typing import TypeGuard

import attrs

from outages_processor.sandbox._reply import Reply, message_reply

__all__ = ["FAULT_KINDS", "FaultDraw", "Faults", "fault_reply"]

FAULT_KINDS: tuple[str, ...] = ("500", "502", "503", "drop", "429")
"""Every fault the sandbox can inject:

- ``"500"``: 500 with a JSON body, as the API's own occasional errors;
- ``"502"``: 502 with an HTML body, as a CDN in front of the API answers;
- ``"503"``: 503 with a JSON body;
- ``"drop"``: the connection is closed without any answer;
- ``"429"``: 429 with a ``Retry-After: 1`` header (seconds).
"""

_BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
    b"<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _to_kinds(value: str | Iterable[object]) -> tuple[str, ...]:
    """Accept ``"500,drop"`` as well as ``("500", "drop")``."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(str(item).strip() for item in items)


def _check_rate(_instance: object, _attribute: object, value: float) -> None:
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"fault rate must be a number between 0 and 1, got {value!r}")


def _check_seed(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise ValueError(f"fault seed must be an integer or None, got {value!r}")


def _check_kinds(_instance: object, _attribute: object, value: tuple[str, ...]) -> None:
    known = ", ".join(FAULT_KINDS)
    if not value:
        raise ValueError(f"fault kinds must name at least one of {known}")
    for kind in value:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}: choose from {known}")


def _check_latency(_instance: object, _attribute: object, value: float) -> None:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"latency must be a finite number of seconds >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class Faults:
    """Which faults the sandbox injects, and how often.

    Each request first waits ``latency`` seconds; then, with probability ``rate``, it gets
    a fault of one of ``kinds`` (chosen uniformly; a kind listed twice is drawn twice as
    often) instead of its normal answer. With a ``seed`` the sequence of faults, in the
    order requests arrive, is the same on every run.

    Attributes:
        rate: probability, from 0 to 1, that a request gets a fault. 0 (the default)
            injects none.
        seed: seed of the random draws, or None for different draws on each run.
        kinds: names from :data:`FAULT_KINDS`; a string ``"500,drop"`` is accepted too.
        latency: seconds added to every request, faulty or not.

    Raises:
        ValueError: ``rate`` is not in [0, 1], ``seed`` is not an integer, ``kinds`` is
            empty or names an unknown fault, or ``latency`` is negative or not finite.
    """

    rate: float = attrs.field(default=0.0, validator=_check_rate)
    seed: int | None = attrs.field(default=None, validator=_check_seed)
    kinds: tuple[str, ...] = attrs.field(
        default=FAULT_KINDS, converter=_to_kinds, validator=_check_kinds
    )
    latency: float = attrs.field(default=0.0, validator=_check_latency)


class FaultDraw:
    """The sequence of faults of one sandbox run.

    Not thread safe: the caller serialises calls to :meth:`next_fault`.
    """

    def __init__(self, faults: Faults) -> None:
        """Start the sequence from ``faults.seed``.

        Args:
            faults: the settings to draw from.
        """
        self.faults = faults
        # Not for security: a seeded generator is the point (reproducible runs).
        self._random = random.Random(faults.seed)

    def next_fault(self) -> str | None:
        """Draw the fault of the next request.

        Returns:
            A name from :data:`FAULT_KINDS`, or None when the request is answered normally.
        """
        # Two draws every time, so that the sequence depends only on the seed.
        roll = self._random.random()
        kind = self._random.choice(self.faults.kinds)
        return kind if roll < self.faults.rate else None


_FAULT_REPLIES: dict[str, Reply | None] = {
    "500": message_reply(500, "Internal server error"),
    "502": Reply(502, _BAD_GATEWAY_HTML, content_type="text/html; charset=utf-8"),
    "503": message_reply(503, "Service Unavailable"),
    "drop": None,
    "429": message_reply(
        429, "You have exceeded your limit for your API key", headers=(("Retry-After", "1"),)
    ),
}


def fault_reply(kind: str) -> Reply | None:
    """The answer of an injected fault.

    Args:
        kind: a name from :data:`FAULT_KINDS`.

    Returns:
        The answer to send, or None for ``"drop"`` (close without answering).

    Raises:
        KeyError: ``kind`` is not a known fault.
    """
    return _FAULT_REPLIES[kind]
