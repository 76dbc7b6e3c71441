"""A real site process against a hub played by the test: the site's side of the link protocol.

The test serves FederationService over mTLS itself, so it can send a dispatch twice, withhold
acknowledgements and drop the stream where it likes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from partita.federation.certs import init_ca, issue_hub, issue_site
from partita.federation.tls import TlsFiles, server_credentials
from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import common_pb2
from partita.v1 import federation_pb2 as F
from partita.v1 import federation_pb2_grpc as FG
from tests.conftest import free_port
from tests.e2e.planes import PlaneProcess


class ScriptedHub(FG.FederationServiceServicer):
    """Each Connect stream hands its incoming messages to the test and sends what the test
    puts on the stream's outbox; putting None ends the stream."""

    def __init__(self) -> None:
        self.streams: asyncio.Queue[
            tuple[asyncio.Queue[F.ConnectRequest], asyncio.Queue[F.ConnectResponse | None]]
        ] = asyncio.Queue()

    async def Connect(
        self, request_iterator: AsyncIterator[F.ConnectRequest], context: object
    ) -> AsyncIterator[F.ConnectResponse]:
        inbox: asyncio.Queue[F.ConnectRequest] = asyncio.Queue()
        outbox: asyncio.Queue[F.ConnectResponse | None] = asyncio.Queue()

        async def read() -> None:
            async for request in request_iterator:
                if request.WhichOneof("message") != "heartbeat":
                    inbox.put_nowait(request)

        reader = asyncio.create_task(read())
        await self.streams.put((inbox, outbox))
        try:
            while (message := await outbox.get()) is not None:
                yield message
        finally:
            reader.cancel()


@pytest.fixture
async def link(tmp_path: Path) -> AsyncIterator[tuple[ScriptedHub, PlaneProcess]]:
    certs = tmp_path / "certs"
    init_ca(certs)
    issue_hub(certs, ["127.0.0.1"])
    issue_site(certs, "berlin")
    hub = ScriptedHub()
    server = grpc.aio.server()
    FG.add_FederationServiceServicer_to_server(hub, server)
    address = f"127.0.0.1:{free_port()}"
    files = TlsFiles(certs / "hub.pem", certs / "hub.key", certs / "ca.pem")
    server.add_secure_port(address, server_credentials(files))
    await server.start()
    (tmp_path / "site").mkdir()
    site = PlaneProcess(
        tmp_path / "site" / "site.db",
        "--site-id", "berlin", "--hub", address,
        "--tls-cert", str(certs / "site-berlin.pem"),
        "--tls-key", str(certs / "site-berlin.key"),
        "--tls-ca", str(certs / "ca.pem"),
        "--keepalive", "1s", "--reconnect-max", "500ms",
    )  # fmt: skip
    site.start()
    yield hub, site
    site.close()
    await server.stop(0)


async def next_stream(
    hub: ScriptedHub,
) -> tuple[asyncio.Queue[F.ConnectRequest], asyncio.Queue[F.ConnectResponse | None]]:
    """The site's next stream, once it has said hello and been welcomed."""
    inbox, outbox = await asyncio.wait_for(hub.streams.get(), 30)
    hello = await asyncio.wait_for(inbox.get(), 30)
    assert hello.hello.site_id == "berlin" and hello.hello.plane_version
    await outbox.put(F.ConnectResponse(welcome=F.HubWelcome(hub_id="test-hub")))
    return inbox, outbox


def dispatch(dispatch_id: str) -> F.ConnectResponse:
    message = F.Dispatch(dispatch_id=dispatch_id, namespace="default")
    message.stage.update({"name": "deploy", "provider": "mock", "config": {}})
    message.inputs.update({"version": 3})
    return F.ConnectResponse(dispatch=message)


async def received(inbox: asyncio.Queue[F.ConnectRequest], kind: str) -> F.ConnectRequest:
    message = await asyncio.wait_for(inbox.get(), 30)
    assert message.WhichOneof("message") == kind, message
    return message


async def test_a_dispatch_sent_twice_runs_once_and_its_result_is_resent_until_acknowledged(
    link: tuple[ScriptedHub, PlaneProcess],
) -> None:
    hub, site = link
    inbox, outbox = await next_stream(hub)
    await outbox.put(dispatch("d-1"))
    await outbox.put(dispatch("d-1"))
    # An ack for each copy, and the result: the duplicate's ack may come before or after it,
    # and a duplicate that arrives after the result has it sent again (results are resent
    # until the hub acknowledges them; the hub dedupes them by dispatch id).
    acks, results = 0, []
    while acks < 2 or not results:
        message = await asyncio.wait_for(inbox.get(), 30)
        if message.HasField("dispatch_ack"):
            assert message.dispatch_ack.dispatch_id == "d-1"
            acks += 1
        else:
            assert message.HasField("dispatch_result"), message
            results.append(message.dispatch_result)
    result = results[0]
    assert all(r.dispatch_id == "d-1" and r.outputs == result.outputs for r in results)
    assert result.dispatch_id == "d-1"
    assert result.status == common_pb2.ACTIVATION_STATUS_COMPLETED
    assert result.outputs["version"] == 3 and result.outputs["__site"] == "berlin"

    await outbox.put(None)  # the link drops before the hub acknowledged the result
    inbox, outbox = await next_stream(hub)
    again = (await received(inbox, "dispatch_result")).dispatch_result
    assert again.dispatch_id == "d-1" and again.outputs == result.outputs
    await outbox.put(F.ConnectResponse(result_ack=F.ResultAck(dispatch_id="d-1")))
    await outbox.put(dispatch("d-1"))  # a late duplicate is only acknowledged
    assert (await received(inbox, "dispatch_ack")).dispatch_ack.dispatch_id == "d-1"

    await outbox.put(dispatch("d-2"))
    await received(inbox, "dispatch_ack")
    await received(inbox, "dispatch_result")
    await outbox.put(F.ConnectResponse(result_ack=F.ResultAck(dispatch_id="d-2")))
    await outbox.put(None)
    inbox, outbox = await next_stream(hub)
    with pytest.raises(TimeoutError):  # acknowledged results are not sent again
        await asyncio.wait_for(inbox.get(), 3)

    channel = await site.channel()
    page = await AG.ActivationServiceStub(channel).ListActivations(A.ListActivationsRequest())
    assert sorted(a.id for a in page.activations) == ["d-1", "d-2"]
    await channel.close()
    await outbox.put(None)


async def test_a_cancel_for_a_dispatch_never_received_answers_cancelled_and_blocks_it(
    link: tuple[ScriptedHub, PlaneProcess],
) -> None:
    hub, site = link
    inbox, outbox = await next_stream(hub)
    cancel = F.CancelDispatch(dispatch_id="d-9", reason="timed out")
    await outbox.put(F.ConnectResponse(cancel_dispatch=cancel))
    result = (await received(inbox, "dispatch_result")).dispatch_result
    assert result.status == common_pb2.ACTIVATION_STATUS_CANCELLED
    await outbox.put(dispatch("d-9"))  # arriving late, it must not run
    again = (await received(inbox, "dispatch_result")).dispatch_result  # not acknowledged yet
    assert again.status == common_pb2.ACTIVATION_STATUS_CANCELLED
    await received(inbox, "dispatch_ack")
    await outbox.put(dispatch("d-10"))  # once this one has run, d-9 would have started too
    await received(inbox, "dispatch_ack")
    await received(inbox, "dispatch_result")
    channel = await site.channel()
    page = await AG.ActivationServiceStub(channel).ListActivations(A.ListActivationsRequest())
    assert [a.id for a in page.activations] == ["d-10"]
    await channel.close()
    await outbox.put(None)


async def test_a_cancel_stops_the_sites_activation_and_its_result_says_so(
    link: tuple[ScriptedHub, PlaneProcess],
) -> None:
    hub, site = link
    inbox, outbox = await next_stream(hub)
    long = F.Dispatch(dispatch_id="d-5", namespace="default")
    long.stage.update({"name": "soak", "provider": "delay", "config": {"duration": "1h"}})
    await outbox.put(F.ConnectResponse(dispatch=long))
    await received(inbox, "dispatch_ack")
    terminate = F.CancelDispatch(dispatch_id="d-5", reason="stop", terminate=True)
    await outbox.put(F.ConnectResponse(cancel_dispatch=terminate))
    result = (await received(inbox, "dispatch_result")).dispatch_result
    assert result.status == common_pb2.ACTIVATION_STATUS_TERMINATED
    channel = await site.channel()
    found = await AG.ActivationServiceStub(channel).GetActivation(
        A.GetActivationRequest(activation_id="d-5")
    )
    assert found.activation.status == common_pb2.ACTIVATION_STATUS_TERMINATED
    await channel.close()
    await outbox.put(None)
