"""Bad input to every ActivationService and CampaignService RPC: refused, and nothing changes.

Missing or malformed fields are INVALID_ARGUMENT with a ``google.rpc.BadRequest`` naming the
field; unknown ids are NOT_FOUND; payloads over the plane's 4 MiB limit are RESOURCE_EXHAUSTED,
naming the field, and so are messages over gRPC's limit. After each, the plane holds exactly what
it held before.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from partita.api.server import MAX_MESSAGE_BYTES
from partita.v1 import activation_pb2, campaign_pb2, common_pb2
from tests.api.plane_client import Api, struct, violations

A = activation_pb2
C = campaign_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
S = common_pb2

WAIT = {"firstStage": "hold", "stages": {"hold": {"provider": "wait", "config": {"event": "go"}}}}
MOCK = {"firstStage": "mock", "stages": {"mock": {"provider": "mock"}}}
OVER_THE_LIMIT = {"blob": "x" * ((4 << 20) + 1024)}  # over the 4 MiB payload limit, under gRPC's
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED

ACTIVATION_REQUESTS: list[tuple[str, str, Any, grpc.StatusCode, str]] = [
    ("start-no-campaign", "StartActivation", A.StartActivationRequest(), INVALID, "campaign"),
    (
        "start-bad-id",
        "StartActivation",
        A.StartActivationRequest(campaign="hold", activation_id="a b"),
        INVALID,
        "activation_id",
    ),
    (
        "start-unknown-campaign",
        "StartActivation",
        A.StartActivationRequest(campaign="nope"),
        NOT_FOUND,
        "",
    ),
    (
        "start-oversized-inputs",
        "StartActivation",
        A.StartActivationRequest(campaign="hold", inputs=struct(OVER_THE_LIMIT)),
        EXHAUSTED,
        "inputs",
    ),
    ("get-no-id", "GetActivation", A.GetActivationRequest(), INVALID, "activation_id"),
    ("get-unknown", "GetActivation", A.GetActivationRequest(activation_id="nope"), NOT_FOUND, ""),
    (
        "list-negative-page-size",
        "ListActivations",
        A.ListActivationsRequest(page_size=-1),
        INVALID,
        "page_size",
    ),
    (
        "list-unspecified-status",
        "ListActivations",
        A.ListActivationsRequest(statuses=[S.ACTIVATION_STATUS_UNSPECIFIED]),
        INVALID,
        "statuses",
    ),
    ("cancel-no-id", "CancelActivation", A.CancelActivationRequest(), INVALID, "activation_id"),
    (
        "cancel-unknown",
        "CancelActivation",
        A.CancelActivationRequest(activation_id="nope"),
        NOT_FOUND,
        "",
    ),
    (
        "terminate-no-id",
        "TerminateActivation",
        A.TerminateActivationRequest(reason="r"),
        INVALID,
        "activation_id",
    ),
    (
        "terminate-unknown",
        "TerminateActivation",
        A.TerminateActivationRequest(activation_id="nope"),
        NOT_FOUND,
        "",
    ),
    (
        "signal-no-id",
        "SignalActivation",
        A.SignalActivationRequest(event="go"),
        INVALID,
        "activation_id",
    ),
    (
        "signal-no-event",
        "SignalActivation",
        A.SignalActivationRequest(activation_id="h1"),
        INVALID,
        "event",
    ),
    (
        "signal-unknown",
        "SignalActivation",
        A.SignalActivationRequest(activation_id="nope", event="go"),
        NOT_FOUND,
        "",
    ),
    (
        "signal-oversized-data",
        "SignalActivation",
        A.SignalActivationRequest(activation_id="h1", event="go", data=struct(OVER_THE_LIMIT)),
        EXHAUSTED,
        "data",
    ),
    ("advance-no-id", "AdvanceActivation", A.AdvanceActivationRequest(), INVALID, "activation_id"),
    (
        "advance-unknown",
        "AdvanceActivation",
        A.AdvanceActivationRequest(activation_id="nope"),
        NOT_FOUND,
        "",
    ),
    (
        "history-no-id",
        "GetActivationHistory",
        A.GetActivationHistoryRequest(),
        INVALID,
        "activation_id",
    ),
    (
        "history-unknown",
        "GetActivationHistory",
        A.GetActivationHistoryRequest(activation_id="nope"),
        NOT_FOUND,
        "",
    ),
    (
        "history-negative-page-size",
        "GetActivationHistory",
        A.GetActivationHistoryRequest(activation_id="h1", page_size=-1),
        INVALID,
        "page_size",
    ),
    ("watch-no-id", "WatchActivation", A.WatchActivationRequest(), INVALID, "activation_id"),
    (
        "watch-unknown",
        "WatchActivation",
        A.WatchActivationRequest(activation_id="nope"),
        NOT_FOUND,
        "",
    ),
    (
        "watch-negative-sequence",
        "WatchActivation",
        A.WatchActivationRequest(activation_id="h1", from_sequence=-1),
        INVALID,
        "from_sequence",
    ),
]

CAMPAIGN_REQUESTS: list[tuple[str, str, Any, grpc.StatusCode, str]] = [
    ("get-no-name", "GetCampaign", C.GetCampaignRequest(), INVALID, "name"),
    ("get-unknown", "GetCampaign", C.GetCampaignRequest(name="nope"), NOT_FOUND, ""),
    (
        "get-unknown-version",
        "GetCampaign",
        C.GetCampaignRequest(name="hold", version=7),
        NOT_FOUND,
        "",
    ),
    ("delete-no-name", "DeleteCampaign", C.DeleteCampaignRequest(), INVALID, "name"),
    ("delete-unknown", "DeleteCampaign", C.DeleteCampaignRequest(name="nope"), NOT_FOUND, ""),
    (
        "delete-unknown-version",
        "DeleteCampaign",
        C.DeleteCampaignRequest(name="hold", version=7),
        NOT_FOUND,
        "",
    ),
    (
        "list-negative-page-size",
        "ListCampaigns",
        C.ListCampaignsRequest(page_size=-1),
        INVALID,
        "page_size",
    ),
    (
        "create-bad-namespace",
        "CreateCampaign",
        C.CreateCampaignRequest(namespace="a b", name="x", spec=struct(MOCK)),
        INVALID,
        "namespace",
    ),
]


BAD_TOKENS = [
    "not-a-token",
    b"\x00".hex(),
    b"5".hex(),
    b"{}".hex(),
    b"[]".hex(),
    b'["a"]'.hex(),
    b"[null, null]".hex(),
    b'[{"a": 1}, 2]'.hex(),
]


async def call(api: Api, method: str, request: Any) -> None:
    """Call ``method`` of whichever service has it (a stream is read to its end)."""
    if method == "WatchActivation":
        async with asyncio.timeout(10):
            async for _ in api.activations.WatchActivation(request):
                pass
        return
    stub = api.campaigns if hasattr(api.campaigns, method) else api.activations
    await getattr(stub, method)(request)


@pytest.fixture
async def busy_api(api: Api) -> Api:
    """A plane holding campaign ``hold`` and its running activation ``h1``."""
    await api.create("hold", WAIT)
    await api.start("hold", activation_id="h1")
    return api


@pytest.mark.parametrize(
    ("method", "request_message", "code", "field"),
    [pytest.param(*case[1:], id=case[0]) for case in ACTIVATION_REQUESTS + CAMPAIGN_REQUESTS],
)
async def test_bad_request_is_refused_and_changes_nothing(
    busy_api: Api, method: str, request_message: Any, code: grpc.StatusCode, field: str
) -> None:
    before = await busy_api.snapshot()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call(busy_api, method, request_message)
    assert err.value.code() == code, err.value.details()
    if field:
        assert field in [f for f, _ in violations(err.value)]
        assert field in (err.value.details() or "")
    assert await busy_api.snapshot() == before


@pytest.mark.parametrize("token", BAD_TOKENS)
async def test_bad_page_token_is_invalid_argument(busy_api: Api, token: str) -> None:
    before = await busy_api.snapshot()
    for method, request_message in (
        ("ListActivations", A.ListActivationsRequest(page_token=token)),
        (
            "GetActivationHistory",
            A.GetActivationHistoryRequest(activation_id="h1", page_token=token),
        ),
        ("ListCampaigns", C.ListCampaignsRequest(page_token=token)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(busy_api, method, request_message)
        assert err.value.code() == INVALID, (method, err.value.details())
        assert "page_token" in [f for f, _ in violations(err.value)]
    assert await busy_api.snapshot() == before


async def test_a_token_from_another_list_is_invalid_argument(busy_api: Api) -> None:
    await busy_api.start("hold", activation_id="h2")
    listed = await busy_api.activations.ListActivations(A.ListActivationsRequest(page_size=1))
    assert listed.next_page_token
    for method, request_message in (
        (
            "GetActivationHistory",
            A.GetActivationHistoryRequest(activation_id="h1", page_token=listed.next_page_token),
        ),
        ("ListCampaigns", C.ListCampaignsRequest(page_token=listed.next_page_token)),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(busy_api, method, request_message)
        assert err.value.code() == INVALID, method


async def test_a_request_over_the_message_limit_is_resource_exhausted(busy_api: Api) -> None:
    before = await busy_api.snapshot()
    blob = "x" * (MAX_MESSAGE_BYTES + 1024)
    big_spec = {"firstStage": "m", "stages": {"m": {"provider": "mock", "inputs": {"blob": blob}}}}
    for method, request_message in (
        ("StartActivation", A.StartActivationRequest(campaign="hold", inputs=struct({"b": blob}))),
        (
            "SignalActivation",
            A.SignalActivationRequest(activation_id="h1", event="go", data=struct({"b": blob})),
        ),
        ("CreateCampaign", C.CreateCampaignRequest(name="huge", spec=struct(big_spec))),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(busy_api, method, request_message)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, method
    assert await busy_api.snapshot() == before
