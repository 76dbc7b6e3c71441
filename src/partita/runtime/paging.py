"""Page tokens of the List RPCs: opaque to clients, checked before they reach the store."""

from __future__ import annotations

import json
from typing import Any

from partita.errors import InvalidInputError
from partita.store import Page

MAX_PAGE = 1000
"""Most items in one page."""


def page_of(size: int, token: str, shape: tuple[type | tuple[type, ...], ...]) -> Page:
    """A page request; ``shape`` holds the types of the key in this list's tokens."""
    if size < 0:
        raise InvalidInputError.field("page_size", "must not be negative")
    size = min(size or 100, MAX_PAGE)
    if not token:
        return Page(size=size)
    try:
        after = json.loads(bytes.fromhex(token).decode())
    except ValueError:
        after = None
    # A forged or foreign token must not reach the store, where it would fail as INTERNAL.
    if not (
        isinstance(after, list)
        and len(after) == len(shape)
        and all(
            isinstance(v, kind) and not isinstance(v, bool)
            for v, kind in zip(after, shape, strict=True)
        )
    ):
        raise InvalidInputError.field("page_token", "is not a token this plane gave out")
    return Page(size=size, after=tuple(after))


def token_of(after: tuple[Any, ...]) -> str:
    return json.dumps(list(after)).encode().hex()
