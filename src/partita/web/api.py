"""The JSON API under ``/api/v1/``: the gRPC RPCs, resource-style, over HTTP.

Each handler is an adapter like a gRPC servicer's: read the request message (query string
or JSON body, protobuf's JSON mapping), await one runtime call, answer the response message
in the same mapping. Errors are the gRPC API's (``partita.web.errors``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message

from partita import __version__
from partita.errors import InvalidInputError, NotFoundError, PartitaError, PreconditionError
from partita.runtime import Plane
from partita.runtime.access import CALLER, role_in
from partita.v1 import activation_pb2, campaign_pb2, federation_pb2, security_pb2
from partita.web.errors import status_json
from partita.web.graph import campaign_graph
from partita.web.requests import from_body, from_query
from partita.wire import convert

A = activation_pb2
C = campaign_pb2
PLANE = web.AppKey("plane", Plane)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(value: Message | dict[str, Any]) -> web.Response:
    data = json_format.MessageToDict(value) if isinstance(value, Message) else value
    return web.json_response(data)


def _plane(request: web.Request) -> Plane:
    return request.app[PLANE]


# -- campaigns -------------------------------------------------------------------------------


async def list_campaigns(request: web.Request) -> web.Response:
    message = from_query(request, C.ListCampaignsRequest)
    found, token = await _plane(request).list_campaigns(
        message.namespace,
        message.name_prefix,
        message.all_versions,
        message.page_size,
        message.page_token,
    )
    return json_response(
        C.ListCampaignsResponse(
            campaigns=[convert.campaign(c) for c in found], next_page_token=token
        )
    )


async def get_campaign(request: web.Request) -> web.Response:
    message = from_query(request, C.GetCampaignRequest)
    found = await _plane(request).get_campaign(
        message.namespace, request.match_info["name"], message.version
    )
    return json_response(C.GetCampaignResponse(campaign=convert.campaign(found)))


async def campaign_graph_view(request: web.Request) -> web.Response:
    """The console's own view (no RPC has it): a campaign version's stage graph."""
    message = from_query(request, C.GetCampaignRequest)
    found = await _plane(request).get_campaign(
        message.namespace, request.match_info["name"], message.version
    )
    graph = campaign_graph(found)
    graph.update(name=found.name, version=found.version, namespace=found.namespace)
    return json_response(graph)


# -- activations -----------------------------------------------------------------------------


async def list_activations(request: web.Request) -> web.Response:
    message = from_query(request, A.ListActivationsRequest)
    found, token = await _plane(request).list_activations(
        message.namespace,
        statuses=tuple(convert.status_name(s) for s in message.statuses),
        campaign=message.campaign,
        created_after=convert.seconds(message.start_time_after)
        if message.HasField("start_time_after")
        else None,
        created_before=convert.seconds(message.start_time_before)
        if message.HasField("start_time_before")
        else None,
        page_size=message.page_size,
        page_token=message.page_token,
    )
    return json_response(
        A.ListActivationsResponse(
            activations=[convert.activation(s, runs=False) for s in found], next_page_token=token
        )
    )


async def start_activation(request: web.Request) -> web.Response:
    message = await from_body(request, A.StartActivationRequest)
    state, started = await _plane(request).start_activation(
        message.namespace,
        message.campaign,
        version=message.version,
        activation_id=message.activation_id,
        inputs=convert.to_dict(message.inputs),
        request_id=message.request_id,
        start_stage=message.start_stage,
    )
    response = A.StartActivationResponse(activation=convert.activation(state), started=started)
    return json_response(response)


async def get_activation(request: web.Request) -> web.Response:
    message = from_query(request, A.GetActivationRequest)
    state = await _plane(request).get_activation(message.namespace, request.match_info["id"])
    return json_response(A.GetActivationResponse(activation=convert.activation(state)))


async def get_activation_history(request: web.Request) -> web.Response:
    message = from_query(request, A.GetActivationHistoryRequest)
    events, token = await _plane(request).get_activation_history(
        message.namespace, request.match_info["id"], message.page_size, message.page_token
    )
    return json_response(
        A.GetActivationHistoryResponse(
            events=[convert.event(e) for e in events], next_page_token=token
        )
    )


async def watch_activation(request: web.Request) -> web.StreamResponse:
    """WatchActivation as Server-Sent Events: one ``WatchActivationResponse`` per event.

    Each event's SSE id is its sequence, so a reconnecting browser (``Last-Event-ID``)
    resumes after the last event it saw. The stream ends with an ``end`` event once the
    activation is closed, or an ``abort`` event holding the error (a ``google.rpc.Status``).
    """
    message = from_query(request, A.WatchActivationRequest)
    if message.from_sequence < 0:
        raise InvalidInputError.field("fromSequence", "must not be negative")
    from_sequence = message.from_sequence
    last = request.headers.get("Last-Event-ID", "")
    if last.isdigit():
        from_sequence = max(from_sequence, int(last))
    plane = _plane(request)
    activation_id = request.match_info["id"]
    await plane.get_activation(message.namespace, activation_id)  # 404 before the stream opens
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    stream = plane.watch_activation(message.namespace, activation_id, from_sequence)
    try:
        async for item in stream:
            data = A.WatchActivationResponse(
                event=convert.event(item.event), activation=convert.watched(item.activation)
            )
            body = json.dumps(json_format.MessageToDict(data))
            await response.write(f"id: {item.event.sequence}\ndata: {body}\n\n".encode())
        await response.write(b"event: end\ndata: {}\n\n")
    except PartitaError as exc:
        _, body = status_json(exc)
        await response.write(f"event: abort\ndata: {body}\n\n".encode())
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    return response


async def _cancel(plane: Plane, activation_id: str, body: Message) -> Message:
    assert isinstance(body, A.CancelActivationRequest)
    state = await plane.cancel_activation(
        body.namespace, activation_id, body.reason, body.request_id
    )
    return A.CancelActivationResponse(activation=convert.activation(state))


async def _terminate(plane: Plane, activation_id: str, body: Message) -> Message:
    assert isinstance(body, A.TerminateActivationRequest)
    state = await plane.terminate_activation(
        body.namespace, activation_id, body.reason, body.request_id
    )
    return A.TerminateActivationResponse(activation=convert.activation(state))


async def _signal(plane: Plane, activation_id: str, body: Message) -> Message:
    assert isinstance(body, A.SignalActivationRequest)
    state = await plane.signal_activation(
        body.namespace, activation_id, body.event, convert.to_dict(body.data), body.request_id
    )
    return A.SignalActivationResponse(activation=convert.activation(state))


async def _advance(plane: Plane, activation_id: str, body: Message) -> Message:
    assert isinstance(body, A.AdvanceActivationRequest)
    state = await plane.advance_activation(
        body.namespace, activation_id, body.stage, body.request_id
    )
    return A.AdvanceActivationResponse(activation=convert.activation(state))


async def _answer(plane: Plane, activation_id: str, body: Message, approve: bool) -> Message:
    assert isinstance(body, security_pb2.AnswerApprovalRequest)
    namespace = body.namespace or plane.config.default_namespace
    caller = CALLER.get()
    state = await plane.answer_approval(
        namespace,
        activation_id,
        body.stage,
        "approve" if approve else "reject",
        convert.to_dict(body.fields),
        caller.name,
        role_in(caller, namespace),
    )
    return security_pb2.AnswerApprovalResponse(activation=convert.activation(state))


async def _approve(plane: Plane, activation_id: str, body: Message) -> Message:
    return await _answer(plane, activation_id, body, True)


async def _reject(plane: Plane, activation_id: str, body: Message) -> Message:
    return await _answer(plane, activation_id, body, False)


ACTIONS: dict[str, tuple[type[Message], Callable[[Plane, str, Message], Awaitable[Message]]]] = {
    "approve": (security_pb2.AnswerApprovalRequest, _approve),
    "reject": (security_pb2.AnswerApprovalRequest, _reject),
    "cancel": (A.CancelActivationRequest, _cancel),
    "terminate": (A.TerminateActivationRequest, _terminate),
    "signal": (A.SignalActivationRequest, _signal),
    "advance": (A.AdvanceActivationRequest, _advance),
}
"""``POST /api/v1/activations/{id}:verb``: each verb's request message and runtime call."""


async def act_on_activation(request: web.Request) -> web.Response:
    activation_id, sep, verb = request.match_info["target"].rpartition(":")
    if not sep or verb not in ACTIONS:
        raise NotFoundError(
            f"no such action {verb!r}: POST /api/v1/activations/ID:" + "|".join(sorted(ACTIONS))
        )
    cls, call = ACTIONS[verb]
    body = await from_body(request, cls)
    return json_response(await call(_plane(request), activation_id, body))


# -- the plane and its sites -----------------------------------------------------------------


async def get_plane(request: web.Request) -> web.Response:
    """The console's own view: which plane this is, and whether it is a hub."""
    plane = _plane(request)
    return json_response(
        {
            "siteId": plane.config.site_id,
            "version": __version__,
            "hub": plane.is_hub,
        }
    )


async def list_sites(request: web.Request) -> web.Response:
    """FederationService.ListSites, on a hub; FAILED_PRECONDITION on any other plane."""
    message = from_query(request, federation_pb2.ListSitesRequest)
    plane = _plane(request)
    if not plane.is_hub:
        raise PreconditionError("this plane is not a hub: it has no sites")
    sites, token = await plane.list_sites(message.page_size, message.page_token)
    return json_response(
        federation_pb2.ListSitesResponse(
            sites=[convert.site(s) for s in sites], next_page_token=token
        )
    )


def add_routes(router: web.UrlDispatcher) -> None:
    """Every route of the JSON API."""
    router.add_get("/api/v1/plane", get_plane)
    router.add_get("/api/v1/sites", list_sites)
    router.add_get("/api/v1/campaigns", list_campaigns)
    router.add_get("/api/v1/campaigns/{name}", get_campaign)
    router.add_get("/api/v1/campaigns/{name}/graph", campaign_graph_view)
    router.add_get("/api/v1/activations", list_activations)
    router.add_post("/api/v1/activations", start_activation)
    router.add_get("/api/v1/activations/{id}", get_activation)
    router.add_get("/api/v1/activations/{id}/history", get_activation_history)
    router.add_get("/api/v1/activations/{id}/watch", watch_activation)
    router.add_post("/api/v1/activations/{target}", act_on_activation)
