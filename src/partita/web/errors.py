"""Errors of the JSON API: the gRPC status a domain error maps to, carried over HTTP.

The body is the ``google.rpc.Status`` the gRPC API sends (code, message and the
``BadRequest`` field violations), in protobuf's JSON mapping; the HTTP status is the one
the gRPC code corresponds to (the mapping gRPC's HTTP gateways use).
"""

from __future__ import annotations

import grpc
from aiohttp import web
from google.protobuf import json_format

from partita.wire.status import status_for

HTTP_STATUS: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNKNOWN: 500,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.INTERNAL: 500,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DATA_LOSS: 500,
    grpc.StatusCode.UNAUTHENTICATED: 401,
}
"""Every gRPC status code and the HTTP status the JSON API answers with."""


def status_json(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and the JSON body (a ``google.rpc.Status``) for an exception."""
    code, _, status = status_for(exc)
    return HTTP_STATUS[code], json_format.MessageToJson(status, indent=None)


def error_response(exc: BaseException) -> web.Response:
    http_status, body = status_json(exc)
    return web.Response(status=http_status, text=body, content_type="application/json")
