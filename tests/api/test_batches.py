"""Batch actions through real gRPC: cancel, signal and rerun over many activations."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from partita.v1 import batch_pb2, batch_pb2_grpc, common_pb2
from tests.api.plane_client import Api, event_type, status_name, violations
from tests.conftest import assert_eventually

B = batch_pb2
WAITER = {
    "firstStage": "wait",
    "stages": {
        "wait": {"provider": "wait", "config": {"event": "go"}, "stageSelector": "done"},
        "done": {"provider": "mock"},
    },
}


async def start_many(api: Api, campaign: str, count: int, prefix: str) -> list[str]:
    ids = [f"{prefix}{n:03d}" for n in range(count)]
    for chunk in range(0, count, 50):
        await asyncio.gather(
            *(api.start(campaign, activation_id=i) for i in ids[chunk : chunk + 50])
        )
    return ids


async def finished(stub: Any, batch_id: str) -> B.Batch:
    async def done() -> B.Batch | None:
        found = await stub.GetBatch(B.GetBatchRequest(batch_id=batch_id))
        return found.batch if found.batch.status == B.BATCH_STATUS_COMPLETED else None

    result: B.Batch = await assert_eventually(done, within=60, interval=0.05)
    return result


async def test_batch_cancel_over_hundreds_cancels_exactly_the_matching_ones(api: Api) -> None:
    await api.create("waiter", WAITER)
    await api.create("other", WAITER)
    ids = await start_many(api, "waiter", 150, "w")
    await start_many(api, "other", 5, "o")
    stub = batch_pb2_grpc.BatchServiceStub(api.channel)
    request = B.StartBatchRequest(
        batch_id="cancel-waiters",
        action=B.BATCH_ACTION_CANCEL,
        filter=B.BatchFilter(campaign="waiter"),
        reason="cleanup",
        request_id="once",
    )
    started = await stub.StartBatch(request)
    assert started.started and started.batch.total == 150
    assert list(started.batch.filter.statuses) == [
        common_pb2.ACTIVATION_STATUS_RUNNING,
        common_pb2.ACTIVATION_STATUS_PAUSED,
    ]
    again = await stub.StartBatch(B.StartBatchRequest(**{**_fields(request), "batch_id": ""}))
    assert not again.started and again.batch.id == "cancel-waiters"

    done = await finished(stub, "cancel-waiters")
    assert (done.done, done.skipped, done.failed) == (150, 0, 0)
    assert done.HasField("close_time")
    for activation_id in ids[:10] + ids[-10:]:
        found = await api.get(activation_id)
        assert status_name(found.status) == "CANCELLED"
        assert "cleanup" in found.status_message
    for n in range(5):
        assert status_name((await api.get(f"o{n:03d}")).status) == "RUNNING"
    listed = await stub.ListBatches(B.ListBatchesRequest())
    assert [b.id for b in listed.batches] == ["cancel-waiters"]


async def test_batch_signal_then_rerun(api: Api) -> None:
    await api.create("waiter", WAITER)
    ids = await start_many(api, "waiter", 20, "s")
    stub = batch_pb2_grpc.BatchServiceStub(api.channel)
    await stub.StartBatch(
        B.StartBatchRequest(
            batch_id="go",
            action=B.BATCH_ACTION_SIGNAL,
            filter=B.BatchFilter(campaign="waiter"),
            event="go",
        )
    )
    assert (await finished(stub, "go")).done == 20
    for activation_id in ids:
        assert status_name((await api.wait(activation_id)).status) == "COMPLETED"
    # COMPLETED activations are rerun only when asked; with `allow_completed`, from `done`.
    await stub.StartBatch(
        B.StartBatchRequest(
            batch_id="again",
            action=B.BATCH_ACTION_RERUN,
            filter=B.BatchFilter(
                campaign="waiter", statuses=[common_pb2.ACTIVATION_STATUS_COMPLETED]
            ),
        )
    )
    refused = await finished(stub, "again")
    assert (refused.done, refused.skipped) == (0, 20)
    await stub.StartBatch(
        B.StartBatchRequest(
            batch_id="again-really",
            action=B.BATCH_ACTION_RERUN,
            filter=B.BatchFilter(
                campaign="waiter", statuses=[common_pb2.ACTIVATION_STATUS_COMPLETED]
            ),
            stage="done",
            allow_completed=True,
        )
    )
    assert (await finished(stub, "again-really")).done == 20
    history = await api.history(ids[0])
    assert [event_type(e.type) for e in history].count("ACTIVATION_RERUN") == 1


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (B.StartBatchRequest(filter=B.BatchFilter(campaign="c")), "action"),
        (B.StartBatchRequest(action=B.BATCH_ACTION_CANCEL), "filter"),
        (
            B.StartBatchRequest(action=B.BATCH_ACTION_SIGNAL, filter=B.BatchFilter(campaign="c")),
            "event",
        ),
        (
            B.StartBatchRequest(
                action=B.BATCH_ACTION_CANCEL, filter=B.BatchFilter(campaign="c"), rate=-1
            ),
            "rate",
        ),
    ],
)
async def test_bad_batches_are_refused_naming_the_field(
    api: Api, request_: B.StartBatchRequest, field: str
) -> None:
    stub = batch_pb2_grpc.BatchServiceStub(api.channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.StartBatch(request_)
    assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in violations(err.value)] == [field]
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetBatch(B.GetBatchRequest(batch_id="nope"))
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND


def _fields(message: B.StartBatchRequest) -> dict[str, Any]:
    return {f.name: v for f, v in message.ListFields()}
