"""Every domain error has a status code, and the translator keeps field violations."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2

from partita import errors
from partita.api.errors import STATUS_OF, status_for
from partita.errors import FieldViolation, InvalidInputError, PartitaError


def _subclasses(cls: type[PartitaError]) -> set[type[PartitaError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_error_is_in_the_table() -> None:
    defined = {
        v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, PartitaError)
    }
    assert defined == _subclasses(PartitaError) | {PartitaError}
    assert defined <= set(STATUS_OF)


def test_invalid_input_carries_bad_request_details() -> None:
    code, message, status = status_for(
        InvalidInputError([FieldViolation("spec.firstStage", "'x' names no stage")])
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert message == "spec.firstStage: 'x' names no stage"
    detail = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(detail)
    assert detail.field_violations[0].field == "spec.firstStage"


def test_unknown_errors_become_internal_without_leaking_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    code, message, _ = status_for(RuntimeError("secret detail"))
    assert code is grpc.StatusCode.INTERNAL
    assert "secret" not in message
