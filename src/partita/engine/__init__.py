"""The pure, deterministic activation state machine."""

from partita.engine.commands import (
    CancelStage,
    Command,
    ContinueAsNew,
    Dispatch,
    EnqueueTask,
    RunStage,
    StartChild,
)
from partita.engine.compile import CompiledCampaign, compile_campaign, provider_name
from partita.engine.events import Event, EventType
from partita.engine.fold import apply, fork, replay
from partita.engine.inputs import (
    Advance,
    Cancel,
    ChildClosed,
    ChildStarted,
    DispatchAccepted,
    DispatchClosed,
    Input,
    Signal,
    StageResult,
    Start,
    TaskLeased,
    Terminate,
    TimerFired,
)
from partita.engine.machine import Context, Transition, handle
from partita.engine.state import ActivationState, RunStatus, StageRun, Status

__all__ = [
    "ActivationState",
    "Advance",
    "Cancel",
    "CancelStage",
    "ChildClosed",
    "ChildStarted",
    "Command",
    "CompiledCampaign",
    "Context",
    "ContinueAsNew",
    "Dispatch",
    "DispatchAccepted",
    "DispatchClosed",
    "EnqueueTask",
    "Event",
    "EventType",
    "Input",
    "RunStage",
    "RunStatus",
    "Signal",
    "StageResult",
    "StageRun",
    "Start",
    "StartChild",
    "Status",
    "TaskLeased",
    "Terminate",
    "TimerFired",
    "Transition",
    "apply",
    "compile_campaign",
    "fork",
    "handle",
    "provider_name",
    "replay",
]
