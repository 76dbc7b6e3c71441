"""A plane killed while workers hold stage tasks delivers them again; each stage completes once."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format

from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from partita.v1 import worker_pb2 as W
from partita.v1 import worker_pb2_grpc as WG
from tests.conftest import assert_eventually
from tests.e2e.planes import PlaneProcess

ACTIVATIONS = 20
CAMPAIGN = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: jobs}
spec:
  firstStage: work
  stages:
    work: {provider: worker, taskQueue: jobs, taskType: double, inputs: {n: "${{ inputs.n }}"}}
"""


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[PlaneProcess]:
    process = PlaneProcess(tmp_path / "plane.db", "--poll-timeout", "300ms")
    yield process
    process.close()


async def _poll(channel: grpc.aio.Channel, identity: str) -> W.StageTask | None:
    answer = await WG.WorkerServiceStub(channel).PollStageTask(
        W.PollStageTaskRequest(task_queue="jobs", identity=identity)
    )
    return answer.task if answer.HasField("task") else None


async def _complete(channel: grpc.aio.Channel, task: W.StageTask, identity: str) -> None:
    n = json_format.MessageToDict(task.inputs)["n"]
    outputs = json_format.ParseDict(
        {"double": n * 2, "by": identity}, A.StartActivationRequest().inputs
    )
    await WG.WorkerServiceStub(channel).CompleteStageTask(
        W.CompleteStageTaskRequest(task_token=task.task_token, outputs=outputs, identity=identity)
    )


async def test_leased_tasks_are_delivered_again_after_a_plane_crash(plane: PlaneProcess) -> None:
    plane.start()
    channel = await plane.channel()
    await CG.CampaignServiceStub(channel).CreateCampaign(C.CreateCampaignRequest(document=CAMPAIGN))
    stub = AG.ActivationServiceStub(channel)
    for i in range(ACTIVATIONS):
        inputs = json_format.ParseDict({"n": i}, A.StartActivationRequest().inputs)
        await stub.StartActivation(
            A.StartActivationRequest(campaign="jobs", activation_id=f"j{i}", inputs=inputs)
        )
    held = []  # leased before the crash, never reported before it
    while len(held) < ACTIVATIONS // 2:
        task = await _poll(channel, "before-crash")
        if task is not None:
            held.append(task)
    await channel.close()
    plane.kill()

    plane.start()
    channel = await plane.channel()
    # The worker that held tasks across the crash reports half of them with its old tokens.
    for task in held[: len(held) // 2]:
        await _complete(channel, task, "before-crash")
    delivered: collections.Counter[str] = collections.Counter()

    async def drained() -> bool:
        task = await _poll(channel, "after-crash")
        if task is not None:
            delivered[task.activation_id] += 1
            await _complete(channel, task, "after-crash")
        page = await AG.ActivationServiceStub(channel).ListActivations(
            A.ListActivationsRequest(
                statuses=[common_pb2.ACTIVATION_STATUS_COMPLETED], page_size=100
            )
        )
        return len(page.activations) == ACTIVATIONS

    await assert_eventually(drained, within=30, interval=0)
    # Tasks leased before the crash and not reported were delivered again.
    for task in held[len(held) // 2 :]:
        assert delivered[task.activation_id] == 1
    stub = AG.ActivationServiceStub(channel)
    for i in range(ACTIVATIONS):
        history = await stub.GetActivationHistory(
            A.GetActivationHistoryRequest(activation_id=f"j{i}")
        )
        completed = [e for e in history.events if e.type == common_pb2.EVENT_TYPE_STAGE_COMPLETED]
        assert len(completed) == 1, f"j{i} completed {len(completed)} times"
        assert json_format.MessageToDict(completed[0].data)["outputs"]["double"] == i * 2
    await channel.close()
    assert plane.stop() == 0
