"""Operations: an operator repairs or holds an activation.

- **Rerun** reopens a closed activation (FAILED, CANCELLED, TERMINATED, TIMED_OUT; COMPLETED
  when asked) and runs it again from a stage: by default the stage of its last stage run
  (the one that failed, or was running when it ended). Outputs of the stages that ran before
  that point are kept, so they never run again unless a selector leads back to them; inputs
  are kept unless overridden. One ACTIVATION_RERUN event records it, then the stage starts.
- **Skip** marks a stage completed with given outputs without running it: an open run of it
  (its running attempt is cancelled, a pending retry dropped), or, on a closed activation, a
  new run of it after a rerun. STAGE_SKIPPED then STAGE_COMPLETED; its selector picks what
  follows.
- **Retry now** cuts a pending retry backoff short (STAGE_RETRY_REQUESTED, then the attempt).
- **Pause** holds a RUNNING activation (ACTIVATION_PAUSED with reason ``request``): running
  stage runs finish, but what would follow them is held; retry and schedule timers that
  come due are kept, not fired. **Resume** (ACTIVATION_RESUMED) fires the timers that came
  due and starts what was held. This pause is told apart from stepped mode's by
  ``paused_by``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partita.engine.commands import EnqueueTask
from partita.engine.events import EventType
from partita.engine.inputs import Operation, Pause, Rerun, Resume, RetryStage, SkipStage
from partita.engine.state import RERUNNABLE, RunStatus, StageRun, Status
from partita.errors import InvalidInputError, PreconditionError

if TYPE_CHECKING:
    from partita.engine.machine import _Step

HELD_TIMERS = ("retry", "schedule")
"""Timer kinds that start an attempt: while paused by request, they wait for the resume."""


def handle(step: _Step, request: Operation) -> None:
    if isinstance(request, Rerun):
        rerun(step, request)
    elif isinstance(request, SkipStage):
        skip(step, request)
    elif isinstance(request, RetryStage):
        retry_now(step, request)
    elif isinstance(request, Pause):
        pause(step, request)
    else:
        resume(step, request)


def paused(step: _Step) -> bool:
    """True while paused by request: nothing new starts."""
    return step.state.paused_by == "request"


def holds_tasks(step: _Step) -> bool:
    """True while paused by request with ``hold_tasks``: no worker takes a stage task."""
    return paused(step) and step.state.hold_tasks


def rerun(step: _Step, request: Rerun) -> None:
    state = step.state
    _check_closed(step, allow_completed=request.completed)
    if request.stage:
        stage = _check_stage(step, request.stage)
    else:
        last = _top_runs(state.runs)[-1:] or None
        stage = last[0].stage if last else step.campaign.spec.first_stage
    previous = _reopen(step, stage, request.inputs, "rerun")
    step.start_stage(stage, previous=previous)


def skip(step: _Step, request: SkipStage) -> None:
    state = step.state
    if not request.stage:
        raise InvalidInputError.field("stage", "is required")
    stage = _check_stage(step, request.stage)
    if state.status.terminal:
        _check_closed(step, allow_completed=False)
        previous = _reopen(step, stage, {}, "skip")
        run_id = str(state.generation + 1)
        step.emit(
            EventType.STAGE_STARTED,
            stage,
            runId=run_id,
            attempt=1,
            provider=step.campaign.stages[stage].provider,
            config={},
            inputs=None,
            previousStage=previous,
        )
        run = step._run(run_id)
    else:
        found = [r for r in _top_runs(state.runs) if r.stage == stage and r.open]
        if not found:
            raise PreconditionError(
                f"stage {stage!r} of activation {state.id} has no open stage run to skip"
            )
        run = found[-1]
        for item in state.runs:
            if item.parent == run.run_id and item.open:
                step.emit(
                    EventType.STAGE_FAILED,
                    item.stage,
                    runId=item.run_id,
                    attempt=item.attempt,
                    failure={"type": "Cancelled", "message": f"stage {stage!r} was skipped"},
                )
                step.cancel_run(item)
        step.cancel_run(run)
    step.emit(
        EventType.STAGE_SKIPPED,
        stage,
        runId=run.run_id,
        attempt=run.attempt,
        outputs=request.outputs,
    )
    step.run_completed(step._run(run.run_id), dict(request.outputs))


def retry_now(step: _Step, request: RetryStage) -> None:
    state = step.state
    _check_running(step, "retried")
    if request.stage:
        _check_stage(step, request.stage)
    waiting = [
        r
        for r in state.runs
        if r.status is RunStatus.WAITING
        and f"retry:{r.run_id}" in state.timers
        and (not request.stage or r.stage == request.stage)
    ]
    if not waiting:
        which = f"stage {request.stage!r}" if request.stage else "no stage"
        verb = "is not" if request.stage else "is"
        raise PreconditionError(f"{which} of activation {state.id} {verb} waiting to retry")
    for run in waiting:
        timer_id = f"retry:{run.run_id}"
        step.emit(
            EventType.STAGE_RETRY_REQUESTED,
            run.stage,
            runId=run.run_id,
            attempt=run.attempt + 1,
            timerId=timer_id,
            due=state.timers[timer_id].due,
        )
        step.begin_attempt(
            step.campaign.stages[run.stage],
            run.run_id,
            run.attempt + 1,
            run.previous_stage,
            context=run.context,
            parent=run.parent,
        )


def pause(step: _Step, request: Pause) -> None:
    state = step.state
    if state.status is not Status.RUNNING:
        mode = " (stepped mode)" if state.paused_by == "stepped" else ""
        raise PreconditionError(
            f"activation {state.id} is {state.status.value}{mode}; only a RUNNING "
            "activation can be paused"
        )
    step.emit(
        EventType.ACTIVATION_PAUSED,
        state.current_stage,
        reason="request",
        note=request.reason,
        holdTasks=request.hold_tasks,
    )


def resume(step: _Step, request: Resume) -> None:
    state = step.state
    if not paused(step):
        mode = " in stepped mode (advance it)" if state.paused_by == "stepped" else ""
        raise PreconditionError(
            f"activation {state.id} is {state.status.value}{mode}; only an activation "
            "paused by request can be resumed"
        )
    held, following = state.held, state.next_stage
    if state.hold_tasks:  # their tasks were taken off the queue and left there: again
        for run in state.runs:
            if run.provider == "worker" and run.status is RunStatus.RUNNING and not run.worker:
                step.commands.append(
                    EnqueueTask(
                        run_id=run.run_id,
                        attempt=run.attempt,
                        stage=run.stage,
                        task_queue=run.task_queue,
                        task_type=run.task_type,
                        inputs=run.inputs or {},
                        headers=state.headers,
                        queue=run.queue,
                    )
                )
    step.emit(EventType.ACTIVATION_RESUMED, state.current_stage, note=request.reason)
    due = sorted(
        (timer.due, timer_id)
        for timer_id, timer in state.timers.items()
        if timer.kind in HELD_TIMERS and timer.due <= step.context.now
    )
    for _, timer_id in due:
        if step.state.status.terminal:
            return
        step.timer_fired(timer_id)
    if held and not step.state.status.terminal:
        step.proceed(following)


def hold(step: _Step, following: str) -> None:
    """A stage finished while paused by request: what follows waits for the resume."""
    step.emit(
        EventType.ACTIVATION_PAUSED,
        step.state.current_stage,
        reason="request",
        held=True,
        nextStage=following,
    )


# -- helpers -------------------------------------------------------------------------------


def _reopen(step: _Step, stage: str, overrides: dict[str, Any], why: str) -> str:
    """Emit ACTIVATION_RERUN from ``stage``; the stage that ran before it (its previous)."""
    state = step.state
    top = _top_runs(state.runs)
    point = next((i for i in range(len(top) - 1, -1, -1) if top[i].stage == stage), None)
    previous = top[point].previous_stage if point is not None else state.current_stage
    dropped = sorted({r.stage for r in top[point:]}) if point is not None else []
    timeout = step.campaign.spec.timeout
    step.emit(
        EventType.ACTIVATION_RERUN,
        stage,
        operation=why,
        previousStatus=state.status.value,
        inputs={**state.inputs, **overrides},
        overrides=overrides,
        dropped=dropped,
        deadline=step.context.now + timeout.total_seconds() if timeout else None,
    )
    return previous or stage


def _top_runs(runs: list[StageRun]) -> list[StageRun]:
    """The activation's own stage runs: no fan-out items, no compensations."""
    return [r for r in runs if not r.parent and not r.compensates]


def _check_stage(step: _Step, stage: str) -> str:
    if stage not in step.campaign.stages:
        raise InvalidInputError.field("stage", f"{stage!r} names no stage of the campaign")
    return stage


def _check_closed(step: _Step, *, allow_completed: bool) -> None:
    status = step.state.status
    if status in RERUNNABLE and (status is not Status.COMPLETED or allow_completed):
        return
    if status is Status.COMPLETED:
        raise PreconditionError(
            f"activation {step.state.id} is COMPLETED; ask explicitly to rerun a completed "
            "activation"
        )
    raise PreconditionError(
        f"activation {step.state.id} is {status.value}; only a FAILED, CANCELLED, "
        "TERMINATED, TIMED_OUT (or, on request, COMPLETED) activation can be rerun"
    )


def _check_running(step: _Step, verb: str) -> None:
    state = step.state
    if state.status is not Status.RUNNING:
        raise PreconditionError(
            f"activation {state.id} is {state.status.value}; only a RUNNING activation's "
            f"stages can be {verb}"
        )
