"""Namespaces as objects over real gRPC: quotas, delete only when empty, plane-wide rights."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2

from partita.api.server import PlaneServer
from partita.runtime import Plane, PlaneConfig
from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc, schedule_pb2, schedule_pb2_grpc, security_pb2_grpc
from partita.v1 import security_pb2 as S

WAIT = {"firstStage": "hold", "stages": {"hold": {"provider": "wait", "config": {"event": "go"}}}}


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[PlaneServer]:
    config = PlaneConfig(db=str(tmp_path / "plane.db"), listen=("127.0.0.1:0",), auth="on")
    server = PlaneServer(Plane(config))
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown(grace=1.0)


async def test_quotas_hold_and_a_namespace_is_deleted_only_when_empty(plane: PlaneServer) -> None:
    _, root = await plane.access.create_token("root", "*", "admin")
    _, tenant = await plane.access.create_token("tenant", "team", "admin")
    as_root = (("authorization", f"Bearer {root}"),)
    as_tenant = (("authorization", f"Bearer {tenant}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{plane.ports[0]}") as channel:
        namespaces = security_pb2_grpc.NamespaceServiceStub(channel)
        activations = activation_pb2_grpc.ActivationServiceStub(channel)
        schedules = schedule_pb2_grpc.ScheduleServiceStub(channel)
        team = S.Namespace(name="team", max_running_activations=1, max_schedules=1)

        with pytest.raises(grpc.aio.AioRpcError) as caught:  # a tenant admin is not plane admin
            await namespaces.CreateNamespace(
                S.CreateNamespaceRequest(namespace=team), metadata=as_tenant
            )
        assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert "namespaces.write" in (caught.value.details() or "")
        made = await namespaces.CreateNamespace(
            S.CreateNamespaceRequest(namespace=team), metadata=as_root
        )
        assert made.namespace.max_running_activations == 1
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await namespaces.CreateNamespace(
                S.CreateNamespaceRequest(namespace=team), metadata=as_root
            )
        assert caught.value.code() is grpc.StatusCode.ALREADY_EXISTS

        await plane.plane.create_campaign("team", "gate", WAIT)
        start = A.StartActivationRequest(namespace="team", campaign="gate", activation_id="one")
        await activations.StartActivation(start, metadata=as_tenant)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await activations.StartActivation(
                A.StartActivationRequest(namespace="team", campaign="gate", activation_id="two"),
                metadata=as_tenant,
            )
        assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        # another namespace has no such quota
        await plane.plane.create_campaign("other", "gate", WAIT)
        await plane.plane.start_activation("other", "gate", activation_id="x1")
        await plane.plane.start_activation("other", "gate", activation_id="x2")

        body = schedule_pb2.Schedule(
            spec=schedule_pb2.ScheduleSpec(interval=duration_pb2.Duration(seconds=3600)),
            action=schedule_pb2.ScheduleAction(campaign="gate"),
        )

        def create(schedule_id: str) -> schedule_pb2.CreateScheduleRequest:
            return schedule_pb2.CreateScheduleRequest(
                namespace="team", schedule_id=schedule_id, schedule=body
            )

        await schedules.CreateSchedule(create("s1"), metadata=as_tenant)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await schedules.CreateSchedule(create("s2"), metadata=as_tenant)
        assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await namespaces.DeleteNamespace(
                S.DeleteNamespaceRequest(name="team"), metadata=as_root
            )
        assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert "campaigns, activations, schedules" in (caught.value.details() or "")
        listed = await namespaces.ListNamespaces(S.ListNamespacesRequest(), metadata=as_root)
        assert [n.name for n in listed.namespaces] == ["team"]

        await namespaces.CreateNamespace(
            S.CreateNamespaceRequest(namespace=S.Namespace(name="empty")), metadata=as_root
        )
        await namespaces.DeleteNamespace(S.DeleteNamespaceRequest(name="empty"), metadata=as_root)
        listed = await namespaces.ListNamespaces(S.ListNamespacesRequest(), metadata=as_root)
        assert [n.name for n in listed.namespaces] == ["team"]
