"""The SDK's exceptions.

Exception
 ├── NonRetryableError   raised by a handler: the attempt fails and is not retried
 └── WorkerError         the worker cannot go on: the plane refuses its polls
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class NonRetryableError(Exception):
    """Raise from a handler to fail its stage task for good, whatever the retry policy says.

    ``type`` is the failure's type (default: the exception's class name), which the
    activation's stage run shows; ``details`` is a JSON object sent with it (default: the
    traceback).
    """

    def __init__(
        self, message: str, *, type: str | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.type = type or self.__class__.__name__
        self.details = dict(details) if details is not None else None


class WorkerError(Exception):
    """The worker stopped because the plane refused to serve it (e.g. UNIMPLEMENTED,
    PERMISSION_DENIED, INVALID_ARGUMENT on a poll): retrying would not help."""
