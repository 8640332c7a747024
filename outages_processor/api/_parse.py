"""Turning decoded JSON into models, with one clear error for any shape problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from outages_processor.errors import InvalidResponseError

__all__ = ["parse_items", "parse_object"]

T = TypeVar("T")

_SHAPE_ERRORS = (KeyError, TypeError, ValueError)


def _explain(err: Exception) -> str:
    if isinstance(err, KeyError):
        return f"missing field {err.args[0]!r}"
    return str(err)


def parse_items(body: Any, build: Callable[[Any], T], *, endpoint: str, what: str) -> list[T]:
    """Build one model per item of a JSON list.

    Args:
        body: the decoded JSON body.
        build: a named constructor such as ``Outage.from_json``.
        endpoint: the request, for the error message.
        what: the item's name, for the error message.

    Raises:
        InvalidResponseError: the body is not a list, or an item does not fit.
    """
    if not isinstance(body, list):
        raise InvalidResponseError(
            f"{endpoint}: expected a JSON list of {what}s, got {type(body).__name__}",
            endpoint=endpoint,
        )
    try:
        return [build(item) for item in body]
    except _SHAPE_ERRORS:
        pass
    # Slow path, only on failure: find the first bad item to name it.
    for index, item in enumerate(body):
        try:
            build(item)
        except _SHAPE_ERRORS as err:
            raise InvalidResponseError(
                f"{endpoint}: {what} #{index} is not valid: {_explain(err)}",
                endpoint=endpoint,
            ) from err
    raise AssertionError("unreachable: a build failed once and then never")


def parse_object(body: Any, build: Callable[[Any], T], *, endpoint: str, what: str) -> T:
    """Build one model from a JSON object.

    Raises:
        InvalidResponseError: the body does not fit.
    """
    try:
        return build(body)
    except _SHAPE_ERRORS as err:
        raise InvalidResponseError(
            f"{endpoint}: the {what} is not valid: {_explain(err)}", endpoint=endpoint
        ) from err
