"""What a durable timer means when it comes due (``machine._Step.timer_fired``).

Functions over the deciding step, kept apart to keep each module small.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partita.engine import approval, operations, remote, symphony
from partita.engine.events import EventType
from partita.engine.state import Status
from partita.model.durations import format_duration

if TYPE_CHECKING:
    from partita.engine.machine import _Step

WORKER_TIMEOUTS = {
    "schedule-to-start": "scheduleToStart",
    "start-to-close": "startToClose",
    "heartbeat": "heartbeat",
}
"""Timer kinds of a worker stage's attempt, and the timeout each one enforces."""


def fire(step: _Step, timer_id: str) -> None:
    """A timer came due: what it means depends on its kind."""
    timer = step.state.timers.get(timer_id)
    if timer is None or (timer.kind in operations.HELD_TIMERS and operations.paused(step)):
        return  # gone; or paused by request: it fires on the resume
    run = step.state.run(timer.run_id) if timer.run_id else None
    fired: dict[str, Any] = {"timerId": timer_id, "kind": timer.kind}
    if run is not None:
        fired["runId"] = run.run_id
    step.emit(EventType.TIMER_FIRED, run.stage if run else "", **fired)
    if timer.kind == "activation-timeout":
        timeout = step.campaign.spec.timeout
        step.close(Status.TIMED_OUT, timeout=format_duration(timeout) if timeout else "")
        return
    if run is None or not run.open:
        return
    if timer.kind == "delay":
        step.run_completed(run, symphony.delay_outputs() if step.campaign.symphony else {})
    elif timer.kind == "schedule":
        stage = step.campaign.stages[run.stage]
        step.begin_attempt(
            stage,
            run.run_id,
            run.attempt,
            run.previous_stage,
            context=run.context,
            parent=run.parent,
            scheduled=True,
        )
    elif timer.kind == approval.TIMER_KIND:
        decision = str(run.config.get("default", "reject"))
        if decision == "approve":
            step.run_completed(run, approval.outputs("approve", "timeout", {}))
        else:
            step.attempt_failed(run, approval.rejection("timeout", {}))
    elif timer.kind == "wait-timeout":
        message = f"no {run.waiting_for!r} signal arrived in time"
        step.attempt_failed(run, {"type": "Timeout", "message": message})
    elif timer.kind == "retry":
        stage = step.campaign.stages[run.stage]
        step.begin_attempt(
            stage,
            run.run_id,
            run.attempt + 1,
            run.previous_stage,
            context=run.context,
            parent=run.parent,
        )
    elif timer.kind == "schedule-to-start" and run.dispatch_id:
        remote.timed_out(step, run)
    elif timer.kind in WORKER_TIMEOUTS:
        which = WORKER_TIMEOUTS[timer.kind]
        step.emit(
            EventType.STAGE_TIMED_OUT,
            run.stage,
            runId=run.run_id,
            attempt=run.attempt,
            timeout=which,
        )
        message = f"{which} timeout of attempt {run.attempt} expired"
        step.attempt_failed(
            run, {"type": "Timeout", "message": message, "details": {"timeout": which}}
        )
