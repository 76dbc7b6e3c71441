"""The built-in approval provider over real gRPC: a form, who may answer, history, timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from partita.api.server import PlaneServer
from partita.runtime import Plane, PlaneConfig
from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc, common_pb2, security_pb2, security_pb2_grpc
from tests.api.plane_client import plain, struct
from tests.conftest import assert_eventually

GATED = {
    "firstStage": "approve",
    "stages": {
        "approve": {
            "provider": "approval",
            "config": {
                "fields": {
                    "ticket": {"type": "string", "required": True},
                    "replicas": {"type": "number"},
                },
                "approvers": {"role": "admin"},
            },
            "stageSelector": "deploy",
        },
        "deploy": {"provider": "mock"},
    },
}


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[PlaneServer]:
    config = PlaneConfig(db=str(tmp_path / "plane.db"), listen=("127.0.0.1:0",), auth="on")
    server = PlaneServer(Plane(config))
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown(grace=1.0)


class Person:
    def __init__(self, channel: grpc.aio.Channel, secret: str) -> None:
        self.metadata = (("authorization", f"Bearer {secret}"),)
        self.approvals = security_pb2_grpc.ApprovalServiceStub(channel)
        self.activations = activation_pb2_grpc.ActivationServiceStub(channel)

    async def answer(self, activation_id: str, approve: bool, **fields: Any) -> A.Activation:
        response = await self.approvals.AnswerApproval(
            security_pb2.AnswerApprovalRequest(
                namespace="prod",
                activation_id=activation_id,
                stage="approve",
                approve=approve,
                fields=struct(fields),
            ),
            metadata=self.metadata,
        )
        return response.activation

    async def get(self, activation_id: str) -> A.Activation:
        request = A.GetActivationRequest(namespace="prod", activation_id=activation_id)
        return (await self.activations.GetActivation(request, metadata=self.metadata)).activation

    async def ended(self, activation_id: str) -> A.Activation:
        async def closed() -> A.Activation | None:
            found = await self.get(activation_id)
            return found if found.close_time.seconds else None

        result: A.Activation = await assert_eventually(closed, within=10)
        return result


@pytest.fixture
async def people(plane: PlaneServer) -> AsyncIterator[dict[str, Person]]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{plane.ports[0]}")
    found = {}
    for name, role in (("ada", "admin"), ("otto", "operator"), ("rita", "reader")):
        _, secret = await plane.access.create_token(name, "prod", role)
        found[name] = Person(channel, secret)
    try:
        yield found
    finally:
        await channel.close()


async def start(plane: PlaneServer, activation_id: str, spec: dict[str, Any] = GATED) -> None:
    await plane.plane.create_campaign("prod", "rollout", spec)
    await plane.plane.start_activation("prod", "rollout", activation_id=activation_id)


async def test_an_approval_holds_the_rollout_until_an_allowed_person_answers(
    plane: PlaneServer, people: dict[str, Person]
) -> None:
    await start(plane, "r1")
    waiting = await people["ada"].get("r1")
    assert waiting.status == common_pb2.ACTIVATION_STATUS_RUNNING
    assert waiting.current_stage == "approve"

    for name, code in (
        ("rita", grpc.StatusCode.PERMISSION_DENIED),
        ("otto", grpc.StatusCode.PERMISSION_DENIED),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await people[name].answer("r1", True, ticket="CHG-1")
        assert caught.value.code() is code, name
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await people["ada"].answer("r1", True, replicas="three")
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "fields.ticket: is required" in (caught.value.details() or "")
    assert "fields.replicas: must be a number" in (caught.value.details() or "")
    # a plain signal cannot stand in for the form
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await people["ada"].activations.SignalActivation(
            A.SignalActivationRequest(
                namespace="prod", activation_id="r1", event="approval:approve"
            ),
            metadata=people["ada"].metadata,
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (await people["ada"].get("r1")).current_stage == "approve"  # still held

    await people["ada"].answer("r1", True, ticket="CHG-1", replicas=3)
    done = await people["ada"].ended("r1")
    assert done.status == common_pb2.ACTIVATION_STATUS_COMPLETED
    outputs = plain(done.outputs)["approve"]
    assert outputs == {
        "decision": "approve",
        "by": "token:ada",
        "fields": {"ticket": "CHG-1", "replicas": 3.0},
    }
    history, _ = await plane.plane.get_activation_history("prod", "r1")
    answered = [e for e in history if e.data.get("event") == "approval:approve"]
    assert answered and answered[0].data["data"]["by"] == "token:ada"


async def test_a_rejection_fails_the_stage_and_stops_the_rollout(
    plane: PlaneServer, people: dict[str, Person]
) -> None:
    await start(plane, "r2")
    await people["ada"].answer("r2", False)
    done = await people["ada"].ended("r2")
    assert done.status == common_pb2.ACTIVATION_STATUS_FAILED
    assert "rejected by token:ada" in done.status_message
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await people["ada"].answer("r2", True, ticket="late")
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION


async def test_a_timeout_decides_the_default(plane: PlaneServer, people: dict[str, Person]) -> None:
    spec = {
        "firstStage": "approve",
        "stages": {
            "approve": {
                "provider": "approval",
                "config": {"timeout": "10ms", "default": "approve"},
                "stageSelector": "deploy",
            },
            "deploy": {"provider": "mock"},
        },
    }
    await start(plane, "r3", spec)
    done = await people["otto"].ended("r3")
    assert done.status == common_pb2.ACTIVATION_STATUS_COMPLETED
    assert plain(done.outputs)["approve"]["by"] == "timeout"


async def test_a_bad_form_is_refused_when_the_campaign_is_created(plane: PlaneServer) -> None:
    from partita.errors import InvalidInputError

    bad = {
        "firstStage": "approve",
        "stages": {
            "approve": {
                "provider": "approval",
                "config": {"fields": {"n": {"type": "date"}}, "default": "maybe"},
            }
        },
    }
    with pytest.raises(InvalidInputError) as caught:
        await plane.plane.create_campaign("prod", "bad", bad)
    fields = {v.field for v in caught.value.violations}
    assert "spec.stages.approve.config.fields.n.type" in fields
    assert "spec.stages.approve.config.default" in fields
