"""What a handler learns about its stage task, and how it talks back while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from google.protobuf import struct_pb2


@dataclass(frozen=True, kw_only=True)
class TaskInfo:
    """One attempt of one stage run, as leased to this worker."""

    namespace: str
    """The namespace of the activation."""
    task_queue: str
    """The queue the task was polled from."""
    task_type: str
    """The stage's ``taskType``: which handler runs it."""
    activation_id: str
    """The activation the task belongs to."""
    campaign: str
    """The campaign the activation runs."""
    stage: str
    """The stage the task runs."""
    attempt: int
    """1 for the first try, then one more for each retry."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Context to propagate to whatever the handler calls, e.g. ``traceparent``."""
    start_to_close_deadline: datetime | None = None
    """When this attempt must be done (UTC); None when there is no limit."""
    schedule_to_close_deadline: datetime | None = None
    """When the whole stage run, retries included, must be done (UTC); None: no limit."""
    heartbeat_timeout: timedelta | None = None
    """The longest the worker may go without a heartbeat; None when none is required."""


class TaskContext:
    """Handed to a handler that takes a second argument.

    Safe to use from a sync handler's thread as well as from an async handler.
    """

    def __init__(
        self,
        task: TaskInfo,
        loop: asyncio.AbstractEventLoop,
        on_heartbeat: Callable[[struct_pb2.Struct | None], None],
    ) -> None:
        self._task = task
        self._loop = loop
        self._on_heartbeat = on_heartbeat
        self._cancelled = threading.Event()

    @property
    def task(self) -> TaskInfo:
        """The task being run."""
        return self._task

    @property
    def cancelled(self) -> bool:
        """True once the plane asked to stop (the activation was cancelled or terminated, or
        the lease is no longer current) or the worker gave up waiting for the task at
        shutdown. Whatever the handler returns afterwards is ignored. An async handler is
        also cancelled (it sees ``asyncio.CancelledError``); a sync handler should check
        this and return."""
        return self._cancelled.is_set()

    def heartbeat(self, details: Mapping[str, Any] | None = None) -> None:
        """Tell the plane the task is progressing, with optional JSON ``details``.

        Returns at once: the heartbeat is sent in the background, coalesced with others
        sent close together. The worker also heartbeats on its own while the handler runs;
        call this to report details or to learn of a cancellation sooner.
        Raises TypeError or ValueError when ``details`` is not a JSON object.
        """
        struct = None
        if details is not None:
            struct = struct_pb2.Struct()
            struct.update(details)
        # A closed loop: the worker stopped and nobody awaits this task any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._on_heartbeat, struct)

    def _cancel(self) -> None:
        self._cancelled.set()
