"""One leased stage task: its handler, its heartbeats, and the report of its outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import struct_pb2

from partita.v1 import common_pb2, worker_pb2
from partita.worker._context import TaskContext
from partita.worker._convert import failure, failure_of, from_struct, outputs, task_info
from partita.worker._handlers import HandlerSpec
from partita.worker._rpc import CALL_TIMEOUT, REPORT_ATTEMPTS, describe, report

logger = logging.getLogger("partita.worker")

DEFAULT_HEARTBEAT_INTERVAL = 10.0
"""Seconds between automatic heartbeats when the task has no heartbeat timeout."""
HEARTBEAT_COALESCE = 1.0
"""Explicit heartbeats closer together than this (or a third of the timeout) are merged."""


class TaskRun:
    """Runs one stage task to its end; :meth:`execute` never raises for a handler's failure.

    While the handler runs, heartbeats go out every ``heartbeat_interval`` seconds (default:
    a third of the task's heartbeat timeout, or 10 s without one) and whenever the handler
    calls ``ctx.heartbeat``. When a heartbeat's answer says ``cancel_requested``, the context
    is marked cancelled, an async handler is cancelled, and no outcome is reported.
    """

    def __init__(
        self,
        task: worker_pb2.StageTask,
        handler: HandlerSpec | None,
        stub: Any,
        identity: str,
        heartbeat_interval: float | None,
        handled: list[str],
        next_task: Callable[[], str] | None = None,
        on_next: Callable[[worker_pb2.StageTask], None] | None = None,
    ) -> None:
        """``next_task``: the task queue from which the completion should also bring back the
        next task ("" for none); ``on_next`` runs that task when the plane sends one."""
        self.task = task
        self._next_task = next_task
        self._on_next = on_next
        self.info = task_info(task)
        self._handler = handler
        self._stub = stub
        self._identity = identity
        self._handled = handled
        timeout = self.info.heartbeat_timeout.total_seconds() if self.info.heartbeat_timeout else 0
        self._interval = heartbeat_interval or (
            timeout / 3 if timeout else DEFAULT_HEARTBEAT_INTERVAL
        )
        self._coalesce = min(HEARTBEAT_COALESCE, self._interval, timeout / 3 if timeout else 1.0)
        self._details: struct_pb2.Struct | None = None
        self._beat = asyncio.Event()
        self.context: TaskContext | None = None
        self.name = f"{self.info.activation_id}/{self.info.stage} attempt {self.info.attempt}"

    async def execute(self) -> None:
        """Run the handler and report its outcome; cancelled (the worker's shutdown grace is
        over), report a retryable ``WorkerShutdown`` failure instead."""
        ctx = TaskContext(self.info, asyncio.get_running_loop(), self._request_heartbeat)
        self.context = ctx
        if self._handler is None:
            message = (
                f"no handler for task type {self.info.task_type!r} on this worker "
                f"(it handles: {', '.join(self._handled)})"
            )
            logger.warning("%s: %s", self.name, message)
            await self._fail(failure("UnknownTaskType", message, non_retryable=True))
            return
        logger.debug("%s: running %s", self.name, self.info.task_type)
        work = asyncio.ensure_future(self._handler.call(from_struct(self.task.inputs), ctx))
        beats = asyncio.create_task(self._heartbeats(ctx, work))
        result: Any = None
        error: BaseException | None = None
        shutting_down = False
        try:
            result = await work
        except asyncio.CancelledError as exc:
            current = asyncio.current_task()
            shutting_down = current is not None and current.cancelling() > 0
            if shutting_down and current is not None:
                current.uncancel()
            error = exc
        except Exception as exc:
            error = exc
        finally:
            beats.cancel()
        if shutting_down:
            ctx._cancel()
            logger.warning("%s: still running at the end of the shutdown grace", self.name)
            gave_up = "the worker shut down before the task finished"
            await self._fail(failure("WorkerShutdown", gave_up, non_retryable=False), 1)
            return
        if ctx.cancelled:
            logger.info("%s: stopped, as the plane asked; outcome not reported", self.name)
            return
        if error is not None:
            await self._failed(error)
            return
        try:
            result_struct = outputs(result)
        except (TypeError, ValueError) as exc:
            message = f"the handler's result is not a JSON object: {exc}"
            logger.warning("%s: %s", self.name, message)
            await self._fail(failure("InvalidOutputs", message, non_retryable=True))
            return
        request = worker_pb2.CompleteStageTaskRequest(
            task_token=self.task.task_token,
            outputs=result_struct,
            identity=self._identity,
            next_task_queue=self._next_task() if self._next_task is not None else "",
        )
        answer, error = await report(
            self._stub.CompleteStageTask, request, f"{self.name} done", attempts=REPORT_ATTEMPTS
        )
        if error is None:
            logger.debug("%s: completed", self.name)
            if answer is not None and answer.HasField("next_task") and self._on_next is not None:
                self._on_next(answer.next_task)
        elif error.code() is grpc.StatusCode.INVALID_ARGUMENT:
            # The plane refuses these outputs (e.g. too large): retrying will not change that.
            refused = f"the plane refused the outputs: {error.details()}"
            await self._fail(failure("InvalidOutputs", refused, non_retryable=True))

    async def _failed(self, exc: BaseException) -> None:
        found = failure_of(exc)
        kind = "non-retryable failure" if found.non_retryable else "failed"
        logger.warning("%s: %s: %s: %s", self.name, kind, found.type, found.message, exc_info=exc)
        await self._fail(found)

    async def _fail(self, found: common_pb2.Failure, attempts: int = REPORT_ATTEMPTS) -> None:
        request = worker_pb2.FailStageTaskRequest(
            task_token=self.task.task_token, failure=found, identity=self._identity
        )
        await report(self._stub.FailStageTask, request, f"{self.name} failure", attempts=attempts)

    def _request_heartbeat(self, details: struct_pb2.Struct | None) -> None:
        if details is not None:
            self._details = details
        self._beat.set()

    async def _heartbeats(self, ctx: TaskContext, work: asyncio.Future[Any]) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            wait = self._interval - (loop.time() - last)
            if wait > 0 and not self._beat.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._beat.wait(), wait)
            gap = loop.time() - last
            if gap < self._coalesce:
                await asyncio.sleep(self._coalesce - gap)
            self._beat.clear()
            last = loop.time()
            if await self._heartbeat():
                logger.info("%s: the plane asked to stop the task", self.name)
                ctx._cancel()
                if self._handler is not None and self._handler.is_async:
                    work.cancel()
                return

    async def _heartbeat(self) -> bool:
        """Send one heartbeat; True when the answer says to stop."""
        request = worker_pb2.HeartbeatStageTaskRequest(
            task_token=self.task.task_token, identity=self._identity
        )
        if self._details is not None:
            request.details.CopyFrom(self._details)
        try:
            response = await self._stub.HeartbeatStageTask(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            logger.warning("%s: heartbeat failed: %s", self.name, describe(error))
            return False
        return bool(response.cancel_requested)
