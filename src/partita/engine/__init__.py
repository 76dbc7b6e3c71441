"""The pure, deterministic activation state machine."""

from partita.engine.compile import CompiledCampaign, compile_campaign, provider_name
from partita.engine.events import Event, EventType
from partita.engine.fold import apply, replay
from partita.engine.inputs import (
    Advance,
    Cancel,
    Input,
    Signal,
    StageResult,
    Start,
    TaskLeased,
    Terminate,
    TimerFired,
)
from partita.engine.machine import (
    CancelStage,
    Command,
    Context,
    EnqueueTask,
    RunStage,
    Transition,
    handle,
)
from partita.engine.state import ActivationState, RunStatus, StageRun, Status

__all__ = [
    "ActivationState",
    "Advance",
    "Cancel",
    "CancelStage",
    "Command",
    "CompiledCampaign",
    "Context",
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
    "Status",
    "TaskLeased",
    "Terminate",
    "TimerFired",
    "Transition",
    "apply",
    "compile_campaign",
    "handle",
    "provider_name",
    "replay",
]
