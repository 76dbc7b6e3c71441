"""The replica part of the store contract (``ReplicaStore``): leases, owners, shared tasks.

Only stores shared by several planes have it: PostgreSQL (SQLite is owned by one plane).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import pytest

from partita.errors import ConflictError
from partita.store import ActivationWrite, NewActivation, ReplicaStore, Store, TaskRow
from partita.store.postgres import PostgresStore
from tests import pg
from tests.contract.test_store import activation, events

Replicas = tuple[ReplicaStore, ReplicaStore]


@pytest.fixture
async def two() -> AsyncIterator[Replicas]:
    """Two replicas, ``a`` and ``b``, on one database (a schema of its own)."""
    schema, url = pg.new_schema()
    stores = []
    for name in ("a", "b"):
        store = PostgresStore(url, replica_id=name)
        await store.open()
        await store.register_replica(f"{name}:1", lease_seconds=60)
        stores.append(store)
    try:
        yield cast(ReplicaStore, stores[0]), cast(ReplicaStore, stores[1])
    finally:
        for store in stores:
            await store.close()
        pg.drop_schema(schema)


def task(activation_id: str, run_id: str = "1", queue: str = "q") -> TaskRow:
    return TaskRow("default", queue, activation_id, run_id, 1, f'{{"id": "{activation_id}"}}')


async def start(
    store: ReplicaStore, activation_id: str, tasks: list[TaskRow] | None = None
) -> None:
    write = ActivationWrite(activation(activation_id), events(1, 1), tasks=tasks or [])
    await cast(Store, store).create_activation(NewActivation(write))


async def test_the_creator_owns_an_activation_and_only_it_may_write(two: Replicas) -> None:
    a, b = two
    await start(a, "x")
    owner = await a.owner_of("default", "x")
    assert owner is not None and (owner.id, owner.address) == ("a", "a:1")
    following = ActivationWrite(activation("x", sequence=2), events(2, 2), expected_sequence=1)
    with pytest.raises(ConflictError):
        await cast(Store, b).commit(following)
    await cast(Store, a).commit(following)
    assert (await cast(Store, b).get_activation("default", "x")).last_sequence == 2  # type: ignore[union-attr]


async def test_a_live_owners_activations_are_not_claimed(two: Replicas) -> None:
    a, b = two
    await start(a, "x")
    assert await b.claim_activations(10) == []
    assert await b.claim_activation("default", "x") is None


async def test_a_dead_owners_activations_are_claimed_once_and_it_cannot_write_them(
    two: Replicas,
) -> None:
    a, b = two
    for i in range(5):
        await start(a, f"x{i}")
    await a.register_replica("a:1", lease_seconds=-1)  # its lease has run out
    assert await a.renew_replica(60) is False
    claimed = await asyncio.gather(b.claim_activations(3), b.claim_activations(3))
    ids = sorted(row.id for rows in claimed for row in rows)
    assert ids == [f"x{i}" for i in range(5)]  # each one once, none twice
    stale = ActivationWrite(activation("x0", sequence=2), events(2, 2), expected_sequence=1)
    with pytest.raises(ConflictError):
        await cast(Store, a).commit(stale)
    listed = {r.id: (r.alive, r.owned) for r in await b.replicas()}
    assert listed == {"a": (False, 0), "b": (True, 5)}


async def test_leave_hands_open_activations_over_at_once(two: Replicas) -> None:
    a, b = two
    await start(a, "x")
    await a.leave()
    assert [r.id for r in await b.claim_activations(10)] == ["x"]
    assert [r.id for r in await b.replicas()] == ["b"]


async def test_tasks_are_written_with_their_transition_and_claimed_once(two: Replicas) -> None:
    a, b = two
    await start(a, "x", [task("x", "1"), task("x", "2")])
    first, second, third = await asyncio.gather(
        a.claim_task("default", "q", 30),
        b.claim_task("default", "q", 30),
        a.claim_task("default", "q", 30),
    )
    claimed = sorted(t.run_id for t in (first, second, third) if t is not None)
    assert claimed == ["1", "2"]
    assert await b.claim_task("default", "other", 30) is None


async def test_a_claim_runs_out_or_is_given_back_and_a_deleted_task_is_gone(
    two: Replicas,
) -> None:
    a, b = two
    await start(a, "x", [task("x")])
    held = await a.claim_task("default", "q", 0.2)
    assert held is not None
    assert await b.claim_task("default", "q", 30) is None
    await asyncio.sleep(0.3)
    again = await b.claim_task("default", "q", 30)
    assert again == held
    await b.unclaim_task(again)
    taken = await a.claim_task("default", "q", 30)
    assert taken == held
    await a.delete_task(taken)
    assert await b.claim_task("default", "q", 0) is None
    await a.push_tasks([task("x"), task("x")])  # queued once, whatever the repeats
    assert await a.task_backlog("default", "q") == 1


async def test_notifications_reach_every_replica(two: Replicas) -> None:
    a, b = two
    heard: list[tuple[str, str, str]] = []
    arrived = asyncio.Event()

    def on(kind: str):  # type: ignore[no-untyped-def]
        def note(first: str, second: str) -> None:
            heard.append((kind, first, second))
            arrived.set()

        return note

    await b.listen(on("task"), on("activation"))
    await start(a, "x", [task("x")])
    async with asyncio.timeout(10):
        while len(heard) < 2:
            await arrived.wait()
            arrived.clear()
    assert sorted(heard) == [("activation", "default", "x"), ("task", "default", "q")]
