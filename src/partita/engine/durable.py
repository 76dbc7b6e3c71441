"""The engine's own providers: task queues for workers, child activations, timers, signals.

Functions over the deciding step (``machine._Step``), kept apart to keep each module small.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from partita.engine import approval
from partita.engine.compile import CompiledStage
from partita.engine.events import EventType
from partita.engine.inputs import ChildClosed, ChildStarted, TaskLeased
from partita.engine.state import RunStatus, Status
from partita.model.durations import parse_duration

if TYPE_CHECKING:
    from partita.engine.machine import _Step


def task_leased(step: _Step, lease: TaskLeased) -> None:
    run = step.state.run(lease.run_id)
    if (
        run is None
        or run.provider != "worker"
        or run.status is not RunStatus.RUNNING
        or run.attempt != lease.attempt
    ):
        return  # a task left on its queue by an attempt that has ended
    timeouts = step.campaign.stages[run.stage].timeouts
    now = step.context.now
    timers = []
    if timeouts.start_to_close is not None:
        due = now + timeouts.start_to_close.total_seconds()
        timers.append({"id": f"start-to-close:{run.run_id}", "due": due, "kind": "start-to-close"})
    if timeouts.heartbeat is not None:
        due = now + timeouts.heartbeat.total_seconds()
        timers.append({"id": f"heartbeat:{run.run_id}", "due": due, "kind": "heartbeat"})
    step.emit(
        EventType.STAGE_TASK_LEASED,
        run.stage,
        runId=run.run_id,
        attempt=run.attempt,
        taskQueue=run.task_queue,
        identity=lease.identity,
        timers=timers,
    )


def child_report(step: _Step, report: ChildStarted | ChildClosed) -> None:
    run = step.state.run(report.run_id)
    if (
        run is None
        or run.status is not RunStatus.RUNNING
        or run.attempt != report.attempt
        or run.child != report.child_id
    ):
        return  # about an attempt that has ended
    if isinstance(report, ChildStarted):
        if not run.child_started:
            step.emit(
                EventType.CHILD_STARTED,
                run.stage,
                runId=run.run_id,
                childActivationId=run.child,
                campaign=run.config.get("campaign", ""),
            )
        return
    closed: dict[str, Any] = {"status": report.status}
    if report.failure:
        closed["failure"] = report.failure
    else:
        closed["outputs"] = report.outputs
    step.emit(
        EventType.CHILD_CLOSED,
        run.stage,
        runId=run.run_id,
        childActivationId=run.child,
        **closed,
    )
    if report.status == Status.COMPLETED.value:
        step.run_completed(run, report.outputs)
    else:
        failure = report.failure or {
            "type": f"Child{report.status.title().replace('_', '')}",
            "message": f"child activation {run.child} ended {report.status}",
        }
        step.attempt_failed(run, failure)


def plan(
    step: _Step, stage: CompiledStage, run_id: str, attempt: int, config: dict[str, Any]
) -> dict[str, Any]:
    """Event data for the engine's own durable providers: a timer, a signal to wait for."""
    now = step.context.now
    if stage.provider == "delay":
        due = now + parse_duration(config.get("duration")).total_seconds()
        return {"timer": {"id": f"delay:{run_id}", "due": due, "kind": "delay"}}
    if stage.provider == "wait":
        event = str(config.get("event") or "")
        if not event:
            raise ValueError("config.event is empty")
        plan: dict[str, Any] = {"waitFor": event}
        for index, buffered in enumerate(step.state.signals):
            if buffered.event == event:
                plan["consumedSignal"] = index
                return plan
        if config.get("timeout") is not None:
            due = now + parse_duration(config["timeout"]).total_seconds()
            plan["timer"] = {"id": f"wait:{run_id}", "due": due, "kind": "wait-timeout"}
        return plan
    if stage.provider == approval.PROVIDER:
        waits: dict[str, Any] = {"waitFor": approval.event_of(stage.name)}
        if config.get("timeout") is not None:
            due = now + parse_duration(config["timeout"]).total_seconds()
            waits["timer"] = {"id": f"approval:{run_id}", "due": due, "kind": approval.TIMER_KIND}
        return waits
    if stage.provider == "campaign":
        version = config.get("version") or 0
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise ValueError("config.version must be a whole number")
        child = f"{step.state.id}.{run_id}.{attempt}"
        return {
            "child": {
                "activationId": child,
                "campaign": config.get("campaign", ""),
                "version": version,
            }
        }
    if stage.provider == "worker":
        timeouts = stage.timeouts
        task: dict[str, Any] = {
            "taskQueue": stage.spec.task_queue,
            "taskType": stage.spec.task_type or stage.name,
        }
        policy = stage.spec.queue
        if policy is not None and stage.queue_key is not None:
            key = stage.queue_key.render(step.env(step.state.outputs))
            task["queue"] = {
                "key": key if isinstance(key, str) else json.dumps(key, sort_keys=True),
                "priority": policy.priority,
                "concurrency": policy.concurrency or 0,
            }
        if timeouts.heartbeat is not None:
            task["heartbeatTimeout"] = timeouts.heartbeat.total_seconds()
        if timeouts.schedule_to_start is not None:
            due = now + timeouts.schedule_to_start.total_seconds()
            task["timer"] = {
                "id": f"schedule-to-start:{run_id}",
                "due": due,
                "kind": "schedule-to-start",
            }
        return task
    return {}
