"""Authentication and authorization over real gRPC: real tokens, real mTLS certificates.

Each plane here requires authentication (``auth="on"``) although it listens on loopback,
as any plane on another address does by default.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from partita.api.server import PlaneServer
from partita.federation.certs import init_ca, issue_client
from partita.runtime import Plane, PlaneConfig
from partita.runtime.access import RULES, digest
from partita.store import TokenRow
from partita.v1 import (
    activation_pb2,
    activation_pb2_grpc,
    campaign_pb2,
    campaign_pb2_grpc,
    common_pb2,
    schedule_pb2,
    schedule_pb2_grpc,
    security_pb2,
    security_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
)
from tests.api.plane_client import struct
from tests.conftest import assert_eventually

WAIT = {"firstStage": "hold", "stages": {"hold": {"provider": "wait", "config": {"event": "go"}}}}
A = activation_pb2
C = campaign_pb2


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[PlaneServer]:
    config = PlaneConfig(db=str(tmp_path / "plane.db"), listen=("127.0.0.1:0",), auth="on")
    server = PlaneServer(Plane(config))
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown(grace=1.0)


class Caller:
    """Stubs over one channel that carry one bearer token (or none)."""

    def __init__(self, channel: grpc.aio.Channel, secret: str | None) -> None:
        self.channel = channel
        self.metadata = (("authorization", f"Bearer {secret}"),) if secret else ()
        self.campaigns = campaign_pb2_grpc.CampaignServiceStub(channel)
        self.activations = activation_pb2_grpc.ActivationServiceStub(channel)
        self.schedules = schedule_pb2_grpc.ScheduleServiceStub(channel)
        self.workers = worker_pb2_grpc.WorkerServiceStub(channel)
        self.security = security_pb2_grpc.SecurityServiceStub(channel)

    async def call(self, stub: Any, rpc: str, request: Any) -> Any:
        return await getattr(stub, rpc)(request, metadata=self.metadata)

    async def refused(self, stub: Any, rpc: str, request: Any) -> grpc.aio.AioRpcError:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await self.call(stub, rpc, request)
        return caught.value


@pytest.fixture
async def channel(plane: PlaneServer) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{plane.ports[0]}")
    try:
        yield channel
    finally:
        await channel.close()


async def caller(
    plane: PlaneServer, channel: grpc.aio.Channel, name: str, namespace: str, role: str
) -> Caller:
    _, secret = await plane.access.create_token(name, namespace, role)
    return Caller(channel, secret)


async def seeded(plane: PlaneServer, channel: grpc.aio.Channel, namespace: str) -> str:
    """A campaign and one waiting activation in ``namespace``; the activation's id."""
    root = await caller(plane, channel, f"seed-{namespace}", namespace, "admin")
    await root.call(
        root.campaigns,
        "CreateCampaign",
        C.CreateCampaignRequest(namespace=namespace, name="gate", spec=struct(WAIT)),
    )
    started = await root.call(
        root.activations,
        "StartActivation",
        A.StartActivationRequest(
            namespace=namespace, campaign="gate", activation_id=f"{namespace}-1"
        ),
    )
    return str(started.activation.id)


def test_every_rpc_of_every_served_service_has_a_rule() -> None:
    from grpc_reflection.v1alpha import reflection_pb2

    from partita.api import server as server_module

    files = [
        server_module.campaign_pb2,
        server_module.activation_pb2,
        server_module.worker_pb2,
        server_module.schedule_pb2,
        server_module.federation_pb2,
        server_module.replica_pb2,
        server_module.batch_pb2,
        server_module.security_pb2,
        health_pb2,
        reflection_pb2,
    ]
    methods = {
        f"/{service.full_name}/{method.name}"
        for module in files
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    missing = sorted(methods - set(RULES))
    assert not missing, f"RPCs without a permission (refused by everyone): {missing}"
    assert set(server_module.SERVICES.values()) <= {m.split("/")[1] for m in methods}


async def test_no_credentials_or_a_wrong_token_read_nothing_and_change_nothing(
    plane: PlaneServer, channel: grpc.aio.Channel
) -> None:
    activation_id = await seeded(plane, channel, "default")
    for stranger in (Caller(channel, None), Caller(channel, "pt_wrong")):
        for stub, rpc, request in (
            (
                stranger.activations,
                "GetActivation",
                A.GetActivationRequest(activation_id=activation_id),
            ),
            (stranger.activations, "ListActivations", A.ListActivationsRequest()),
            (stranger.campaigns, "ListCampaigns", C.ListCampaignsRequest()),
            (
                stranger.activations,
                "CancelActivation",
                A.CancelActivationRequest(activation_id=activation_id),
            ),
            (stranger.campaigns, "DeleteCampaign", C.DeleteCampaignRequest(name="gate")),
            (
                stranger.security,
                "CreateToken",
                security_pb2.CreateTokenRequest(name="me", role="admin"),
            ),
        ):
            err = await stranger.refused(stub, rpc, request)
            assert err.code() is grpc.StatusCode.UNAUTHENTICATED, rpc
            assert activation_id not in (err.details() or "")
        watch = stranger.activations.WatchActivation(
            A.WatchActivationRequest(activation_id=activation_id), metadata=stranger.metadata
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in watch:
                pass
        assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
    err = await Caller(channel, None).refused(
        Caller(channel, None).activations,
        "GetActivation",
        A.GetActivationRequest(activation_id=activation_id),
    )
    assert "token" in (err.details() or "")
    admin = await caller(plane, channel, "root", "default", "admin")
    found = await admin.call(
        admin.activations, "GetActivation", A.GetActivationRequest(activation_id=activation_id)
    )
    assert found.activation.id == activation_id
    listed = await admin.call(admin.campaigns, "ListCampaigns", C.ListCampaignsRequest())
    assert [c.name for c in listed.campaigns] == ["gate"]
    # health answers anyone (probes carry no credentials)
    health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING


async def test_each_role_against_each_rpc_group(
    plane: PlaneServer, channel: grpc.aio.Channel
) -> None:
    activation_id = await seeded(plane, channel, "team")
    reader = await caller(plane, channel, "rita", "team", "reader")
    operator = await caller(plane, channel, "otto", "team", "operator")
    admin = await caller(plane, channel, "ada", "team", "admin")
    get = A.GetActivationRequest(namespace="team", activation_id=activation_id)
    start = A.StartActivationRequest(namespace="team", campaign="gate", activation_id="team-2")
    signal = A.SignalActivationRequest(namespace="team", activation_id="team-2", event="go")
    create = C.CreateCampaignRequest(namespace="team", name="other", spec=struct(WAIT))
    schedule = schedule_pb2.CreateScheduleRequest(namespace="team", schedule_id="nightly")
    poll = worker_pb2.ListWorkersRequest(namespace="team")
    tokens = security_pb2.ListTokensRequest(namespace="team")
    audit = security_pb2.ListAuditRecordsRequest(namespace="team")

    # reader: reads, nothing more
    assert (
        await reader.call(reader.activations, "GetActivation", get)
    ).activation.id == activation_id
    await reader.call(reader.campaigns, "ListCampaigns", C.ListCampaignsRequest(namespace="team"))
    await reader.call(
        reader.schedules, "ListSchedules", schedule_pb2.ListSchedulesRequest(namespace="team")
    )
    await reader.call(reader.workers, "ListWorkers", poll)
    for stub, rpc, request, permission in (
        (reader.activations, "StartActivation", start, "activations.start"),
        (
            reader.activations,
            "CancelActivation",
            A.CancelActivationRequest(namespace="team", activation_id=activation_id),
            "activations.control",
        ),
        (reader.campaigns, "CreateCampaign", create, "campaigns.write"),
        (reader.schedules, "CreateSchedule", schedule, "schedules.write"),
        (reader.security, "ListTokens", tokens, "tokens.read"),
        (reader.security, "ListAuditRecords", audit, "audit.read"),
    ):
        err = await reader.refused(stub, rpc, request)
        assert err.code() is grpc.StatusCode.PERMISSION_DENIED, rpc
        assert f"missing permission {permission}" in (err.details() or ""), err.details()
        assert activation_id not in (err.details() or "")

    # operator: starts and controls, cannot change campaigns, schedules or tokens
    started = await operator.call(operator.activations, "StartActivation", start)
    assert started.activation.id == "team-2"
    await operator.call(operator.activations, "SignalActivation", signal)
    for stub, rpc, request, permission in (
        (operator.campaigns, "CreateCampaign", create, "campaigns.write"),
        (
            operator.campaigns,
            "DeleteCampaign",
            C.DeleteCampaignRequest(namespace="team", name="gate"),
            "campaigns.write",
        ),
        (operator.schedules, "CreateSchedule", schedule, "schedules.write"),
        (
            operator.security,
            "CreateToken",
            security_pb2.CreateTokenRequest(namespace="team", name="x", role="admin"),
            "tokens.write",
        ),
    ):
        err = await operator.refused(stub, rpc, request)
        assert err.code() is grpc.StatusCode.PERMISSION_DENIED, rpc
        assert f"missing permission {permission}" in (err.details() or "")
    listed = await admin.call(
        admin.campaigns, "ListCampaigns", C.ListCampaignsRequest(namespace="team")
    )
    assert [c.name for c in listed.campaigns] == ["gate"]  # nothing changed

    # admin: everything in its namespace
    await admin.call(admin.campaigns, "CreateCampaign", create)
    made = await admin.call(
        admin.security,
        "CreateToken",
        security_pb2.CreateTokenRequest(namespace="team", name="bot", role="operator"),
    )
    assert made.secret.startswith("pt_")
    listed_tokens = await admin.call(admin.security, "ListTokens", tokens)
    assert "bot" in {t.name for t in listed_tokens.tokens}
    bot = Caller(channel, made.secret)
    await bot.call(
        bot.activations,
        "CancelActivation",
        A.CancelActivationRequest(namespace="team", activation_id=activation_id),
    )
    # plane-wide calls need a grant on '*'
    err = await admin.refused(
        admin.security,
        "CreateToken",
        security_pb2.CreateTokenRequest(namespace="*", name="z", role="admin"),
    )
    assert err.code() is grpc.StatusCode.PERMISSION_DENIED

    missing = A.CancelActivationRequest(namespace="team", activation_id="nothing-here")
    assert (await admin.refused(admin.activations, "CancelActivation", missing)).code() is (
        grpc.StatusCode.NOT_FOUND
    )

    async def recorded() -> Any:  # a failed call is recorded as it ends, after its status
        found = (await admin.call(admin.security, "ListAuditRecords", audit)).records
        seen = {(r.identity, r.rpc.rsplit("/", 1)[1], r.result) for r in found}
        return found if ("token:ada", "CancelActivation", "NOT_FOUND") in seen else None

    records = await assert_eventually(recorded, within=10)
    seen = {(r.identity, r.rpc.rsplit("/", 1)[1], r.result) for r in records}
    assert ("token:otto", "StartActivation", "OK") in seen
    assert ("token:rita", "StartActivation", "PERMISSION_DENIED") in seen
    assert ("token:otto", "CreateCampaign", "PERMISSION_DENIED") in seen
    assert ("token:ada", "CreateToken", "OK") in seen
    assert ("token:bot", "CancelActivation", "OK") in seen
    assert all(not r.rpc.endswith(("GetActivation", "ListCampaigns")) for r in records)


async def test_a_token_of_one_namespace_sees_nothing_of_another(
    plane: PlaneServer, channel: grpc.aio.Channel
) -> None:
    theirs = await seeded(plane, channel, "b")
    await seeded(plane, channel, "a")
    tenant = await caller(plane, channel, "alice", "a", "admin")
    own = await tenant.call(
        tenant.activations, "ListActivations", A.ListActivationsRequest(namespace="a")
    )
    assert [a.id for a in own.activations] == ["a-1"]
    for stub, rpc, request in (
        (
            tenant.activations,
            "GetActivation",
            A.GetActivationRequest(namespace="b", activation_id=theirs),
        ),
        (tenant.activations, "ListActivations", A.ListActivationsRequest(namespace="b")),
        (
            tenant.activations,
            "GetActivationHistory",
            A.GetActivationHistoryRequest(namespace="b", activation_id=theirs),
        ),
        (
            tenant.activations,
            "CancelActivation",
            A.CancelActivationRequest(namespace="b", activation_id=theirs),
        ),
        (tenant.campaigns, "ListCampaigns", C.ListCampaignsRequest(namespace="b")),
        (tenant.campaigns, "DeleteCampaign", C.DeleteCampaignRequest(namespace="b", name="gate")),
    ):
        err = await tenant.refused(stub, rpc, request)
        assert err.code() is grpc.StatusCode.PERMISSION_DENIED, rpc
        assert theirs not in (err.details() or "")
    watch = tenant.activations.WatchActivation(
        A.WatchActivationRequest(namespace="b", activation_id=theirs), metadata=tenant.metadata
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in watch:
            pass
    assert caught.value.code() is grpc.StatusCode.PERMISSION_DENIED
    # their activation still waits
    owner = await caller(plane, channel, "bob", "b", "reader")
    found = await owner.call(
        owner.activations,
        "GetActivation",
        A.GetActivationRequest(namespace="b", activation_id=theirs),
    )
    assert found.activation.status == common_pb2.ACTIVATION_STATUS_RUNNING


async def test_a_revoked_or_expired_token_is_refused_at_once(
    plane: PlaneServer, channel: grpc.aio.Channel
) -> None:
    admin = await caller(plane, channel, "root", "*", "admin")
    made = await admin.call(
        admin.security,
        "CreateToken",
        security_pb2.CreateTokenRequest(namespace="default", name="temp", role="reader"),
    )
    temp = Caller(channel, made.secret)
    await temp.call(temp.campaigns, "ListCampaigns", C.ListCampaignsRequest())
    revoked = await admin.call(
        admin.security, "RevokeToken", security_pb2.RevokeTokenRequest(name="temp")
    )
    assert revoked.revoked == 1
    err = await temp.refused(temp.campaigns, "ListCampaigns", C.ListCampaignsRequest())
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED
    await plane.plane.store.add_token(
        TokenRow("old", "old", "default", "admin", digest("pt_expired"), 1.0, 2.0, 0.0)
    )
    expired = Caller(channel, "pt_expired")
    err = await expired.refused(expired.campaigns, "ListCampaigns", C.ListCampaignsRequest())
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "expired" in (err.details() or "")


async def test_the_database_keeps_no_token_secret(
    plane: PlaneServer, channel: grpc.aio.Channel, tmp_path: Path
) -> None:
    _, secret = await plane.access.create_token("keeper", "default", "admin")
    await plane.shutdown(grace=1.0)
    raw = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("plane.db*")))  # noqa: ASYNC240
    assert secret.encode() not in raw
    assert digest(secret).encode() in raw


@pytest.fixture
async def tls_plane(tmp_path: Path) -> AsyncIterator[tuple[PlaneServer, Path]]:
    certs = tmp_path / "certs"
    init_ca(certs)
    from partita.federation.certs import issue_hub

    issue_hub(certs, ["localhost", "127.0.0.1"])
    config = PlaneConfig(
        db=str(tmp_path / "plane.db"),
        listen=("127.0.0.1:0",),
        auth="on",
        api_tls=True,
        tls_cert=str(certs / "hub.pem"),
        tls_key=str(certs / "hub.key"),
        tls_ca=str(certs / "ca.pem"),
    )
    server = PlaneServer(Plane(config))
    await server.start()
    try:
        yield server, certs
    finally:
        await server.shutdown(grace=1.0)


async def test_a_client_certificate_names_the_caller_and_its_grants_apply(
    tls_plane: tuple[PlaneServer, Path],
) -> None:
    plane, certs = tls_plane
    await plane.access.create_token("carol", "a", "operator")
    for name in ("carol", "nobody"):
        issue_client(certs, name)

    def secure(name: str) -> grpc.aio.Channel:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(certs / "ca.pem").read_bytes(),
            private_key=(certs / f"client-{name}.key").read_bytes(),
            certificate_chain=(certs / f"client-{name}.pem").read_bytes(),
        )
        return grpc.aio.secure_channel(f"localhost:{plane.ports[0]}", credentials)

    async with secure("carol") as channel:
        carol = Caller(channel, None)
        await carol.call(
            carol.activations, "ListActivations", A.ListActivationsRequest(namespace="a")
        )
        err = await carol.refused(
            carol.campaigns,
            "CreateCampaign",
            C.CreateCampaignRequest(namespace="a", name="x", spec=struct(WAIT)),
        )
        assert err.code() is grpc.StatusCode.PERMISSION_DENIED
        assert "campaigns.write" in (err.details() or "")
        err = await carol.refused(
            carol.activations, "ListActivations", A.ListActivationsRequest(namespace="b")
        )
        assert err.code() is grpc.StatusCode.PERMISSION_DENIED
    async with secure("nobody") as channel:
        nobody = Caller(channel, None)
        err = await nobody.refused(
            nobody.activations, "ListActivations", A.ListActivationsRequest(namespace="a")
        )
        assert err.code() is grpc.StatusCode.PERMISSION_DENIED
    await plane.access.revoke("carol", "a")
    async with secure("carol") as channel:
        carol = Caller(channel, None)
        err = await carol.refused(
            carol.activations, "ListActivations", A.ListActivationsRequest(namespace="a")
        )
        assert err.code() is grpc.StatusCode.PERMISSION_DENIED
