"""Task queues: stage tasks waiting for workers, long polls waiting for tasks, and the workers seen.

Queues live in memory; what is durable is the stage run itself. After a restart the driver
puts every open ``worker`` attempt back on its queue, so a task leased before a crash is
delivered again; the first completion of an attempt wins and later ones are stale.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from partita.errors import InvalidInputError

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
    """FIFO queues of stage tasks, each matched at once with a waiting poll when there is one."""

    durable = False
    """Tasks live in memory (one plane owns the database); see ``SharedTaskQueues``."""

    def __init__(self) -> None:
        self._tasks: dict[QueueKey, deque[QueuedTask]] = defaultdict(deque)
        self._polls: dict[QueueKey, deque[asyncio.Future[QueuedTask | None]]] = defaultdict(deque)

    def push(self, task: QueuedTask) -> None:
        key = (task.namespace, task.task_queue)
        polls = self._polls.get(key)
        while polls:
            poll = polls.popleft()
            if not poll.done():
                poll.set_result(task)
                return
        self._tasks[key].append(task)

    async def pop(self, namespace: str, task_queue: str, wait_seconds: float) -> QueuedTask | None:
        """The next task, waiting at most ``wait_seconds`` for one."""
        key = (namespace, task_queue)
        tasks = self._tasks.get(key)
        if tasks:
            return tasks.popleft()
        poll: asyncio.Future[QueuedTask | None] = asyncio.get_running_loop().create_future()
        self._polls[key].append(poll)
        try:
            return await asyncio.wait_for(poll, wait_seconds)
        except TimeoutError:
            return None
        except asyncio.CancelledError:
            if poll.done() and not poll.cancelled() and (task := poll.result()) is not None:
                self.push(task)  # the poller went away just as a task reached it
            raise
        finally:
            polls = self._polls.get(key)
            if polls is not None and poll in polls:
                polls.remove(poll)

    async def done(self, task: QueuedTask) -> None:
        """The task was leased or is stale (in memory it left the queue when popped)."""

    def give_back(self, task: QueuedTask) -> None:
        """The poll went away before the lease: the task goes to the next poll."""
        self.push(task)

    def backlog(self, namespace: str, task_queue: str) -> int:
        return len(self._tasks.get((namespace, task_queue), ()))

    def wake_all(self) -> None:
        """End every waiting poll empty (the plane is stopping)."""
        for polls in self._polls.values():
            for poll in polls:
                if not poll.done():
                    poll.set_result(None)


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
