"""Fan-out of committed events to the clients watching an activation."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from partita.engine import Event

Key = tuple[str, str]


class Poke:
    """The activation changed on another replica: read its new events from the store."""


POKE = Poke()
Item = Event | Poke | None
"""What a subscriber's queue holds: an event, a poke, or None when the plane stops."""


class Watchers:
    """Subscriptions per activation; each subscriber gets every committed event, in order."""

    def __init__(self) -> None:
        self._queues: dict[Key, set[asyncio.Queue[Item]]] = defaultdict(set)

    def subscribe(self, key: Key) -> asyncio.Queue[Item]:
        queue: asyncio.Queue[Item] = asyncio.Queue()
        self._queues[key].add(queue)
        return queue

    def unsubscribe(self, key: Key, queue: asyncio.Queue[Item]) -> None:
        queues = self._queues.get(key)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._queues[key]

    def publish(self, key: Key, events: list[Event]) -> None:
        for queue in self._queues.get(key, ()):
            for event in events:
                queue.put_nowait(event)

    def poke(self, key: Key) -> None:
        for queue in self._queues.get(key, ()):
            queue.put_nowait(POKE)

    def close_all(self) -> None:
        """Wake every watcher so that it can end (the plane is stopping)."""
        for queues in self._queues.values():
            for queue in queues:
                queue.put_nowait(None)
