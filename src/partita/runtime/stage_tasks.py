"""Stage tasks for workers: long polls, leases, completions, failures and heartbeats."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from partita.engine import RunStatus, StageResult, TaskLeased
from partita.errors import NotFoundError, PreconditionError
from partita.model.documents import check_name
from partita.runtime.driver import Driver
from partita.runtime.tasks import QueuedTask, TaskToken, WorkerInfo, Workers


@dataclass(frozen=True)
class LeasedTask:
    """A stage task handed to a worker."""

    token: bytes
    task: QueuedTask
    start_to_close_deadline: float | None
    heartbeat_timeout: float | None


class StageTasks:
    """The runtime side of WorkerService."""

    def __init__(
        self,
        driver: Driver,
        clock: Callable[[], float],
        *,
        poll_seconds: float,
        worker_ttl_seconds: float,
        check_payload: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self._driver = driver
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._check_payload = check_payload
        self.workers = Workers(clock, worker_ttl_seconds)

    async def poll(self, namespace: str, task_queue: str, identity: str) -> LeasedTask | None:
        """The next task of ``task_queue``, leased to ``identity``; None if none came in time."""
        check_name("task_queue", task_queue)
        check_name("identity", identity)
        worker = self.workers.seen(namespace, identity, task_queue)
        worker.polling += 1
        deadline = time.monotonic() + self._poll_seconds
        try:
            while (left := deadline - time.monotonic()) > 0:
                task = await self._driver.tasks.pop(namespace, task_queue, left)
                if task is None:
                    return None
                leased = await self._lease(task, identity, worker)
                if leased is not None:
                    return leased
            return None
        finally:
            worker.polling -= 1
            worker.last_seen = self._clock()

    async def _lease(
        self, task: QueuedTask, identity: str, worker: WorkerInfo
    ) -> LeasedTask | None:
        try:
            state, changed = await self._driver.apply(
                task.namespace, task.activation_id, TaskLeased(task.run_id, task.attempt, identity)
            )
        except (NotFoundError, PreconditionError):
            await self._driver.tasks.done(task)
            self._driver.tasks.release(task)
            return None  # the activation is gone or closed
        except BaseException:
            # The poller went away, or the activation's owner could not be reached (a
            # replica that died and whose lease has not run out yet): for another poll.
            self._driver.tasks.give_back(task)
            raise
        await self._driver.tasks.done(task)
        if not changed:
            self._driver.tasks.settle(state)
            return None  # the attempt this task belongs to has ended
        run = state.run(task.run_id)
        assert run is not None
        self._driver.heartbeat(task.namespace, task.activation_id, task.run_id)
        timer = state.timers.get(f"start-to-close:{task.run_id}")
        worker.in_flight.add((task.activation_id, task.run_id, task.attempt))
        token = TaskToken(task.namespace, task.activation_id, task.run_id, task.attempt)
        return LeasedTask(
            token=token.encode(),
            task=task,
            start_to_close_deadline=timer.due if timer else None,
            heartbeat_timeout=run.heartbeat_timeout,
        )

    async def complete(
        self, token: bytes, outputs: dict[str, Any], identity: str, next_task_queue: str = ""
    ) -> LeasedTask | None:
        """Record an attempt's outputs; a stale or duplicate token changes nothing.

        With ``next_task_queue``, then lease the next task waiting in that queue (of the
        token's namespace) to ``identity``, without waiting for one: the worker saves a poll.
        """
        self._check_payload("outputs", outputs)
        if next_task_queue:
            check_name("next_task_queue", next_task_queue)
            check_name("identity", identity)
        parsed = TaskToken.decode(token)
        await self._result(
            parsed, identity, StageResult(parsed.run_id, parsed.attempt, outputs=outputs)
        )
        if not next_task_queue:
            return None
        return await self.take(parsed.namespace, next_task_queue, identity)

    async def take(self, namespace: str, task_queue: str, identity: str) -> LeasedTask | None:
        """The task waiting first in ``task_queue``, leased to ``identity``; None when none
        waits now."""
        worker = self.workers.seen(namespace, identity, task_queue)
        try:
            while (task := await self._driver.tasks.pop(namespace, task_queue, 0)) is not None:
                leased = await self._lease(task, identity, worker)
                if leased is not None:
                    return leased
            return None
        finally:
            worker.last_seen = self._clock()

    async def fail(self, token: bytes, failure: dict[str, Any], identity: str) -> None:
        """Record an attempt's failure; the retry policy decides what follows."""
        parsed = TaskToken.decode(token)
        if not failure.get("type"):
            failure = {**failure, "type": "WorkerError"}
        await self._result(
            parsed, identity, StageResult(parsed.run_id, parsed.attempt, error=failure)
        )

    async def _result(self, token: TaskToken, identity: str, result: StageResult) -> None:
        if identity:
            worker = self.workers.seen(token.namespace, identity)
            worker.in_flight.discard((token.activation_id, token.run_id, token.attempt))
        # Closed or deleted since: acknowledged, changes nothing.
        with contextlib.suppress(NotFoundError, PreconditionError):
            await self._driver.submit(token.namespace, token.activation_id, result)

    async def heartbeat(self, token: bytes, identity: str) -> bool:
        """Note that the worker is alive; True when it should stop (cancelled, or stale).

        Among replicas, the heartbeat goes to the replica that owns the activation."""
        parsed = TaskToken.decode(token)
        if identity:
            self.workers.seen(parsed.namespace, identity)
        replicas = self._driver.replicas
        key = (parsed.namespace, parsed.activation_id)
        if replicas is not None and self._driver.open_state(*key) is None:
            address = await replicas.route(*key)
            if address:
                return await replicas.heartbeat(address, token, identity)
        return self.heartbeat_here(parsed, identity)

    def heartbeat_here(self, parsed: TaskToken, identity: str) -> bool:
        state = self._driver.open_state(parsed.namespace, parsed.activation_id)
        run = state.run(parsed.run_id) if state is not None else None
        if run is None or run.status is not RunStatus.RUNNING or run.attempt != parsed.attempt:
            if identity:
                key = (parsed.activation_id, parsed.run_id, parsed.attempt)
                self.workers.seen(parsed.namespace, identity).in_flight.discard(key)
            return True
        self._driver.heartbeat(parsed.namespace, parsed.activation_id, parsed.run_id)
        return False

    def list_workers(self, namespace: str, task_queue: str = "") -> list[WorkerInfo]:
        return self.workers.alive(namespace, task_queue)
