"""The domain's one error vocabulary.

Every error the plane reports to a client is a :class:`PartitaError`. The API layer
maps each subclass to one gRPC status code in one table (``partita.wire.status``)::

    PartitaError
    ├── InvalidInputError     bad request data; carries field violations
    ├── NotFoundError         no such campaign, activation, ...
    ├── AlreadyExistsError    an id is taken by something else
    ├── PreconditionError     the thing exists but is in the wrong state
    ├── ConflictError         a concurrent change won; retry the request
    ├── LimitExceededError    a size or count limit would be passed
    ├── UnauthenticatedError  the caller has no (usable) credentials
    ├── PermissionDeniedError the caller is known but may not do this
    └── UnavailableError      the plane is shutting down
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One problem with one field of a request or document."""

    field: str
    """Dotted path of the field, e.g. ``spec.stages.build.stageSelector``."""
    description: str
    """What is wrong with it, in one sentence."""

    def __str__(self) -> str:
        return f"{self.field}: {self.description}" if self.field else self.description


class PartitaError(Exception):
    """Base of every error the plane reports to its clients."""

    default_message = "request failed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self.args[0])


class InvalidInputError(PartitaError):
    """The request or document is malformed; ``violations`` name each field."""

    default_message = "invalid input"

    def __init__(self, violations: list[FieldViolation] | FieldViolation | str) -> None:
        if isinstance(violations, str):
            violations = [FieldViolation("", violations)]
        elif isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations: list[FieldViolation] = violations
        super().__init__("; ".join(str(v) for v in violations) or self.default_message)

    @classmethod
    def field(cls, field: str, description: str) -> InvalidInputError:
        return cls([FieldViolation(field, description)])


class NotFoundError(PartitaError):
    default_message = "not found"


class AlreadyExistsError(PartitaError):
    default_message = "already exists"


class PreconditionError(PartitaError):
    default_message = "not allowed in the current state"


class ConflictError(PartitaError):
    default_message = "a concurrent change won; retry"


class LimitExceededError(PartitaError):
    """A limit would be passed; ``violations`` name the field when one field is too large."""

    default_message = "limit exceeded"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message)
        self.violations: list[FieldViolation] = []

    @classmethod
    def field(cls, field: str, description: str) -> LimitExceededError:
        error = cls(str(FieldViolation(field, description)))
        error.violations = [FieldViolation(field, description)]
        return error


class UnauthenticatedError(PartitaError):
    default_message = "no usable credentials"


class PermissionDeniedError(PartitaError):
    default_message = "permission denied"


class UnavailableError(PartitaError):
    default_message = "the plane is shutting down"
