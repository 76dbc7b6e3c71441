"""A hub and 200 simulated sites (scripts/bench/sites.py: the real protocol over real mTLS, one
certificate per site): rollouts over all of them, through a partition and a hub restart.
Behaviour only; how fast this goes is measured by W6 in ``make bench``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import grpc
import pytest

from partita.federation.certs import init_ca, issue_hub
from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from partita.v1 import federation_pb2 as F
from partita.v1 import federation_pb2_grpc as FG
from tests.conftest import assert_eventually, free_port
from tests.e2e.planes import PlaneProcess

SIMULATOR = Path(__file__).resolve().parents[2] / "scripts" / "bench" / "sites.py"
COUNT = 200
SITES = [f"site-{i:05d}" for i in range(COUNT)]
ROLLOUT = {
    "apiVersion": "partita/v1",
    "kind": "Campaign",
    "metadata": {"name": "fleet"},
    "spec": {
        "firstStage": "deploy",
        "stages": {
            "deploy": {
                "provider": "mock",
                "contexts": "${{ inputs.sites }}",
                "site": "${{ context }}",
                "inputs": {"version": "${{ inputs.version }}"},
                "timeouts": {"scheduleToStart": "5m"},
            }
        },
    },
}


class Fleet:
    """A hub process and one simulator process holding ``COUNT`` site links."""

    def __init__(self, root: Path) -> None:
        self.certs = root / "certs"
        init_ca(self.certs)
        issue_hub(self.certs, ["127.0.0.1", "localhost"])
        self.federation = f"127.0.0.1:{free_port()}"
        self.hub = PlaneProcess(
            root / "hub.db",
            "--federation-listen",
            self.federation,
            "--tls-cert",
            str(self.certs / "hub.pem"),
            "--tls-key",
            str(self.certs / "hub.key"),
            "--tls-ca",
            str(self.certs / "ca.pem"),
            "--keepalive",
            "1s",
            "--http-listen",
            "off",
            command="hub",
        )
        self.root = root
        self.simulators: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.channel: grpc.aio.Channel | None = None
        self.files: list[IO[bytes]] = []

    def simulate(self, *extra: str, count: int = COUNT, delay: float = 0.0) -> int:
        """Start a simulator; returns its number."""
        number = len(self.simulators)
        out = self.root / f"sim-{number}.out"
        self.files += [out.open("wb"), (self.root / f"sim-{number}.err").open("wb")]
        process = subprocess.Popen(
            [
                sys.executable,
                str(SIMULATOR),
                "--hub",
                self.federation,
                "--certs",
                str(self.certs),
                "--sites",
                str(count),
                "--issue",
                "--keepalive",
                "1",
                "--delay",
                str(delay),
                "--stats-every",
                "0.5",
                *extra,
            ],
            stdin=subprocess.PIPE,
            stdout=self.files[-2],
            stderr=self.files[-1],
        )
        self.simulators.append((process, out))
        return number

    def tell(self, line: str, number: int = 0) -> None:
        process, _ = self.simulators[number]
        assert process.stdin is not None
        process.stdin.write(f"{line}\n".encode())
        process.stdin.flush()

    def stats(self, number: int = 0) -> dict[str, int]:
        _, out = self.simulators[number]
        lines = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
        found = [x for x in lines if x.get("event") == "stats"]
        return found[-1] if found else {}

    async def api(self) -> grpc.aio.Channel:
        if self.channel is None:
            self.channel = await self.hub.channel()
        return self.channel

    async def forget(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        self.channel = None

    async def connected(self) -> int:
        stub = FG.FederationServiceStub(await self.api())
        count, token = 0, ""
        while True:
            page = await stub.ListSites(F.ListSitesRequest(page_size=100, page_token=token))
            count += sum(1 for s in page.sites if s.state == F.SITE_STATE_CONNECTED)
            token = page.next_page_token
            if not token:
                return count

    async def all_connected(self) -> None:
        async def probe() -> bool:
            return await self.connected() == COUNT

        await assert_eventually(probe, within=120, interval=0.5)

    async def start_rollout(self, activation_id: str) -> None:
        channel = await self.api()
        await CG.CampaignServiceStub(channel).CreateCampaign(
            C.CreateCampaignRequest(document=json.dumps(ROLLOUT))
        )
        request = A.StartActivationRequest(campaign="fleet", activation_id=activation_id)
        request.inputs.update({"sites": SITES, "version": "2.0"})
        await AG.ActivationServiceStub(channel).StartActivation(request)

    async def closed(self, activation_id: str) -> A.Activation:
        async def probe() -> A.Activation | None:
            stub = AG.ActivationServiceStub(await self.api())
            got = await stub.GetActivation(A.GetActivationRequest(activation_id=activation_id))
            running = got.activation.status == common_pb2.ACTIVATION_STATUS_RUNNING
            return None if running else got.activation

        return await assert_eventually(probe, within=180, interval=0.5)

    async def results_by_site(self, activation_id: str) -> Counter[str]:
        """DISPATCH_RESULT events per site in the hub's history, read a page at a time."""
        stub = AG.ActivationServiceStub(await self.api())
        results: Counter[str] = Counter()
        token = ""
        while True:
            page = await stub.GetActivationHistory(
                A.GetActivationHistoryRequest(
                    activation_id=activation_id, page_size=250, page_token=token
                )
            )
            for event in page.events:
                if event.type == common_pb2.EVENT_TYPE_DISPATCH_RESULT:
                    results[event.data["site"]] += 1
            token = page.next_page_token
            if not token:
                return results

    def close(self) -> None:
        for process, _ in self.simulators:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stdin is not None:
                process.stdin.close()
        for file in self.files:
            file.close()
        self.hub.close()


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Fleet]:
    planes = Fleet(tmp_path)
    planes.hub.start()
    yield planes
    planes.close()


async def assert_each_site_once(fleet: Fleet, activation_id: str) -> None:
    activation = await fleet.closed(activation_id)
    assert activation.status == common_pb2.ACTIVATION_STATUS_COMPLETED, activation.status_message
    results = await fleet.results_by_site(activation_id)
    assert sorted(results) == SITES
    assert set(results.values()) == {1}, [s for s, n in results.items() if n != 1]
    assert fleet.stats()["doubled_runs"] == 0


async def test_a_rollout_over_200_simulated_sites_completes_with_each_sites_outputs(
    fleet: Fleet,
) -> None:
    fleet.simulate()
    await fleet.all_connected()
    await fleet.start_rollout("all")
    await assert_each_site_once(fleet, "all")
    activation = await fleet.closed("all")
    deployed = dict(activation.outputs["deploy"].items())
    assert sorted(deployed) == SITES
    assert deployed["site-00007"]["site"] == "site-00007"

    # partita watch shows the 200 sites' stage runs as counts, not a line per event.
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "partita.cli.main", "--server", fleet.hub.address, "watch", "all"),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    watched = out.decode().splitlines()
    assert "started over 200 items" in watched[1], watched[:3]
    assert any("200/200 items closed (200 completed, 0 failed)" in x for x in watched), watched
    assert len(watched) < 40, watched


async def test_a_partition_of_30_percent_mid_rollout_heals_with_each_site_once(
    fleet: Fleet,
) -> None:
    fleet.simulate(delay=2.0)
    await fleet.all_connected()
    await fleet.start_rollout("cut")

    async def dispatched() -> bool:
        return fleet.stats().get("dispatches", 0) == COUNT

    await assert_eventually(dispatched, within=60, interval=0.2)
    fleet.tell("drop 0.3")  # while every site is still running its dispatch

    async def cut() -> bool:
        return await fleet.connected() == COUNT - 60

    await assert_eventually(cut, within=60, interval=0.5)
    await asyncio.sleep(3)  # the dropped sites' results wait on their side
    stub = AG.ActivationServiceStub(await fleet.api())
    got = await stub.GetActivation(A.GetActivationRequest(activation_id="cut"))
    assert got.activation.status == common_pb2.ACTIVATION_STATUS_RUNNING  # waits for the cut
    fleet.tell("restore")
    await assert_each_site_once(fleet, "cut")


async def test_a_simulated_site_presenting_anothers_identity_is_refused(fleet: Fleet) -> None:
    fleet.simulate("--impostor", count=2)

    async def refused() -> bool:
        return fleet.stats().get("link_ended_permission_denied", 0) >= 2

    await assert_eventually(refused, within=60, interval=0.2)
    assert fleet.stats()["ever_connected"] == 0
    assert await fleet.connected() == 0


async def test_the_hub_restarted_mid_rollout_resumes_it(fleet: Fleet) -> None:
    fleet.simulate(delay=2.0)
    await fleet.all_connected()
    await fleet.start_rollout("again")

    async def dispatched() -> bool:
        return fleet.stats().get("dispatches", 0) >= COUNT // 2

    await assert_eventually(dispatched, within=60, interval=0.1)
    fleet.hub.kill()
    await fleet.forget()
    fleet.hub.start()
    await assert_each_site_once(fleet, "again")
