"""The Store contract for operations (issue 12): batches, counting matches, large payloads."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, cast

import pytest

from partita.errors import ConflictError
from partita.store import (
    ActivationFilter,
    ActivationWrite,
    BatchRow,
    Page,
    PayloadRow,
    ReplicaStore,
    Store,
)
from partita.store.postgres import PostgresStore
from tests import pg
from tests.contract.test_store import NS, T0, activation, close, events, start, step


def batch(batch_id: str = "b1", request_id: str = "", created: float = T0) -> BatchRow:
    return BatchRow(
        namespace=NS,
        id=batch_id,
        request_id=request_id,
        spec=json.dumps({"action": "cancel", "filter": {"campaign": "deploy"}}),
        status="RUNNING",
        cursor="",
        total=3,
        done=0,
        skipped=0,
        failed=0,
        last_error="",
        create_time=created,
        update_time=created,
    )


async def test_a_batch_is_created_once_per_id_and_request_id(store: Store) -> None:
    row = batch(request_id="r1")
    stored, created = await store.create_batch(row)
    assert created and stored == row
    again, created_again = await store.create_batch(dataclasses.replace(row, spec="{}"))
    assert not created_again and again == row
    by_request, created_by_request = await store.create_batch(batch("b2", request_id="r1"))
    assert not created_by_request and by_request.id == "b1"
    _, other = await store.create_batch(batch("b3"))
    _, another = await store.create_batch(batch("b4"))  # no request id: no clash
    assert other and another
    assert await store.get_batch(NS, "b1") == row
    assert await store.get_batch(NS, "nope") is None
    assert await store.get_batch("other", "b1") is None


async def test_progress_is_saved_only_over_the_revision_it_follows(store: Store) -> None:
    row, _ = await store.create_batch(batch())
    progress = dataclasses.replace(
        row, cursor='[1.0, "a"]', done=2, skipped=1, update_time=T0 + 1, revision=2
    )
    assert await store.save_batch(progress)
    assert await store.get_batch(NS, "b1") == progress
    stale = dataclasses.replace(row, done=9, revision=2)  # a writer that missed the save
    assert not await store.save_batch(stale)
    assert await store.get_batch(NS, "b1") == progress
    closed = dataclasses.replace(progress, status="COMPLETED", close_time=T0 + 2, revision=3)
    assert await store.save_batch(closed)
    assert await store.open_batches() == []


async def test_open_batches_oldest_first_and_list_newest_first_by_page(store: Store) -> None:
    for n, batch_id in enumerate(["x", "y", "z"]):
        await store.create_batch(batch(batch_id, created=T0 + n))
    assert [b.id for b in await store.open_batches()] == ["x", "y", "z"]
    first = await store.list_batches(NS, Page(size=2))
    assert [b.id for b in first] == ["z", "y"]
    rest = await store.list_batches(NS, Page(size=2, after=(first[-1].create_time, first[-1].id)))
    assert [b.id for b in rest] == ["x"]
    assert await store.list_batches("other", Page()) == []


async def test_count_activations_with_filters(store: Store) -> None:
    for n, (activation_id, campaign_name) in enumerate(
        [("a", "deploy"), ("b", "deploy"), ("c", "build")]
    ):
        await store.create_activation(start(activation_id, campaign_name, created=T0 + n))
    b = await store.get_activation(NS, "b")
    assert b is not None
    await close(store, b, "FAILED")

    async def count(**where: Any) -> int:
        return await store.count_activations(ActivationFilter(namespace=NS, **where))

    assert await count() == 3
    assert await count(statuses=("RUNNING",)) == 2
    assert await count(campaign="deploy", statuses=("FAILED",)) == 1
    assert await count(created_after=T0 + 1, created_before=T0 + 2) == 1
    assert await store.count_activations(ActivationFilter(namespace="other")) == 0


async def test_payloads_are_kept_with_their_events_and_swept_with_them(store: Store) -> None:
    created = start("big")
    write = dataclasses.replace(created.write, payloads=[PayloadRow("1/inputs", '{"blob":"xxx"}')])
    await store.create_activation(dataclasses.replace(created, write=write))
    row = await store.get_activation(NS, "big")
    assert row is not None
    assert await store.payloads(NS, "big", ["1/inputs", "9/outputs"]) == {
        "1/inputs": '{"blob":"xxx"}'
    }
    assert await store.payloads(NS, "big", []) == {}
    assert await store.payloads(NS, "other", ["1/inputs"]) == {}
    closing = step(row, status="COMPLETED", expire_time=T0 + 10)
    closing.payloads.append(PayloadRow("2/outputs", "[1]"))
    await store.commit(closing)
    assert set(await store.payloads(NS, "big", ["1/inputs", "2/outputs"])) == {
        "1/inputs",
        "2/outputs",
    }
    assert await store.sweep(T0 + 100) == 1
    assert await store.payloads(NS, "big", ["1/inputs", "2/outputs"]) == {}


async def test_a_replica_takes_a_closed_activation_to_reopen_it() -> None:
    schema, url = pg.new_schema()
    a, b = PostgresStore(url, replica_id="a"), PostgresStore(url, replica_id="b")
    try:
        for store in (a, b):
            await store.open()
            await cast(ReplicaStore, store).register_replica("x:1", lease_seconds=60)
        await a.create_activation(start("x"))
        assert not await b.claim_closed_activation(NS, "x")  # open: its owner reopens it
        row = await a.get_activation(NS, "x")
        assert row is not None
        await close(a, row, "FAILED")
        assert await b.claim_closed_activation(NS, "x")
        assert not await b.claim_closed_activation(NS, "gone")
        closed = await b.get_activation(NS, "x")
        assert closed is not None
        reopened = ActivationWrite(
            activation("x", sequence=closed.last_sequence + 1),
            events(closed.last_sequence + 1, closed.last_sequence + 1),
            expected_sequence=closed.last_sequence,
        )
        with pytest.raises(ConflictError):
            await a.commit(reopened)
        await b.commit(reopened)
    finally:
        await a.close()
        await b.close()
        pg.drop_schema(schema)
