"""What the engine is asked to handle: a start, a stage result, a timer, a signal, a request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Start:
    """Start a new activation."""

    campaign: str
    version: int
    inputs: dict[str, Any] = field(default_factory=dict)
    start_stage: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    """Trace context (``traceparent``) to pass on to stage tasks."""
    parent: dict[str, Any] = field(default_factory=dict)
    """For a child activation: ``{activationId, runId, attempt}`` of the stage that started it."""
    continued_from: str = ""
    """Continue-as-new: the id under which the previous run is kept."""
    run_number: int = 1
    """Continue-as-new: which run of the activation's chain this is (1 for the first)."""
    deadline: float | None = None
    """A dispatch's deadline (from the hub): the activation times out then at the latest."""


@dataclass(frozen=True)
class StageResult:
    """A provider finished a stage run attempt: outputs, or an error."""

    run_id: str
    attempt: int
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    """``{type, message, details, nonRetryable}`` when the attempt failed."""


@dataclass(frozen=True)
class TaskLeased:
    """A worker took the stage task of this attempt off its queue."""

    run_id: str
    attempt: int
    identity: str


@dataclass(frozen=True)
class ChildStarted:
    """The child activation of a ``campaign`` stage run's attempt exists now."""

    run_id: str
    attempt: int
    child_id: str


@dataclass(frozen=True)
class ChildClosed:
    """The child activation of a ``campaign`` stage run's attempt reached a terminal status."""

    run_id: str
    attempt: int
    child_id: str
    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    failure: dict[str, Any] | None = None


@dataclass(frozen=True)
class DispatchAccepted:
    """The site of a remote attempt has persisted its dispatch."""

    run_id: str
    attempt: int
    dispatch_id: str


@dataclass(frozen=True)
class DispatchClosed:
    """The site's local activation of a remote attempt's dispatch has ended."""

    run_id: str
    attempt: int
    dispatch_id: str
    status: str
    """The local activation's terminal status."""
    outputs: dict[str, Any] = field(default_factory=dict)
    failure: dict[str, Any] | None = None


@dataclass(frozen=True)
class TimerFired:
    timer_id: str


@dataclass(frozen=True)
class Signal:
    event: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Advance:
    """Stepped mode: run the next stage (the selector's choice unless ``stage`` is given)."""

    stage: str = ""


@dataclass(frozen=True)
class Cancel:
    reason: str = ""


@dataclass(frozen=True)
class Terminate:
    reason: str = ""


Input = (
    Start
    | StageResult
    | TaskLeased
    | ChildStarted
    | ChildClosed
    | DispatchAccepted
    | DispatchClosed
    | TimerFired
    | Signal
    | Advance
    | Cancel
    | Terminate
)
