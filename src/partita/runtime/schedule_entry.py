"""A schedule as the scheduler holds it in memory, and what the scheduler needs of the plane."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

from partita.engine import ActivationState
from partita.errors import NotFoundError
from partita.model.schedule import ScheduleDefinition
from partita.schedules import FireTimes, jitter_of
from partita.store import ScheduleRow

Key = tuple[str, str]
"""(namespace, schedule id)"""
EXHAUSTED_NOTE = "paused after its last action (remaining_actions reached 0)"


class Activations(Protocol):
    """What the scheduler needs of the plane."""

    async def start_activation(
        self,
        namespace: str,
        campaign: str,
        *,
        version: int = 0,
        activation_id: str = "",
        inputs: dict[str, Any] | None = None,
        request_id: str = "",
    ) -> tuple[ActivationState, bool]: ...

    async def cancel_activation(
        self, namespace: str, activation_id: str, reason: str = "", request_id: str = ""
    ) -> ActivationState: ...

    async def terminate_activation(
        self, namespace: str, activation_id: str, reason: str = "", request_id: str = ""
    ) -> ActivationState: ...


@dataclass(eq=False)
class Entry:
    """One schedule in memory: its stored row and what derives from it."""

    row: ScheduleRow
    definition: ScheduleDefinition
    times: FireTimes
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    busy: bool = False
    """A task is handling the schedule."""
    drain: bool = False
    """Buffered fires may be startable: handle the schedule at once."""
    retry_at: float | None = None
    _next: tuple[float, float | None] | None = None
    """(last_time, the next fire after it), cached."""

    @property
    def key(self) -> Key:
        return (self.row.namespace, self.row.id)

    def next_fire(self) -> float | None:
        if self._next is None or self._next[0] != self.row.last_time:
            self._next = (self.row.last_time, self.times.next_after(self.row.last_time))
        return self._next[1]

    def jitter(self, nominal: float) -> float:
        key = f"{self.row.namespace}/{self.row.id}"
        return jitter_of(key, nominal, self.definition.spec.jitter)


def spend(row: ScheduleRow, scheduled: bool) -> dict[str, Any]:
    """The changes a scheduled action makes to a limited schedule."""
    if not scheduled or row.remaining_actions <= 0:
        return {}
    if row.remaining_actions == 1:
        return {"remaining_actions": 0, "paused": True, "note": EXHAUSTED_NOTE}
    return {"remaining_actions": row.remaining_actions - 1}


def definition_json(definition: ScheduleDefinition) -> str:
    spec = definition.spec.model_copy(update={"remaining_actions": 0})
    return definition.model_copy(update={"spec": spec}).model_dump_json()


def definition_of(row: ScheduleRow) -> ScheduleDefinition:
    return ScheduleDefinition.model_validate_json(row.definition)


def load_entry(row: ScheduleRow) -> Entry:
    definition = definition_of(row)
    return Entry(row, definition, FireTimes(definition.spec))


def not_found(namespace: str, schedule_id: str) -> NotFoundError:
    return NotFoundError(f"schedule {schedule_id!r} not found in namespace {namespace!r}")
