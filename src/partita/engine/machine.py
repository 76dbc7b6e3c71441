"""The engine: ``handle(state, campaign, input, context) -> Transition``.

Pure and deterministic: the clock and the site arrive in ``Context``; nothing here does I/O.
Deciding never changes state directly: it emits events, and ``fold.apply`` folds each one
in, so replaying the events rebuilds the same state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from partita.engine import approval, durable, fanout, operations, remote, saga, symphony, timers
from partita.engine.commands import (
    CancelStage,
    Command,
    ContinueAsNew,
    EnqueueTask,
    RunStage,
    StartChild,
)
from partita.engine.compile import DURABLE_PROVIDERS, CompiledCampaign, CompiledStage
from partita.engine.events import Event, EventType
from partita.engine.fold import CLOSING_EVENT_OF, apply, failure_view, fork
from partita.engine.inputs import (
    Advance,
    Cancel,
    ChildClosed,
    ChildStarted,
    DispatchAccepted,
    DispatchClosed,
    Input,
    Operation,
    Signal,
    StageResult,
    Start,
    TaskLeased,
    Terminate,
    TimerFired,
)
from partita.engine.retry import retry_delay
from partita.engine.state import ActivationState, RunStatus, StageRun, Status
from partita.errors import InvalidInputError, PreconditionError
from partita.expr import ExpressionError
from partita.expr.secrets import reference
from partita.model.symphony import schedule_time

WAITING = ("delay", "wait", approval.PROVIDER)
"""Providers whose runs the engine itself waits on: the runtime has nothing to cancel."""


@dataclass(frozen=True)
class Context:
    """What the engine may not find out for itself."""

    now: float
    """Seconds since the epoch."""
    site: str = "local"
    """The id of the site this plane runs."""
    secrets: tuple[str, ...] = ()
    """Names of the namespace's secrets: ``secrets.NAME`` yields a reference to each."""


@dataclass
class Transition:
    """What handling one input produced."""

    state: ActivationState
    events: list[Event] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)


def handle(
    state: ActivationState, campaign: CompiledCampaign, request: Input, context: Context
) -> Transition:
    """Decide what ``request`` means for the activation; ``state`` itself is left unchanged.

    Requests that make no sense in the current state (a stale stage result, a timer that was
    cancelled) produce no events. Requests a client made in error raise PreconditionError or
    InvalidInputError.
    """
    step = _Step(fork(state), campaign, context)
    step.handle(request)
    return Transition(step.state, step.events, step.commands)


class _Step:
    def __init__(self, state: ActivationState, campaign: CompiledCampaign, context: Context):
        self.state = state
        self.campaign = campaign
        self.context = context
        self.events: list[Event] = []
        self.commands: list[Command] = []

    def emit(self, kind: EventType, stage: str = "", /, **data: Any) -> None:
        event = Event.model_construct(
            sequence=self.state.last_sequence + 1,
            time=self.context.now,
            type=kind,
            stage=stage,
            data=data,
        )
        apply(self.state, event)
        self.events.append(event)

    # -- requests --------------------------------------------------------------------------

    def handle(self, request: Input) -> None:
        if isinstance(request, Start):
            self.start(request)
            return
        if isinstance(request, Operation):
            operations.handle(self, request)
            return
        if self.state.status.terminal:
            if isinstance(
                request,
                StageResult
                | TimerFired
                | TaskLeased
                | ChildStarted
                | ChildClosed
                | DispatchAccepted
                | DispatchClosed,
            ):
                return
            raise PreconditionError(
                f"activation {self.state.id} is already {self.state.status.value}"
            )
        if isinstance(request, StageResult):
            self.stage_result(request)
        elif isinstance(request, TaskLeased):
            if not operations.holds_tasks(self):  # held: the resume puts it on its queue again
                durable.task_leased(self, request)
        elif isinstance(request, ChildStarted | ChildClosed):
            durable.child_report(self, request)
        elif isinstance(request, DispatchAccepted):
            remote.accepted(self, request)
        elif isinstance(request, DispatchClosed):
            remote.closed(self, request)
        elif isinstance(request, TimerFired):
            self.timer_fired(request.timer_id)
        elif isinstance(request, Signal):
            self.signal(request)
        elif isinstance(request, Advance):
            self.advance(request)
        elif isinstance(request, Cancel):
            if saga.compensating(self):
                return  # already on its way to its end, compensating
            self.emit(EventType.CANCEL_REQUESTED, reason=request.reason)
            self.close(Status.CANCELLED, reason=request.reason)
        elif isinstance(request, Terminate):
            self.close_now(Status.TERMINATED, reason=request.reason)

    def start(self, request: Start) -> None:
        spec = self.campaign.spec
        stage = request.start_stage or spec.first_stage
        if stage not in self.campaign.stages:
            raise InvalidInputError.field("start_stage", f"{stage!r} names no stage")
        deadline = self.context.now + spec.timeout.total_seconds() if spec.timeout else None
        if request.deadline is not None:
            deadline = request.deadline if deadline is None else min(deadline, request.deadline)
        self.emit(
            EventType.ACTIVATION_STARTED,
            stage,
            campaign=request.campaign,
            version=request.version,
            inputs=request.inputs,
            selfDriving=spec.self_driving,
            headers=request.headers,
            **({"parent": request.parent} if request.parent else {}),
            **(
                {"continuedFrom": request.continued_from, "run": request.run_number}
                if request.continued_from
                else {}
            ),
            startStage=request.start_stage,
            deadline=deadline,
        )
        self.start_stage(stage, previous=stage)

    def stage_result(self, result: StageResult) -> None:
        run = self.state.run(result.run_id)
        if (
            run is None
            or run.status is not RunStatus.RUNNING
            or run.attempt != result.attempt
            or run.provider in ("delay", "wait", "campaign", approval.PROVIDER)
            or run.items is not None
            or run.dispatch_id
        ):
            return  # stale or duplicate: acknowledged, changes nothing
        error = result.error
        if error is None and self.campaign.symphony:
            error = symphony.status_error(result.outputs)
        if error is not None:
            self.attempt_failed(run, error)
        else:
            self.run_completed(run, result.outputs or {})

    def timer_fired(self, timer_id: str) -> None:
        timers.fire(self, timer_id)

    def signal(self, request: Signal) -> None:
        for run in self.state.runs:
            if run.status is RunStatus.WAITING and run.waiting_for == request.event:
                self.emit(
                    EventType.SIGNAL_RECEIVED,
                    run.stage,
                    event=request.event,
                    data=request.data,
                    runId=run.run_id,
                )
                data = dict(request.data)
                if run.provider == approval.PROVIDER and data.get("decision") != "approve":
                    self.attempt_failed(
                        run, approval.rejection(str(data.get("by", "")), data.get("fields", {}))
                    )
                    return
                self.run_completed(run, data)
                return
        self.emit(EventType.SIGNAL_RECEIVED, event=request.event, data=request.data)

    def advance(self, request: Advance) -> None:
        if self.state.status is not Status.PAUSED:
            raise PreconditionError(
                f"activation {self.state.id} is {self.state.status.value}; only a PAUSED "
                "activation in stepped mode can be advanced"
            )
        if operations.paused(self):
            raise PreconditionError(
                f"activation {self.state.id} is paused by request; resume it instead"
            )
        if request.stage and request.stage not in self.campaign.stages:
            raise InvalidInputError.field("stage", f"{request.stage!r} names no stage")
        following = request.stage or self.state.next_stage
        previous = self.state.current_stage
        self.emit(EventType.ACTIVATION_ADVANCED, following, override=bool(request.stage))
        if following:
            self.start_stage(following, previous=previous)
        else:
            self.close(Status.COMPLETED)

    # -- stages ----------------------------------------------------------------------------

    def start_stage(self, name: str, previous: str) -> None:
        limit = self.campaign.spec.max_stage_runs
        if self.state.generation >= limit:
            message = (
                f"stage-run limit of {limit} reached before stage {name!r} "
                "(does a selector loop forever?)"
            )
            self.close(Status.FAILED, failure={"type": "StageRunLimit", "message": message})
            return
        run_id = str(self.state.generation + 1)
        stage = self.campaign.stages[name]
        if stage.fans_out:
            fanout.start(self, stage, run_id, previous)
        else:
            self.begin_attempt(stage, run_id, 1, previous)

    def begin_attempt(
        self,
        stage: CompiledStage,
        run_id: str,
        attempt: int,
        previous: str,
        *,
        context: Any = None,
        parent: str = "",
        compensates: str = "",
        scheduled: bool = False,
    ) -> None:
        """Start one attempt of a stage run; a first attempt of a stage with a ``schedule``
        in the future waits for it on a durable timer first (``scheduled`` once it has)."""
        env = self.env(self.state.outputs, context)
        base: dict[str, Any] = {
            "runId": run_id,
            "attempt": attempt,
            "provider": stage.provider,
            "previousStage": previous,
        }
        if parent:
            base.update(parentRunId=parent, context=context)
        if compensates:
            base.update(compensates=compensates)
        try:
            if self.campaign.symphony:
                inputs, config = symphony.render(self, stage, run_id, previous, context)
            else:
                inputs = stage.inputs.render(env) if stage.inputs else dict(self.state.inputs)
                config = stage.config.render(env)
            if not isinstance(inputs, dict):
                raise ExpressionError(f"inputs must be a map, not {type(inputs).__name__}")
            due = self._schedule(stage, attempt, scheduled)
            if due is not None:
                timer = {"id": f"schedule:{run_id}", "due": due, "kind": "schedule"}
                self.emit(
                    EventType.STAGE_STARTED,
                    stage.name,
                    config=config,
                    inputs=inputs,
                    **base,
                    timer=timer,
                    schedule=stage.spec.schedule,
                )
                return
            site = remote.site_of(self, stage, env)
            away = bool(site) and site != self.context.site
            extra = {} if away else durable.plan(self, stage, run_id, attempt, config)
            if site:
                extra["site"] = site
        except (ExpressionError, ValueError) as exc:
            self.emit(EventType.STAGE_STARTED, stage.name, config={}, inputs=None, **base)
            error = {"type": "InvalidStage", "message": str(exc), "nonRetryable": True}
            self.attempt_failed(self._run(run_id), error)
            return
        self.emit(
            EventType.STAGE_STARTED, stage.name, config=config, inputs=inputs, **base, **extra
        )
        run = self._run(run_id)
        if away:
            self.emit(
                EventType.DISPATCH_SENT, stage.name, **remote.plan(self, stage, run_id, attempt)
            )
            run = self._run(run_id)
            self.commands.append(remote.command(self.state, self.campaign, run))
        elif stage.provider == "wait" and "consumedSignal" in extra:
            self.run_completed(run, dict(self.state.trigger.get("data", {})))
        elif stage.provider == "continue":
            # Its own transition: the runtime answers at once, and continuing (closing this
            # run, keeping it, starting the next) is then one commit.
            self.commands.append(
                RunStage(
                    run_id,
                    attempt,
                    stage.name,
                    "continue",
                    config,
                    inputs,
                    previous,
                    self.state.generation,
                )
            )
        elif stage.provider == "campaign":
            self.commands.append(
                StartChild(
                    run_id=run_id,
                    attempt=attempt,
                    child_id=run.child,
                    campaign=str(config.get("campaign")),
                    version=int(config.get("version") or 0),
                    inputs=inputs,
                )
            )
        elif stage.provider == "worker":
            self.commands.append(
                EnqueueTask(
                    run_id=run_id,
                    attempt=attempt,
                    stage=stage.name,
                    task_queue=run.task_queue,
                    task_type=run.task_type,
                    inputs=inputs,
                    headers=self.state.headers,
                    queue=run.queue,
                )
            )
        elif stage.provider not in DURABLE_PROVIDERS:
            previous_outputs = self.state.outputs.get(stage.name)
            self.commands.append(
                RunStage(
                    run_id=run_id,
                    attempt=attempt,
                    stage=stage.name,
                    provider=stage.provider,
                    config=config,
                    inputs=inputs,
                    previous_stage=previous,
                    generation=self.state.generation,
                    state=previous_outputs.get("__state")
                    if isinstance(previous_outputs, dict)
                    else None,
                )
            )

    def _schedule(self, stage: CompiledStage, attempt: int, scheduled: bool) -> float | None:
        """The due time of a stage's ``schedule`` while it is still ahead, else None."""
        if not stage.spec.schedule or scheduled or attempt != 1:
            return None
        due = schedule_time(stage.spec.schedule)
        return due if due > self.context.now else None

    def run_completed(self, run: StageRun, outputs: Any) -> None:
        if run.provider == "continue":
            self.continue_as_new(run, outputs.get("inputs", {}))
            return
        # A compensation or a fan-out's item has no selector of its own: what follows is the
        # next compensation, or the fan-out's next step.
        own_selector = not (run.compensates or run.parent)
        following, failure, data = "", None, {}
        if own_selector:
            try:
                following = self.select(run.stage, outputs)
                data["nextStage"] = following
            except ExpressionError as exc:
                failure = {
                    "type": "InvalidSelector",
                    "message": f"stage {run.stage!r}: stageSelector: {exc}",
                }
        self.emit(
            EventType.STAGE_COMPLETED,
            run.stage,
            runId=run.run_id,
            attempt=run.attempt,
            outputs=outputs,
            **data,
        )
        if run.compensates:
            saga.run_closed(self)
        elif run.parent:
            fanout.item_closed(self, run)
        elif failure is not None:
            self.close(Status.FAILED, failure=failure)
        else:
            self.proceed(following)

    def attempt_failed(self, run: StageRun, error: dict[str, Any]) -> None:
        stage = self.campaign.stages[run.stage]
        delay = None if run.items is not None else retry_delay(stage.retry, run.attempt, error)
        if delay is not None:
            self.emit(
                EventType.STAGE_RETRY_SCHEDULED,
                run.stage,
                runId=run.run_id,
                attempt=run.attempt,
                failure=error,
                retryTime=_rfc3339(self.context.now + delay),
                due=self.context.now + delay,
                timerId=f"retry:{run.run_id}",
            )
            return
        if run.parent or run.compensates:
            self.emit(
                EventType.STAGE_FAILED,
                run.stage,
                runId=run.run_id,
                attempt=run.attempt,
                failure=error,
            )
            if run.compensates:
                saga.run_closed(self)
                return
            fanout.item_closed(self, run)
            return
        view = symphony.failure_view(error) if self.campaign.symphony else failure_view(error)
        try:
            following = self.select(run.stage, view)
        except ExpressionError:
            following = ""
        handled = stage.spec.handle_errors or (
            bool(following) and self.campaign.stages[following].spec.handle_errors
        )
        self.emit(
            EventType.STAGE_FAILED,
            run.stage,
            runId=run.run_id,
            attempt=run.attempt,
            failure=error,
            nextStage=following if handled else "",
            **({"outputs": view} if self.campaign.symphony else {}),
        )
        if handled:
            self.proceed(following)
        else:
            message = f"stage {run.stage!r} failed: {error.get('message', '')}"
            self.close(Status.FAILED, failure={**error, "message": message})

    def proceed(self, following: str) -> None:
        if operations.paused(self):
            operations.hold(self, following)
        elif not self.state.self_driving:
            self.emit(
                EventType.ACTIVATION_PAUSED,
                self.state.current_stage,
                reason="stepped",
                nextStage=following,
            )
        elif following:
            self.start_stage(following, previous=self.state.current_stage)
        else:
            self.close(Status.COMPLETED)

    def select(self, stage: str, outputs: Any) -> str:
        selector = self.campaign.stages[stage].selector
        if selector is None:
            return ""
        value = selector.render(self.env({**self.state.outputs, stage: outputs}, stage=stage))
        following = "" if value is None or value is False else str(value)
        if following and following not in self.campaign.stages:
            raise ExpressionError(f"selected {following!r}, which names no stage")
        return following

    def continue_as_new(self, run: StageRun, inputs: dict[str, Any]) -> None:
        archived = f"{self.state.id}~{self.state.run_number}"
        following = self.state.run_number + 1
        self.emit(
            EventType.STAGE_COMPLETED,
            run.stage,
            runId=run.run_id,
            attempt=run.attempt,
            outputs={"inputs": inputs},
        )
        self.commands.append(ContinueAsNew(archived, inputs, following))
        self.close_now(
            Status.CONTINUED_AS_NEW,
            newActivationId=self.state.id,
            inputs=inputs,
            run=following,
            archivedAs=archived,
        )

    def cancel_run(self, run: StageRun) -> None:
        """Tell the runtime to stop a stage run that has just been closed."""
        if (run.provider not in WAITING or run.dispatch_id) and run.items is None:
            self.commands.append(CancelStage(run.run_id))

    def close(self, status: Status, **data: Any) -> None:
        """End the activation (after its compensations, when it fails or is cancelled);
        ``data`` per the closing EventType: reason, failure or timeout."""
        if saga.begin(self, status, data):
            return
        self.close_now(status, **data)

    def close_now(self, status: Status, **data: Any) -> None:
        """Emit the closing event."""
        for run in self.state.runs:
            if run.status is RunStatus.RUNNING and (run.provider not in WAITING or run.dispatch_id):
                self.commands.append(CancelStage(run.run_id, status is Status.TERMINATED))
        stage = "" if status in (Status.CANCELLED, Status.TERMINATED) else self.state.current_stage
        if status is Status.COMPLETED:
            data["outputs"] = self.state.outputs
        self.emit(CLOSING_EVENT_OF[status], stage, **data)

    def env(self, outputs: dict[str, Any], context: Any = None, stage: str = "") -> dict[str, Any]:
        """What expressions read: CEL's variables, or Symphony's evaluation context (the
        inputs of ``stage``'s latest run, for a selector's ``$input``)."""
        state = self.state
        if self.campaign.symphony:
            run = next((r for r in reversed(state.runs) if r.stage == stage), None)
            return {
                "triggers": state.inputs,
                "inputs": (run.inputs or {}) if run is not None else {},
                "outputs": outputs,
                "value": context,
            }
        return {
            "inputs": state.inputs,
            "outputs": outputs,
            "context": context,
            "trigger": state.trigger,
            "secrets": {name: reference(name) for name in self.context.secrets},
            "activation": {
                "id": state.id,
                "namespace": state.namespace,
                "campaign": state.campaign,
                "generation": state.generation,
                "site": self.context.site,
            },
        }

    def _run(self, run_id: str) -> StageRun:
        run = self.state.run(run_id)
        assert run is not None
        return run


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
