"""The folded state of one activation, and the legal status transitions."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, PrivateAttr


class Status(StrEnum):
    """Activation status; the last six are terminal."""

    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    TERMINATED = "TERMINATED"
    TIMED_OUT = "TIMED_OUT"
    CONTINUED_AS_NEW = "CONTINUED_AS_NEW"

    @property
    def terminal(self) -> bool:
        return self not in (Status.RUNNING, Status.PAUSED)


_CLOSING = {
    Status.COMPLETED,
    Status.FAILED,
    Status.CANCELLED,
    Status.TERMINATED,
    Status.TIMED_OUT,
    Status.CONTINUED_AS_NEW,
}
RERUNNABLE = frozenset(
    {Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.TERMINATED, Status.TIMED_OUT}
)
"""Closed statuses a rerun may reopen (COMPLETED only when asked for explicitly)."""
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RUNNING: frozenset({Status.PAUSED, *_CLOSING}),
    Status.PAUSED: frozenset({Status.RUNNING, *_CLOSING}),
    **{s: frozenset({Status.RUNNING} if s in RERUNNABLE else ()) for s in _CLOSING},
}
"""From each status, the statuses an activation may move to (a closed one back to RUNNING
only by a rerun)."""


class RunStatus(StrEnum):
    """Status of one stage run."""

    RUNNING = "RUNNING"
    WAITING = "WAITING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class StageRun(BaseModel):
    """One execution of one stage (its attempts included)."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    stage: str
    provider: str
    attempt: int = 1
    status: RunStatus = RunStatus.RUNNING
    config: dict[str, Any] = {}
    inputs: dict[str, Any] | None = None
    outputs: Any = None
    """The run's outputs: a map; for a fan-out, its items' outputs (a list, or a map by branch)."""
    error: dict[str, Any] | None = None
    start_time: float = 0.0
    end_time: float | None = None
    next_stage: str = ""
    waiting_for: str = ""
    """The signal a ``wait`` stage waits for."""
    previous_stage: str = ""
    task_queue: str = ""
    """``worker`` stages: the queue the stage task is on."""
    task_type: str = ""
    worker: str = ""
    """``worker`` stages: identity of the worker holding the current attempt's task."""
    heartbeat_timeout: float | None = None
    """``worker`` stages: seconds of heartbeat silence that fail the attempt."""
    queue: dict[str, Any] = {}
    """``worker`` stages with a queue policy: ``{key, priority, concurrency}`` of its task."""
    parent: str = ""
    """Fan-out: the run id of the stage run this one is an item of."""
    context: Any = None
    """Fan-out: this run's item (``context`` in its expressions)."""
    child: str = ""
    """``campaign`` stages: the id of the current attempt's child activation."""
    child_started: bool = False
    """``campaign`` stages: the child activation of the current attempt exists."""
    compensates: str = ""
    """Saga: the run id of the completed stage run this run undoes."""
    site: str = ""
    """Federation: the site this attempt runs on (set when the stage has ``site``)."""
    dispatch_id: str = ""
    """Federation: the current attempt's dispatch, when it runs on another site."""
    dispatch_accepted: bool = False
    """Federation: the site has persisted the current attempt's dispatch."""
    items: list[Any] | None = None
    """A fan-out's own run: its items (contexts, or the names of parallel branches)."""
    items_started: int | None = None
    """A fan-out's own run: how many of its items have started (None in states stored before
    the count was kept: then the items are counted from ``runs``)."""
    items_open: int | None = None
    """A fan-out's own run: how many of its items are open now (None as above)."""

    @property
    def open(self) -> bool:
        return self.status in (RunStatus.RUNNING, RunStatus.WAITING)


class Timer(BaseModel):
    """A durable timer: a due time and what its firing means."""

    model_config = ConfigDict(extra="forbid")

    due: float
    kind: str
    """``delay``, ``wait-timeout``, ``retry`` or ``activation-timeout``."""
    run_id: str = ""


class BufferedSignal(BaseModel):
    """A signal that arrived before any stage waited for it."""

    model_config = ConfigDict(extra="forbid")

    event: str
    data: dict[str, Any] = {}


class RunIndex:
    """Where each stage run is in ``ActivationState.runs``, so that finding one does not scan
    them (an activation with a 10,000-item fan-out has that many). A cache, not state: any two
    are equal, so states compare by their fields only."""

    __slots__ = ("indexed", "positions", "runs")

    def __init__(self, runs: list[StageRun] | None) -> None:
        self.runs = runs
        self.positions: dict[str, int] = {}
        self.indexed = 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunIndex)

    __hash__ = None  # type: ignore[assignment]


class ActivationState(BaseModel):
    """Everything the engine knows about one activation; rebuilt exactly by replaying history."""

    model_config = ConfigDict(extra="forbid")

    namespace: str
    id: str
    campaign: str = ""
    version: int = 0
    status: Status = Status.RUNNING
    status_message: str = ""
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    current_stage: str = ""
    next_stage: str = ""
    """In stepped mode, the stage the selector chose, run by the next advance."""
    generation: int = 0
    """Stage runs started so far."""
    self_driving: bool = True
    create_time: float = 0.0
    close_time: float | None = None
    last_sequence: int = 0
    runs: list[StageRun] = []
    timers: dict[str, Timer] = {}
    signals: list[BufferedSignal] = []
    trigger: dict[str, Any] = {}
    """The last signal that woke the activation: ``{event, data}``."""
    parent: dict[str, Any] = {}
    """For a child activation: ``{activationId, runId, attempt}`` of the stage that started it."""
    continued_from: str = ""
    """Continue-as-new: the id under which the previous run of this activation is kept."""
    run_number: int = 1
    """Continue-as-new: which run of the activation's chain this is."""
    closing: dict[str, Any] = {}
    """Saga: while compensations run, the ending they lead to: ``{status, data}``."""
    compensated: list[str] = []
    """Saga: run ids whose compensation has started."""
    headers: dict[str, str] = {}
    """Trace context of the request that started the activation; passed on to stage tasks."""
    paused_by: str = ""
    """While PAUSED: ``stepped`` (stepped mode, waiting for an advance) or ``request`` (a
    PauseActivation, waiting for a resume)."""
    held: bool = False
    """Paused by request: a stage finished meanwhile, and ``next_stage`` (empty: the end)
    waits for the resume."""
    hold_tasks: bool = False
    """Paused by request: stage tasks no worker has taken yet stay on their queue."""
    pause_note: str = ""
    """Paused by request: the caller's reason."""

    _index: RunIndex = PrivateAttr(default_factory=lambda: RunIndex(None))

    def position(self, run_id: str) -> int | None:
        """Where the (last) stage run with this id is in ``runs``, if any.

        ``runs`` only grows, and a run is replaced only by a copy in the same place, so the
        index is extended with the runs added since it was last used; a state whose ``runs``
        is another list (a fork) starts an index of its own.
        """
        runs = self.runs
        index = self._index
        if index.runs is not runs:
            index = self._index = RunIndex(runs)
        found = index.positions.get(run_id)
        fresh = index.indexed == len(runs) or all(r.run_id != run_id for r in runs[index.indexed :])
        if found is not None and found < len(runs) and runs[found].run_id == run_id and fresh:
            return found
        if found is not None or index.indexed > len(runs):
            index = self._index = RunIndex(runs)  # not as expected: index afresh
        positions = index.positions
        for number in range(index.indexed, len(runs)):
            positions[runs[number].run_id] = number
        index.indexed = len(runs)
        return positions.get(run_id)

    def run(self, run_id: str) -> StageRun | None:
        """The stage run with this id, if any."""
        found = self.position(run_id)
        return None if found is None else self.runs[found]

    def open_runs(self) -> list[StageRun]:
        return [r for r in self.runs if r.open]
