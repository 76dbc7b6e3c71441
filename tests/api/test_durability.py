"""What the plane keeps: replayable history, idempotent retries, retention, a clean shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from partita.api.server import PlaneServer
from partita.engine import replay
from partita.runtime import Plane, PlaneConfig
from partita.runtime.rows import event_of, state_of
from partita.v1 import (
    activation_pb2,
    activation_pb2_grpc,
    campaign_pb2,
    campaign_pb2_grpc,
    common_pb2,
)
from tests.api.plane_client import Api, struct, violations
from tests.conftest import assert_eventually

LOOP = {
    "firstStage": "count",
    "stages": {
        "count": {
            "provider": "counter",
            "inputs": {"n": 1},
            "stageSelector": "${{ outputs.count.n < 3 ? 'nap' : 'gate' }}",
        },
        "nap": {"provider": "delay", "config": {"duration": "10ms"}, "stageSelector": "count"},
        "gate": {"provider": "wait", "config": {"event": "go"}, "stageSelector": "done"},
        "done": {"provider": "mock"},
    },
}


async def test_replaying_the_stored_history_rebuilds_the_stored_state(api: Api) -> None:
    await api.create("loop", LOOP)
    for i in range(5):
        await api.start("loop", {"i": i}, activation_id=f"r{i}")
    for i in range(5):
        await api.wait(f"r{i}", common_pb2.ACTIVATION_STATUS_RUNNING)
        await api.activations.SignalActivation(
            activation_pb2.SignalActivationRequest(activation_id=f"r{i}", event="go")
        )
    store = api.server.plane.store
    for i in range(5):
        done = await api.wait(f"r{i}")
        assert done.status == common_pb2.ACTIVATION_STATUS_COMPLETED
        row = await store.get_activation("default", f"r{i}")
        assert row is not None
        events = [event_of(e) for e in await store.history("default", f"r{i}")]
        assert replay("default", f"r{i}", events) == state_of(row)


async def test_a_request_id_answers_only_for_its_own_activation(api: Api) -> None:
    await api.create(
        "gate",
        {"firstStage": "g", "stages": {"g": {"provider": "wait", "config": {"event": "go"}}}},
    )
    await api.start("gate", activation_id="one")
    await api.start("gate", activation_id="two")
    signal = activation_pb2.SignalActivationRequest(
        activation_id="one", event="go", request_id="s1"
    )
    await api.activations.SignalActivation(signal)
    again = await api.activations.SignalActivation(signal)  # a retry: nothing more happens
    assert again.activation.status == common_pb2.ACTIVATION_STATUS_COMPLETED
    signals = [
        e for e in await api.history("one") if e.type == common_pb2.EVENT_TYPE_SIGNAL_RECEIVED
    ]
    assert len(signals) == 1
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.activations.SignalActivation(
            activation_pb2.SignalActivationRequest(activation_id="two", event="go", request_id="s1")
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in violations(caught.value)] == ["request_id"]
    # The same id on another kind of request is another request.
    started = await api.activations.StartActivation(
        activation_pb2.StartActivationRequest(
            campaign="gate", activation_id="three", request_id="s1"
        )
    )
    assert started.started and started.activation.id == "three"


async def test_terminal_activations_are_deleted_after_retention(tmp_path: Path) -> None:
    config = PlaneConfig(
        db=str(tmp_path / "plane.db"),
        listen=("127.0.0.1:0",),
        retention_seconds=0.2,
        sweep_interval_seconds=0.05,
    )
    async with Plane(config) as plane:
        await plane.create_campaign(
            "", "quick", {"firstStage": "a", "stages": {"a": {"provider": "noop"}}}
        )
        await plane.create_campaign(
            "",
            "slow",
            {
                "firstStage": "a",
                "stages": {"a": {"provider": "wait", "config": {"event": "never"}}},
            },
        )
        await plane.start_activation("", "quick", activation_id="quick")
        await plane.start_activation("", "slow", activation_id="slow")

        async def swept() -> bool:
            return await plane.store.get_activation("default", "quick") is None

        await assert_eventually(swept, within=10)
        assert await plane.store.history("default", "quick") == []
        still = await plane.get_activation("", "slow")  # open activations are never swept
        assert still.status.value == "RUNNING"


async def test_shutdown_answers_in_flight_calls_and_flushes_commits(tmp_path: Path) -> None:
    config = PlaneConfig(db=str(tmp_path / "plane.db"), listen=("127.0.0.1:0",))
    server = PlaneServer(Plane(config))
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.ports[0]}")
    spec = {"firstStage": "a", "stages": {"a": {"provider": "wait", "config": {"event": "go"}}}}
    await campaign_pb2_grpc.CampaignServiceStub(channel).CreateCampaign(
        campaign_pb2.CreateCampaignRequest(name="c", spec=struct(spec))
    )
    stub = activation_pb2_grpc.ActivationServiceStub(channel)
    calls = [
        asyncio.ensure_future(
            stub.StartActivation(
                activation_pb2.StartActivationRequest(campaign="c", activation_id=f"s{i}")
            )
        )
        for i in range(200)
    ]
    await asyncio.wait(calls, return_when=asyncio.FIRST_COMPLETED)
    await server.shutdown(grace=5)  # some calls are still in flight here
    results = await asyncio.gather(*calls, return_exceptions=True)
    answered = {r.activation.id for r in results if not isinstance(r, BaseException)}
    await channel.close()
    async with Plane(PlaneConfig(db=config.db)) as reopened:
        stored, _ = await reopened.list_activations("", page_size=1000)
    assert answered
    # Every start the plane acknowledged is on disk after the shutdown.
    assert answered <= {s.id for s in stored}
