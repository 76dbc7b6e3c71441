"""Task queues: stage tasks waiting for workers, long polls waiting for tasks, and the workers seen.

Queues live in memory; what is durable is the stage run itself. After a restart the driver
puts every open ``worker`` attempt back on its queue, so a task leased before a crash is
delivered again; the first completion of an attempt wins and later ones are stale.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from partita.engine import ActivationState, RunStatus
from partita.errors import InvalidInputError
from partita.runtime.governance import Lanes, QueueLimit, TokenBucket, policy

QueueKey = tuple[str, str]
"""(namespace, task queue)"""


@dataclass(frozen=True)
class QueuedTask:
    """One attempt of one ``worker`` stage run, waiting for a worker."""

    namespace: str
    activation_id: str
    campaign: str
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
class TaskToken:
    """What a task token names: one attempt of one stage run."""

    namespace: str
    activation_id: str
    run_id: str
    attempt: int

    def encode(self) -> bytes:
        raw = json.dumps([self.namespace, self.activation_id, self.run_id, self.attempt])
        return base64.urlsafe_b64encode(raw.encode())

    @classmethod
    def decode(cls, token: bytes) -> TaskToken:
        try:
            namespace, activation_id, run_id, attempt = json.loads(base64.urlsafe_b64decode(token))
            if not all(isinstance(v, str) for v in (namespace, activation_id, run_id)):
                raise ValueError
            if not isinstance(attempt, int):
                raise ValueError
        except (ValueError, TypeError):
            raise InvalidInputError.field(
                "task_token", "is not a task token of this plane"
            ) from None
        return cls(namespace, activation_id, run_id, attempt)


class TaskQueues:
    """Stage tasks by queue, each matched at once with a waiting poll when there is one; a
    queue's tasks are taken by fair share between keys, within their concurrency limits and
    the queue's rate limit (``runtime.governance``)."""

    durable = False
    """Tasks live in memory (one plane owns the database); see ``SharedTaskQueues``."""

    def __init__(self, limits: dict[str, QueueLimit] | None = None) -> None:
        self._lanes: dict[QueueKey, Lanes] = defaultdict(Lanes)
        self._polls: dict[QueueKey, deque[asyncio.Future[QueuedTask | None]]] = defaultdict(deque)
        self._limits = limits or {}
        self._buckets: dict[QueueKey, TokenBucket] = {}
        self._held: dict[tuple[str, str], dict[str, tuple[QueueKey, str]]] = {}
        """Per activation: its runs whose task is held, with their queue and key."""
        self._timers: dict[QueueKey, asyncio.TimerHandle] = {}

    def push(self, task: QueuedTask, *, front: bool = False) -> None:
        key = (task.namespace, task.task_queue)
        self._lanes[key].push(task, time.monotonic(), front=front)
        self._dispatch(key)

    async def pop(self, namespace: str, task_queue: str, wait_seconds: float) -> QueuedTask | None:
        """The next task, waiting at most ``wait_seconds`` for one."""
        key = (namespace, task_queue)
        poll: asyncio.Future[QueuedTask | None] = asyncio.get_running_loop().create_future()
        self._polls[key].append(poll)
        self._dispatch(key)
        try:
            return await asyncio.wait_for(poll, wait_seconds)
        except TimeoutError:
            return None
        except asyncio.CancelledError:
            if poll.done() and not poll.cancelled() and (task := poll.result()) is not None:
                self.give_back(task)  # the poller went away just as a task reached it
            raise
        finally:
            polls = self._polls.get(key)
            if polls is not None and poll in polls:
                polls.remove(poll)

    def _dispatch(self, key: QueueKey) -> None:
        """Hand waiting tasks to waiting polls, as the queue's limits allow."""
        polls = self._polls.get(key)
        lanes = self._lanes.get(key)
        while polls and lanes is not None and lanes.size:
            while polls and polls[0].done():
                polls.popleft()
            if not polls:
                return
            bucket = self._bucket(key)
            if bucket is not None:
                delay = bucket.delay(time.monotonic())
                if delay > 0:
                    if key not in self._timers:
                        loop = asyncio.get_running_loop()
                        self._timers[key] = loop.call_later(delay, self._refill, key)
                    return
            task = lanes.pop()
            if task is None:
                return  # every waiting key is at its concurrency limit
            if bucket is not None:
                bucket.take(time.monotonic())
            self._held.setdefault((task.namespace, task.activation_id), {})[task.run_id] = (
                key,
                policy(task)[0],
            )
            polls.popleft().set_result(task)

    def _refill(self, key: QueueKey) -> None:
        self._timers.pop(key, None)
        self._dispatch(key)

    def _bucket(self, key: QueueKey) -> TokenBucket | None:
        bucket = self._buckets.get(key)
        if bucket is None and key[1] in self._limits:
            bucket = self._buckets[key] = TokenBucket(self._limits[key[1]], time.monotonic())
        return bucket

    async def done(self, task: QueuedTask) -> None:
        """The task was leased or is stale (in memory it left the queue when popped)."""

    def give_back(self, task: QueuedTask) -> None:
        """The poll went away before the lease: the task goes to the next poll."""
        self._release(task.namespace, task.activation_id, task.run_id, task.attempt)
        self.push(task, front=True)

    def hold(self, task: QueuedTask) -> None:
        """A worker may hold this task already (leased before a restart): count it held."""
        key = (task.namespace, task.task_queue)
        self._lanes[key].hold(task)
        self._held.setdefault((task.namespace, task.activation_id), {})[task.run_id] = (
            key,
            policy(task)[0],
        )

    def settle(self, state: ActivationState) -> None:
        """The activation changed: its runs whose held task's attempt ended free their key."""
        held = self._held.get((state.namespace, state.id))
        if not held:
            return
        for run_id in list(held):
            run = state.run(run_id)
            lanes = self._lanes.get(held[run_id][0])
            attempt = lanes.held.get(held[run_id][1], {}).get((state.id, run_id)) if lanes else None
            if (
                run is None
                or run.status is not RunStatus.RUNNING
                or run.attempt != attempt
                or state.status.terminal
            ):
                self._release(state.namespace, state.id, run_id, None)

    def release(self, task: QueuedTask) -> None:
        """The task's activation is gone or closed: its key is free of it."""
        self._release(task.namespace, task.activation_id, task.run_id, None)

    def _release(
        self, namespace: str, activation_id: str, run_id: str, attempt: int | None
    ) -> None:
        held = self._held.get((namespace, activation_id))
        if not held or run_id not in held:
            return
        queue, key = held[run_id]
        lanes = self._lanes.get(queue)
        if lanes is not None and not lanes.release(key, (activation_id, run_id), attempt):
            return
        del held[run_id]
        if not held:
            del self._held[(namespace, activation_id)]
        self._dispatch(queue)

    def backlog(self, namespace: str, task_queue: str) -> int:
        lanes = self._lanes.get((namespace, task_queue))
        return lanes.size if lanes is not None else 0

    def queues(self, namespace: str) -> list[QueueInfo]:
        """The namespace's queues with tasks waiting or held, by name."""
        now = time.monotonic()
        found = []
        for (ns, name), lanes in sorted(self._lanes.items()):
            if ns != namespace or not (lanes.size or lanes.held):
                continue
            oldest = lanes.oldest()
            limit = self._limits.get(name)
            found.append(
                QueueInfo(
                    name=name,
                    backlog=lanes.size,
                    oldest_age=None if oldest is None else now - oldest,
                    held=lanes.held_count(),
                    keys=len(set(lanes.lanes) | set(lanes.held)),
                    rate=limit.rate if limit else 0.0,
                )
            )
        return found

    def wake_all(self) -> None:
        """End every waiting poll empty (the plane is stopping)."""
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for polls in self._polls.values():
            for poll in polls:
                if not poll.done():
                    poll.set_result(None)


@dataclass(frozen=True)
class QueueInfo:
    """A task queue as ``partita list queues`` shows it."""

    name: str
    backlog: int
    """Tasks waiting for a worker."""
    oldest_age: float | None
    """Seconds the oldest waiting task has waited; None when none waits (or not known)."""
    held: int = 0
    """Tasks taken by workers and not finished (counted for concurrency limits)."""
    keys: int = 0
    """Keys with tasks waiting or held."""
    rate: float = 0.0
    """The queue's rate limit, tasks a second; 0: none."""


@dataclass
class WorkerInfo:
    identity: str
    namespace: str
    task_queues: set[str] = field(default_factory=set)
    last_seen: float = 0.0
    polling: int = 0
    in_flight: set[tuple[str, str, int]] = field(default_factory=set)


class Workers:
    """The workers seen: alive while they poll, or within ``ttl`` seconds of their last call."""

    def __init__(self, clock: Callable[[], float], ttl: float) -> None:
        self._clock = clock
        self._ttl = ttl
        self._seen: dict[tuple[str, str], WorkerInfo] = {}

    def seen(self, namespace: str, identity: str, task_queue: str = "") -> WorkerInfo:
        info = self._seen.get((namespace, identity))
        if info is None:
            info = self._seen[(namespace, identity)] = WorkerInfo(identity, namespace)
        info.last_seen = self._clock()
        if task_queue:
            info.task_queues.add(task_queue)
        return info

    def alive(self, namespace: str, task_queue: str = "") -> list[WorkerInfo]:
        now = self._clock()
        for key, info in list(self._seen.items()):
            if info.polling == 0 and now - info.last_seen > self._ttl:
                del self._seen[key]
        return sorted(
            (
                info
                for info in self._seen.values()
                if info.namespace == namespace
                and (not task_queue or task_queue in info.task_queues)
            ),
            key=lambda info: info.identity,
        )
