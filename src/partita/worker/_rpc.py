"""Calls to WorkerService: which failures are worth retrying, and jittered backoff."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any

import grpc

logger = logging.getLogger("partita.worker")

CHANNEL_OPTIONS = (
    # Reconnect soon after the plane comes back, rather than after grpc's default backoff
    # (up to two minutes).
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 5000),
    # A task's inputs may be up to the plane's payload limit (4 MiB by default) as JSON.
    ("grpc.max_receive_message_length", 64 << 20),
)
POLL_TIMEOUT = 90.0
"""Deadline of a poll: longer than the plane's long-poll bound (at most 60 s)."""
CALL_TIMEOUT = 10.0
"""Deadline of a report or a heartbeat."""
REPORT_ATTEMPTS = 5
"""Tries of a complete or fail call while the plane is unreachable."""

FATAL = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
    }
)
"""Poll failures that retrying will not cure: the worker stops."""
TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)
"""Report failures worth another try (a duplicate report is acknowledged and ignored)."""


def backoff(failures: int, *, initial: float = 0.1, maximum: float = 5.0) -> float:
    """Seconds to wait after ``failures`` failures in a row: doubling from ``initial`` up to
    ``maximum``, jittered down by up to half so that restarted workers spread out."""
    ceiling = min(maximum, initial * 2 ** max(failures - 1, 0))
    return random.uniform(ceiling / 2, ceiling)


def describe(error: grpc.RpcError) -> str:
    code = error.code() if callable(getattr(error, "code", None)) else None
    details = error.details() if callable(getattr(error, "details", None)) else ""
    name = code.name if code is not None else "UNKNOWN"
    return f"{name}: {details}" if details else name


async def report(
    method: Callable[..., Any], request: Any, what: str, *, attempts: int
) -> tuple[Any, grpc.aio.AioRpcError | None]:
    """Send a report, retrying transient failures: (the answer, None) when it got through,
    else (None, the last error, logged).

    A report that never arrives is not lost work: the task's lease expires and the plane
    retries the attempt per the stage's retry policy.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await method(request, timeout=CALL_TIMEOUT), None
        except grpc.aio.AioRpcError as error:
            if error.code() not in TRANSIENT or attempt == attempts:
                logger.warning("could not report %s: %s", what, describe(error))
                return None, error
            logger.debug("reporting %s failed (%s); retrying", what, describe(error))
            await asyncio.sleep(backoff(attempt, maximum=2.0))
    return None, None
