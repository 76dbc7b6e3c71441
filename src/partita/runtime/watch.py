"""Fan-out of committed events to the clients watching an activation."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from partita.engine import Event

Key = tuple[str, str]


class Watchers:
    """Subscriptions per activation; each subscriber gets every committed event, in order."""

    def __init__(self) -> None:
        self._queues: dict[Key, set[asyncio.Queue[Event | None]]] = defaultdict(set)

    def subscribe(self, key: Key) -> asyncio.Queue[Event | None]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._queues[key].add(queue)
        return queue

    def unsubscribe(self, key: Key, queue: asyncio.Queue[Event | None]) -> None:
        queues = self._queues.get(key)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[key]

    def publish(self, key: Key, events: list[Event]) -> None:
        for queue in self._queues.get(key, ()):
            for event in events:
                queue.put_nowait(event)

    def close_all(self) -> None:
        """Wake every watcher so that it can end (the plane is stopping)."""
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait(None)
