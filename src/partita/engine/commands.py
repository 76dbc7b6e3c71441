"""Commands: what the runtime must do after a transition is committed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RunStage:
    """Command: run one attempt of a stage run with a built-in provider; report a StageResult."""

    run_id: str
    attempt: int
    stage: str
    provider: str
    config: dict[str, Any]
    inputs: dict[str, Any]
    previous_stage: str
    generation: int
    state: Any = None
    """The stage's previous ``__state`` output in this activation (for ``counter``)."""


@dataclass(frozen=True)
class EnqueueTask:
    """Command: put this attempt's stage task on its task queue for a worker to poll."""

    run_id: str
    attempt: int
    stage: str
    task_queue: str
    task_type: str
    inputs: dict[str, Any]
    headers: dict[str, str]
    queue: dict[str, Any] = field(default_factory=dict)
    """Queue governance: ``{key, priority, concurrency}`` (empty: no policy)."""


@dataclass(frozen=True)
class CancelStage:
    """Command: stop a running stage run; its result will be ignored."""

    run_id: str
    terminate: bool = False
    """The activation was terminated: a child activation is terminated, not cancelled."""


@dataclass(frozen=True)
class StartChild:
    """Command: start the child activation of a ``campaign`` stage run's attempt (idempotent:
    the child's id is derived from the parent's), then report ChildStarted, and ChildClosed
    when it ends."""

    run_id: str
    attempt: int
    child_id: str
    campaign: str
    version: int
    inputs: dict[str, Any]


@dataclass(frozen=True)
class ContinueAsNew:
    """Command: keep this closed run under ``archived_id`` and start the activation's next run,
    under the same id, with ``inputs`` (on the campaign's latest version)."""

    archived_id: str
    inputs: dict[str, Any]
    run_number: int


@dataclass(frozen=True)
class Dispatch:
    """Command: keep this remote attempt's dispatch in the outbox (idempotent by
    ``dispatch_id``) and send it to ``site`` until the site acknowledges it; then report
    DispatchAccepted, and DispatchClosed with the site's result."""

    run_id: str
    attempt: int
    dispatch_id: str
    site: str
    campaign: str
    """A campaign known to the site to run; empty when ``stage`` is set."""
    version: int
    stage: dict[str, Any]
    """The stage to run as a one-stage campaign, in the document's shape (with ``name``)."""
    inputs: dict[str, Any]
    headers: dict[str, str]
    deadline: float | None = None
    """The hub activation's own deadline, if it has one: the site's activation ends by then."""


Command = RunStage | EnqueueTask | StartChild | CancelStage | ContinueAsNew | Dispatch
