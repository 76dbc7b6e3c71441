"""Task queues shared by replicas: stage tasks are rows in the store, claimed by any poll.

A task is written with the transition that enqueued it; a poll claims the oldest one of its
queue (``FOR UPDATE SKIP LOCKED``), the owner of the activation records the lease, and the
poll deletes the row. A claim the poll does not finish (it died, or went away) runs out after
the hold and the task goes to another poll. ``NOTIFY`` from the store wakes the
waiting polls of every replica when tasks arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from dataclasses import asdict

from partita.engine import ActivationState
from partita.runtime.tasks import QueuedTask, QueueKey
from partita.store import ReplicaStore, TaskRow

DEFAULT_HOLD_SECONDS = 10.0
"""How long a claimed task waits for its poll to record the lease (by default, a replica's
lease: a poll on a replica that died gives its claims back when its activations go)."""
RECHECK_SECONDS = 2.0
"""Waiting polls look again this often, in case a wake-up was missed (a reconnect)."""


def task_row(task: QueuedTask) -> TaskRow:
    return TaskRow(
        namespace=task.namespace,
        task_queue=task.task_queue,
        activation_id=task.activation_id,
        run_id=task.run_id,
        attempt=task.attempt,
        payload=json.dumps(asdict(task), separators=(",", ":")),
    )


def queued_task(row: TaskRow) -> QueuedTask:
    return QueuedTask(**json.loads(row.payload))


class SharedTaskQueues:
    """The same face as ``TaskQueues``, over the store's task rows."""

    durable = True

    def __init__(self, store: ReplicaStore, hold_seconds: float = DEFAULT_HOLD_SECONDS) -> None:
        self._store = store
        self._hold = hold_seconds
        self._wakes: dict[QueueKey, asyncio.Event] = defaultdict(asyncio.Event)
        self._claimed: dict[tuple[str, str, str, int], TaskRow] = {}
        self._stopping = False

    def wake(self, namespace: str, task_queue: str) -> None:
        """Tasks arrived on a queue (heard from the store)."""
        event = self._wakes.get((namespace, task_queue))
        if event is not None:
            event.set()

    def push(self, task: QueuedTask) -> None:
        raise AssertionError("shared queues take tasks with their transition, or push_many")

    async def push_many(self, tasks: list[QueuedTask]) -> None:
        await self._store.push_tasks([task_row(t) for t in tasks])

    async def pop(self, namespace: str, task_queue: str, wait_seconds: float) -> QueuedTask | None:
        deadline = time.monotonic() + wait_seconds
        key = (namespace, task_queue)
        while not self._stopping:
            wake = self._wakes[key]
            wake.clear()
            row = await self._store.claim_task(namespace, task_queue, self._hold)
            if row is not None:
                self._claimed[_key(row)] = row
                return queued_task(row)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), min(left, RECHECK_SECONDS))
        return None

    async def done(self, task: QueuedTask) -> None:
        """The task was leased (or is stale): it leaves the queue."""
        row = self._claimed.pop(_task_key(task), None)
        await self._store.delete_task(row or task_row(task))

    def give_back(self, task: QueuedTask) -> None:
        """The poll went away before the lease: another poll may have the task at once."""
        row = self._claimed.pop(_task_key(task), None)
        if row is not None:
            asyncio.get_running_loop().create_task(self._store.unclaim_task(row))

    # Queue governance (``runtime.governance``) is not applied across replicas: these keep
    # the interface of ``TaskQueues`` and do nothing.
    def hold(self, task: QueuedTask) -> None: ...

    def settle(self, state: ActivationState) -> None: ...

    def release(self, task: QueuedTask) -> None: ...

    def wake_all(self) -> None:
        self._stopping = True
        for event in self._wakes.values():
            event.set()


def _key(row: TaskRow) -> tuple[str, str, str, int]:
    return (row.namespace, row.activation_id, row.run_id, row.attempt)


def _task_key(task: QueuedTask) -> tuple[str, str, str, int]:
    return (task.namespace, task.activation_id, task.run_id, task.attempt)
