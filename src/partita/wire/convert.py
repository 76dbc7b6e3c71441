"""Protobuf <-> domain conversion, in one place (round-trip tested)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2

from partita.engine import ActivationState, Event, StageRun
from partita.errors import InvalidInputError
from partita.model.campaign import Campaign
from partita.runtime.sites import SiteInfo
from partita.v1 import activation_pb2, campaign_pb2, common_pb2, federation_pb2


def struct(value: dict[str, Any] | None) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    if value:
        message.update(_jsonable(value))
    return message


def to_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain JSON data; whole floats become ints (JSON has one number type)."""
    value: dict[str, Any] = _ints(json_format.MessageToDict(message))
    return value


def timestamp(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    if seconds is None:
        return None
    message = timestamp_pb2.Timestamp()
    message.FromNanoseconds(int(seconds * 1e9))
    return message


def seconds(message: timestamp_pb2.Timestamp) -> float:
    return message.ToNanoseconds() / 1e9


def status(value: str) -> common_pb2.ActivationStatus:
    return common_pb2.ActivationStatus.Value(f"ACTIVATION_STATUS_{value}")  # type: ignore[return-value]


def status_name(value: int, field: str = "statuses") -> str:
    try:
        name = common_pb2.ActivationStatus.Name(value)
    except ValueError:
        raise InvalidInputError.field(field, f"{value} is not an ActivationStatus") from None
    if value == 0:
        raise InvalidInputError.field(field, "ACTIVATION_STATUS_UNSPECIFIED is not a status")
    return name.removeprefix("ACTIVATION_STATUS_")


def failure(error: dict[str, Any] | None) -> common_pb2.Failure | None:
    if not error:
        return None
    return common_pb2.Failure(
        type=str(error.get("type", "")),
        message=str(error.get("message", "")),
        details=struct(error.get("details")),
        non_retryable=bool(error.get("nonRetryable", False)),
    )


def failure_dict(message: common_pb2.Failure) -> dict[str, Any]:
    out: dict[str, Any] = {"type": message.type, "message": message.message}
    if message.details.fields:
        out["details"] = to_dict(message.details)
    if message.non_retryable:
        out["nonRetryable"] = True
    return out


def stage_run(run: StageRun) -> activation_pb2.StageRun:
    return activation_pb2.StageRun(
        run_id=run.run_id,
        stage=run.stage,
        status=activation_pb2.StageRunStatus.Value(f"STAGE_RUN_STATUS_{run.status.value}"),  # type: ignore[arg-type]
        attempt=run.attempt,
        inputs=struct(run.inputs),
        outputs=struct(
            run.outputs if isinstance(run.outputs, dict | None) else {"items": run.outputs}
        ),
        error=failure(run.error),
        start_time=timestamp(run.start_time),
        end_time=timestamp(run.end_time),
        next_stage=run.next_stage,
    )


WATCH_RUNS_LIMIT = 500
"""A watch item carries the activation's stage runs up to this many (converting 10,000 of them
for each event of a big fan-out would make watching it quadratic)."""


def watched(state: ActivationState) -> activation_pb2.Activation:
    """The activation of a watch item."""
    return activation(state, runs=len(state.runs) <= WATCH_RUNS_LIMIT)


def activation(state: ActivationState, *, runs: bool = True) -> activation_pb2.Activation:
    return activation_pb2.Activation(
        id=state.id,
        namespace=state.namespace,
        campaign=state.campaign,
        version=state.version,
        status=status(state.status.value),
        inputs=struct(state.inputs),
        outputs=struct(state.outputs),
        current_stage=state.current_stage,
        generation=state.generation,
        create_time=timestamp(state.create_time),
        close_time=timestamp(state.close_time),
        status_message=state.status_message,
        self_driving=state.self_driving,
        stage_runs=[stage_run(r) for r in state.runs] if runs else [],
        history_length=state.last_sequence,
        parent_activation_id=state.parent.get("activationId", ""),
        parent_run_id=state.parent.get("runId", ""),
        run_number=state.run_number,
        continued_from_activation_id=state.continued_from,
        paused_by=pause_kind(state),
    )


def pause_kind(state: ActivationState) -> activation_pb2.PauseKind:
    """Which pause a PAUSED activation is in, as the API's PauseKind."""
    if state.status.value != "PAUSED":
        return activation_pb2.PAUSE_KIND_UNSPECIFIED
    if state.paused_by == "request":
        return activation_pb2.PAUSE_KIND_REQUEST
    return activation_pb2.PAUSE_KIND_STEPPED


def event(value: Event) -> common_pb2.Event:
    return common_pb2.Event(
        sequence=value.sequence,
        time=timestamp(value.time),
        type=common_pb2.EventType.Value(f"EVENT_TYPE_{value.type.value}"),  # type: ignore[arg-type]
        stage=value.stage,
        data=struct(value.data),
    )


def campaign(value: Campaign) -> campaign_pb2.Campaign:
    return campaign_pb2.Campaign(
        namespace=value.namespace,
        name=value.name,
        version=value.version,
        spec=struct(value.spec.dump()),
        api_version=value.api_version,
        create_time=timestamp(value.create_time),
        digest=value.digest,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return str(value)


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def site(info: SiteInfo) -> federation_pb2.Site:
    """A site as ListSites shows it."""
    return federation_pb2.Site(
        site_id=info.site_id,
        state=federation_pb2.SITE_STATE_CONNECTED
        if info.connected
        else federation_pb2.SITE_STATE_DISCONNECTED,
        last_seen_time=timestamp(info.last_seen_time),
        dispatches_in_flight=info.dispatches_in_flight,
        plane_version=info.plane_version,
    )
