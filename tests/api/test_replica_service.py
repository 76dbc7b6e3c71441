"""ReplicaService on a plane of its own (SQLite): no replicas, and inputs checked."""

from __future__ import annotations

import grpc
import pytest

from partita.v1 import replica_pb2 as R
from partita.v1 import replica_pb2_grpc as RG
from tests.api.plane_client import Api


async def test_a_plane_on_sqlite_lists_no_replicas(api: Api) -> None:
    answer = await RG.ReplicaServiceStub(api.channel).ListReplicas(R.ListReplicasRequest())
    assert list(answer.replicas) == []
    assert answer.self_id == ""


async def test_deliver_input_refuses_what_is_not_an_input(api: Api) -> None:
    stub = RG.ReplicaServiceStub(api.channel)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.DeliverInput(
            R.DeliverInputRequest(activation_id="a1", input_json='{"kind": "Start"}')
        )
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "input_json" in (raised.value.details() or "")


async def test_deliver_input_refuses_text_that_is_not_json(api: Api) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await RG.ReplicaServiceStub(api.channel).DeliverInput(
            R.DeliverInputRequest(activation_id="a1", input_json="not json")
        )
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
