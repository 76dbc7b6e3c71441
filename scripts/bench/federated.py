"""W5: a hub and 4, then 16 site planes on loopback, each a real process over mTLS.

The workload is a multi-site map-reduce: a ``mock`` stage fanned out over every site
(``contexts`` the site ids, ``site: ${{ context }}``: the hub dispatches one stage run to each
site plane, which runs it in an activation of its own and sends the result back), then a
``mock`` stage on the hub adding up what the sites returned. Latency is measured as for W1
(StartActivation on the hub to the end of its WatchActivation stream), one activation after
another (p50); dispatches/s from ``concurrent`` activations started at once (sites x
activations, divided by the span from the first start to the last completion).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
from processes import READY_WITHIN, Plane, cpu_seconds, free_port, self_cpu_seconds
from report import Row, measured
from workloads import COMPLETED, Api, Cpu, concurrent, outputs_of, run_tag, serial

from partita.federation.certs import init_ca, issue_hub, issue_site
from partita.v1 import activation_pb2 as A
from partita.v1 import campaign_pb2 as C
from partita.v1 import federation_pb2 as F
from partita.v1 import federation_pb2_grpc as FG

CAMPAIGN = "bench-map-reduce"
DOCUMENT: dict[str, Any] = {
    "apiVersion": "partita/v1",
    "kind": "Campaign",
    "metadata": {"name": CAMPAIGN},
    "spec": {
        "firstStage": "map",
        "stages": {
            "map": {
                "provider": "mock",
                "contexts": "${{ inputs.sites }}",
                "site": "${{ context }}",
                "inputs": {"n": 1},
                "stageSelector": "reduce",
            },
            "reduce": {
                "provider": "mock",
                "inputs": {"sites": "${{ size(outputs.map) }}"},
            },
        },
    },
}
KEEPALIVE = "5s"
STARTING = 4
"""Site planes starting at once."""
SITE_READY_WITHIN = 120.0
SITES = (4, 16)
"""The hub's number of sites, one federation after the other."""
SIZES = {"full": (20, 20), "quick": (5, 5)}
"""Activations one after another (p50), then at once (dispatches/s), after a warm-up of 3."""


class Federation:
    """A hub and ``count`` sites (``site-0`` ...), with certificates from a fresh CA."""

    def __init__(self, workdir: Path, count: int) -> None:
        self.root = workdir / f"w5-{count}"
        self.root.mkdir()
        certs = self.root / "certs"
        init_ca(certs)
        issue_hub(certs, ["127.0.0.1", "localhost"])
        self.site_ids = [f"site-{k}" for k in range(count)]
        tls = ["--tls-ca", str(certs / "ca.pem"), "--keepalive", KEEPALIVE]
        federation_address = f"127.0.0.1:{free_port()}"
        self.hub = Plane(
            self.root,
            "hub",
            "--federation-listen",
            federation_address,
            "--tls-cert",
            str(certs / "hub.pem"),
            "--tls-key",
            str(certs / "hub.key"),
            *tls,
            command="hub",
        )
        self.sites: list[Plane] = []
        for site_id in self.site_ids:
            issue_site(certs, site_id)
            self.sites.append(
                Plane(
                    self.root,
                    site_id,
                    "--site-id",
                    site_id,
                    "--hub",
                    federation_address,
                    "--tls-cert",
                    str(certs / f"site-{site_id}.pem"),
                    "--tls-key",
                    str(certs / f"site-{site_id}.key"),
                    *tls,
                )
            )

    @property
    def planes(self) -> list[Plane]:
        return [self.hub, *self.sites]

    async def start(self) -> None:
        """The hub, then the sites, a few at a time (16 Python processes starting at once
        on 2 busy cores can take longer than a plane's usual start)."""
        await self.hub.start()
        gate = asyncio.Semaphore(STARTING)

        async def start(site: Plane) -> None:
            async with gate:
                await site.start(within=SITE_READY_WITHIN)

        await asyncio.gather(*(start(s) for s in self.sites))
        await self.connected()

    async def connected(self) -> None:
        """Wait until the hub lists every site as connected."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_WITHIN
        async with grpc.aio.insecure_channel(self.hub.address) as channel:
            stub = FG.FederationServiceStub(channel)
            while loop.time() < deadline:
                answer = await stub.ListSites(F.ListSitesRequest())
                up = {s.site_id for s in answer.sites if s.state == F.SITE_STATE_CONNECTED}
                if up >= set(self.site_ids):
                    return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"W5: not every site connected within {READY_WITHIN}s")

    def cpu(self) -> dict[str, float]:
        return {
            "hub": cpu_seconds(self.hub.pid),
            "sites": sum(cpu_seconds(s.pid) for s in self.sites),
            "bench": self_cpu_seconds(),
        }

    def stop(self) -> None:
        for plane in reversed(self.planes):
            plane.stop()


async def map_reduce(api: Api, site_ids: list[str], activation_id: str) -> None:
    """One map-reduce activation on the hub, checked: every site's output came back."""
    request = A.StartActivationRequest(campaign=CAMPAIGN, activation_id=activation_id)
    request.inputs.update({"sites": site_ids})
    started = await api.activations.StartActivation(request)
    done = await api.finish(started.activation)
    if done.status != COMPLETED:
        raise AssertionError(f"{activation_id}: not COMPLETED: {done.status_message}")
    outputs = outputs_of(done)
    if sorted(outputs["map"]) != sorted(site_ids) or int(outputs["reduce"]["sites"]) != len(
        site_ids
    ):
        raise AssertionError(f"{activation_id}: {outputs}")


async def run(workdir: Path, quick: bool) -> dict[str, Any]:
    """W5 on a hub with each number of sites in turn; one result per count."""
    serial_n, burst_n = SIZES["quick" if quick else "full"]
    found: dict[str, Any] = {}
    for count in SITES:
        federation = Federation(workdir, count)
        print(f"W5: a hub and {count} sites ...", flush=True)
        try:
            await federation.start()
            found[str(count)] = await measure(federation, serial_n, burst_n)
        finally:
            federation.stop()
    return found


async def measure(federation: Federation, serial_n: int, burst_n: int) -> dict[str, Any]:
    """A warm-up, then map-reduce activations one after another, then ``burst_n`` at once."""
    count = len(federation.site_ids)
    api = Api(federation.hub.address)
    try:
        await api.campaigns.CreateCampaign(C.CreateCampaignRequest(document=json.dumps(DOCUMENT)))
        tag = run_tag()

        async def one(activation_id: str) -> None:
            await map_reduce(api, federation.site_ids, f"{activation_id}-{tag}")

        def cpu() -> Cpu:
            return Cpu(federation.cpu)

        await serial(one, 3, f"w5-{count}-warm", cpu)
        lat = await serial(one, serial_n, f"w5-{count}-serial", cpu)
        burst = await concurrent(one, burst_n, f"w5-{count}-burst", cpu)
    finally:
        await api.close()
    burst["dispatches_per_s"] = round(count * burst["throughput"], 1)
    print(
        f"  W5 {count} sites: p50 {lat['p50_ms']:,.1f} ms (serial), "
        f"{burst['dispatches_per_s']:,.1f} dispatches/s ({burst_n} at once, "
        f"p50 {burst['p50_ms']:,.1f} ms); CPU-s "
        + ", ".join(f"{k} {v}" for k, v in burst["cpu_s"].items()),
        flush=True,
    )
    return {"sites": count, "serial": lat, "concurrent": burst}


def rows(
    found: dict[str, Any], serial_floor: dict[str, Any], inflight_floor: dict[str, Any]
) -> list[Row]:
    """The table's rows: p50 and dispatches/s for each number of sites."""
    out: list[Row] = []
    for count, r in found.items():
        out += [
            measured(
                "W5",
                f"hub + {count} sites, p50",
                r["serial"]["p50_ms"],
                "ms",
                (serial_floor["p50_ms"], "gRPC serial p50"),
                ("<=", 100) if count == "16" else None,
            ),
            measured(
                "W5",
                f"hub + {count} sites, dispatches/s",
                r["concurrent"]["dispatches_per_s"],
                "/s",
                (inflight_floor["per_s"], "gRPC calls/s, 50 in flight"),
            ),
        ]
    return out
