"""History events: the append-only facts an activation is folded from."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class EventType(StrEnum):
    """What happened. Names match the API's ``EventType`` without its prefix."""

    ACTIVATION_STARTED = "ACTIVATION_STARTED"
    STAGE_STARTED = "STAGE_STARTED"
    STAGE_TASK_LEASED = "STAGE_TASK_LEASED"
    STAGE_COMPLETED = "STAGE_COMPLETED"
    STAGE_FAILED = "STAGE_FAILED"
    STAGE_RETRY_SCHEDULED = "STAGE_RETRY_SCHEDULED"
    STAGE_TIMED_OUT = "STAGE_TIMED_OUT"
    TIMER_FIRED = "TIMER_FIRED"
    SIGNAL_RECEIVED = "SIGNAL_RECEIVED"
    ACTIVATION_PAUSED = "ACTIVATION_PAUSED"
    ACTIVATION_ADVANCED = "ACTIVATION_ADVANCED"
    DISPATCH_SENT = "DISPATCH_SENT"
    DISPATCH_ACCEPTED = "DISPATCH_ACCEPTED"
    DISPATCH_RESULT = "DISPATCH_RESULT"
    CHILD_STARTED = "CHILD_STARTED"
    CHILD_CLOSED = "CHILD_CLOSED"
    COMPENSATION_STARTED = "COMPENSATION_STARTED"
    CANCEL_REQUESTED = "CANCEL_REQUESTED"
    ACTIVATION_RERUN = "ACTIVATION_RERUN"
    STAGE_SKIPPED = "STAGE_SKIPPED"
    STAGE_RETRY_REQUESTED = "STAGE_RETRY_REQUESTED"
    ACTIVATION_RESUMED = "ACTIVATION_RESUMED"
    ACTIVATION_COMPLETED = "ACTIVATION_COMPLETED"
    ACTIVATION_FAILED = "ACTIVATION_FAILED"
    ACTIVATION_CANCELLED = "ACTIVATION_CANCELLED"
    ACTIVATION_TERMINATED = "ACTIVATION_TERMINATED"
    ACTIVATION_TIMED_OUT = "ACTIVATION_TIMED_OUT"
    ACTIVATION_CONTINUED_AS_NEW = "ACTIVATION_CONTINUED_AS_NEW"


class Event(BaseModel):
    """One history entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sequence: int
    """1-based position in the activation's history."""
    time: float
    """Seconds since the epoch, as given to the engine."""
    type: EventType
    stage: str = ""
    data: dict[str, Any] = {}
