"""The console's JSON API answers every error with the HTTP status of its gRPC code."""

from __future__ import annotations

import json

import grpc

from partita.errors import InvalidInputError, NotFoundError
from partita.web.errors import HTTP_STATUS, status_json
from partita.wire.status import STATUS_OF


def test_every_grpc_code_has_an_http_status() -> None:
    assert set(HTTP_STATUS) == set(grpc.StatusCode)
    assert set(STATUS_OF.values()) <= set(HTTP_STATUS)


def test_the_body_is_the_grpc_status_with_the_field_named() -> None:
    status, body = status_json(InvalidInputError.field("statuses", "'X' is not a status"))
    assert status == 400
    data = json.loads(body)
    assert data["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert data["message"] == "statuses: 'X' is not a status"
    assert data["details"][0]["fieldViolations"] == [
        {"field": "statuses", "description": "'X' is not a status"}
    ]
    assert status_json(NotFoundError("no activation 'a'"))[0] == 404


def test_an_unexpected_error_hides_its_detail() -> None:
    status, body = status_json(RuntimeError("secret detail"))
    assert status == 500 and "secret" not in body
