"""The worker: polls one task queue and runs stage tasks with the handlers it was given."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import signal
import socket
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import grpc

from partita.v1 import worker_pb2, worker_pb2_grpc
from partita.worker._errors import WorkerError
from partita.worker._handlers import Handler, HandlerSpec
from partita.worker._rpc import CHANNEL_OPTIONS, FATAL, POLL_TIMEOUT, backoff, describe
from partita.worker._task import TaskRun

logger = logging.getLogger("partita.worker")

DEFAULT_GRACE = 30.0
"""Seconds in-flight tasks get to finish at shutdown before they are cancelled."""
SHUTDOWN_REPORT_WINDOW = 12.0
"""How long, after cancelling what outlived the grace, to wait for their last reports."""


class WorkerState(enum.Enum):
    """Where a worker is in its life; it only moves forward."""

    NEW = "new"
    """Created; not polling yet."""
    RUNNING = "running"
    """Polling and running tasks."""
    DRAINING = "draining"
    """Shutting down: no more polls; in-flight tasks get the grace period to finish."""
    STOPPED = "stopped"
    """Done: nothing runs, the connection is closed. A worker runs once."""


class Worker:
    """Polls ``task_queue`` on the plane at ``server`` and runs each stage task with the
    handler for its ``task_type``, at most ``concurrency`` at a time.

    A handler is ``handler(inputs)`` or ``handler(inputs, ctx)`` (a :class:`TaskContext`),
    sync (run in a thread of its own) or async. It returns the outputs: a dict, None for
    ``{}``, or any other JSON value, wrapped as ``{"result": value}``. An exception fails
    the attempt (retried per the stage's retry policy, typed by the exception's class name)
    unless it is a :class:`NonRetryableError`. A task whose type has no handler fails for
    good with type ``UnknownTaskType``.

    Lifecycle: ``await run()`` polls until ``await shutdown()``; or ``async with worker:``
    runs it in the background until the block ends; or ``run_forever()`` runs it until
    SIGTERM or SIGINT. A poll refused for good (e.g. UNIMPLEMENTED, PERMISSION_DENIED)
    shuts the worker down and ``run`` raises :class:`WorkerError`; an unreachable plane is
    retried with jittered backoff (0.1 s doubling to 5 s) for as long as it takes.
    """

    def __init__(
        self,
        server: str,
        task_queue: str,
        handlers: Mapping[str, Handler],
        *,
        namespace: str = "default",
        identity: str | None = None,
        concurrency: int = 10,
        heartbeat_interval: float | None = None,
    ) -> None:
        """``server``: ``host:port`` or ``unix:/path``. ``identity``: shown by ``partita list
        workers`` (default ``hostname:pid``). ``heartbeat_interval``: seconds between automatic
        heartbeats (default: a third of each task's heartbeat timeout, or 10 s without one).
        Raises ValueError or TypeError for a bad argument or handler."""
        if not task_queue:
            raise ValueError("task_queue must not be empty")
        if not handlers:
            raise ValueError("a worker needs at least one handler")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        if heartbeat_interval is not None and heartbeat_interval <= 0:
            raise ValueError(f"heartbeat_interval must be positive, not {heartbeat_interval}")
        self.server = server
        self.task_queue = task_queue
        self.namespace = namespace
        self.identity = identity or f"{socket.gethostname()}:{os.getpid()}"
        self.concurrency = concurrency
        self.heartbeat_interval = heartbeat_interval
        self._handlers = {name: HandlerSpec.of(name, fn) for name, fn in handlers.items()}
        self._state = WorkerState.NEW
        self._channel: grpc.aio.Channel | None = None
        self._stub: Any = None
        self._poller: asyncio.Task[None] | None = None
        self._poll_call: Any = None
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._drain: asyncio.Task[None] | None = None
        self._background: asyncio.Task[None] | None = None

    @property
    def state(self) -> WorkerState:
        return self._state

    @property
    def tasks_in_flight(self) -> int:
        """How many tasks run now."""
        return len(self._running)

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll and run tasks until :meth:`shutdown` has finished; raises WorkerError when
        the plane refused the polls for good. Cancelled, it cancels its tasks and stops."""
        self._start()
        await self._supervise()

    async def shutdown(self, grace: float = DEFAULT_GRACE) -> None:
        """Stop polling (cancelling the pending poll), give in-flight tasks ``grace`` seconds
        to finish, then cancel them (each reports a retryable ``WorkerShutdown`` failure),
        and close the connection. Idempotent; concurrent callers all wait for the end."""
        if self._state is WorkerState.NEW:
            self._state = WorkerState.STOPPED
        if self._state is WorkerState.STOPPED and self._drain is None:
            return
        if self._drain is None:
            self._drain = asyncio.ensure_future(self._drain_tasks(grace))
        await asyncio.shield(self._drain)

    def run_forever(self, grace: float = DEFAULT_GRACE) -> None:
        """Run in a new event loop until SIGTERM or SIGINT, then shut down with ``grace``
        and return. A second signal cancels the tasks still running at once. Raises
        WorkerError like :meth:`run`. Call it from the main thread."""
        asyncio.run(self._run_until_signalled(grace))

    async def __aenter__(self) -> Worker:
        self._start()
        self._background = asyncio.create_task(self._supervise(), name="partita-worker")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.shutdown()
        if self._background is not None:
            await asyncio.wait({self._background})
            if exc is None and not self._background.cancelled():
                error = self._background.exception()
                if error is not None:
                    raise error

    def _start(self) -> None:
        if self._state is not WorkerState.NEW:
            raise RuntimeError(f"a worker runs once (this one is {self._state.value})")
        self._state = WorkerState.RUNNING
        self._channel = grpc.aio.insecure_channel(self.server, options=CHANNEL_OPTIONS)
        self._stub = worker_pb2_grpc.WorkerServiceStub(self._channel)
        self._poller = asyncio.create_task(self._poll_loop(), name="partita-worker-poller")
        logger.info(
            "worker %s polling queue %r (namespace %s) on %s for %s",
            self.identity,
            self.task_queue,
            self.namespace,
            self.server,
            ", ".join(self._handlers),
        )

    async def _supervise(self) -> None:
        assert self._poller is not None
        try:
            await asyncio.wait({self._poller})
            error = None if self._poller.cancelled() else self._poller.exception()
            if error is not None:
                logger.error("worker %s stops: %s", self.identity, error)
            await self.shutdown()
        except asyncio.CancelledError:
            await self._halt()
            raise
        if error is not None:
            raise error

    async def _run_until_signalled(self, grace: float) -> None:
        loop = asyncio.get_running_loop()
        stops: list[asyncio.Task[None]] = []

        def on_signal(signum: signal.Signals) -> None:
            if not stops:
                logger.info("%s: shutting down (grace %gs)", signum.name, grace)
                stops.append(asyncio.create_task(self.shutdown(grace)))
            else:
                logger.warning("%s again: cancelling the tasks still running", signum.name)
                for task in list(self._running):
                    task.cancel()

        signals = (signal.SIGTERM, signal.SIGINT)
        for signum in signals:
            loop.add_signal_handler(signum, on_signal, signum)
        try:
            await self.run()
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)

    async def _drain_tasks(self, grace: float) -> None:
        self._state = WorkerState.DRAINING
        self._stopping.set()
        self._wake.set()
        if self._poll_call is not None:
            self._poll_call.cancel()
        if self._poller is not None:
            await asyncio.wait({self._poller})
        if self._running:
            logger.info("waiting up to %gs for %d task(s) to finish", grace, len(self._running))
        deadline = asyncio.get_running_loop().time() + grace
        # A completion sent just before the shutdown may still bring back a next task: the
        # loop waits for it too, within the same grace.
        while self._running:
            late = set(self._running)
            left = deadline - asyncio.get_running_loop().time()
            if left > 0:
                _, late = await asyncio.wait(late, timeout=left)
            if late:
                for task in late:
                    task.cancel()
                await asyncio.wait(late, timeout=SHUTDOWN_REPORT_WINDOW)
                break
        await self._close()
        logger.info("worker %s stopped", self.identity)

    async def _halt(self) -> None:
        """Stop at once: the worker's own task was cancelled."""
        self._state = WorkerState.DRAINING
        self._stopping.set()
        for task in [self._poller, *self._running]:
            if task is not None:
                task.cancel()
        pending = {t for t in [self._poller, *self._running] if t is not None}
        if pending:
            await asyncio.wait(pending, timeout=SHUTDOWN_REPORT_WINDOW)
        await self._close()

    async def _close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None
        self._state = WorkerState.STOPPED

    # -- polling -----------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        request = worker_pb2.PollStageTaskRequest(
            namespace=self.namespace, task_queue=self.task_queue, identity=self.identity
        )
        failures = 0
        while not self._stopping.is_set():
            if len(self._running) >= self.concurrency:
                self._wake.clear()
                await self._wake.wait()
                continue
            call = self._stub.PollStageTask(request, timeout=POLL_TIMEOUT)
            self._poll_call = call
            try:
                response = await call
            except asyncio.CancelledError:
                if self._stopping.is_set() and call.cancelled():
                    break  # shutdown cancelled the poll, not us
                raise
            except grpc.aio.AioRpcError as error:
                code = error.code()
                if self._stopping.is_set():
                    break
                if code is grpc.StatusCode.DEADLINE_EXCEEDED:
                    continue  # a long poll outlived our deadline: just poll again
                if code in FATAL:
                    raise WorkerError(f"the plane refused to poll: {describe(error)}") from None
                failures += 1
                delay = backoff(failures)
                log = logger.warning if failures == 1 else logger.debug
                log("poll failed (%s); retrying in %.1fs", describe(error), delay)
                await self._pause(delay)
                continue
            finally:
                self._poll_call = None
            if failures:
                logger.info("polling again after %d failed attempt(s)", failures)
                failures = 0
            if response.HasField("task"):
                self._launch(response.task)

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless the worker starts shutting down first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _launch(self, task: worker_pb2.StageTask) -> None:
        run = TaskRun(
            task,
            self._handlers.get(task.task_type),
            self._stub,
            self.identity,
            self.heartbeat_interval,
            handled=sorted(self._handlers),
            next_task=self._next_task_queue,
            on_next=self._launch,
        )
        running = asyncio.create_task(run.execute(), name=f"partita-task {run.name}")
        self._running.add(running)
        running.add_done_callback(self._finished)

    def _next_task_queue(self) -> str:
        """Where a completion asks for the next task: the slot it frees goes to that task at
        once (a poll saved); none while shutting down."""
        return "" if self._stopping.is_set() else self.task_queue

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            logger.error("task %s crashed", task.get_name(), exc_info=task.exception())
