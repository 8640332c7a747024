"""The retry policy: what is transient, how long to wait, when to give up."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Generator

import attrs

from outages_processor._time import parse_http_date_seconds
from outages_processor.settings import (
    DEFAULT_INITIAL_WAIT,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_MAX_RETRY_TIME,
    DEFAULT_MAX_WAIT,
    DEFAULT_TRIES,
)

__all__ = ["RetryPolicy", "parse_retry_after"]


@attrs.frozen
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and by total time.

    The wait before retry ``n`` (1-based) is drawn uniformly from
    ``[0, min(max_wait, initial_wait * 2 ** (n - 1))]``. When the answer carried a
    ``Retry-After`` header, that many seconds are waited instead (no jitter; capped at
    ``max_retry_after``). No retry starts after ``max_time`` seconds from the first attempt.

    Attributes:
        tries: attempts per request, the first included (``1`` disables retries).
        max_time: seconds after the first attempt past which no retry starts.
        initial_wait: seconds, the upper bound of the first wait.
        max_wait: seconds, the cap of any backoff wait.
        max_retry_after: seconds, the cap of a wait asked for by ``Retry-After``.
        seed: seeds the jitter, for reproducible runs; None draws from the OS.
    """

    tries: int = attrs.field(default=DEFAULT_TRIES, validator=attrs.validators.ge(1))
    max_time: float = attrs.field(
        default=DEFAULT_MAX_RETRY_TIME, validator=attrs.validators.gt(0)
    )
    initial_wait: float = attrs.field(
        default=DEFAULT_INITIAL_WAIT, validator=attrs.validators.ge(0)
    )
    max_wait: float = attrs.field(default=DEFAULT_MAX_WAIT, validator=attrs.validators.ge(0))
    max_retry_after: float = attrs.field(
        default=DEFAULT_MAX_RETRY_AFTER, validator=attrs.validators.ge(0)
    )
    seed: int | None = None

    def wait_generator(
        self, deadline: float | None = None
    ) -> Generator[float, BaseException | None, None]:
        """Yield the wait before each retry; receives the exception that caused it.

        It is the ``wait_gen`` handed to :func:`backoff.on_exception`, which sends each
        exception in, so a ``retry_after`` attribute on it overrides the backoff.

        Args:
            deadline: ``time.monotonic()`` seconds; each wait is cut short to end there.
                backoff's own ``max_time`` cap cannot do it: it measures the time spent
                when the failed attempt began, not when it failed.

        Yields:
            Seconds to wait (never negative).
        """
        rng = random.Random(self.seed)
        retry = 0
        error = yield 0.0  # primed by backoff with send(None)
        while True:
            retry_after = getattr(error, "retry_after", None)
            if retry_after is not None:
                wait = min(float(retry_after), self.max_retry_after)
            else:
                ceiling = min(self.max_wait, self.initial_wait * 2.0**retry)
                wait = rng.uniform(0.0, ceiling)
            if deadline is not None:
                wait = max(min(wait, deadline - time.monotonic()), 0.0)
            retry += 1
            error = yield wait


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Args:
        value: the header's value, or None when absent.
        now: the clock, in Unix seconds (injectable for tests).

    Returns:
        Seconds to wait (never negative), or None when absent or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parse_http_date_seconds(text)
    except ValueError:
        return None
    return max(0.0, when - now())
