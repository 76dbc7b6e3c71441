"""ReplicaService, and the gRPC link one replica uses to pass inputs to another."""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import Any

import grpc

from partita.api.errors import Ctx, error_from
from partita.api.rpc import unary
from partita.engine import (
    ActivationState,
    Advance,
    Cancel,
    ChildClosed,
    ChildStarted,
    Input,
    Pause,
    Rerun,
    Resume,
    RetryStage,
    Signal,
    SkipStage,
    StageResult,
    TaskLeased,
    Terminate,
    TimerFired,
)
from partita.errors import InvalidInputError
from partita.runtime import Plane
from partita.v1 import replica_pb2, replica_pb2_grpc
from partita.wire import convert

R = replica_pb2
INPUTS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        StageResult,
        TaskLeased,
        ChildStarted,
        ChildClosed,
        TimerFired,
        Signal,
        Advance,
        Cancel,
        Terminate,
        Rerun,
        SkipStage,
        RetryStage,
        Pause,
        Resume,
    )
}
"""The engine inputs a replica may pass on (a Start always runs where it was asked)."""
DELIVER_SECONDS = 30.0


def input_json(request: Input) -> str:
    return json.dumps({"kind": type(request).__name__, **dataclasses.asdict(request)})


def input_of(text: str) -> Input:
    try:
        fields = json.loads(text)
        cls = INPUTS[fields.pop("kind")]
        made: Input = cls(**fields)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError.field("input_json", f"is not an input: {exc}") from None
    return made


class ReplicaServicer(replica_pb2_grpc.ReplicaServiceServicer):
    def __init__(self, plane: Plane) -> None:
        self.plane = plane

    @unary
    async def ListReplicas(
        self, request: R.ListReplicasRequest, context: Ctx
    ) -> R.ListReplicasResponse:
        rows = await self.plane.list_replicas()
        return R.ListReplicasResponse(
            replicas=[
                R.Replica(
                    id=r.id,
                    address=r.address,
                    start_time=convert.timestamp(r.start_time),
                    lease_expire_time=convert.timestamp(r.lease_until),
                    alive=r.alive,
                    owned_activations=r.owned,
                )
                for r in rows
            ],
            self_id=self.plane.replicas.id if self.plane.replicas is not None else "",
        )

    @unary
    async def DeliverInput(
        self, request: R.DeliverInputRequest, context: Ctx
    ) -> R.DeliverInputResponse:
        try:
            fields = json.loads(request.input_json)
        except ValueError:
            fields = None
        if not isinstance(fields, dict):
            raise InvalidInputError.field("input_json", "is not a JSON object")
        if fields.get("kind") == "Heartbeat":
            token = base64.b64decode(fields.get("token", ""))
            stop = await self.plane.deliver_heartbeat(token, str(fields.get("identity", "")))
            return R.DeliverInputResponse(stop=stop)
        state, changed = await self.plane.deliver_input(
            request.namespace,
            request.activation_id,
            input_of(request.input_json),
            request.request_id,
        )
        return R.DeliverInputResponse(state_json=state.model_dump_json(), changed=changed)


class GrpcPeers:
    """Channels to the other replicas, opened on first use and kept."""

    def __init__(self) -> None:
        self._stubs: dict[str, replica_pb2_grpc.ReplicaServiceStub] = {}
        self._channels: list[grpc.aio.Channel] = []
        self.metadata: tuple[tuple[str, str], ...] = ()
        """Credentials for planes that require them: this replica's own token."""

    def _stub(self, address: str) -> replica_pb2_grpc.ReplicaServiceStub:
        stub = self._stubs.get(address)
        if stub is None:
            channel = grpc.aio.insecure_channel(address)
            self._channels.append(channel)
            stub = self._stubs[address] = replica_pb2_grpc.ReplicaServiceStub(channel)
        return stub

    async def _call(self, address: str, request: R.DeliverInputRequest) -> R.DeliverInputResponse:
        try:
            response: R.DeliverInputResponse = await self._stub(address).DeliverInput(
                request, timeout=DELIVER_SECONDS, metadata=self.metadata
            )
        except grpc.aio.AioRpcError as exc:
            raise error_from(exc.code(), exc.details() or "") from None
        return response

    async def deliver(
        self, address: str, namespace: str, activation_id: str, request: Input, request_id: str
    ) -> tuple[ActivationState, bool]:
        response = await self._call(
            address,
            R.DeliverInputRequest(
                namespace=namespace,
                activation_id=activation_id,
                input_json=input_json(request),
                request_id=request_id,
            ),
        )
        return ActivationState.model_validate_json(response.state_json), response.changed

    async def heartbeat(self, address: str, token: bytes, identity: str) -> bool:
        text = json.dumps(
            {"kind": "Heartbeat", "token": base64.b64encode(token).decode(), "identity": identity}
        )
        response = await self._call(address, R.DeliverInputRequest(input_json=text))
        return response.stop

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close(None)
