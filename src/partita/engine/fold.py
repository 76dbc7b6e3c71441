"""Folding history: ``apply(state, event)`` is the only code that changes an activation's state.

Replaying an activation's events through ``apply`` rebuilds exactly the state the plane
stored, which is how the engine's determinism is checked.
"""

from __future__ import annotations

from collections.abc import Iterable

from partita.engine.events import Event, EventType
from partita.engine.state import (
    TRANSITIONS,
    ActivationState,
    BufferedSignal,
    RunIndex,
    RunStatus,
    StageRun,
    Status,
    Timer,
)

CLOSING_EVENTS: dict[EventType, Status] = {
    EventType.ACTIVATION_COMPLETED: Status.COMPLETED,
    EventType.ACTIVATION_FAILED: Status.FAILED,
    EventType.ACTIVATION_CANCELLED: Status.CANCELLED,
    EventType.ACTIVATION_TERMINATED: Status.TERMINATED,
    EventType.ACTIVATION_TIMED_OUT: Status.TIMED_OUT,
    EventType.ACTIVATION_CONTINUED_AS_NEW: Status.CONTINUED_AS_NEW,
}
CLOSING_EVENT_OF = {status: event for event, status in CLOSING_EVENTS.items()}


def replay(namespace: str, activation_id: str, events: Iterable[Event]) -> ActivationState:
    """The state that ``events`` fold into."""
    state = ActivationState(namespace=namespace, id=activation_id)
    for event in events:
        apply(state, event)
    return state


_RUN_STATUS_EVENTS = frozenset(
    {
        EventType.STAGE_STARTED,
        EventType.STAGE_COMPLETED,
        EventType.STAGE_FAILED,
        EventType.STAGE_RETRY_SCHEDULED,
    }
)
"""Events that may start a stage run or change whether it is open."""


def apply(state: ActivationState, event: Event) -> None:
    """Fold one event into ``state`` (in place)."""
    if event.sequence != state.last_sequence + 1:
        raise ValueError(f"event {event.sequence} follows {state.last_sequence}")
    if event.type in _RUN_STATUS_EVENTS:
        before = state.run(event.data["runId"])
        _apply(state, event)
        _count_item(state, before, _run_of(state, event.data["runId"]))
    else:
        _apply(state, event)


def _count_item(state: ActivationState, before: StageRun | None, after: StageRun) -> None:
    """Keep a fan-out's counts of started and open items (when it keeps them)."""
    if not after.parent:
        return
    was_open = before is not None and before.open
    if before is not None and was_open == after.open:
        return
    parent = state.run(after.parent)
    if parent is None or parent.items_started is None or parent.items_open is None:
        return
    parent = _run(state, after.parent)
    assert parent.items_started is not None and parent.items_open is not None
    if before is None:
        parent.items_started += 1
    parent.items_open += (1 if after.open else 0) - (1 if was_open else 0)


def _run_of(state: ActivationState, run_id: str) -> StageRun:
    run = state.run(run_id)
    if run is None:
        raise ValueError(f"no stage run {run_id}")
    return run


def _apply(state: ActivationState, event: Event) -> None:
    state.last_sequence = event.sequence
    data = event.data
    kind = event.type
    if kind is EventType.ACTIVATION_STARTED:
        state.campaign = data["campaign"]
        state.version = data["version"]
        state.inputs = data["inputs"]
        state.self_driving = data["selfDriving"]
        state.headers = data.get("headers") or {}
        state.parent = data.get("parent") or {}
        state.continued_from = data.get("continuedFrom", "")
        state.run_number = data.get("run", 1)
        state.create_time = event.time
        if data.get("deadline") is not None:
            state.timers["activation-timeout"] = Timer(
                due=data["deadline"], kind="activation-timeout"
            )
    elif kind is EventType.STAGE_STARTED:
        _stage_started(state, event)
    elif kind is EventType.STAGE_COMPLETED:
        run = _run(state, data["runId"])
        run.status = RunStatus.COMPLETED
        run.outputs = data["outputs"]
        run.end_time = event.time
        run.next_stage = data.get("nextStage", "")
        run.waiting_for = ""
        if _own_outputs(state, run):
            state.outputs[run.stage] = data["outputs"]
        _drop_timers(state, run.run_id)
    elif kind is EventType.STAGE_FAILED:
        run = _run(state, data["runId"])
        cancelled = data["failure"].get("type") == "Cancelled"
        run.status = RunStatus.CANCELLED if cancelled else RunStatus.FAILED
        run.error = data["failure"]
        run.end_time = event.time
        run.next_stage = data.get("nextStage", "")
        run.waiting_for = ""
        if _own_outputs(state, run):
            state.outputs[run.stage] = data.get("outputs") or failure_view(data["failure"])
        _drop_timers(state, run.run_id)
    elif kind is EventType.STAGE_RETRY_SCHEDULED:
        run = _run(state, data["runId"])
        run.status = RunStatus.WAITING
        run.error = data["failure"]
        run.worker = ""
        _drop_timers(state, run.run_id)
        state.timers[data["timerId"]] = Timer(due=data["due"], kind="retry", run_id=run.run_id)
    elif kind is EventType.STAGE_TASK_LEASED:
        run = _run(state, data["runId"])
        run.worker = data["identity"]
        _drop_timers(state, run.run_id)
        for timer in data.get("timers", []):
            state.timers[timer["id"]] = Timer(
                due=timer["due"], kind=timer["kind"], run_id=run.run_id
            )
    elif kind is EventType.DISPATCH_SENT:
        run = _run(state, data["runId"])
        run.dispatch_id = data["dispatchId"]
        timer = data.get("timer")
        if timer:
            state.timers[timer["id"]] = Timer(
                due=timer["due"], kind=timer["kind"], run_id=run.run_id
            )
    elif kind is EventType.DISPATCH_ACCEPTED:
        run = _run(state, data["runId"])
        run.dispatch_accepted = True
        _drop_timers(state, run.run_id)
    elif kind is EventType.CHILD_STARTED:
        _run(state, data["runId"]).child_started = True
    elif kind in (EventType.STAGE_TIMED_OUT, EventType.CHILD_CLOSED, EventType.DISPATCH_RESULT):
        pass
    elif kind is EventType.TIMER_FIRED:
        state.timers.pop(data["timerId"], None)
    elif kind is EventType.SIGNAL_RECEIVED:
        signal = {"event": data["event"], "data": data["data"]}
        if data.get("runId"):
            state.trigger = signal
        else:
            state.signals.append(BufferedSignal.model_validate(signal))
    elif kind is EventType.ACTIVATION_PAUSED:
        _set_status(state, Status.PAUSED)
        state.next_stage = data.get("nextStage", "")
        following = f"; next stage {state.next_stage!r}" if state.next_stage else ""
        if data.get("reason") == "request":
            _paused_by_request(state, event)
        else:
            state.paused_by = "stepped"
            state.status_message = f"stepped mode: waiting for an advance{following}"
    elif kind in (EventType.ACTIVATION_ADVANCED, EventType.ACTIVATION_RESUMED):
        _set_status(state, Status.RUNNING)
        _unpause(state)
        state.status_message = ""
    elif kind is EventType.ACTIVATION_RERUN:
        _rerun(state, event)
    elif kind is EventType.STAGE_RETRY_REQUESTED:
        state.timers.pop(data["timerId"], None)
    elif kind is EventType.STAGE_SKIPPED:
        pass  # its STAGE_COMPLETED follows
    elif kind is EventType.COMPENSATION_STARTED:
        if "closing" in data:
            state.closing = data["closing"]
        state.compensated = [*state.compensated, data["compensatedRunId"]]
        if state.status is Status.PAUSED:
            _set_status(state, Status.RUNNING)
            _unpause(state)
    elif kind is EventType.CANCEL_REQUESTED:
        state.status_message = data.get("reason", "")
    elif kind in CLOSING_EVENTS:
        _set_status(state, CLOSING_EVENTS[kind])
        state.close_time = event.time
        state.status_message = _closing_message(data)
        _unpause(state)
        for index, old in enumerate(state.runs):
            if old.open:
                run = state.runs[index] = old.model_copy()
                run.status = RunStatus.CANCELLED
                run.end_time = event.time
                run.waiting_for = ""
        state.timers = {}


def _paused_by_request(state: ActivationState, event: Event) -> None:
    data = event.data
    state.paused_by = "request"
    if "holdTasks" in data:
        state.hold_tasks = bool(data["holdTasks"])
    if "note" in data:
        state.pause_note = data["note"]
    if data.get("held"):
        state.held = True
    note = f": {state.pause_note}" if state.pause_note else ""
    if state.held:
        following = f"stage {state.next_stage!r}" if state.next_stage else "the end"
        note += f"; {following} waits for the resume"
    state.status_message = f"paused by request{note}"


def _unpause(state: ActivationState) -> None:
    state.paused_by = ""
    state.held = False
    state.hold_tasks = False
    state.pause_note = ""
    state.next_stage = ""


def _rerun(state: ActivationState, event: Event) -> None:
    """Reopen a closed activation: the rerun's stage starts next (its STAGE_STARTED follows)."""
    data = event.data
    _set_status(state, Status.RUNNING)
    state.close_time = None
    state.inputs = data["inputs"]
    for stage in data.get("dropped", []):
        state.outputs.pop(stage, None)
    state.closing = {}
    state.compensated = []
    state.status_message = ""
    if data.get("deadline") is not None:
        state.timers["activation-timeout"] = Timer(due=data["deadline"], kind="activation-timeout")


def failure_view(error: dict[str, object]) -> dict[str, object]:
    """What selectors see as ``outputs.<stage>`` after the stage failed."""
    return {
        "status": "FAILED",
        "error": error.get("message", ""),
        "errorType": error.get("type", ""),
    }


def _stage_started(state: ActivationState, event: Event) -> None:
    data = event.data
    if state.run(data["runId"]) is None:
        run = StageRun(run_id=data["runId"], stage=event.stage, provider=data["provider"])
        run.parent = data.get("parentRunId", "")
        run.context = data.get("context")
        run.compensates = data.get("compensates", "")
        run.items = data.get("items")
        if run.items is not None:
            run.items_started = run.items_open = 0
        state.runs.append(run)
        if not run.parent:
            state.generation += 1
    else:
        run = _run(state, data["runId"])
    run.attempt = data["attempt"]
    run.config = data["config"]
    run.inputs = data["inputs"]
    run.previous_stage = data.get("previousStage", "")
    run.start_time = event.time
    run.error = None
    run.waiting_for = data.get("waitFor", "")
    run.task_queue = data.get("taskQueue", "")
    run.task_type = data.get("taskType", "")
    run.heartbeat_timeout = data.get("heartbeatTimeout")
    run.queue = data.get("queue") or {}
    run.worker = ""
    run.child = data.get("child", {}).get("activationId", "")
    run.child_started = False
    run.site = data.get("site", "")
    run.dispatch_id = ""
    run.dispatch_accepted = False
    timer = data.get("timer")
    waiting = run.waiting_for or (
        timer and (run.provider == "delay" or timer.get("kind") == "schedule")
    )
    run.status = RunStatus.WAITING if waiting else RunStatus.RUNNING
    state.current_stage = event.stage
    if timer:
        state.timers[timer["id"]] = Timer(due=timer["due"], kind=timer["kind"], run_id=run.run_id)
    consumed = data.get("consumedSignal")
    if consumed is not None:
        signal = state.signals.pop(consumed)
        state.trigger = signal.model_dump()


def _run(state: ActivationState, run_id: str) -> StageRun:
    """The stage run to change: a copy put in place of the original, which may be shared with
    the state an input was handled against (see ``fork``)."""
    index = state.position(run_id)
    if index is None:
        raise ValueError(f"no stage run {run_id}")
    run = state.runs[index] = state.runs[index].model_copy()
    return run


def _own_outputs(state: ActivationState, run: StageRun) -> bool:
    """Whether a run's outputs are its stage's: not for a fan-out's items of that same stage
    (their outputs are gathered into the fan-out's), but yes for a parallel branch."""
    if not run.parent:
        return True
    parent = state.run(run.parent)
    return parent is None or parent.stage != run.stage


def fork(state: ActivationState) -> ActivationState:
    """A copy of ``state`` that ``apply`` may change without changing ``state``.

    Cheaper than a deep copy: containers that ``apply`` changes in place are copied, their
    elements are shared, and ``apply`` copies a stage run before changing it. Values inside
    inputs and outputs are never changed in place.
    """
    copy = state.model_copy()
    copy.runs = list(state.runs)
    index = state._index
    if index.runs is state.runs:
        copied = copy._index = RunIndex(copy.runs)
        copied.positions = dict(index.positions)
        copied.indexed = index.indexed
    copy.outputs = dict(state.outputs)
    copy.timers = dict(state.timers)
    copy.signals = list(state.signals)
    return copy


TIMER_PREFIXES = (
    "start-to-close",
    "heartbeat",
    "delay",
    "wait",
    "schedule-to-start",
    "schedule",
    "retry",
)
"""A stage run's timers are named ``<prefix>:<run id>``."""


def _drop_timers(state: ActivationState, run_id: str) -> None:
    timers = state.timers
    if len(timers) > 4 * len(TIMER_PREFIXES):
        # Many timers (one per item of a big fan-out): look up the run's by name, not scan.
        for prefix in TIMER_PREFIXES:
            timer = timers.get(f"{prefix}:{run_id}")
            if timer is not None and timer.run_id == run_id:
                del timers[f"{prefix}:{run_id}"]
        return
    for timer_id in [k for k, t in timers.items() if t.run_id == run_id]:
        del timers[timer_id]


def _set_status(state: ActivationState, status: Status) -> None:
    if status is not state.status and status not in TRANSITIONS[state.status]:
        raise ValueError(f"illegal status change {state.status} -> {status}")
    state.status = status


def _closing_message(data: dict[str, object]) -> str:
    failure = data.get("failure")
    if isinstance(failure, dict):
        return str(failure.get("message", ""))
    if data.get("timeout"):
        return f"timed out after {data['timeout']}"
    return str(data.get("reason") or "")
