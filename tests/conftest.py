"""Helpers every test folder shares."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# Planes started by tests serve no console unless a test asks for one (--http-listen), so that
# planes running at once never contend for the default console port.
os.environ["PARTITA_HTTP_LISTEN"] = "off"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def assert_eventually(
    probe: Callable[[], Awaitable[T]], *, within: float = 20.0, interval: float = 0.05
) -> T:
    """Call ``probe`` until it returns a truthy value (returned) or ``within`` seconds pass."""
    deadline = time.monotonic() + within
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {within}s (last value: {last!r})")
