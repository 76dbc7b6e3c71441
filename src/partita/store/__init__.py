"""Durable state behind one Store protocol; SQLite is the embedded default."""

from partita.store.base import (
    ActivationFilter,
    ActivationRow,
    ActivationWrite,
    CampaignRow,
    EventRow,
    NewActivation,
    Page,
    ScheduleActionRow,
    ScheduleRow,
    Store,
    TimerRow,
)
from partita.store.sqlite import SqliteStore

__all__ = [
    "ActivationFilter",
    "ActivationRow",
    "ActivationWrite",
    "CampaignRow",
    "EventRow",
    "NewActivation",
    "Page",
    "ScheduleActionRow",
    "ScheduleRow",
    "SqliteStore",
    "Store",
    "TimerRow",
]
