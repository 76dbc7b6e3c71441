"""Protobuf <-> domain conversion of schedules (round-trip tested, like ``convert``)."""

from __future__ import annotations

import math

from google.protobuf import duration_pb2, timestamp_pb2

from partita.errors import InvalidInputError
from partita.model.schedule import (
    DEFAULT_CATCHUP_SECONDS,
    OverlapPolicy,
    Schedule,
    ScheduleAction,
    ScheduleDefinition,
    SchedulePolicies,
    ScheduleSpec,
)
from partita.v1 import common_pb2, schedule_pb2
from partita.wire import convert

S = schedule_pb2
OVERLAP_PREFIX = "OVERLAP_POLICY_"


def definition(message: S.Schedule, where: str = "schedule") -> ScheduleDefinition:
    """A request's schedule as a definition; structure is checked later, by the runtime."""
    spec, action, policies = message.spec, message.action, message.policies
    catchup = _seconds(policies.catchup_window) if policies.HasField("catchup_window") else 0.0
    return ScheduleDefinition(
        spec=ScheduleSpec(
            cron_expressions=tuple(spec.cron_expressions),
            time_zone=spec.time_zone,
            interval=_seconds(spec.interval) if spec.HasField("interval") else None,
            offset=_seconds(spec.offset),
            jitter=_seconds(spec.jitter),
            start_time=_seconds(spec.start_time) if spec.HasField("start_time") else None,
            end_time=_seconds(spec.end_time) if spec.HasField("end_time") else None,
            remaining_actions=spec.remaining_actions,
        ),
        action=ScheduleAction(
            campaign=action.campaign, version=action.version, inputs=convert.to_dict(action.inputs)
        ),
        policies=SchedulePolicies(
            overlap=overlap(policies.overlap, f"{where}.policies.overlap") or OverlapPolicy.SKIP,
            catchup_window=catchup or DEFAULT_CATCHUP_SECONDS,
        ),
    )


def overlap(value: int, field: str = "overlap") -> OverlapPolicy | None:
    """An OverlapPolicy enum value; None when unspecified."""
    if value == S.OVERLAP_POLICY_UNSPECIFIED:
        return None
    try:
        name = S.OverlapPolicy.Name(value)
    except ValueError:
        raise InvalidInputError.field(field, f"{value} is not an OverlapPolicy") from None
    return OverlapPolicy(name.removeprefix(OVERLAP_PREFIX))


def overlap_value(policy: OverlapPolicy) -> S.OverlapPolicy:
    return S.OverlapPolicy.Value(OVERLAP_PREFIX + policy.value)  # type: ignore[return-value]


def schedule(value: Schedule) -> S.Schedule:
    spec, action = value.definition.spec, value.definition.action
    policies, info = value.definition.policies, value.info
    return S.Schedule(
        namespace=value.namespace,
        schedule_id=value.schedule_id,
        spec=S.ScheduleSpec(
            cron_expressions=spec.cron_expressions,
            time_zone=spec.time_zone,
            interval=_duration(spec.interval),
            offset=_duration(spec.offset or None),
            jitter=_duration(spec.jitter or None),
            start_time=_timestamp(spec.start_time),
            end_time=_timestamp(spec.end_time),
            remaining_actions=spec.remaining_actions,
        ),
        action=S.ScheduleAction(
            campaign=action.campaign, version=action.version, inputs=convert.struct(action.inputs)
        ),
        policies=S.SchedulePolicies(
            overlap=overlap_value(policies.overlap),
            catchup_window=_duration(policies.catchup_window),
        ),
        state=S.ScheduleState(paused=value.paused, note=value.note),
        info=S.ScheduleInfo(
            next_fire_times=[_moment(t) for t in info.next_fire_times],
            recent_actions=[
                S.ScheduleActionResult(
                    nominal_time=_timestamp(a.nominal_time),
                    actual_time=_timestamp(a.actual_time),
                    activation_id=a.activation_id,
                    status=convert.status(a.status)
                    if a.status
                    else common_pb2.ACTIVATION_STATUS_UNSPECIFIED,
                )
                for a in info.recent_actions
            ],
            running_activation_ids=info.running_activation_ids,
            action_count=info.action_count,
            missed_catchup_window=info.missed_catchup_window,
        ),
    )


def _timestamp(seconds: float | None) -> timestamp_pb2.Timestamp | None:
    return None if seconds is None else _moment(seconds)


def _moment(seconds: float) -> timestamp_pb2.Timestamp:
    """Exact to the nanosecond (``convert.timestamp`` loses the fraction of large times)."""
    whole, nanos = _split(seconds)
    return timestamp_pb2.Timestamp(seconds=whole, nanos=nanos)


def _duration(seconds: float | None) -> duration_pb2.Duration | None:
    if seconds is None:
        return None
    whole, nanos = _split(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=nanos)


def _split(seconds: float) -> tuple[int, int]:
    whole = math.floor(seconds)
    nanos = round((seconds - whole) * 1e9)
    return (whole + 1, 0) if nanos >= 10**9 else (whole, nanos)


def _seconds(message: duration_pb2.Duration | timestamp_pb2.Timestamp) -> float:
    return message.seconds + message.nanos / 1e9
