"""One table from domain error to gRPC status, and the translator that applies it."""

from __future__ import annotations

import logging
from typing import Any, NoReturn, TypeAlias

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from partita.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    LimitExceededError,
    NotFoundError,
    PartitaError,
    PermissionDeniedError,
    PreconditionError,
    UnauthenticatedError,
    UnavailableError,
)

Ctx: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"

log = logging.getLogger("partita.api")

STATUS_OF: dict[type[PartitaError], grpc.StatusCode] = {
    PartitaError: grpc.StatusCode.UNKNOWN,
    InvalidInputError: grpc.StatusCode.INVALID_ARGUMENT,
    NotFoundError: grpc.StatusCode.NOT_FOUND,
    AlreadyExistsError: grpc.StatusCode.ALREADY_EXISTS,
    PreconditionError: grpc.StatusCode.FAILED_PRECONDITION,
    ConflictError: grpc.StatusCode.ABORTED,
    LimitExceededError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    UnavailableError: grpc.StatusCode.UNAVAILABLE,
    UnauthenticatedError: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDeniedError: grpc.StatusCode.PERMISSION_DENIED,
}
"""Every PartitaError subclass and the status code a client sees for it."""


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str, status_pb2.Status]:
    """The code, message and rich status (with BadRequest details) for an exception."""
    if isinstance(exc, PartitaError):
        code = next(
            (STATUS_OF[cls] for cls in type(exc).__mro__ if cls in STATUS_OF),
            grpc.StatusCode.UNKNOWN,
        )
        message = exc.message
    else:
        log.error("internal error", exc_info=exc)
        code, message = grpc.StatusCode.INTERNAL, "internal error (see the plane's log)"
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message)
    if isinstance(exc, InvalidInputError):
        detail = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in exc.violations
            ]
        )
        status.details.add().Pack(detail)
    return code, message, status


async def abort(context: Ctx, exc: BaseException) -> NoReturn:
    """End the call with the status that ``exc`` maps to."""
    code, message, status = status_for(exc)
    if status.details:
        await context.abort_with_status(rpc_status.to_status(status))  # type: ignore[attr-defined]
    await context.abort(code, message)
    raise AssertionError("unreachable")
