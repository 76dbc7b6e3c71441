"""Site simulator: one process holds many site links to a hub over the real protocol.

Each simulated site has its own identity: an ECDSA certificate naming it
(``spiffe://partita/site/<id>``), issued by ``partita.federation.certs`` (the code behind
``partita certs site``) from the CA in ``--certs``. Every link dials the hub's
``FederationService.Connect`` over mTLS, says hello, sends heartbeats, and answers each
dispatch the way a site plane does: acknowledge it, "run" it (wait ``--delay`` seconds,
fail with probability ``--failure-rate``), send the result, and keep the result until the
hub acknowledges it, sending it again after a reconnect. A dispatch received again is only
acknowledged again (sites dedupe by dispatch id), so each dispatch runs once here.

Control lines on stdin (answers are JSON lines on stdout):

    drop SHARE      cut SHARE (0..1) of the links (the first ones) and keep them down
    restore         let every dropped link dial again
    stats           print the counters now
    quit            close every link and exit

    python scripts/bench/sites.py --hub 127.0.0.1:7443 --certs certs --sites 1000 --issue
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc

SRC = Path(__file__).resolve().parents[2] / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from partita import __version__  # noqa: E402
from partita.federation.certs import issue_site  # noqa: E402
from partita.v1 import common_pb2  # noqa: E402
from partita.v1 import federation_pb2 as F  # noqa: E402
from partita.v1 import federation_pb2_grpc as FG  # noqa: E402

COMPLETED = common_pb2.ActivationStatus.Value("ACTIVATION_STATUS_COMPLETED")
FAILED = common_pb2.ActivationStatus.Value("ACTIVATION_STATUS_FAILED")
CANCELLED = common_pb2.ActivationStatus.Value("ACTIVATION_STATUS_CANCELLED")


def site_ids(prefix: str, first: int, count: int) -> list[str]:
    return [f"{prefix}{index:05d}" for index in range(first, first + count)]


def issue(certs: Path, ids: list[str]) -> int:
    """Issue the certificates that are missing; returns how many were made."""
    made = 0
    for site_id in ids:
        if not (certs / f"site-{site_id}.pem").exists():
            issue_site(certs, site_id)
            made += 1
    return made


class Fleet:
    """The counters shared by every link of the process."""

    def __init__(self, delay: float, failure_rate: float, seed: int) -> None:
        self.delay = delay
        self.failure_rate = failure_rate
        self.random = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.runs_of: Counter[str] = Counter()
        """Runs per hub stage-run attempt key (the dispatch id without its attempt)."""
        self.first_connect: list[float] = []
        self.started = time.monotonic()

    def stats(self, links: list[Link]) -> dict[str, Any]:
        doubled = sum(1 for n in self.runs_of.values() if n > 1)
        return {
            "event": "stats",
            "links": len(links),
            "connected": sum(1 for link in links if link.connected),
            "dropped": sum(1 for link in links if link.dropped),
            "ever_connected": len(self.first_connect),
            "last_first_connect": max(self.first_connect, default=0.0),
            "runs": sum(self.counts[k] for k in ("completed", "failed")),
            "doubled_runs": doubled,
            **dict(self.counts),
        }


class Link:
    """One simulated site's link to the hub."""

    def __init__(
        self,
        fleet: Fleet,
        hub: str,
        site_id: str,
        certs: Path,
        keepalive: float,
        claim: str = "",
    ):
        self.fleet = fleet
        self.hub = hub
        self.site_id = site_id
        self.claim = claim or site_id
        """The id said in the hello (another site's, for an impostor)."""
        self.keepalive = keepalive
        ca = (certs / "ca.pem").read_bytes()
        self.credentials = grpc.ssl_channel_credentials(
            root_certificates=ca,
            private_key=(certs / f"site-{site_id}.key").read_bytes(),
            certificate_chain=(certs / f"site-{site_id}.pem").read_bytes(),
        )
        self.connected = False
        self.ever = False
        self.dropped = False
        self.restored = asyncio.Event()
        self.restored.set()
        self.seen: set[str] = set()
        """Dispatch ids received (each runs once)."""
        self.unacked: dict[str, F.ConnectRequest] = {}
        """Results the hub has not acknowledged."""
        self.queue: asyncio.Queue[F.ConnectRequest | None] | None = None
        self.call: Any = None
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.run())

    def drop(self) -> None:
        self.dropped = True
        self.restored.clear()
        if self.call is not None:
            self.call.cancel()

    def restore(self) -> None:
        self.dropped = False
        self.restored.set()

    async def run(self) -> None:
        failures = 0
        while True:
            await self.restored.wait()
            began = time.monotonic()
            try:
                await self.session()
            except asyncio.CancelledError:
                if self.task is not None and self.task.cancelling():
                    raise
            except grpc.aio.AioRpcError as error:
                self.fleet.counts[f"link_ended_{error.code().name.lower()}"] += 1
            except Exception:  # a simulated site keeps dialling
                self.fleet.counts["link_errors"] += 1
            finally:
                self.connected = False
                self.queue = None
                self.call = None
            if self.dropped:
                continue
            if time.monotonic() - began > 60:
                failures = 0
            failures += 1
            ceiling = min(30.0, 0.5 * 2 ** min(failures, 16))
            await asyncio.sleep(self.fleet.random.uniform(0.25, ceiling))

    async def session(self) -> None:
        keepalive_ms = int(self.keepalive * 1000)
        options = [
            ("grpc.keepalive_time_ms", keepalive_ms),
            ("grpc.keepalive_timeout_ms", keepalive_ms),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
        ]
        queue: asyncio.Queue[F.ConnectRequest | None] = asyncio.Queue()
        hello = F.SiteHello(site_id=self.claim, plane_version=f"{__version__}-sim")
        queue.put_nowait(F.ConnectRequest(hello=hello))
        beats: asyncio.Task[None] | None = None
        async with grpc.aio.secure_channel(self.hub, self.credentials, options=options) as ch:
            self.call = FG.FederationServiceStub(ch).Connect(_drain(queue))
            try:
                async for response in self.call:
                    kind = response.WhichOneof("message")
                    if kind == "welcome":
                        if not self.ever:
                            self.ever = True
                            now = time.monotonic() - self.fleet.started
                            self.fleet.first_connect.append(now)
                        self.connected = True
                        self.queue = queue
                        self.fleet.counts["welcomes"] += 1
                        for message in list(self.unacked.values()):
                            queue.put_nowait(message)
                        beats = asyncio.create_task(self.heartbeats(queue))
                    elif kind == "dispatch":
                        self.dispatched(response.dispatch, queue)
                    elif kind == "result_ack":
                        if self.unacked.pop(response.result_ack.dispatch_id, None) is not None:
                            self.fleet.counts["results_acked"] += 1
                    elif kind == "cancel_dispatch":
                        self.cancelled(response.cancel_dispatch.dispatch_id)
            finally:
                queue.put_nowait(None)
                if beats is not None:
                    beats.cancel()

    def dispatched(self, dispatch: F.Dispatch, queue: asyncio.Queue[F.ConnectRequest | None]):  # type: ignore[no-untyped-def]
        dispatch_id = dispatch.dispatch_id
        queue.put_nowait(F.ConnectRequest(dispatch_ack=F.DispatchAck(dispatch_id=dispatch_id)))
        if dispatch_id in self.seen:
            self.fleet.counts["dispatches_again"] += 1
            if dispatch_id in self.unacked:
                queue.put_nowait(self.unacked[dispatch_id])
            return
        self.seen.add(dispatch_id)
        self.fleet.counts["dispatches"] += 1
        self.fleet.runs_of[dispatch_id.rsplit(".", 1)[0]] += 1
        inputs = dict(dispatch.inputs.items())
        asyncio.get_running_loop().call_later(self.fleet.delay, self.finished, dispatch_id, inputs)

    def finished(self, dispatch_id: str, inputs: dict[str, Any]) -> None:
        if dispatch_id in self.unacked:
            return  # cancelled meanwhile
        fleet = self.fleet
        result = F.DispatchResult(dispatch_id=dispatch_id)
        if fleet.random.random() < fleet.failure_rate:
            result.status = FAILED  # type: ignore[assignment]
            result.failure.type = "Simulated"
            result.failure.message = f"simulated failure on site {self.site_id}"
            fleet.counts["failed"] += 1
        else:
            result.status = COMPLETED  # type: ignore[assignment]
            result.outputs.update({"site": self.site_id, "received": inputs})
            fleet.counts["completed"] += 1
        self.send_result(F.ConnectRequest(dispatch_result=result))

    def cancelled(self, dispatch_id: str) -> None:
        if dispatch_id in self.unacked:
            self.send_result(self.unacked[dispatch_id])
            return
        result = F.DispatchResult(dispatch_id=dispatch_id, status=CANCELLED)  # type: ignore[arg-type]
        result.failure.type = "Cancelled"
        result.failure.message = "cancelled by the hub"
        self.seen.add(dispatch_id)
        self.fleet.counts["cancelled"] += 1
        self.send_result(F.ConnectRequest(dispatch_result=result))

    def send_result(self, message: F.ConnectRequest) -> None:
        self.unacked[message.dispatch_result.dispatch_id] = message
        if self.queue is not None:
            self.queue.put_nowait(message)

    async def heartbeats(self, queue: asyncio.Queue[F.ConnectRequest | None]) -> None:
        await asyncio.sleep(self.fleet.random.uniform(0, self.keepalive))
        while True:
            beat = F.SiteHeartbeat()
            beat.time.GetCurrentTime()
            queue.put_nowait(F.ConnectRequest(heartbeat=beat))
            await asyncio.sleep(self.keepalive)


async def _drain(queue: asyncio.Queue[F.ConnectRequest | None]):  # type: ignore[no-untyped-def]
    while True:
        message = await queue.get()
        if message is None:
            return
        yield message


def emit(value: dict[str, Any]) -> None:
    print(json.dumps(value), flush=True)


async def control(fleet: Fleet, links: list[Link], stats_every: float) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    ticker = asyncio.create_task(_tick(fleet, links, stats_every)) if stats_every > 0 else None
    try:
        while True:
            line = (await reader.readline()).decode()
            if not line:
                return  # stdin closed: stop
            words = line.split()
            if not words:
                continue
            if words[0] == "drop":
                share = float(words[1]) if len(words) > 1 else 0.3
                chosen = links[: round(share * len(links))]
                for link in chosen:
                    link.drop()
                emit({"event": "dropped", "links": len(chosen)})
            elif words[0] == "restore":
                restored = [link for link in links if link.dropped]
                for link in restored:
                    link.restore()
                emit({"event": "restored", "links": len(restored)})
            elif words[0] == "stats":
                emit(fleet.stats(links))
            elif words[0] == "quit":
                return
            else:
                emit({"event": "error", "message": f"unknown command {words[0]!r}"})
    finally:
        if ticker is not None:
            ticker.cancel()


async def _tick(fleet: Fleet, links: list[Link], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        emit(fleet.stats(links))


async def main_async(args: argparse.Namespace) -> None:
    ids = site_ids(args.prefix, args.first, args.sites)
    fleet = Fleet(args.delay, args.failure_rate, args.seed)
    claims = ids[1:] + ids[:1] if args.impostor else ids
    links = [
        Link(fleet, args.hub, site_id, args.certs, args.keepalive, claim)
        for site_id, claim in zip(ids, claims, strict=True)
    ]
    emit({"event": "ready", "links": len(links)})
    for index, link in enumerate(links):
        link.start()
        if args.connect_rate > 0 and index % 100 == 99:
            await asyncio.sleep(100 / args.connect_rate)
    try:
        await control(fleet, links, args.stats_every)
    finally:
        for link in links:
            if link.task is not None:
                link.task.cancel()
        await asyncio.gather(*(link.task for link in links if link.task), return_exceptions=True)
        emit(fleet.stats(links))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--hub", required=True, help="the hub's federation address, host:port")
    p.add_argument("--certs", type=Path, required=True, help="folder with ca.pem (and ca.key)")
    p.add_argument("--sites", type=int, default=100, help="how many site links (default 100)")
    p.add_argument("--first", type=int, default=0, help="number of the first site (default 0)")
    p.add_argument("--prefix", default="site-", help="site id prefix (default site-)")
    p.add_argument("--issue", action="store_true", help="issue missing site certificates")
    p.add_argument("--delay", type=float, default=0.01, help="seconds each dispatch 'runs'")
    p.add_argument("--failure-rate", type=float, default=0.0, help="share of failed runs")
    p.add_argument("--keepalive", type=float, default=10.0, help="heartbeat seconds")
    p.add_argument(
        "--connect-rate", type=float, default=0.0, help="links started per second (0: all)"
    )
    p.add_argument("--stats-every", type=float, default=0.0, help="print stats every N s")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--impostor",
        action="store_true",
        help="each link says hello as the next site (with its own certificate): the hub "
        "must refuse them all",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.issue:
        made = issue(args.certs, site_ids(args.prefix, args.first, args.sites))
        emit({"event": "issued", "certificates": made})
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
