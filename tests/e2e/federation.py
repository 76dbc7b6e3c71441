"""A hub and its sites as real processes on loopback, with certificates from a test CA."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import grpc

from partita.federation.certs import init_ca, issue_hub, issue_site
from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from partita.v1 import federation_pb2 as F
from partita.v1 import federation_pb2_grpc as FG
from partita.v1.common_pb2 import Event
from tests.conftest import assert_eventually, free_port
from tests.e2e.planes import PlaneProcess

KEEPALIVE = "1s"


class Federation:
    """One hub and named sites, each a ``partita`` process over its own database."""

    def __init__(self, root: Path, sites: Iterable[str], *extra: str) -> None:
        self.root = root
        self.certs = root / "certs"
        init_ca(self.certs)
        issue_hub(self.certs, ["127.0.0.1", "localhost"])
        self.federation_address = f"127.0.0.1:{free_port()}"
        (root / "hub").mkdir()
        self.hub = PlaneProcess(
            root / "hub" / "hub.db",
            "--federation-listen",
            self.federation_address,
            "--tls-cert",
            str(self.certs / "hub.pem"),
            "--tls-key",
            str(self.certs / "hub.key"),
            "--tls-ca",
            str(self.certs / "ca.pem"),
            "--keepalive",
            KEEPALIVE,
            *extra,
            command="hub",
        )
        self.sites: dict[str, PlaneProcess] = {}
        for site_id in sites:
            issue_site(self.certs, site_id)
            (root / site_id).mkdir()
            self.sites[site_id] = PlaneProcess(
                root / site_id / "site.db",
                "--site-id",
                site_id,
                "--hub",
                self.federation_address,
                "--tls-cert",
                str(self.certs / f"site-{site_id}.pem"),
                "--tls-key",
                str(self.certs / f"site-{site_id}.key"),
                "--tls-ca",
                str(self.certs / "ca.pem"),
                "--keepalive",
                KEEPALIVE,
                "--reconnect-max",
                "1s",
                *extra,
            )
        self._channels: dict[str, grpc.aio.Channel] = {}

    def start(self) -> None:
        self.hub.start()
        for site in self.sites.values():
            site.start()

    def close(self) -> None:
        for plane in [self.hub, *self.sites.values()]:
            plane.close()

    async def channel(self, name: str = "hub") -> grpc.aio.Channel:
        """A channel to the hub's public API (``hub``) or a site's, once it answers."""
        plane = self.hub if name == "hub" else self.sites[name]
        channel = self._channels.get(name)
        if channel is None:
            channel = self._channels[name] = await plane.channel()
        return channel

    def forget(self, name: str) -> None:
        """Drop the cached channel of a plane that was killed."""
        self._channels.pop(name, None)

    async def connected(self, *names: str) -> None:
        """Wait until the hub lists these sites as connected."""

        async def probe() -> bool:
            sites = await self.list_sites()
            state = {s.site_id: s.state for s in sites}
            return all(state.get(n) == F.SITE_STATE_CONNECTED for n in names)

        await assert_eventually(probe, within=30)

    async def list_sites(self) -> list[F.Site]:
        stub = FG.FederationServiceStub(await self.channel())
        return list((await stub.ListSites(F.ListSitesRequest())).sites)

    async def apply(self, document: str) -> None:
        stub = CG.CampaignServiceStub(await self.channel())
        await stub.CreateCampaign(C.CreateCampaignRequest(document=document))

    async def start_activation(
        self, campaign: str, inputs: dict[str, Any], metadata: tuple[tuple[str, str], ...] = ()
    ) -> str:
        request = A.StartActivationRequest(campaign=campaign)
        request.inputs.update(inputs)
        stub = AG.ActivationServiceStub(await self.channel())
        started = await stub.StartActivation(request, metadata=metadata)
        return str(started.activation.id)

    async def get(self, activation_id: str, name: str = "hub") -> A.Activation:
        stub = AG.ActivationServiceStub(await self.channel(name))
        found = await stub.GetActivation(A.GetActivationRequest(activation_id=activation_id))
        return found.activation

    async def closed(self, activation_id: str, within: float = 60) -> A.Activation:
        """Wait until the hub's activation is terminal; return it."""

        async def probe() -> A.Activation | None:
            activation = await self.get(activation_id)
            terminal = activation.status not in (
                common_pb2.ACTIVATION_STATUS_RUNNING,
                common_pb2.ACTIVATION_STATUS_PAUSED,
            )
            return activation if terminal else None

        return await assert_eventually(probe, within=within)

    async def activations(self, name: str) -> list[A.Activation]:
        """Every activation of a plane."""
        stub = AG.ActivationServiceStub(await self.channel(name))
        page = await stub.ListActivations(A.ListActivationsRequest(page_size=1000))
        return list(page.activations)

    async def history(self, activation_id: str, name: str = "hub") -> list[Event]:
        stub = AG.ActivationServiceStub(await self.channel(name))
        request = A.GetActivationHistoryRequest(activation_id=activation_id, page_size=1000)
        return list((await stub.GetActivationHistory(request)).events)
