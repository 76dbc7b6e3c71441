"""What every backend shares: column lists, rows as values, and the numbered SQL files."""

from __future__ import annotations

import asyncio
from dataclasses import astuple
from importlib import resources
from typing import Any, TypeVar

from partita.store.base import DISPATCH_STATUSES, ActivationRow, CampaignRow, DispatchRow

ACTIVATION_COLUMNS = (
    "namespace, id, campaign, version, status, create_time, close_time, last_sequence, snapshot"
)
DISPATCH_COLUMNS = (
    "role, dispatch_id, site_id, namespace, activation_id, run_id, attempt, message, status, "
    "cancel, result, create_time, update_time"
)


def activation_values(row: ActivationRow) -> tuple[Any, ...]:
    """The row in ``ACTIVATION_COLUMNS`` order."""
    return astuple(row)


def dispatch_values(row: DispatchRow) -> tuple[Any, ...]:
    """The row in ``DISPATCH_COLUMNS`` order."""
    return astuple(row)


def campaign_row(found: Any) -> CampaignRow:
    """A ``campaigns`` row as selected with ``*`` (the request id column left out)."""
    return CampaignRow(*tuple(found)[:7])


def migrations(folder: str) -> list[tuple[int, str]]:
    """The numbered migrations under ``sql/<folder>``, in order."""
    found = []
    for entry in (resources.files("partita.store") / "sql" / folder).iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(found)


def schema(folder: str) -> str:
    """The canonical schema under ``sql/<folder>``."""
    return (resources.files("partita.store") / "sql" / folder / "schema.sql").read_text()


_RANK = {status: rank for rank, status in enumerate(DISPATCH_STATUSES)}


def check_dispatch_status(status: str | None) -> None:
    if status is not None and status not in _RANK:
        raise ValueError(f"unknown dispatch status {status!r}")


def dispatch_changes(
    row: DispatchRow, status: str | None, cancel: str | None, result: str | None
) -> dict[str, Any]:
    """The columns an ``update_dispatch`` changes: a status only moves forward."""
    changes: dict[str, Any] = {}
    if status is not None and _RANK[status] > _RANK[row.status]:
        changes["status"] = status
    if cancel is not None:
        changes["cancel"] = cancel
    if result is not None:
        changes["result"] = result
    return changes


Op = TypeVar("Op")


def drain(first: Op, queue: asyncio.Queue[Op | None], most: int) -> tuple[list[Op], bool]:
    """``first`` and what else already waits on ``queue``, up to ``most`` operations: one group
    commit's batch; True when the queue said stop (None) on the way."""
    batch = [first]
    while len(batch) < most and not queue.empty():
        following = queue.get_nowait()
        if following is None:
            return batch, True
        batch.append(following)
    return batch, False
