"""Durable state behind one Store protocol; SQLite is the embedded default."""

from partita.store.base import (
    ActivationFilter,
    ActivationRow,
    ActivationWrite,
    AuditRow,
    BatchRow,
    CampaignRow,
    DispatchRow,
    EventRow,
    NamespaceRow,
    NewActivation,
    Page,
    PayloadRow,
    ReplicaRow,
    ReplicaStore,
    ScheduleActionRow,
    ScheduleRow,
    SecretRow,
    SiteRow,
    Store,
    TaskRow,
    TimerRow,
    TokenRow,
)
from partita.store.sqlite import SqliteStore


def open_store(db: str, *, synchronous: str = "FULL", replica_id: str = "plane") -> Store:
    """The store for ``db``: a ``postgresql://`` URL or an SQLite file path."""
    if db.startswith(("postgresql://", "postgres://")):
        from partita.store.postgres import PostgresStore  # asyncpg only when asked for

        return PostgresStore(db, replica_id=replica_id)
    return SqliteStore(db, synchronous=synchronous)


__all__ = [
    "ActivationFilter",
    "ActivationRow",
    "ActivationWrite",
    "AuditRow",
    "BatchRow",
    "CampaignRow",
    "DispatchRow",
    "EventRow",
    "NamespaceRow",
    "NewActivation",
    "Page",
    "PayloadRow",
    "ReplicaRow",
    "ReplicaStore",
    "ScheduleActionRow",
    "ScheduleRow",
    "SecretRow",
    "SiteRow",
    "SqliteStore",
    "Store",
    "TaskRow",
    "TimerRow",
    "TokenRow",
    "open_store",
]
