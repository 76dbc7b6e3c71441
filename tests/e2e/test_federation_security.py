"""The hub's federation listener admits only sites whose certificate names them."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest

from partita.federation.certs import init_ca, issue_client, issue_hub, issue_site
from partita.v1 import federation_pb2 as F
from partita.v1 import federation_pb2_grpc as FG
from tests.conftest import assert_eventually, free_port
from tests.e2e.federation import Federation
from tests.e2e.planes import PlaneProcess


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Federation]:
    planes = Federation(tmp_path, [])
    issue_site(planes.certs, "berlin")
    issue_site(planes.certs, "paris")
    planes.start()
    yield planes
    planes.close()


def credentials(folder: Path, stem: str | None) -> grpc.ChannelCredentials:
    ca = (folder / "ca.pem").read_bytes()
    if stem is None:
        return grpc.ssl_channel_credentials(root_certificates=ca)
    return grpc.ssl_channel_credentials(
        root_certificates=ca,
        private_key=(folder / f"{stem}.key").read_bytes(),
        certificate_chain=(folder / f"{stem}.pem").read_bytes(),
    )


async def hello(
    address: str, creds: grpc.ChannelCredentials | None, first: F.ConnectRequest
) -> F.ConnectResponse:
    """Open Connect, send ``first``, and return the hub's first answer."""

    async def requests() -> AsyncIterator[F.ConnectRequest]:
        yield first
        await asyncio_forever()

    if creds is None:
        channel = grpc.aio.insecure_channel(address)
    else:
        channel = grpc.aio.secure_channel(address, creds)
    async with channel:
        call = FG.FederationServiceStub(channel).Connect(requests(), timeout=20)
        async for response in call:
            return response
    raise AssertionError("the hub closed the stream without an answer")


async def asyncio_forever() -> None:
    await asyncio.Event().wait()


def say(site_id: str) -> F.ConnectRequest:
    return F.ConnectRequest(hello=F.SiteHello(site_id=site_id, plane_version="test"))


async def serving(federation: Federation) -> None:
    await federation.channel()  # the hub answers on its API, so both listeners are up


async def test_a_site_with_its_own_certificate_is_welcomed(federation: Federation) -> None:
    await serving(federation)
    creds = credentials(federation.certs, "site-berlin")
    answer = await hello(federation.federation_address, creds, say("berlin"))
    assert answer.WhichOneof("message") == "welcome"
    assert answer.welcome.hub_id == "hub"


async def test_a_site_presenting_another_sites_certificate_is_refused(
    federation: Federation,
) -> None:
    await serving(federation)
    creds = credentials(federation.certs, "site-paris")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await hello(federation.federation_address, creds, say("berlin"))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "does not match the certificate's site 'paris'" in (refused.value.details() or "")
    assert "berlin" not in [s.site_id for s in await federation.list_sites()]


async def test_a_client_without_a_certificate_fails_the_handshake(
    federation: Federation,
) -> None:
    await serving(federation)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await hello(federation.federation_address, credentials(federation.certs, None), say("x"))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_certificate_from_another_ca_fails_the_handshake(
    federation: Federation, tmp_path: Path
) -> None:
    await serving(federation)
    other = tmp_path / "other-ca"
    init_ca(other, "Some other CA")
    issue_site(other, "berlin")
    creds = grpc.ssl_channel_credentials(
        root_certificates=(federation.certs / "ca.pem").read_bytes(),
        private_key=(other / "site-berlin.key").read_bytes(),
        certificate_chain=(other / "site-berlin.pem").read_bytes(),
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await hello(federation.federation_address, creds, say("berlin"))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_connect_on_the_plain_api_port_is_unauthenticated(federation: Federation) -> None:
    await serving(federation)
    for _ in range(5):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await hello(federation.hub.address, None, say("berlin"))
        # The hub refuses before it reads the hello; grpcio's client may then fail to send it
        # and report that (INTERNAL, SendMessageOperation) instead of the hub's status: ask again.
        if "SendMessage" not in (refused.value.details() or ""):
            break
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_first_message_that_is_not_a_hello_is_invalid(federation: Federation) -> None:
    await serving(federation)
    creds = credentials(federation.certs, "site-berlin")
    beat = F.ConnectRequest(heartbeat=F.SiteHeartbeat())
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await hello(federation.federation_address, creds, beat)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_rotated_certificates_are_used_without_a_restart(
    federation: Federation, tmp_path: Path
) -> None:
    """The hub's certificate, key and CA are replaced on disk by a new CA's: sites of the new
    CA get in, sites of the old one no longer do, and the hub never restarted."""
    await serving(federation)
    fresh = tmp_path / "fresh"
    init_ca(fresh, "Rotated CA")
    issue_hub(fresh, ["127.0.0.1"])
    issue_site(fresh, "berlin")
    old_creds = credentials(federation.certs, "site-berlin")
    new_creds = credentials(fresh, "site-berlin")
    with pytest.raises(grpc.aio.AioRpcError):
        await hello(federation.federation_address, new_creds, say("berlin"))
    for name in ("hub.pem", "hub.key", "ca.pem"):
        shutil.copy(fresh / name, federation.certs / name)

    async def admitted() -> bool:
        try:
            answer = await hello(federation.federation_address, new_creds, say("berlin"))
        except grpc.aio.AioRpcError:
            return False
        return answer.WhichOneof("message") == "welcome"

    await assert_eventually(admitted, within=30)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await hello(federation.federation_address, old_creds, say("berlin"))
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert federation.hub.process is not None and federation.hub.process.poll() is None


async def cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "partita.cli.main",
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_the_hubs_api_can_require_client_certificates(tmp_path: Path) -> None:
    """``partita hub --api-tls``: the CLI gets in with a client certificate, not without."""
    certs = tmp_path / "certs"
    init_ca(certs)
    issue_hub(certs, ["127.0.0.1"])
    issue_client(certs, "alice")
    hub = PlaneProcess(
        tmp_path / "hub.db",
        "--federation-listen", f"127.0.0.1:{free_port()}",
        "--api-tls",
        "--tls-cert", str(certs / "hub.pem"),
        "--tls-key", str(certs / "hub.key"),
        "--tls-ca", str(certs / "ca.pem"),
        command="hub",
    )  # fmt: skip
    hub.start()
    try:
        alice = {
            "PARTITA_SERVER": hub.address,
            "PARTITA_TLS_CERT": str(certs / "client-alice.pem"),
            "PARTITA_TLS_KEY": str(certs / "client-alice.key"),
            "PARTITA_TLS_CA": str(certs / "ca.pem"),
        }

        async def healthy() -> bool:
            code, _ = await cli("health", env=alice)
            return code == 0

        await assert_eventually(healthy, within=30)
        code, out = await cli("list", "sites", env=alice)
        assert code == 0 and "no site has connected" in out
        anonymous = {**alice, "PARTITA_TLS_CERT": "", "PARTITA_TLS_KEY": ""}
        code, out = await cli("health", env=anonymous)
        assert code == 2 and "cannot reach" in out
        code, out = await cli("health", env={"PARTITA_SERVER": hub.address, "PARTITA_TLS_CA": ""})
        assert code == 2
    finally:
        hub.close()
