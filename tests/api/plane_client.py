"""Helpers of the API tests: a client of one plane, struct and status helpers, an HTTP site.

Nothing here waits on a clock: helpers poll with ``assert_eventually`` (bounded) or follow
WatchActivation to its end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

import grpc
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2_grpc
from grpc_status import rpc_status

from partita.api.server import PlaneServer
from partita.v1 import (
    activation_pb2,
    activation_pb2_grpc,
    campaign_pb2,
    campaign_pb2_grpc,
    common_pb2,
    schedule_pb2_grpc,
    worker_pb2_grpc,
)
from tests.conftest import assert_eventually

TERMINAL = {
    common_pb2.ACTIVATION_STATUS_COMPLETED,
    common_pb2.ACTIVATION_STATUS_FAILED,
    common_pb2.ACTIVATION_STATUS_CANCELLED,
    common_pb2.ACTIVATION_STATUS_TERMINATED,
    common_pb2.ACTIVATION_STATUS_TIMED_OUT,
    common_pb2.ACTIVATION_STATUS_CONTINUED_AS_NEW,
}


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def plain(message: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as JSON data (numbers stay floats, as JSON tools see them)."""
    value: dict[str, Any] = json_format.MessageToDict(message)
    return value


def status_name(value: int) -> str:
    return common_pb2.ActivationStatus.Name(value).removeprefix("ACTIVATION_STATUS_")


def event_type(value: int) -> str:
    return common_pb2.EventType.Name(value).removeprefix("EVENT_TYPE_")


def violations(err: grpc.aio.AioRpcError) -> list[tuple[str, str]]:
    """The ``google.rpc.BadRequest`` field violations of a failed call."""
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None, f"no rich status on {err.code()}: {err.details()}"
    found = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found.extend((v.field, v.description) for v in bad.field_violations)
    return found


@dataclass
class Api:
    """A client of one plane: the generated stubs and helpers over them."""

    server: PlaneServer
    channel: grpc.aio.Channel
    campaigns: campaign_pb2_grpc.CampaignServiceStub
    activations: activation_pb2_grpc.ActivationServiceStub
    workers: worker_pb2_grpc.WorkerServiceStub
    schedules: schedule_pb2_grpc.ScheduleServiceStub
    health: health_pb2_grpc.HealthStub

    @property
    def port(self) -> int:
        return self.server.ports[0]

    async def create(
        self, name: str, spec: dict[str, Any], **request: Any
    ) -> campaign_pb2.CreateCampaignResponse:
        return await self.campaigns.CreateCampaign(
            campaign_pb2.CreateCampaignRequest(name=name, spec=struct(spec), **request)
        )

    async def start(
        self, campaign: str, inputs: dict[str, Any] | None = None, **request: Any
    ) -> activation_pb2.Activation:
        response = await self.activations.StartActivation(
            activation_pb2.StartActivationRequest(
                campaign=campaign, inputs=struct(inputs or {}), **request
            )
        )
        return response.activation

    async def get(self, activation_id: str) -> activation_pb2.Activation:
        response = await self.activations.GetActivation(
            activation_pb2.GetActivationRequest(activation_id=activation_id)
        )
        return response.activation

    async def wait(
        self, activation_id: str, *statuses: int, within: float = 10.0
    ) -> activation_pb2.Activation:
        """The activation once its status is one of ``statuses`` (default: any terminal)."""
        wanted = set(statuses) or TERMINAL

        async def reached() -> activation_pb2.Activation | None:
            found = await self.get(activation_id)
            return found if found.status in wanted else None

        try:
            result: activation_pb2.Activation = await assert_eventually(
                reached, within=within, interval=0.01
            )
        except AssertionError:
            found = await self.get(activation_id)
            raise AssertionError(
                f"{activation_id} is still {status_name(found.status)}: {found.status_message}"
            ) from None
        return result

    async def history(self, activation_id: str) -> list[common_pb2.Event]:
        events: list[common_pb2.Event] = []
        token = ""
        while True:
            response = await self.activations.GetActivationHistory(
                activation_pb2.GetActivationHistoryRequest(
                    activation_id=activation_id, page_token=token
                )
            )
            events.extend(response.events)
            token = response.next_page_token
            if not token:
                return events

    async def snapshot(self) -> tuple[list[tuple[str, int, str]], list[tuple[str, str, int]]]:
        """Every campaign version and activation, to show that a bad request changed nothing."""
        listed = await self.campaigns.ListCampaigns(
            campaign_pb2.ListCampaignsRequest(all_versions=True, page_size=1000)
        )
        found = await self.activations.ListActivations(
            activation_pb2.ListActivationsRequest(page_size=1000)
        )
        return (
            sorted((c.name, c.version, c.digest) for c in listed.campaigns),
            sorted((a.id, status_name(a.status), a.history_length) for a in found.activations),
        )


# -- a local HTTP server for the http provider --------------------------------------------


@dataclass
class HttpSite:
    """A real HTTP server on 127.0.0.1 answering JSON; it records what it was sent."""

    url: str
    requests: list[dict[str, Any]]


class SiteHandler(BaseHTTPRequestHandler):
    """Answers JSON: 404 under ``/missing``, else 200 echoing the path and body."""

    site: HttpSite

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.site.requests.append({"method": self.command, "path": self.path, "body": body})
        if self.path.startswith("/missing"):
            status, payload = 404, {"error": "no such thing"}
        else:
            status, payload = 200, {"ok": True, "path": self.path, "echo": body}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        return None
