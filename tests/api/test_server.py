"""What every plane serves besides its own services: health; and no placeholder service."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import message_factory
from grpc_health.v1 import health_pb2

from partita.v1 import schedule_pb2
from tests.api.plane_client import Api


async def test_every_schedule_rpc_is_implemented(api: Api) -> None:
    # The last placeholder service (answering UNIMPLEMENTED) was ScheduleService.
    service = schedule_pb2.DESCRIPTOR.services_by_name["ScheduleService"]
    assert service.methods
    for method in service.methods:
        assert not method.client_streaming and not method.server_streaming
        request = message_factory.GetMessageClass(method.input_type)()
        try:
            await getattr(api.schedules, method.name)(request)
        except grpc.aio.AioRpcError as err:
            assert err.code() != grpc.StatusCode.UNIMPLEMENTED, method.full_name


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
