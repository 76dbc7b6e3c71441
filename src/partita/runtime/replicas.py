"""Replicas: several planes of one site on one PostgreSQL database, splitting the activations.

Each replica holds a lease on its row and renews it; an open activation is driven by the
replica that owns it. A replica claims the activations of replicas whose lease ran out (and
any it is asked about whose owner is gone); a request about an activation owned by another
live replica is delivered to that replica (``Peers``). Every write is guarded by the
activation's version and owner, so a replica that was paused past its lease and lost its
activations cannot write them: its commit conflicts, and it forgets them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from partita.engine import ActivationState, Input
from partita.errors import UnavailableError
from partita.store import ReplicaRow, ReplicaStore

if TYPE_CHECKING:
    from partita.runtime.driver import Driver

log = logging.getLogger("partita.replicas")

CLAIM_BATCH = 200


class Peers(Protocol):
    """How a replica hands an input to the replica that owns the activation (gRPC, set by
    the API layer)."""

    async def deliver(
        self, address: str, namespace: str, activation_id: str, request: Input, request_id: str
    ) -> tuple[ActivationState, bool]: ...

    async def heartbeat(self, address: str, token: bytes, identity: str) -> bool:
        """Pass a worker's heartbeat on; True when the worker should stop."""


class Replicas:
    """This plane's membership among the replicas of its site."""

    def __init__(
        self,
        store: ReplicaStore,
        driver: Driver,
        *,
        lease_seconds: float,
        on_task: Callable[[str, str], None],
        on_activation: Callable[[str, str], None],
    ) -> None:
        self.store = store
        self.id = store.replica_id
        self._driver = driver
        self._lease = lease_seconds
        self._on_task = on_task
        self._on_activation = on_activation
        self.peers: Peers | None = None
        self.address = ""
        self._loops: list[asyncio.Task[None]] = []
        self._claim_now = asyncio.Event()

    async def start(self, address: str) -> None:
        self.address = address
        await self.store.register_replica(address, self._lease)
        await self.store.listen(self._on_task, self._heard_activation)
        await self.claim()
        self._loops = [
            asyncio.create_task(self._every(self._lease / 3, self._renew), name="partita-lease"),
            asyncio.create_task(self._claim_loop(), name="partita-claims"),
        ]

    async def shutdown(self) -> None:
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)

    async def leave(self) -> None:
        """After the driver has stopped: hand the open activations over at once."""
        try:
            await self.store.leave()
        except Exception:
            log.exception("replica %s could not leave cleanly; its lease will run out", self.id)

    async def list(self) -> list[ReplicaRow]:
        return await self.store.replicas()

    # -- ownership ---------------------------------------------------------------------------

    async def claim(self) -> int:
        """Take the activations nobody alive owns; how many were taken."""
        taken = 0
        while True:
            rows = await self.store.claim_activations(CLAIM_BATCH)
            if rows:
                await self._driver.adopt(rows)
                taken += len(rows)
            if len(rows) < CLAIM_BATCH:
                return taken

    async def route(self, namespace: str, activation_id: str) -> str:
        """'' when this replica owns the activation now (claimed if its owner was gone);
        otherwise the address of the live replica that owns it."""
        owner = await self.store.owner_of(namespace, activation_id)
        if owner is not None and owner.id != self.id:
            return owner.address
        row = await self.store.claim_activation(namespace, activation_id)
        if row is not None:
            await self._driver.adopt([row])
            return ""
        owner = await self.store.owner_of(namespace, activation_id)
        if owner is not None and owner.id != self.id:
            return owner.address
        return ""  # closed, or gone: the caller reads it from the store

    async def take_closed(self, namespace: str, activation_id: str) -> None:
        """Own a closed activation before reopening it (only its owner may write it)."""
        await self.store.claim_closed_activation(namespace, activation_id)

    async def deliver(
        self, address: str, namespace: str, activation_id: str, request: Input, request_id: str
    ) -> tuple[ActivationState, bool]:
        if self.peers is None:
            raise UnavailableError(
                f"activation {activation_id!r} is owned by the replica at {address}"
            )
        return await self.peers.deliver(address, namespace, activation_id, request, request_id)

    async def heartbeat(self, address: str, token: bytes, identity: str) -> bool:
        if self.peers is None:
            return False
        return await self.peers.heartbeat(address, token, identity)

    # -- loops -------------------------------------------------------------------------------

    async def _renew(self) -> None:
        if await self.store.renew_replica(self._lease):
            return
        # Paused or cut off past the lease: others may own our activations now. Forget them
        # all (writes to them would conflict anyway), disown the rest, and rejoin.
        log.warning("replica %s: lease ran out; dropping its activations and rejoining", self.id)
        self._driver.drop_all()
        await self.store.release_all()
        await self.store.register_replica(self.address, self._lease)
        self._claim_now.set()

    async def _claim_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._claim_now.wait(), self._lease / 2)
            self._claim_now.clear()
            try:
                await self.claim()
            except Exception:
                log.exception("replica %s: claiming activations failed", self.id)

    async def _every(self, seconds: float, step: Callable[[], Awaitable[Any]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await step()
            except Exception:
                log.exception("replica %s: %s failed", self.id, step.__name__)

    def _heard_activation(self, namespace: str, activation_id: str) -> None:
        self._on_activation(namespace, activation_id)
