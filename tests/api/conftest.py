"""A real plane behind a real ``grpc.aio`` server on port 0, and a client with the stubs."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2_grpc

from partita.api.server import PlaneServer
from partita.runtime import Plane, PlaneConfig
from partita.v1 import activation_pb2_grpc, campaign_pb2_grpc, schedule_pb2_grpc, worker_pb2_grpc
from tests.api.plane_client import Api, HttpSite, SiteHandler


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[PlaneServer]:
    config = PlaneConfig(
        db=str(tmp_path / "plane.db"),
        listen=("127.0.0.1:0",),
        poll_seconds=0.5,
        worker_ttl_seconds=0.5,
    )
    plane_server = PlaneServer(Plane(config))
    await plane_server.start()
    try:
        yield plane_server
    finally:
        await plane_server.shutdown(grace=1.0)


@pytest.fixture
async def api(server: PlaneServer) -> AsyncIterator[Api]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.ports[0]}")
    try:
        yield Api(
            server=server,
            channel=channel,
            campaigns=campaign_pb2_grpc.CampaignServiceStub(channel),
            activations=activation_pb2_grpc.ActivationServiceStub(channel),
            workers=worker_pb2_grpc.WorkerServiceStub(channel),
            schedules=schedule_pb2_grpc.ScheduleServiceStub(channel),
            health=health_pb2_grpc.HealthStub(channel),
        )
    finally:
        await channel.close()


@pytest.fixture
def http_site() -> Iterator[HttpSite]:
    site = HttpSite(url="", requests=[])
    handler = type("Handler", (SiteHandler,), {"site": site})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    site.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield site
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
