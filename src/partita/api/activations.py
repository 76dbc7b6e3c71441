"""ActivationService: thin adapters over the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator

from partita.api.errors import Ctx
from partita.api.rpc import stream, unary
from partita.errors import InvalidInputError
from partita.runtime import Plane
from partita.v1 import activation_pb2, activation_pb2_grpc
from partita.wire import convert

A = activation_pb2
TRACE_HEADERS = ("traceparent", "tracestate")


def trace_headers(context: Ctx) -> dict[str, str]:
    """W3C trace context from the call's metadata, to travel on with the activation's tasks."""
    found = {}
    for key, value in context.invocation_metadata() or ():
        if key in TRACE_HEADERS and isinstance(value, str):
            found[key] = value
    return found


class ActivationServicer(activation_pb2_grpc.ActivationServiceServicer):
    def __init__(self, plane: Plane) -> None:
        self.plane = plane

    @unary
    async def StartActivation(
        self, request: A.StartActivationRequest, context: Ctx
    ) -> A.StartActivationResponse:
        state, started = await self.plane.start_activation(
            request.namespace,
            request.campaign,
            version=request.version,
            activation_id=request.activation_id,
            inputs=convert.to_dict(request.inputs),
            request_id=request.request_id,
            start_stage=request.start_stage,
            headers=trace_headers(context),
        )
        return A.StartActivationResponse(activation=convert.activation(state), started=started)

    @unary
    async def GetActivation(
        self, request: A.GetActivationRequest, context: Ctx
    ) -> A.GetActivationResponse:
        state = await self.plane.get_activation(request.namespace, request.activation_id)
        return A.GetActivationResponse(activation=convert.activation(state))

    @unary
    async def ListActivations(
        self, request: A.ListActivationsRequest, context: Ctx
    ) -> A.ListActivationsResponse:
        found, token = await self.plane.list_activations(
            request.namespace,
            statuses=tuple(convert.status_name(s) for s in request.statuses),
            campaign=request.campaign,
            created_after=convert.seconds(request.start_time_after)
            if request.HasField("start_time_after")
            else None,
            created_before=convert.seconds(request.start_time_before)
            if request.HasField("start_time_before")
            else None,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return A.ListActivationsResponse(
            activations=[convert.activation(s, runs=False) for s in found], next_page_token=token
        )

    @unary
    async def CancelActivation(
        self, request: A.CancelActivationRequest, context: Ctx
    ) -> A.CancelActivationResponse:
        state = await self.plane.cancel_activation(
            request.namespace, request.activation_id, request.reason, request.request_id
        )
        return A.CancelActivationResponse(activation=convert.activation(state))

    @unary
    async def TerminateActivation(
        self, request: A.TerminateActivationRequest, context: Ctx
    ) -> A.TerminateActivationResponse:
        state = await self.plane.terminate_activation(
            request.namespace, request.activation_id, request.reason, request.request_id
        )
        return A.TerminateActivationResponse(activation=convert.activation(state))

    @unary
    async def SignalActivation(
        self, request: A.SignalActivationRequest, context: Ctx
    ) -> A.SignalActivationResponse:
        state = await self.plane.signal_activation(
            request.namespace,
            request.activation_id,
            request.event,
            convert.to_dict(request.data),
            request.request_id,
        )
        return A.SignalActivationResponse(activation=convert.activation(state))

    @unary
    async def AdvanceActivation(
        self, request: A.AdvanceActivationRequest, context: Ctx
    ) -> A.AdvanceActivationResponse:
        state = await self.plane.advance_activation(
            request.namespace, request.activation_id, request.stage, request.request_id
        )
        return A.AdvanceActivationResponse(activation=convert.activation(state))

    @unary
    async def RerunActivation(
        self, request: A.RerunActivationRequest, context: Ctx
    ) -> A.RerunActivationResponse:
        state = await self.plane.rerun_activation(
            request.namespace,
            request.activation_id,
            stage=request.stage,
            inputs=convert.to_dict(request.inputs),
            allow_completed=request.allow_completed,
            request_id=request.request_id,
        )
        return A.RerunActivationResponse(activation=convert.activation(state))

    @unary
    async def SkipStage(self, request: A.SkipStageRequest, context: Ctx) -> A.SkipStageResponse:
        state = await self.plane.skip_stage(
            request.namespace,
            request.activation_id,
            request.stage,
            convert.to_dict(request.outputs),
            request.request_id,
        )
        return A.SkipStageResponse(activation=convert.activation(state))

    @unary
    async def RetryStage(self, request: A.RetryStageRequest, context: Ctx) -> A.RetryStageResponse:
        state = await self.plane.retry_stage(
            request.namespace, request.activation_id, request.stage, request.request_id
        )
        return A.RetryStageResponse(activation=convert.activation(state))

    @unary
    async def PauseActivation(
        self, request: A.PauseActivationRequest, context: Ctx
    ) -> A.PauseActivationResponse:
        state = await self.plane.pause_activation(
            request.namespace,
            request.activation_id,
            request.reason,
            hold_tasks=request.hold_tasks,
            request_id=request.request_id,
        )
        return A.PauseActivationResponse(activation=convert.activation(state))

    @unary
    async def ResumeActivation(
        self, request: A.ResumeActivationRequest, context: Ctx
    ) -> A.ResumeActivationResponse:
        state = await self.plane.resume_activation(
            request.namespace, request.activation_id, request.reason, request.request_id
        )
        return A.ResumeActivationResponse(activation=convert.activation(state))

    @unary
    async def GetActivationHistory(
        self, request: A.GetActivationHistoryRequest, context: Ctx
    ) -> A.GetActivationHistoryResponse:
        events, token = await self.plane.get_activation_history(
            request.namespace, request.activation_id, request.page_size, request.page_token
        )
        return A.GetActivationHistoryResponse(
            events=[convert.event(e) for e in events], next_page_token=token
        )

    @stream
    async def WatchActivation(
        self, request: A.WatchActivationRequest, context: Ctx
    ) -> AsyncIterator[A.WatchActivationResponse]:
        if request.from_sequence < 0:
            raise InvalidInputError.field("from_sequence", "must not be negative")
        async for item in self.plane.watch_activation(
            request.namespace, request.activation_id, request.from_sequence
        ):
            yield A.WatchActivationResponse(
                event=convert.event(item.event), activation=convert.watched(item.activation)
            )
