"""Activations as the store keeps them, and the commands that resume their stage runs."""

from __future__ import annotations

import json

from partita.engine import (
    ActivationState,
    EnqueueTask,
    Event,
    RunStage,
    StageRun,
    StartChild,
)
from partita.runtime.tasks import QueuedTask
from partita.store import ActivationRow, EventRow

__all__ = [
    "event_of",
    "event_row",
    "queued",
    "requeue",
    "rerun",
    "restart_child",
    "row_of",
    "state_of",
]


def rerun(state: ActivationState, run_id: str) -> RunStage:
    run = state.run(run_id)
    assert run is not None
    previous_outputs = state.outputs.get(run.stage)
    return RunStage(
        run_id=run.run_id,
        attempt=run.attempt,
        stage=run.stage,
        provider=run.provider,
        config=run.config,
        inputs=run.inputs or {},
        previous_stage=run.previous_stage,
        generation=int(run.run_id.split(".")[0]),
        state=previous_outputs.get("__state") if isinstance(previous_outputs, dict) else None,
    )


def restart_child(run: StageRun) -> StartChild:
    """Start (idempotently) the child of a ``campaign`` run again after a restart."""
    return StartChild(
        run_id=run.run_id,
        attempt=run.attempt,
        child_id=run.child,
        campaign=str(run.config.get("campaign", "")),
        version=int(run.config.get("version") or 0),
        inputs=run.inputs or {},
    )


def queued(state: ActivationState, command: EnqueueTask) -> QueuedTask:
    return QueuedTask(
        namespace=state.namespace,
        activation_id=state.id,
        campaign=state.campaign,
        run_id=command.run_id,
        attempt=command.attempt,
        stage=command.stage,
        task_queue=command.task_queue,
        task_type=command.task_type,
        inputs=command.inputs,
        headers=command.headers,
        queue=command.queue,
    )


def requeue(state: ActivationState, run: StageRun) -> QueuedTask:
    return QueuedTask(
        namespace=state.namespace,
        activation_id=state.id,
        campaign=state.campaign,
        run_id=run.run_id,
        attempt=run.attempt,
        stage=run.stage,
        task_queue=run.task_queue,
        task_type=run.task_type,
        inputs=run.inputs or {},
        headers=state.headers,
        queue=run.queue,
    )


def state_of(row: ActivationRow) -> ActivationState:
    return ActivationState.model_validate_json(row.snapshot)


def row_of(state: ActivationState) -> ActivationRow:
    return ActivationRow(
        namespace=state.namespace,
        id=state.id,
        campaign=state.campaign,
        version=state.version,
        status=state.status.value,
        create_time=state.create_time,
        close_time=state.close_time,
        last_sequence=state.last_sequence,
        snapshot=state.model_dump_json(),
    )


def event_row(event: Event) -> EventRow:
    return EventRow(
        sequence=event.sequence,
        time=event.time,
        type=event.type.value,
        stage=event.stage,
        data=json.dumps(event.data, separators=(",", ":")),
    )


def event_of(row: EventRow) -> Event:
    return Event.model_validate(
        {
            "sequence": row.sequence,
            "time": row.time,
            "type": row.type,
            "stage": row.stage,
            "data": json.loads(row.data),
        }
    )
