"""Saga: when an activation fails or is cancelled, undo what its stages did.

A stage may name a ``compensate`` stage. When the activation is about to end FAILED or
CANCELLED, the stage runs still open are cancelled, then the compensation of each
completed stage run that has one runs, in the reverse order of completion, each announced
by a COMPENSATION_STARTED event; then the activation ends as it was going to. A failing
compensation is recorded and the next one still runs. The closing status and its data
travel in the first COMPENSATION_STARTED event, so that replay knows where it is going.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partita.engine.events import EventType
from partita.engine.state import RunStatus, StageRun, Status

if TYPE_CHECKING:
    from partita.engine.machine import _Step

COMPENSATED = (Status.FAILED, Status.CANCELLED)
"""The endings that run compensations first."""


def begin(step: _Step, status: Status, data: dict[str, Any]) -> bool:
    """Start compensating instead of closing; False when there is nothing to undo."""
    if status not in COMPENSATED or step.state.closing or not _pending(step):
        return False
    for run in list(step.state.runs):
        if run.open:
            step.emit(
                EventType.STAGE_FAILED,
                run.stage,
                runId=run.run_id,
                attempt=run.attempt,
                failure={
                    "type": "Cancelled",
                    "message": f"the activation is {status.value.lower()}",
                },
            )
            step.cancel_run(run)
    _next(step, closing={"status": status.value, "data": data})
    return True


def compensating(step: _Step) -> bool:
    """True while compensations run (the activation is on its way to its end)."""
    return bool(step.state.closing)


def run_closed(step: _Step) -> None:
    """A compensation finished (or failed for good): run the next one, or close."""
    _next(step)


def _next(step: _Step, closing: dict[str, Any] | None = None) -> None:
    pending = _pending(step)
    if not pending:
        ending = step.state.closing or {}
        step.close_now(Status(ending.get("status", "FAILED")), **ending.get("data", {}))
        return
    done = pending[0]
    stage = step.campaign.stages[step.campaign.stages[done.stage].spec.compensate or ""]
    run_id = str(step.state.generation + 1)
    extra = {"closing": closing} if closing else {}
    step.emit(
        EventType.COMPENSATION_STARTED,
        stage.name,
        compensates=done.stage,
        compensatedRunId=done.run_id,
        runId=run_id,
        **extra,
    )
    step.begin_attempt(stage, run_id, 1, done.stage, compensates=done.run_id)


def _pending(step: _Step) -> list[StageRun]:
    """Completed stage runs still to undo, the last completed first."""
    state = step.state
    found = []
    for index, run in enumerate(state.runs):
        if (
            run.status is RunStatus.COMPLETED
            and not run.compensates
            and run.run_id not in state.compensated
            and step.campaign.stages[run.stage].spec.compensate
            and not _context_item(step, run)
        ):
            found.append((run.end_time or 0.0, index, run))
    return [run for _, _, run in sorted(found, key=lambda f: (f[0], f[1]), reverse=True)]


def _context_item(step: _Step, run: StageRun) -> bool:
    parent = step.state.run(run.parent) if run.parent else None
    return parent is not None and parent.stage == run.stage
