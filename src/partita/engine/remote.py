"""Remote stages: a stage with ``site`` runs on that site, sent there as a dispatch.

Functions over the deciding step (``machine._Step``), like ``durable``. A remote attempt
is announced by DISPATCH_SENT (the runtime then keeps the dispatch in its outbox until the
site acknowledges it), DISPATCH_ACCEPTED when the site has persisted it, and
DISPATCH_RESULT when the site's local activation has ended. The site applies the stage's
own retry policy, so a failed dispatch fails the hub's attempt for good.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partita.engine.commands import CancelStage, Dispatch
from partita.engine.compile import CompiledCampaign, CompiledStage
from partita.engine.events import EventType
from partita.engine.inputs import DispatchAccepted, DispatchClosed
from partita.engine.state import ActivationState, RunStatus, StageRun, Status
from partita.expr import ExpressionError
from partita.model.durations import format_duration

if TYPE_CHECKING:
    from partita.engine.machine import _Step

LOCAL_ONLY = frozenset({"continue", "parallel"})
"""Providers that cannot run on another site."""
_HUB_ONLY_FIELDS = {
    "inputs",
    "stage_selector",
    "handle_errors",
    "contexts",
    "max_concurrency",
    "context_failure",
    "branches",
    "compensate",
    "site",
    "config",
    "retry",
    "timeouts",
}
"""Stage fields that mean something on the hub only, or that travel resolved."""


def site_of(step: _Step, stage: CompiledStage, env: dict[str, Any]) -> str:
    """The site that runs this attempt: "" for none; ExpressionError when ``site`` is bad."""
    if stage.site is None:
        return ""
    value = stage.site.render(env)
    if value is None or value == "":
        return ""
    if not isinstance(value, str):
        raise ExpressionError(f"site must give a site id, not {type(value).__name__}")
    if stage.provider in LOCAL_ONLY:
        raise ExpressionError(f"a {stage.provider} stage cannot run on a site")
    return value


def dispatch_id(state: ActivationState, run_id: str, attempt: int) -> str:
    """The id of an attempt's dispatch: unique on the hub, and the site's activation id."""
    return f"{state.id}.{state.run_number}.{run_id}.{attempt}"


def plan(step: _Step, stage: CompiledStage, run_id: str, attempt: int) -> dict[str, Any]:
    """DISPATCH_SENT's data: the dispatch, and its scheduleToStart timer when there is one."""
    data: dict[str, Any] = {
        "runId": run_id,
        "attempt": attempt,
        "dispatchId": dispatch_id(step.state, run_id, attempt),
        "site": step.state.run(run_id).site,  # type: ignore[union-attr]
    }
    timeout = stage.timeouts.schedule_to_start
    if timeout is not None:
        due = step.context.now + timeout.total_seconds()
        data["timer"] = {
            "id": f"schedule-to-start:{run_id}",
            "due": due,
            "kind": "schedule-to-start",
        }
    return data


def command(state: ActivationState, campaign: CompiledCampaign, run: StageRun) -> Dispatch:
    """The Dispatch command of a remote run's current attempt (again after a restart)."""
    stage = campaign.stages[run.stage]
    config = dict(run.config)
    if stage.provider == "campaign":
        return Dispatch(
            run_id=run.run_id,
            attempt=run.attempt,
            dispatch_id=run.dispatch_id,
            site=run.site,
            campaign=str(config.get("campaign", "")),
            version=int(config.get("version") or 0),
            stage={},
            inputs=run.inputs or {},
            headers=dict(state.headers),
            deadline=_deadline(state),
        )
    spec: dict[str, Any] = stage.spec.model_dump(
        mode="json", by_alias=True, exclude_defaults=True, exclude=_HUB_ONLY_FIELDS
    )
    spec["name"] = stage.name
    spec["config"] = config
    retry = stage.retry.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    spec["retry"] = retry or {"maximumAttempts": 0}
    timeouts = stage.timeouts.model_dump(mode="json", by_alias=True, exclude_none=True)
    if timeouts:
        spec["timeouts"] = timeouts
    return Dispatch(
        run_id=run.run_id,
        attempt=run.attempt,
        dispatch_id=run.dispatch_id,
        site=run.site,
        campaign="",
        version=0,
        stage=spec,
        inputs=run.inputs or {},
        headers=dict(state.headers),
        deadline=_deadline(state),
    )


def accepted(step: _Step, request: DispatchAccepted) -> None:
    run = _current(step, request.run_id, request.attempt, request.dispatch_id)
    if run is None or run.dispatch_accepted:
        return
    step.emit(
        EventType.DISPATCH_ACCEPTED,
        run.stage,
        runId=run.run_id,
        attempt=run.attempt,
        dispatchId=run.dispatch_id,
        site=run.site,
    )


def closed(step: _Step, request: DispatchClosed) -> None:
    run = _current(step, request.run_id, request.attempt, request.dispatch_id)
    if run is None:
        return  # a duplicate, or about an attempt that has ended
    result: dict[str, Any] = {"status": request.status}
    if request.status == Status.COMPLETED.value:
        result["outputs"] = request.outputs
    else:
        result["failure"] = request.failure or {}
    step.emit(
        EventType.DISPATCH_RESULT,
        run.stage,
        runId=run.run_id,
        attempt=run.attempt,
        dispatchId=run.dispatch_id,
        site=run.site,
        **result,
    )
    if request.status == Status.COMPLETED.value:
        step.run_completed(run, request.outputs)
        return
    failure = dict(request.failure or {})
    failure.setdefault("type", f"Remote{request.status.title().replace('_', '')}")
    message = failure.get("message") or f"ended {request.status}"
    failure["message"] = f"on site {run.site!r}: {message}"
    failure["nonRetryable"] = True
    step.attempt_failed(run, failure)


def timed_out(step: _Step, run: StageRun) -> None:
    """The site did not take the dispatch within ``scheduleToStart``: fail the attempt for good
    and withdraw the dispatch."""
    timeout = step.campaign.stages[run.stage].timeouts.schedule_to_start
    limit = format_duration(timeout) if timeout is not None else ""
    step.emit(
        EventType.STAGE_TIMED_OUT,
        run.stage,
        runId=run.run_id,
        attempt=run.attempt,
        timeout="scheduleToStart",
    )
    message = (
        f"site {run.site!r} did not accept dispatch {run.dispatch_id} within its "
        f"scheduleToStart timeout of {limit} (is the site connected to the hub?)"
    )
    step.commands.append(CancelStage(run.run_id))
    step.attempt_failed(
        run,
        {
            "type": "Timeout",
            "message": message,
            "details": {"timeout": "scheduleToStart", "site": run.site},
            "nonRetryable": True,
        },
    )


def keyed_by_site(step: _Step, parent: StageRun, items: list[StageRun], results: list[Any]) -> Any:
    """A fan-out over sites gives its items' outputs keyed by site; any other, a list."""
    stage = step.campaign.stages.get(parent.stage)
    sites = [item.site for item in items]
    if stage is None or stage.site is None or not all(sites) or len(set(sites)) != len(sites):
        return results
    return dict(zip(sites, results, strict=True))


def _current(step: _Step, run_id: str, attempt: int, dispatch: str) -> StageRun | None:
    run = step.state.run(run_id)
    if (
        run is None
        or run.status is not RunStatus.RUNNING
        or run.attempt != attempt
        or run.dispatch_id != dispatch
    ):
        return None
    return run


def _deadline(state: ActivationState) -> float | None:
    timer = state.timers.get("activation-timeout")
    return timer.due if timer is not None else None
