"""One table from domain error to gRPC status, and the function that applies it.

The gRPC servicers abort with it (``partita.api.errors``); the console's JSON API answers
with the HTTP status of the same code and the same message (``partita.web.errors``).
"""

from __future__ import annotations

import logging

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2

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
    if isinstance(exc, InvalidInputError | LimitExceededError) and exc.violations:
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
