"""Namespaces as objects: made, listed, deleted when empty, each with quotas.

A namespace need not be made to be used (``default`` and any other name work at once); making
one sets its quotas: how many activations may be open in it, and how many schedules it may
hold. A namespace is deleted only when it holds no campaign, activation, schedule or secret.
"""

from __future__ import annotations

from collections.abc import Callable

from partita.errors import (
    AlreadyExistsError,
    InvalidInputError,
    LimitExceededError,
    NotFoundError,
    PreconditionError,
)
from partita.model.documents import check_name
from partita.store import ActivationFilter, NamespaceRow, Page, Store

OPEN = ("PENDING", "RUNNING", "PAUSED")


class Namespaces:
    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self._rows: dict[str, NamespaceRow] = {}

    async def load(self) -> None:
        self._rows = {row.name: row for row in await self.store.list_namespaces()}

    async def create(self, name: str, max_running: int, max_schedules: int) -> NamespaceRow:
        check_name("name", name)
        _check_quotas(max_running, max_schedules)
        await self.load()  # another replica may have made it
        if name in self._rows:
            raise AlreadyExistsError(f"namespace {name!r} exists")
        row = NamespaceRow(name, max_running, max_schedules, self.clock())
        await self.store.save_namespace(row)
        self._rows[name] = row
        return row

    async def update(self, name: str, max_running: int, max_schedules: int) -> NamespaceRow:
        _check_quotas(max_running, max_schedules)
        await self.load()
        found = self._rows.get(name)
        if found is None:
            raise NotFoundError(f"no namespace {name!r}")
        row = NamespaceRow(name, max_running, max_schedules, found.create_time)
        await self.store.save_namespace(row)
        self._rows[name] = row
        return row

    async def list(self) -> list[NamespaceRow]:
        await self.load()
        return sorted(self._rows.values(), key=lambda r: r.name)

    async def delete(self, name: str) -> None:
        await self.load()
        if name not in self._rows:
            raise NotFoundError(f"no namespace {name!r}")
        holds = []
        if await self.store.list_campaigns(name, "", True, Page(size=1)):
            holds.append("campaigns")
        if await self.store.list_activations(ActivationFilter(namespace=name), Page(size=1)):
            holds.append("activations")
        if await self.store.list_schedules(name, Page(size=1)):
            holds.append("schedules")
        if await self.store.list_secrets(name):
            holds.append("secrets")
        if holds:
            raise PreconditionError(f"namespace {name!r} is not empty: it holds {', '.join(holds)}")
        await self.store.delete_namespace(name)
        self._rows.pop(name, None)

    async def check_start(self, namespace: str, open_count: int) -> None:
        """LimitExceededError when one more open activation would pass the quota."""
        row = self._rows.get(namespace)
        if row is not None and row.max_running and open_count >= row.max_running:
            raise LimitExceededError(
                f"namespace {namespace!r} has {open_count} open activations, its quota"
            )

    async def check_schedule(self, namespace: str) -> None:
        """LimitExceededError when one more schedule would pass the quota."""
        row = self._rows.get(namespace)
        if row is None or not row.max_schedules:
            return
        held = await self.store.list_schedules(namespace, Page(size=row.max_schedules))
        if len(held) >= row.max_schedules:
            raise LimitExceededError(
                f"namespace {namespace!r} holds {len(held)} schedules, its quota"
            )


def _check_quotas(max_running: int, max_schedules: int) -> None:
    if max_running < 0:
        raise InvalidInputError.field("max_running_activations", "must not be negative")
    if max_schedules < 0:
        raise InvalidInputError.field("max_schedules", "must not be negative")
