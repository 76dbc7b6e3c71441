"""A site plane killed with SIGKILL in the middle of many activations loses nothing."""

from __future__ import annotations

import collections
import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format

from partita.engine import Event, replay
from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from tests.conftest import assert_eventually
from tests.e2e.planes import PlaneProcess

ACTIVATIONS = 40
CAMPAIGN = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: crashy}
spec:
  firstStage: prepare
  stages:
    prepare: {provider: mock, stageSelector: pause}
    pause: {provider: delay, config: {duration: 1500ms}, stageSelector: count}
    count:
      provider: counter
      inputs: {n: 1}
      stageSelector: "${{ outputs.count.n < 2 ? 'pause' : 'finish' }}"
    finish: {provider: mock, inputs: {seen: "${{ inputs.payload }}"}}
"""
STAGE_RUNS = 6  # prepare, pause, count, pause, count, finish


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[PlaneProcess]:
    process = PlaneProcess(tmp_path / "crash.db")
    yield process
    process.close()


async def _statuses(channel: grpc.aio.Channel) -> collections.Counter[str]:
    stub = AG.ActivationServiceStub(channel)
    found: collections.Counter[str] = collections.Counter()
    token = ""
    while True:
        page = await stub.ListActivations(A.ListActivationsRequest(page_size=500, page_token=token))
        for activation in page.activations:
            found[common_pb2.ActivationStatus.Name(activation.status)] += 1
        token = page.next_page_token
        if not token:
            return found


async def _delayed(channel: grpc.aio.Channel, minimum: int) -> bool:
    """True once at least ``minimum`` activations sit in a ``delay`` stage."""
    stub = AG.ActivationServiceStub(channel)
    page = await stub.ListActivations(A.ListActivationsRequest(page_size=500))
    waiting = sum(
        1
        for a in page.activations
        if a.current_stage == "pause" and a.status == common_pb2.ACTIVATION_STATUS_RUNNING
    )
    return waiting >= minimum


async def test_repeated_sigkill_loses_nothing_and_doubles_nothing(plane: PlaneProcess) -> None:
    plane.start()
    channel = await plane.channel()
    await CG.CampaignServiceStub(channel).CreateCampaign(C.CreateCampaignRequest(document=CAMPAIGN))
    stub = AG.ActivationServiceStub(channel)
    for i in range(ACTIVATIONS):
        inputs = json_format.ParseDict(
            {"payload": f"p{i}", "i": i}, A.StartActivationRequest().inputs
        )
        await stub.StartActivation(
            A.StartActivationRequest(
                campaign="crashy", activation_id=f"act-{i}", inputs=inputs, request_id=f"req-{i}"
            )
        )
    await assert_eventually(lambda: _delayed(channel, ACTIVATIONS // 2))
    await channel.close()
    plane.kill()

    for _ in range(2):  # restart, let it get into the middle of things again, kill again
        plane.start()
        channel = await plane.channel()

        async def busy_or_done(channel: grpc.aio.Channel = channel) -> bool:
            # In the middle of things again; or, after a slow restart, already past them all
            # (the kill still lands on a plane that recovered, and the checks below still hold).
            done = await _statuses(channel) == {"ACTIVATION_STATUS_COMPLETED": ACTIVATIONS}
            return done or await _delayed(channel, 1)

        await assert_eventually(busy_or_done)
        await channel.close()
        plane.kill()

    plane.start()
    channel = await plane.channel()
    # A client retrying its starts after the crash creates nothing new.
    for i in range(ACTIVATIONS):
        response = await stub_for(channel).StartActivation(
            A.StartActivationRequest(
                campaign="crashy", activation_id=f"act-{i}", request_id=f"req-{i}"
            )
        )
        assert not response.started

    async def all_completed() -> bool:
        return (await _statuses(channel)) == {"ACTIVATION_STATUS_COMPLETED": ACTIVATIONS}

    await assert_eventually(all_completed, within=60)
    stub = stub_for(channel)
    for i in range(ACTIVATIONS):
        activation = (
            await stub.GetActivation(A.GetActivationRequest(activation_id=f"act-{i}"))
        ).activation
        inputs = json_format.MessageToDict(activation.inputs)
        assert inputs == {"payload": f"p{i}", "i": i}
        assert json_format.MessageToDict(activation.outputs)["finish"]["seen"] == f"p{i}"
        assert activation.generation == STAGE_RUNS
        history = await stub.GetActivationHistory(
            A.GetActivationHistoryRequest(activation_id=f"act-{i}", page_size=1000)
        )
        events = history.events
        assert [e.sequence for e in events] == list(range(1, len(events) + 1))
        completed = collections.Counter(
            e.data["runId"] for e in events if e.type == common_pb2.EVENT_TYPE_STAGE_COMPLETED
        )
        assert sorted(completed) == [str(n) for n in range(1, STAGE_RUNS + 1)]
        assert set(completed.values()) == {1}, f"act-{i}: a stage run completed twice"
        folded = replay("default", f"act-{i}", [_event(e) for e in events])
        assert folded.generation == activation.generation
        assert folded.outputs == json_format.MessageToDict(activation.outputs)
    await channel.close()
    assert plane.stop() == 0


def stub_for(channel: grpc.aio.Channel) -> AG.ActivationServiceStub:
    return AG.ActivationServiceStub(channel)


def _event(message: common_pb2.Event) -> Event:
    data = json_format.MessageToDict(message.data)
    return Event.model_validate(
        {
            "sequence": message.sequence,
            "time": message.time.ToNanoseconds() / 1e9,
            "type": common_pb2.EventType.Name(message.type).removeprefix("EVENT_TYPE_"),
            "stage": message.stage,
            "data": _ints(data),
        }
    )


def _ints(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


if os.name != "posix":  # pragma: no cover
    pytest.skip("SIGKILL needs POSIX", allow_module_level=True)
