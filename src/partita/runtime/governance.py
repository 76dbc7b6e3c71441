"""Queue governance: how the stage tasks of one task queue share it.

A queue's tasks wait in lanes, one per key (a ``worker`` stage's ``queue.key``, by default
its campaign). A poll takes the next task of the lane chosen by stride scheduling: each key
advances by ``1 / weight`` per task taken, the key furthest behind goes next, and a key that
was idle starts level with the others (no credit saved up while idle), so while several keys
wait each gets a share of the polls in proportion to its weight (``6 - priority`` of its next
task). A key whose ``concurrency`` limit is reached (tasks taken and not yet finished) is
passed over. A queue may have a rate limit: a token bucket of ``rate`` tasks a second holding
at most ``burst`` tokens.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

DEFAULT_PRIORITY = 3


@dataclass(frozen=True)
class QueueLimit:
    """A task queue's rate limit: ``rate`` tasks a second, bursts of up to ``burst``."""

    rate: float
    burst: float = 1.0


class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst``; starts full."""

    def __init__(self, limit: QueueLimit, now: float) -> None:
        self.rate = limit.rate
        self.burst = max(limit.burst, 1.0)
        self._tokens = self.burst
        self._time = now

    def _fill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._time) * self.rate)
        self._time = now

    def delay(self, now: float) -> float:
        """Seconds until a token is there (0: there is one now)."""
        self._fill(now)
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self.rate

    def take(self, now: float) -> None:
        self._fill(now)
        self._tokens -= 1.0


def weight(priority: int) -> int:
    return 6 - priority


RunKey = tuple[str, str]
"""(activation id, run id): one stage run, whichever attempt."""


@dataclass
class _Entry:
    task: Any
    """The queued task (``tasks.QueuedTask``)."""
    queued_at: float


@dataclass
class Lanes:
    """The waiting tasks of one task queue, by key, and the tasks of each key held by workers."""

    lanes: dict[str, deque[_Entry]] = field(default_factory=dict)
    passes: dict[str, float] = field(default_factory=dict)
    held: dict[str, dict[RunKey, int]] = field(default_factory=dict)
    """Per key: the stage runs whose task a worker holds (or a poll took), with the attempt."""
    limits: dict[str, int] = field(default_factory=dict)
    """Per key: its latest concurrency limit (0: none)."""
    size: int = 0

    def push(self, task: Any, now: float, *, front: bool = False) -> None:
        key, _, concurrency = policy(task)
        lane = self.lanes.get(key)
        if lane is None:
            # An idle key starts level with the keys waiting: no credit saved while idle.
            level = min((self.passes[k] for k in self.lanes), default=0.0)
            self.passes[key] = max(self.passes.get(key, 0.0), level)
            lane = self.lanes[key] = deque()
        if front:
            lane.appendleft(_Entry(task, now))
        else:
            lane.append(_Entry(task, now))
        self.limits[key] = concurrency
        self.size += 1

    def pop(self) -> Any | None:
        """The next task by fair share among the keys below their limit; it counts as held."""
        best: str | None = None
        rank: tuple[float, float] = (0.0, 0.0)
        for key, lane in self.lanes.items():
            if not self._open(key, lane[0].task):
                continue
            mine = (self.passes[key], lane[0].queued_at)  # ties: the longest waiting first
            if best is None or mine < rank:
                best, rank = key, mine
        if best is None:
            return None
        lane = self.lanes[best]
        task = lane.popleft().task
        self.size -= 1
        self.passes[best] += 1.0 / weight(policy(task)[1])
        if not lane:
            del self.lanes[best]
        self.hold(task)
        return task

    def _open(self, key: str, task: Any) -> bool:
        limit = self.limits.get(key, 0)
        held = self.held.get(key)
        if not limit or not held:
            return True
        return len(held) < limit or (task.activation_id, task.run_id) in held

    def hold(self, task: Any) -> None:
        key = policy(task)[0]
        self.held.setdefault(key, {})[(task.activation_id, task.run_id)] = task.attempt

    def release(self, key: str, run: RunKey, attempt: int | None = None) -> bool:
        """The run's task is no longer held (``attempt``: only if it is that attempt's)."""
        held = self.held.get(key)
        if not held or run not in held or (attempt is not None and held[run] != attempt):
            return False
        del held[run]
        if not held:
            del self.held[key]
        return True

    def oldest(self) -> float | None:
        """When the task waiting longest was queued; None when none waits."""
        return min((lane[0].queued_at for lane in self.lanes.values()), default=None)

    def held_count(self) -> int:
        return sum(len(h) for h in self.held.values())


def policy(task: Any) -> tuple[str, int, int]:
    """(key, priority, concurrency) of a queued task; one shared lane without a policy."""
    queue: dict[str, Any] = task.queue
    if not queue:
        return "", DEFAULT_PRIORITY, 0
    return (
        str(queue.get("key", "")),
        int(queue.get("priority", DEFAULT_PRIORITY)),
        int(queue.get("concurrency") or 0),
    )
