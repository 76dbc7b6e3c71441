"""Large payloads through real gRPC: kept apart from the history, loaded when it is read."""

from __future__ import annotations

import sqlite3

import grpc
import pytest

from partita.engine import replay
from partita.v1 import activation_pb2, worker_pb2
from tests.api.plane_client import Api, event_type, plain, struct, violations

BLOB = "x" * (300 << 10)  # over the 256 KiB threshold
ECHO = {"firstStage": "echo", "stages": {"echo": {"provider": "mock"}}}


async def test_a_large_input_is_stored_apart_and_read_back_whole(api: Api) -> None:
    await api.create("echo", ECHO)
    await api.start("echo", {"blob": BLOB, "small": 1}, activation_id="big")
    done = await api.wait("big")
    assert plain(done.outputs)["echo"]["blob"] == BLOB

    db = sqlite3.connect(api.server.plane.config.db)
    try:
        largest = db.execute(
            "SELECT max(length(data)) FROM events WHERE activation_id='big'"
        ).fetchone()[0]
        kept = db.execute(
            "SELECT ref, length(data) FROM payloads WHERE activation_id='big' ORDER BY ref"
        ).fetchall()
    finally:
        db.close()
    assert largest < 4096  # the history itself stays small
    assert [ref for ref, _ in kept] == ["1/inputs", "2/inputs", "3/outputs", "4/outputs"]
    assert all(size > len(BLOB) for _, size in kept)

    history = await api.history("big")
    started = history[0]
    assert event_type(started.type) == "ACTIVATION_STARTED"
    assert plain(started.data)["inputs"] == {"blob": BLOB, "small": 1}
    events, _ = await api.server.plane.get_activation_history("default", "big")
    state = await api.server.plane.get_activation("default", "big")
    assert replay("default", "big", events) == state  # the loaded history folds into the state

    watched = [item async for item in api.server.plane.watch_activation("default", "big")]
    assert watched[-1].activation.outputs["echo"]["blob"] == BLOB


async def test_a_payload_over_the_hard_limit_is_resource_exhausted(api: Api) -> None:
    huge = {"blob": "x" * ((4 << 20) + 1)}
    await api.create("echo", ECHO)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.start("echo", huge)
    assert err.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert [f for f, _ in violations(err.value)] == ["inputs"]
    assert "inputs" in (err.value.details() or "")

    worker = {
        "firstStage": "w",
        "stages": {
            "w": {"provider": "worker", "taskQueue": "big", "retry": {"maximumAttempts": 1}}
        },
    }
    await api.create("work", worker)
    await api.start("work", activation_id="w1")
    polled = await api.workers.PollStageTask(
        worker_pb2.PollStageTaskRequest(task_queue="big", identity="w")
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.workers.CompleteStageTask(
            worker_pb2.CompleteStageTaskRequest(
                task_token=polled.task.task_token, outputs=struct(huge)
            )
        )
    assert err.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert [f for f, _ in violations(err.value)] == ["outputs"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.activations.RerunActivation(
            activation_pb2.RerunActivationRequest(activation_id="w1", inputs=struct(huge))
        )
    assert err.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
