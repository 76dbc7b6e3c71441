"""The site link's messages: protobuf <-> the JSON the dispatch rows hold, in one place."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format, struct_pb2

from partita.store import DispatchRow
from partita.v1 import common_pb2
from partita.v1 import federation_pb2 as F


def struct(value: dict[str, Any] | None) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    if value:
        message.update(value)
    return message


def to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as JSON data; whole floats become ints (JSON has one number type)."""
    value: dict[str, Any] = _ints(json_format.MessageToDict(message))
    return value


def dispatch(row: DispatchRow) -> F.Dispatch:
    """The Dispatch message of a hub's outbox row."""
    data = json.loads(row.message)
    message = F.Dispatch(
        dispatch_id=row.dispatch_id,
        namespace=row.namespace,
        campaign=data.get("campaign", ""),
        version=int(data.get("version") or 0),
        stage=struct(data.get("stage")),
        inputs=struct(data.get("inputs")),
        headers=data.get("headers") or {},
    )
    if data.get("deadline") is not None:
        message.deadline.FromNanoseconds(int(data["deadline"] * 1e9))
    return message


def dispatch_dict(message: F.Dispatch) -> dict[str, Any]:
    """A received Dispatch as the JSON a site's inbox row holds."""
    return {
        "dispatchId": message.dispatch_id,
        "namespace": message.namespace,
        "campaign": message.campaign,
        "version": message.version,
        "stage": to_dict(message.stage),
        "inputs": to_dict(message.inputs),
        "headers": dict(message.headers),
        "deadline": message.deadline.ToNanoseconds() / 1e9
        if message.HasField("deadline")
        else None,
    }


def outgoing(row: DispatchRow) -> F.ConnectResponse:
    """What a hub sends for an open outbox row: the dispatch, or a cancel once asked."""
    if row.cancel:
        how = "terminated" if row.cancel == "terminate" else "cancelled"
        return F.ConnectResponse(
            cancel_dispatch=F.CancelDispatch(
                dispatch_id=row.dispatch_id,
                reason=f"the hub's stage run was {how}",
                terminate=row.cancel == "terminate",
            )
        )
    return F.ConnectResponse(dispatch=dispatch(row))


def result(row: DispatchRow) -> F.ConnectRequest:
    """What a site sends for a CLOSED inbox row: its result."""
    data = json.loads(row.result)
    message = F.DispatchResult(
        dispatch_id=row.dispatch_id,
        status=common_pb2.ActivationStatus.Value(f"ACTIVATION_STATUS_{data['status']}"),  # type: ignore[arg-type]
    )
    if "outputs" in data:
        message.outputs.CopyFrom(struct(data["outputs"]))
    failure = data.get("failure")
    if failure:
        message.failure.CopyFrom(
            common_pb2.Failure(
                type=str(failure.get("type", "")),
                message=str(failure.get("message", "")),
                details=struct(failure.get("details")),
                non_retryable=bool(failure.get("nonRetryable", False)),
            )
        )
    return F.ConnectRequest(dispatch_result=message)


def result_dict(message: F.DispatchResult) -> dict[str, Any]:
    """A received DispatchResult as ``{status, outputs}`` or ``{status, failure}``."""
    status = common_pb2.ActivationStatus.Name(message.status).removeprefix("ACTIVATION_STATUS_")
    out: dict[str, Any] = {"status": status}
    if status == "COMPLETED":
        out["outputs"] = to_dict(message.outputs)
    else:
        failure: dict[str, Any] = {"type": message.failure.type, "message": message.failure.message}
        if message.failure.details.fields:
            failure["details"] = to_dict(message.failure.details)
        out["failure"] = failure
    return out


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value
