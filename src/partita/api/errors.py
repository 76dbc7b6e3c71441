"""The translator that ends a gRPC call with the status a domain error maps to.

The table from error to status lives in ``partita.wire.status``, shared with the console.
"""

from __future__ import annotations

from typing import Any, NoReturn, TypeAlias

import grpc
from grpc_status import rpc_status

from partita.errors import InvalidInputError, PartitaError, UnavailableError
from partita.wire.status import STATUS_OF, status_for

__all__ = ["STATUS_OF", "Ctx", "abort", "error_from", "status_for"]

Ctx: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


async def abort(context: Ctx, exc: BaseException) -> NoReturn:
    """End the call with the status that ``exc`` maps to."""
    code, message, status = status_for(exc)
    if status.details:
        await context.abort_with_status(rpc_status.to_status(status))  # type: ignore[attr-defined]
    await context.abort(code, message)
    raise AssertionError("unreachable")


def error_from(code: grpc.StatusCode, message: str) -> PartitaError:
    """The domain error a peer plane's status stands for (the inverse of ``STATUS_OF``)."""
    for cls, status in STATUS_OF.items():
        if status == code and cls is not PartitaError:
            if cls is InvalidInputError:
                return InvalidInputError(message)
            return cls(message)
    if code in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
        return UnavailableError(f"a replica did not answer in time: {message}")
    return PartitaError(message)
