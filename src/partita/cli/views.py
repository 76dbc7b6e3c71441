"""How activations, campaigns and events read in table mode."""

from __future__ import annotations

from typing import Any

import yaml
from google.protobuf import json_format

from partita.cli.output import Printer, compact, plain, timestamp
from partita.v1 import activation_pb2, common_pb2

STATUS_PREFIX = "ACTIVATION_STATUS_"
EVENT_PREFIX = "EVENT_TYPE_"
RUN_PREFIX = "STAGE_RUN_STATUS_"
OPEN_STATUSES = frozenset(
    {
        common_pb2.ACTIVATION_STATUS_UNSPECIFIED,
        common_pb2.ACTIVATION_STATUS_RUNNING,
        common_pb2.ACTIVATION_STATUS_PAUSED,
    }
)
DATA_LIMIT = 160
"""Widest compact payload in a watch or history line."""


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix)
    except ValueError:
        return str(value)


def status_name(value: int) -> str:
    """``COMPLETED`` for ``ACTIVATION_STATUS_COMPLETED``."""
    return _enum_name(common_pb2.ActivationStatus, value, STATUS_PREFIX)


def event_name(value: int) -> str:
    """``STAGE_STARTED`` for ``EVENT_TYPE_STAGE_STARTED``."""
    return _enum_name(common_pb2.EventType, value, EVENT_PREFIX)


def is_terminal(status: int) -> bool:
    return status not in OPEN_STATUSES


def is_completed(status: int) -> bool:
    return bool(status == common_pb2.ACTIVATION_STATUS_COMPLETED)


def struct(message: Any) -> dict[str, Any]:
    """A ``google.protobuf.Struct`` as a dict with whole numbers as ints."""
    value = plain(json_format.MessageToDict(message))
    return value if isinstance(value, dict) else {}


def status_line(activation: Any) -> str:
    """``activation/ID COMPLETED``, with the status message when there is one."""
    text = f"activation/{activation.id} {status_name(activation.status)}"
    if activation.status_message:
        text += f": {activation.status_message}"
    return text


def print_outputs(out: Printer, activation: Any, *, hide_private: bool = False) -> None:
    """``outputs:`` then one line per stage, in the order the stages ran: its outputs as
    compact JSON, optionally without the ``__`` facts the plane adds."""
    outputs = struct(activation.outputs)
    if not outputs:
        return
    ran = list(dict.fromkeys(run.stage for run in activation.stage_runs))
    order = [s for s in ran if s in outputs] + sorted(s for s in outputs if s not in ran)
    out.line("outputs:")
    for stage in order:
        out.line(f"  {stage}: {compact(outputs[stage], hide_private=hide_private)}")


def print_activation(out: Printer, activation: Any) -> None:
    """An activation as key: value lines, then its outputs and stage runs."""
    run_mode = "self-driving" if activation.self_driving else "stepped"
    out.fields(
        [
            ("id", activation.id),
            ("namespace", activation.namespace),
            ("campaign", f"{activation.campaign} (version {activation.version})"),
            ("status", status_name(activation.status)),
            ("message", activation.status_message),
            ("current stage", activation.current_stage),
            ("generation", str(activation.generation)),
            ("mode", run_mode),
            ("created", timestamp(activation.create_time, millis=True)),
            ("closed", timestamp(activation.close_time, millis=True)),
            ("history", f"{activation.history_length} events"),
            ("inputs", compact(struct(activation.inputs))),
        ]
    )
    print_outputs(out, activation)
    if activation.stage_runs:
        out.line("stage runs:")
        rows = [
            [
                run.run_id,
                run.stage,
                _enum_name(activation_pb2.StageRunStatus, run.status, RUN_PREFIX),
                str(run.attempt),
                timestamp(run.start_time, millis=True),
                timestamp(run.end_time, millis=True),
                run.next_stage,
                run.error.message if run.HasField("error") else "",
            ]
            for run in activation.stage_runs
        ]
        headers = ["RUN", "STAGE", "STATUS", "ATTEMPT", "STARTED", "ENDED", "NEXT", "ERROR"]
        out.table(headers, rows, indent="  ")


def activation_row(activation: Any) -> list[str]:
    return [
        activation.id,
        activation.campaign,
        str(activation.version),
        status_name(activation.status),
        activation.current_stage,
        timestamp(activation.create_time),
        timestamp(activation.close_time),
    ]


ACTIVATION_HEADERS = ["ID", "CAMPAIGN", "VERSION", "STATUS", "STAGE", "CREATED", "CLOSED"]


def print_campaign(out: Printer, campaign: Any) -> None:
    """A campaign version as key: value lines, then its spec as YAML."""
    spec = struct(campaign.spec)
    out.fields(
        [
            ("name", campaign.name),
            ("namespace", campaign.namespace),
            ("version", str(campaign.version)),
            ("apiVersion", campaign.api_version),
            ("created", timestamp(campaign.create_time)),
            ("digest", campaign.digest),
        ]
    )
    out.line("spec:")
    text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, default_flow_style=False)
    for line in text.rstrip("\n").splitlines():
        out.line("  " + line)


def campaign_row(campaign: Any) -> list[str]:
    spec = struct(campaign.spec)
    stages = spec.get("stages")
    return [
        campaign.name,
        str(campaign.version),
        campaign.api_version,
        str(len(stages) if isinstance(stages, dict) else 0),
        timestamp(campaign.create_time),
    ]


CAMPAIGN_HEADERS = ["NAME", "VERSION", "API", "STAGES", "CREATED"]


def event_line(event: Any) -> str:
    """One watch line: ``▶ stage NAME started (run R, attempt A)``, ``✔ …``, ``✘ …``, ``· …``."""
    data = struct(event.data)
    kind = event.type
    if kind == common_pb2.EVENT_TYPE_STAGE_STARTED:
        return (
            f"▶ stage {event.stage} started "
            f"(run {data.get('runId', '?')}, attempt {data.get('attempt', '?')})"
        )
    if kind == common_pb2.EVENT_TYPE_STAGE_COMPLETED:
        outputs = compact(data.get("outputs") or {}, hide_private=True, limit=DATA_LIMIT)
        return f"✔ stage {event.stage} completed {outputs}"
    if kind == common_pb2.EVENT_TYPE_STAGE_FAILED:
        failure = data.get("failure") or {}
        message = failure.get("message", "") if isinstance(failure, dict) else str(failure)
        return f"✘ stage {event.stage} failed: {message}"
    parts = ["·", event_name(kind)]
    if event.stage:
        parts.append(f"stage {event.stage}")
    if data:
        parts.append(compact(data, hide_private=True, limit=DATA_LIMIT))
    return " ".join(parts)


def event_row(event: Any) -> list[str]:
    return [
        str(event.sequence),
        timestamp(event.time, millis=True),
        event_name(event.type),
        event.stage,
        compact(struct(event.data), limit=DATA_LIMIT) if event.data.fields else "",
    ]


EVENT_HEADERS = ["SEQ", "TIME", "TYPE", "STAGE", "DATA"]
