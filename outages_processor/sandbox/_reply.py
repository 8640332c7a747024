"""An HTTP answer of the sandbox, built without any socket so it can be tested alone."""

from __future__ import annotations

import json

import attrs

__all__ = ["Reply", "json_reply", "message_reply"]


@attrs.frozen
class Reply:
    """One HTTP answer.

    Attributes:
        status: the HTTP status code.
        body: the encoded body.
        content_type: the ``Content-Type`` header.
        headers: extra ``(name, value)`` headers, such as ``Retry-After``.
        close: True to close the connection after answering.
    """

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False


def json_reply(
    status: int,
    payload: object,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    close: bool = False,
) -> Reply:
    """Build a JSON answer.

    Args:
        status: the HTTP status code.
        payload: any JSON-serialisable value.
        headers: extra ``(name, value)`` headers.
        close: True to close the connection after answering.

    Returns:
        The answer with ``Content-Type: application/json``.
    """
    return Reply(status, json.dumps(payload).encode(), headers=headers, close=close)


def message_reply(
    status: int,
    message: str,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    close: bool = False,
) -> Reply:
    """Build an answer in the API's error shape, ``{"message": message}``.

    Args:
        status: the HTTP status code.
        message: the text of the ``message`` field.
        headers: extra ``(name, value)`` headers.
        close: True to close the connection after answering.

    Returns:
        The JSON answer.
    """
    return json_reply(status, {"message": message}, headers=headers, close=close)
