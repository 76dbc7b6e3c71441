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


@dataclass(frozen=True)
class Rerun:
    """Reopen a closed activation and run again from a stage (its failed one by default),
    keeping the outputs of the stages before it."""

    stage: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    """Inputs to change: merged over the activation's inputs."""
    completed: bool = False
    """Also rerun a COMPLETED activation (refused otherwise)."""


@dataclass(frozen=True)
class SkipStage:
    """Mark a stage completed with ``outputs`` without running it, and go on from there."""

    stage: str
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RetryStage:
    """Cut a pending retry backoff short: start the next attempt now."""

    stage: str = ""
    """The stage whose retry to start; empty: every stage run waiting to retry."""


@dataclass(frozen=True)
class Pause:
    """Hold a RUNNING activation: no new stage starts until it is resumed."""

    reason: str = ""
    hold_tasks: bool = False
    """Also hold its stage tasks that no worker has taken yet (else they still run)."""


@dataclass(frozen=True)
class Resume:
    """Let a paused activation go on: what was held starts, due timers fire."""

    reason: str = ""


Operation = Rerun | SkipStage | RetryStage | Pause | Resume
"""Requests of an operator that repair or hold an activation (``engine.operations``)."""

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
    | Rerun
    | SkipStage
    | RetryStage
    | Pause
    | Resume
)
