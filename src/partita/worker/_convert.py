"""Protobuf <-> Python for the SDK: inputs, outputs, failures and task info."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from google.protobuf import json_format, struct_pb2

from partita.v1 import common_pb2, worker_pb2
from partita.worker._context import TaskInfo
from partita.worker._errors import NonRetryableError


def plain(value: Any) -> Any:
    """JSON data with whole floats as ints, recursively: Struct numbers are all doubles."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as a dict; whole numbers come out as ints (``3``, not ``3.0``)."""
    value = plain(json_format.MessageToDict(struct))
    return value if isinstance(value, dict) else {}


def outputs(result: Any) -> struct_pb2.Struct:
    """A handler's return value as outputs: a mapping as is, None as ``{}``, anything else
    as ``{"result": value}``. Raises TypeError or ValueError when it is not JSON data."""
    if result is None:
        result = {}
    elif not isinstance(result, Mapping):
        result = {"result": result}
    struct = struct_pb2.Struct()
    struct.update(result)
    return struct


def failure(
    type: str, message: str, details: Mapping[str, Any] | None = None, *, non_retryable: bool
) -> common_pb2.Failure:
    found = common_pb2.Failure(type=type, message=message, non_retryable=non_retryable)
    if details:
        try:
            found.details.update(details)
        except (TypeError, ValueError):
            found.details.update({"repr": repr(dict(details))})
    return found


def failure_of(exc: BaseException) -> common_pb2.Failure:
    """What a handler's exception reports: NonRetryableError is not retried, anything else is,
    typed by its class name, with the traceback in ``details`` unless given."""
    trace = {"traceback": "".join(traceback.format_exception(exc))}
    if isinstance(exc, NonRetryableError):
        details = exc.details if exc.details is not None else trace
        return failure(exc.type, exc.message, details, non_retryable=True)
    return failure(type(exc).__name__, str(exc), trace, non_retryable=False)


def task_info(task: worker_pb2.StageTask) -> TaskInfo:
    def moment(field: str) -> Any:
        if not task.HasField(field):
            return None
        return getattr(task, field).ToDatetime(tzinfo=UTC)

    heartbeat = task.heartbeat_timeout.ToTimedelta() if task.HasField("heartbeat_timeout") else None
    return TaskInfo(
        namespace=task.namespace,
        task_queue=task.task_queue,
        task_type=task.task_type,
        activation_id=task.activation_id,
        campaign=task.campaign,
        stage=task.stage,
        attempt=task.attempt,
        headers=dict(task.headers),
        start_to_close_deadline=moment("start_to_close_deadline"),
        schedule_to_close_deadline=moment("schedule_to_close_deadline"),
        heartbeat_timeout=heartbeat if heartbeat else None,
    )
