"""Durable state behind one Store protocol; SQLite is the embedded default."""

from partita.store.base import (
    ActivationFilter,
    ActivationRow,
    ActivationWrite,
    CampaignRow,
    DispatchRow,
    EventRow,
    NewActivation,
    Page,
    ScheduleActionRow,
    ScheduleRow,
    SiteRow,
    Store,
    TimerRow,
)
from partita.store.sqlite import SqliteStore

__all__ = [
    "ActivationFilter",
    "ActivationRow",
    "ActivationWrite",
    "CampaignRow",
    "DispatchRow",
    "EventRow",
    "NewActivation",
    "Page",
    "ScheduleActionRow",
    "ScheduleRow",
    "SiteRow",
    "SqliteStore",
    "Store",
    "TimerRow",
]
