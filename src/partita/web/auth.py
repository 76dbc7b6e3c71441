"""The console's gate: the same identities, table and audit log as the gRPC interceptor.

Each JSON API route stands for one RPC of ``partita.runtime.access.RULES``; a caller names
itself with ``Authorization: Bearer <token>`` or, for the browser (whose EventSource sends
no headers), the ``partita_token`` cookie the page sets. An API route missing from the map
is refused (fail-closed); pages and static assets hold no data and are served to anyone.
"""

from __future__ import annotations

import json
from typing import Any

import grpc
from aiohttp import web

from partita.errors import PartitaError, PermissionDeniedError, UnauthenticatedError
from partita.runtime.access import ANONYMOUS, CALLER, PUBLIC, RULES, Access, Identity
from partita.web.errors import error_response

COOKIE = "partita_token"
_A = "/partita.v1.ActivationService/"
_C = "/partita.v1.CampaignService/"
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/api/v1/plane"): "/grpc.health.v1.Health/Check",
    ("GET", "/api/v1/sites"): "/partita.v1.FederationService/ListSites",
    ("GET", "/api/v1/campaigns"): _C + "ListCampaigns",
    ("GET", "/api/v1/campaigns/{name}"): _C + "GetCampaign",
    ("GET", "/api/v1/campaigns/{name}/graph"): _C + "GetCampaign",
    ("GET", "/api/v1/activations"): _A + "ListActivations",
    ("POST", "/api/v1/activations"): _A + "StartActivation",
    ("GET", "/api/v1/activations/{id}"): _A + "GetActivation",
    ("GET", "/api/v1/activations/{id}/history"): _A + "GetActivationHistory",
    ("GET", "/api/v1/activations/{id}/watch"): _A + "WatchActivation",
}
"""Each route of the JSON API and the RPC whose rule it follows."""
VERBS = {
    "approve": "/partita.v1.ApprovalService/AnswerApproval",
    "reject": "/partita.v1.ApprovalService/AnswerApproval",
    "cancel": _A + "CancelActivation",
    "terminate": _A + "TerminateActivation",
    "signal": _A + "SignalActivation",
    "advance": _A + "AdvanceActivation",
}
"""``POST /api/v1/activations/{id}:verb``: each verb's RPC."""


def rpc_of(request: web.Request) -> str | None:
    """The RPC a JSON API request stands for; None for a route with none (refused)."""
    info = request.match_info
    route = getattr(info, "route", None)
    resource = getattr(route, "resource", None)
    pattern = getattr(resource, "canonical", "") if resource is not None else ""
    if request.method == "POST" and pattern == "/api/v1/activations/{target}":
        verb = info.get("target", "").rpartition(":")[2]
        return VERBS.get(verb)
    return ROUTES.get((request.method, pattern))


def _no_such_call(request: web.Request) -> bool:
    """An unknown path, or an unknown verb (the handler answers NOT_FOUND before any read)."""
    if getattr(request.match_info, "http_exception", None) is not None:
        return True
    target = request.match_info.get("target")
    return request.method == "POST" and target is not None and rpc_of(request) is None


def gate(access: Access, required: bool) -> Any:
    """The middleware that lets an API request through only when its RPC's rule allows."""

    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/api/") or _no_such_call(request):
            # no data: pages, assets, and the 404 of a call that does not exist
            passed: web.StreamResponse = await handler(request)
            return passed
        method = rpc_of(request)
        namespace = access.namespace(await _namespace(request))
        rule = RULES.get(method or "")
        identity: Identity = ANONYMOUS
        try:
            if method is None:
                raise PermissionDeniedError(f"{request.method} {request.path} has no permission")
            if required and rule is not None and rule.permission != PUBLIC:
                identity = Identity("unauthenticated")
                identity = await access.identify(_bearer(request), [])
            rule = access.authorize(identity, method, namespace)
            CALLER.set(identity)
        except PartitaError as exc:
            if rule is not None and rule.audited and method is not None:
                result = (
                    "UNAUTHENTICATED"
                    if isinstance(exc, UnauthenticatedError)
                    else "PERMISSION_DENIED"
                )
                await access.record(identity, namespace, method, result)
            return error_response(exc)
        response: web.StreamResponse = await handler(request)
        if rule.audited and method is not None:
            result = "OK" if response.status < 400 else _code(response)
            await access.record(identity, namespace, method, result)
        return response

    return middleware


async def _namespace(request: web.Request) -> str:
    if request.method == "GET":
        return request.query.get("namespace", "")
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        return ""
    value = body.get("namespace", "") if isinstance(body, dict) else ""
    return value if isinstance(value, str) else ""


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization")
    if header:
        return header
    cookie = request.cookies.get(COOKIE)
    return f"Bearer {cookie}" if cookie else None


def _code(response: web.StreamResponse) -> str:
    """The gRPC code's name in an error response's ``google.rpc.Status`` body."""
    body = getattr(response, "body", None)
    try:
        number = json.loads(body).get("code", -1) if isinstance(body, bytes) else -1
    except (ValueError, AttributeError):
        number = -1
    for code in grpc.StatusCode:
        if code.value[0] == number:
            return code.name
    return f"HTTP_{response.status}"
