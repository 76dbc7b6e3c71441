"""Replicas of a plane that requires authentication still pass inputs to each other."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from partita.api.server import PlaneServer
from partita.runtime import Plane, PlaneConfig
from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc, common_pb2
from tests import pg
from tests.conftest import assert_eventually

WAIT = {"firstStage": "hold", "stages": {"hold": {"provider": "wait", "config": {"event": "go"}}}}


@pytest.fixture
async def replicas() -> AsyncIterator[list[PlaneServer]]:
    schema, url = pg.new_schema()
    servers = []
    try:
        for name in ("r1", "r2"):
            config = PlaneConfig(db=url, listen=("127.0.0.1:0",), auth="on", replica_id=name)
            server = PlaneServer(Plane(config))
            await server.start()
            servers.append(server)
        yield servers
    finally:
        for server in servers:
            await server.shutdown(grace=1.0)
        pg.drop_schema(schema)


async def test_an_input_sent_to_another_replica_reaches_the_owner(
    replicas: list[PlaneServer],
) -> None:
    owner, other = replicas
    await owner.plane.create_campaign("default", "gate", WAIT)
    await owner.plane.start_activation("default", "gate", activation_id="g1")
    _, secret = await other.access.create_token("ops", "default", "operator")
    metadata = (("authorization", f"Bearer {secret}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{other.ports[0]}") as channel:
        stub = activation_pb2_grpc.ActivationServiceStub(channel)
        await stub.SignalActivation(
            A.SignalActivationRequest(activation_id="g1", event="go"), metadata=metadata
        )

        async def completed() -> bool:
            found = await stub.GetActivation(
                A.GetActivationRequest(activation_id="g1"), metadata=metadata
            )
            return found.activation.status == common_pb2.ACTIVATION_STATUS_COMPLETED

        await assert_eventually(completed, within=20)
