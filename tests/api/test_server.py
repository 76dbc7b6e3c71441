"""What every plane serves besides its own services: health and placeholder services."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from grpc_health.v1 import health_pb2

from partita.v1 import schedule_pb2
from tests.api.plane_client import Api

PLACEHOLDERS = [
    pytest.param(
        schedule_pb2.DESCRIPTOR.services_by_name["ScheduleService"], "schedules", id="schedules"
    ),
]


@pytest.mark.parametrize(
    ("service", "stub_name"), PLACEHOLDERS, ids=lambda v: getattr(v, "name", v)
)
async def test_placeholder_services_answer_unimplemented(
    api: Api, service: Any, stub_name: str
) -> None:
    stub = getattr(api, stub_name)
    assert service.methods
    for method in service.methods:
        assert not method.client_streaming and not method.server_streaming
        request = message_factory.GetMessageClass(method.input_type)()
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await getattr(stub, method.name)(request)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED, method.full_name
        assert method.name in (err.value.details() or "")


@pytest.mark.parametrize(
    "service",
    [
        "",
        "partita.v1.ActivationService",
        "partita.v1.CampaignService",
        "partita.v1.WorkerService",
        "partita.v1.ScheduleService",
    ],
)
async def test_health_says_serving(api: Api, service: str) -> None:
    response = await api.health.Check(health_pb2.HealthCheckRequest(service=service))
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_health_of_an_unknown_service_is_not_found(api: Api) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.health.Check(health_pb2.HealthCheckRequest(service="partita.v1.Nope"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
