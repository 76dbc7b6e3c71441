"""Durable timers, armed in memory from the rows the store keeps."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("partita.timers")

TimerKey = tuple[str, str, str]
"""(namespace, activation id, timer id)"""


class TimerWheel:
    """One task that sleeps until the earliest due timer and fires it.

    Timers are never removed from the heap: the engine ignores a timer that is no longer
    armed in the activation's state, so a cancelled timer firing is harmless.
    """

    def __init__(
        self, fire: Callable[[TimerKey], Awaitable[None]], clock: Callable[[], float]
    ) -> None:
        self._fire = fire
        self._clock = clock
        self._heap: list[tuple[float, TimerKey]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._firing: set[asyncio.Task[None]] = set()

    def arm(self, key: TimerKey, due: float) -> None:
        heapq.heappush(self._heap, (due, key))
        if self._heap[0][1] == key:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="partita-timers")

    async def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for task in list(self._firing):
            task.cancel()
        await asyncio.gather(*self._firing, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            if not self._heap:
                await self._wake.wait()
                continue
            delay = self._heap[0][0] - self._clock()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
                continue
            _, key = heapq.heappop(self._heap)
            task = asyncio.create_task(self._fire_one(key))
            self._firing.add(task)
            task.add_done_callback(self._firing.discard)

    async def _fire_one(self, key: TimerKey) -> None:
        try:
            await self._fire(key)
        except Exception:
            log.exception("timer %s failed to fire", key)
