"""Queue governance through real gRPC: per-key limits under load, fair shares, rates, backlog."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from partita.api.server import PlaneServer
from partita.runtime import Plane, PlaneConfig
from partita.runtime.governance import QueueLimit
from partita.v1 import activation_pb2, campaign_pb2, worker_pb2, worker_pb2_grpc
from tests.api.plane_client import struct

W = worker_pb2


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[PlaneServer]:
    config = PlaneConfig(
        db=str(tmp_path / "plane.db"),
        listen=("127.0.0.1:0",),
        poll_seconds=0.3,
        queue_limits={"slow": QueueLimit(rate=0.001, burst=2)},
    )
    server = PlaneServer(Plane(config))
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown(grace=1.0)


@pytest.fixture
async def channel(plane: PlaneServer) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{plane.ports[0]}")
    yield channel
    await channel.close()


def deploy(queue: str = "deploys", **policy: Any) -> dict[str, Any]:
    return {
        "firstStage": "deploy",
        "stages": {
            "deploy": {
                "provider": "worker",
                "taskQueue": queue,
                "queue": {"key": "${{ inputs.env }}", **policy},
            }
        },
    }


async def setup(channel: grpc.aio.Channel, spec: dict[str, Any], envs: list[str]) -> None:
    from partita.v1 import activation_pb2_grpc, campaign_pb2_grpc

    await campaign_pb2_grpc.CampaignServiceStub(channel).CreateCampaign(
        campaign_pb2.CreateCampaignRequest(name="deploy", spec=struct(spec))
    )
    stub = activation_pb2_grpc.ActivationServiceStub(channel)
    for chunk in range(0, len(envs), 50):
        await asyncio.gather(
            *(
                stub.StartActivation(
                    activation_pb2.StartActivationRequest(
                        campaign="deploy", inputs=struct({"env": env})
                    )
                )
                for env in envs[chunk : chunk + 50]
            )
        )


async def test_a_per_key_limit_is_never_exceeded_under_load(channel: grpc.aio.Channel) -> None:
    envs = [env for _ in range(40) for env in ("prod", "staging", "dev")]
    await setup(channel, deploy(concurrency=1), envs)
    stub = worker_pb2_grpc.WorkerServiceStub(channel)
    held: Counter[str] = Counter()
    most: Counter[str] = Counter()
    done: Counter[str] = Counter()
    rng = random.Random(7)

    async def worker(name: str) -> None:
        while sum(done.values()) < len(envs):
            polled = await stub.PollStageTask(
                W.PollStageTaskRequest(task_queue="deploys", identity=name)
            )
            if not polled.HasField("task"):
                continue
            env = polled.task.inputs["env"]
            held[env] += 1
            most[env] = max(most[env], held[env])
            for _ in range(rng.randrange(5)):
                await asyncio.sleep(0)  # let the other workers poll meanwhile
            held[env] -= 1  # before completing: the plane may hand out the next at once
            await stub.CompleteStageTask(
                W.CompleteStageTaskRequest(task_token=polled.task.task_token, outputs=struct({}))
            )
            done[env] += 1

    async with asyncio.timeout(60):
        await asyncio.gather(*(worker(f"w{n}") for n in range(8)))
    assert done == Counter({"prod": 40, "staging": 40, "dev": 40})
    assert most == Counter({"prod": 1, "staging": 1, "dev": 1})  # never two of one key at once


async def test_a_burst_of_one_key_does_not_starve_another(channel: grpc.aio.Channel) -> None:
    await setup(channel, deploy(priority=3), ["burst"] * 150 + ["other"] * 50)
    stub = worker_pb2_grpc.WorkerServiceStub(channel)
    listed = await stub.ListTaskQueues(W.ListTaskQueuesRequest())
    (queue,) = listed.task_queues
    assert (queue.name, queue.backlog, queue.keys) == ("deploys", 200, 2)
    assert queue.HasField("oldest_task_age")
    taken = []
    for _ in range(100):
        polled = await stub.PollStageTask(
            W.PollStageTaskRequest(task_queue="deploys", identity="w")
        )
        taken.append(polled.task.inputs["env"])
        await stub.CompleteStageTask(
            W.CompleteStageTaskRequest(task_token=polled.task.task_token, outputs=struct({}))
        )
    # Equal priorities: while both wait, each key gets half of the polls (within one task).
    assert abs(taken.count("other") - 50) <= 1


async def test_a_rate_limited_queue_hands_out_its_burst_then_waits(
    channel: grpc.aio.Channel,
) -> None:
    await setup(channel, deploy(queue="slow"), ["a", "b", "c", "d"])
    stub = worker_pb2_grpc.WorkerServiceStub(channel)
    got = []
    for _ in range(3):
        polled = await stub.PollStageTask(W.PollStageTaskRequest(task_queue="slow", identity="w"))
        got.append(polled.HasField("task"))
    assert got == [True, True, False]  # a burst of 2, then one token every 1,000 s
    (queue,) = (await stub.ListTaskQueues(W.ListTaskQueuesRequest())).task_queues
    assert (queue.name, queue.backlog, queue.tasks_held, queue.rate) == ("slow", 2, 2, 0.001)
