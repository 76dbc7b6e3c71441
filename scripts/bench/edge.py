"""W6, edge scale: one ``partita hub`` and thousands of simulated sites (``sites.py``).

Figures, each with the machine's load average beside it (the machine may be shared):

- hub RSS with 1,000 and with N idle links (N = ``--w6-sites``, 10,000 by default);
- time for N sites to connect from cold (simulators started at once, each with jittered
  back-off when the hub's admission control makes it wait);
- an N-site map-reduce (``contexts`` over every site, ``site: ${{ context }}``, 10 ms of
  simulated work per site): total time from start to the aggregate, and the p50 of each
  site's dispatch latency (DISPATCH_SENT to DISPATCH_RESULT, from the hub's history);
- a rollout with 30 % of the links dropped for 30 s in its middle, then restored: it must
  complete with each site's stage run exactly once, counted from the hub's history.

Run alone (``python scripts/bench/edge.py --sites 1000``) or through ``make bench
BENCH_ARGS='--only W6'``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from partita.federation.certs import init_ca, issue_hub  # noqa: E402
from partita.v1 import activation_pb2 as A  # noqa: E402
from partita.v1 import activation_pb2_grpc as AG  # noqa: E402
from partita.v1 import campaign_pb2 as C  # noqa: E402
from partita.v1 import campaign_pb2_grpc as CG  # noqa: E402
from partita.v1 import common_pb2  # noqa: E402
from partita.v1 import federation_pb2 as F  # noqa: E402
from partita.v1 import federation_pb2_grpc as FG  # noqa: E402

POLL_SECONDS = 3.0
"""How often the benchmark asks whether a rollout has ended: GetActivation of a 10,000-site
activation converts all its stage runs, which costs the hub CPU of its own."""
SITES_PER_PROCESS = 2500
"""Simulated links per simulator process."""
PREFIX = "site-"
ROLLOUT = {
    "apiVersion": "partita/v1",
    "kind": "Campaign",
    "metadata": {"name": "edge-rollout"},
    "spec": {
        "firstStage": "deploy",
        "stages": {
            "deploy": {
                "provider": "mock",
                "contexts": "${{ inputs.sites }}",
                "site": "${{ context }}",
                "inputs": {"version": "${{ inputs.version }}"},
                "timeouts": {"scheduleToStart": "10m"},
            }
        },
    },
}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site_ids(count: int) -> list[str]:
    return [f"{PREFIX}{i:05d}" for i in range(count)]


class Hub:
    """A ``partita hub`` process on a fresh SQLite file."""

    def __init__(self, workdir: Path, certs: Path, keepalive: str = "10s") -> None:
        self.workdir = workdir
        self.api = f"127.0.0.1:{free_port()}"
        self.federation = f"127.0.0.1:{free_port()}"
        self.argv = [
            str(Path(sys.executable).parent / "partita"),
            "hub",
            "--db",
            str(workdir / "hub.db"),
            "--listen",
            self.api,
            "--http-listen",
            "off",
            "--federation-listen",
            self.federation,
            "--tls-cert",
            str(certs / "hub.pem"),
            "--tls-key",
            str(certs / "hub.key"),
            "--tls-ca",
            str(certs / "ca.pem"),
            "--keepalive",
            keepalive,
            "--log-level",
            "WARNING",
        ]
        self.process: subprocess.Popen[bytes] | None = None
        self.channel: grpc.aio.Channel | None = None

    def spawn(self) -> None:
        log = (self.workdir / "hub.log").open("ab")
        self.process = subprocess.Popen(self.argv, stdout=log, stderr=log)

    async def start(self) -> None:
        self.spawn()
        self.channel = grpc.aio.insecure_channel(self.api)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(grpc.aio.AioRpcError):
                await FG.FederationServiceStub(self.channel).ListSites(
                    F.ListSitesRequest(page_size=1), timeout=2
                )
                return
            await asyncio.sleep(0.2)
        raise RuntimeError("the hub did not answer within 60 s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def connected(self) -> int:
        """Sites linked now, from ListSites (paged)."""
        assert self.channel is not None
        stub = FG.FederationServiceStub(self.channel)
        count, token = 0, ""
        while True:
            page = await stub.ListSites(F.ListSitesRequest(page_size=1000, page_token=token))
            count += sum(1 for s in page.sites if s.state == F.SITE_STATE_CONNECTED)
            token = page.next_page_token
            if not token:
                return count

    async def stop(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Simulators:
    """``sites.py`` processes holding ``count`` links between them."""

    def __init__(self, workdir: Path, certs: Path, hub: str, count: int, delay: float) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.outputs: list[Path] = []
        for first in range(0, count, SITES_PER_PROCESS):
            n = min(SITES_PER_PROCESS, count - first)
            out = workdir / f"sim-{first}.out"
            argv = [
                sys.executable,
                str(HERE / "sites.py"),
                "--hub",
                hub,
                "--certs",
                str(certs),
                "--sites",
                str(n),
                "--first",
                str(first),
                "--delay",
                str(delay),
                "--stats-every",
                "1",
            ]
            err = (workdir / f"sim-{first}.err").open("ab")
            self.processes.append(
                subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=out.open("wb"), stderr=err)
            )
            self.outputs.append(out)

    def tell(self, line: str) -> None:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(f"{line}\n".encode())
            process.stdin.flush()

    def stats(self) -> list[dict[str, Any]]:
        found = []
        for out in self.outputs:
            last = None
            for line in out.read_text().splitlines():
                with contextlib.suppress(ValueError):
                    data = json.loads(line)
                    if data.get("event") == "stats":
                        last = data
            if last is not None:
                found.append(last)
        return found

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def stop(self) -> None:
        for process in self.processes:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.tell_one(process, "quit")
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @staticmethod
    def tell_one(process: subprocess.Popen[bytes], line: str) -> None:
        assert process.stdin is not None
        process.stdin.write(f"{line}\n".encode())
        process.stdin.close()


def prepare_certs(certs: Path, count: int) -> float:
    """The CA, the hub's certificate and ``count`` site certificates; seconds taken."""
    began = time.perf_counter()
    if not (certs / "ca.pem").exists():
        init_ca(certs)
        issue_hub(certs, ["127.0.0.1", "localhost"])
    sys.path.insert(0, str(HERE))
    from sites import issue

    issue(certs, site_ids(count))
    return time.perf_counter() - began


async def wait_connected(hub: Hub, count: int, within: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < within:
        if await hub.connected() >= count:
            return time.monotonic() - began
        await asyncio.sleep(1)
    raise RuntimeError(f"{count} sites not connected within {within} s")


async def rollout(hub: Hub, sites: list[str], activation_id: str) -> None:
    assert hub.channel is not None
    request = A.StartActivationRequest(campaign="edge-rollout", activation_id=activation_id)
    request.inputs.update({"sites": sites, "version": "2.0"})
    await AG.ActivationServiceStub(hub.channel).StartActivation(request, timeout=600)


async def wait_closed(hub: Hub, activation_id: str, within: float) -> A.Activation:
    assert hub.channel is not None
    stub = AG.ActivationServiceStub(hub.channel)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        got = await stub.GetActivation(
            A.GetActivationRequest(activation_id=activation_id), timeout=60
        )
        if got.activation.status not in (
            common_pb2.ACTIVATION_STATUS_RUNNING,
            common_pb2.ACTIVATION_STATUS_PAUSED,
        ):
            return got.activation
        await asyncio.sleep(POLL_SECONDS)
    raise RuntimeError(f"activation {activation_id} still running after {within} s")


async def history(hub: Hub, activation_id: str) -> list[common_pb2.Event]:
    """The activation's whole history, a page at a time."""
    assert hub.channel is not None
    stub = AG.ActivationServiceStub(hub.channel)
    events: list[common_pb2.Event] = []
    token = ""
    while True:
        page = await stub.GetActivationHistory(
            A.GetActivationHistoryRequest(
                activation_id=activation_id, page_size=1000, page_token=token
            ),
            timeout=60,
        )
        events.extend(page.events)
        token = page.next_page_token
        if not token:
            return events


def runs_per_site(events: list[common_pb2.Event]) -> tuple[Counter[str], list[float]]:
    """Results per site (DISPATCH_RESULT events) and each dispatch's latency in seconds."""
    results: Counter[str] = Counter()
    sent: dict[str, float] = {}
    latencies: list[float] = []
    for event in events:
        kind = common_pb2.EventType.Name(event.type)
        data = dict(event.data.items())
        when = event.time.ToNanoseconds() / 1e9
        if kind.endswith("DISPATCH_SENT"):
            sent[str(data.get("dispatchId"))] = when
        elif kind.endswith("DISPATCH_RESULT"):
            results[str(data.get("site"))] += 1
            began = sent.get(str(data.get("dispatchId")))
            if began is not None:
                latencies.append(when - began)
    return results, latencies


async def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    count = args.sites
    certs = workdir / "certs"
    result: dict[str, Any] = {"sites": count, "load_before": load()}
    result["certificates_s"] = round(prepare_certs(certs, count), 1)
    hub = Hub(workdir, certs)
    await hub.start()
    sims: Simulators | None = None
    try:
        assert hub.channel is not None
        document = json.dumps(ROLLOUT)
        await CG.CampaignServiceStub(hub.channel).CreateCampaign(
            C.CreateCampaignRequest(document=document)
        )
        result["hub_rss_mb_0"] = round(rss_mb(hub.pid), 1)
        # Cold connect of every site at once.
        began = time.monotonic()
        sims = Simulators(workdir, certs, hub.federation, count, args.delay)
        result["connect_s"] = round(await wait_connected(hub, count, args.connect_within), 1)
        result["connect_load"] = load()
        await asyncio.sleep(args.idle)
        result[f"hub_rss_mb_{count}_idle"] = round(rss_mb(hub.pid), 1)
        result["simulator_rss_mb"] = round(sum(rss_mb(p) for p in sims.pids()), 1)
        sites = site_ids(count)

        # Map-reduce over every site.
        began = time.monotonic()
        await rollout(hub, sites, "w6-mapreduce")
        activation = await wait_closed(hub, "w6-mapreduce", args.run_within)
        result["mapreduce_total_s"] = round(time.monotonic() - began, 1)
        result["mapreduce_status"] = common_pb2.ActivationStatus.Name(activation.status)
        result["mapreduce_load"] = load()
        results, latencies = runs_per_site(await history(hub, "w6-mapreduce"))
        result["mapreduce_p50_dispatch_ms"] = (
            round(statistics.median(latencies) * 1000, 1) if latencies else None
        )
        result["mapreduce_sites_with_one_result"] = sum(1 for n in results.values() if n == 1)
        result["hub_rss_mb_after_mapreduce"] = round(rss_mb(hub.pid), 1)

        # A rollout with a 30 % partition for 30 s in its middle.
        began = time.monotonic()
        await rollout(hub, sites, "w6-partition")
        await asyncio.sleep(args.partition_after)
        sims.tell(f"drop {args.partition_share}")
        await asyncio.sleep(args.partition_for)
        sims.tell("restore")
        activation = await wait_closed(hub, "w6-partition", args.run_within)
        result["partition_total_s"] = round(time.monotonic() - began, 1)
        result["partition_status"] = common_pb2.ActivationStatus.Name(activation.status)
        results, _ = runs_per_site(await history(hub, "w6-partition"))
        result["partition_sites_once"] = sum(1 for n in results.values() if n == 1)
        result["partition_sites_lost"] = sum(1 for s in sites if results[s] == 0)
        result["partition_sites_doubled"] = sum(1 for n in results.values() if n > 1)
        stats = sims.stats()
        result["simulator_doubled_runs"] = sum(s.get("doubled_runs", 0) for s in stats)
        result["load_after"] = load()
    finally:
        if sims is not None:
            sims.stop()
        await hub.stop()
    return result


async def idle_rss(args: argparse.Namespace, workdir: Path, count: int) -> dict[str, Any]:
    """Hub RSS with ``count`` idle links (a hub of its own)."""
    certs = workdir / "certs"
    prepare_certs(certs, count)
    hub = Hub(workdir, certs)
    await hub.start()
    sims = Simulators(workdir, certs, hub.federation, count, args.delay)
    try:
        took = await wait_connected(hub, count, args.connect_within)
        await asyncio.sleep(args.idle)
        return {"links": count, "connect_s": round(took, 1), "hub_rss_mb": rss_mb(hub.pid)}
    finally:
        sims.stop()
        await hub.stop()


async def run_w6(args: argparse.Namespace) -> dict[str, Any]:
    print(f"W6: a hub and {args.sites} simulated sites ...", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="partita-w6-"))
    out: dict[str, Any] = {"workdir": str(workdir)}
    small = min(1000, args.sites)
    if small < args.sites:
        sub = workdir / "small"
        sub.mkdir()
        (sub / "certs").mkdir()
        out["idle_small"] = await idle_rss(args, sub, small)
    out["main"] = await measure(args, workdir)
    return out


NAME = "W6"


def rows(result: dict[str, Any] | None) -> list[Any]:
    """W6's lines of ``make bench``'s table (the machine's load average in each note)."""
    from report import measured

    if not result:
        return []
    m = result["main"]
    n = m["sites"]
    out = []
    small = result.get("idle_small")
    if small:
        out.append(
            measured(NAME, f"hub RSS, {small['links']} idle links", small["hub_rss_mb"], "MB")
        )
    out += [
        measured(
            NAME,
            f"hub RSS, {n} idle links",
            m[f"hub_rss_mb_{n}_idle"],
            "MB",
            target=("<=", 2048),
            note=f"load {m['connect_load']}",
        ),
        measured(
            NAME,
            f"{n} sites connect from cold",
            m["connect_s"],
            "s",
            target=("<=", 300),
            note=f"load {m['connect_load']}",
        ),
        measured(
            NAME,
            f"{n}-site map-reduce, total",
            m["mapreduce_total_s"],
            "s",
            target=("<=", 60),
            note=f"{m['mapreduce_status']}; load {m['mapreduce_load']}",
        ),
        measured(
            NAME,
            f"{n}-site map-reduce, p50 dispatch",
            m["mapreduce_p50_dispatch_ms"],
            "ms",
            note=f"load {m['mapreduce_load']}",
        ),
        measured(
            NAME,
            "30 % cut 30 s: sites not run exactly once",
            m["partition_sites_lost"] + m["partition_sites_doubled"],
            "sites",
            target=("<=", 0),
            note=f"{m['partition_status']} in {m['partition_total_s']} s; load {m['load_after']}",
        ),
    ]
    return out


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--w6-sites", dest="sites", type=int, default=10_000)
    ap.add_argument("--w6-delay", dest="delay", type=float, default=0.01)
    ap.add_argument("--w6-idle", dest="idle", type=float, default=10.0)
    ap.add_argument("--w6-connect-within", dest="connect_within", type=float, default=600.0)
    ap.add_argument("--w6-run-within", dest="run_within", type=float, default=900.0)
    ap.add_argument("--w6-partition-after", dest="partition_after", type=float, default=5.0)
    ap.add_argument("--w6-partition-for", dest="partition_for", type=float, default=30.0)
    ap.add_argument("--w6-partition-share", dest="partition_share", type=float, default=0.3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_arguments(ap)
    ap.add_argument("--out", default=str(HERE / "results" / "w6.json"))
    args = ap.parse_args()
    result = asyncio.run(run_w6(args))
    print(json.dumps(result, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
