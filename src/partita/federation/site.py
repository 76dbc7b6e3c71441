"""The site side of the site link: dial the hub, say hello, run what it sends, report back.

The link runs for the plane's lifetime. It reconnects after any failure with exponential
backoff and full jitter; keepalive pings find a dead link even when no message flows. After
each (re)connect it sends again every result the hub has not acknowledged; dispatches the
hub sends again are recognised by id and only acknowledged again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time

import grpc

from partita import __version__
from partita.federation import messages
from partita.federation.tls import TlsFiles, channel_credentials
from partita.runtime import Plane
from partita.runtime.dispatches import SITE
from partita.store import DispatchRow
from partita.v1 import federation_pb2 as F
from partita.v1 import federation_pb2_grpc as FG

log = logging.getLogger("partita.site-link")


class LinkState(enum.Enum):
    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    STOPPED = "stopped"


class SiteLink:
    """A site plane's link to its hub. ``start()``, then ``shutdown()`` (idempotent)."""

    def __init__(
        self,
        plane: Plane,
        hub: str,
        tls: TlsFiles,
        *,
        keepalive_seconds: float = 10.0,
        backoff_seconds: float = 0.5,
        backoff_max_seconds: float = 30.0,
    ) -> None:
        self.plane = plane
        self.hub = hub
        self.tls = tls
        self.site_id = plane.config.site_id
        self.keepalive_seconds = keepalive_seconds
        self.backoff_seconds = backoff_seconds
        self.backoff_max_seconds = backoff_max_seconds
        self.state = LinkState.NEW
        self._queue: asyncio.Queue[F.ConnectRequest | None] | None = None
        self._task: asyncio.Task[None] | None = None
        plane.dispatches.notify = self._notify

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="partita-site-link")

    async def shutdown(self) -> None:
        if self.state is LinkState.STOPPED:
            return
        self.state = LinkState.STOPPED
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        failures = 0
        while self.state is not LinkState.STOPPED:
            self.state = LinkState.CONNECTING
            began = time.monotonic()
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as error:
                log.warning(
                    "link to hub %s ended: %s %s", self.hub, error.code().name, error.details()
                )
            except Exception:
                log.exception("link to hub %s failed", self.hub)
            finally:
                self._queue = None
            if time.monotonic() - began > 2 * self.backoff_max_seconds:
                failures = 0  # the link had been up a while: start backing off afresh
            failures += 1
            ceiling = min(self.backoff_max_seconds, self.backoff_seconds * 2 ** min(failures, 16))
            await asyncio.sleep(random.uniform(self.backoff_seconds / 2, ceiling))

    async def _session(self) -> None:
        keepalive_ms = int(self.keepalive_seconds * 1000)
        options = [
            ("grpc.keepalive_time_ms", keepalive_ms),
            ("grpc.keepalive_timeout_ms", keepalive_ms),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
        ]
        queue: asyncio.Queue[F.ConnectRequest | None] = asyncio.Queue()
        hello = F.SiteHello(site_id=self.site_id, plane_version=__version__)
        queue.put_nowait(F.ConnectRequest(hello=hello))
        async with grpc.aio.secure_channel(
            self.hub, channel_credentials(self.tls), options=options
        ) as channel:
            call = FG.FederationServiceStub(channel).Connect(_drain(queue))
            beats: asyncio.Task[None] | None = None
            try:
                async for response in call:
                    beats = await self._handle(response, queue, beats)
            finally:
                queue.put_nowait(None)
                if beats is not None:
                    beats.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await beats
                if self.state is LinkState.CONNECTED:
                    self.state = LinkState.CONNECTING
                    log.info("disconnected from hub %s", self.hub)

    async def _handle(
        self,
        response: F.ConnectResponse,
        queue: asyncio.Queue[F.ConnectRequest | None],
        beats: asyncio.Task[None] | None,
    ) -> asyncio.Task[None] | None:
        dispatches = self.plane.dispatches
        kind = response.WhichOneof("message")
        if kind == "welcome":
            self.state = LinkState.CONNECTED
            self._queue = queue
            log.info("connected to hub %r at %s", response.welcome.hub_id, self.hub)
            for row in await dispatches.unacknowledged_results():
                queue.put_nowait(messages.result(row))
            return asyncio.create_task(self._heartbeats(queue))
        if kind == "dispatch":
            dispatch = response.dispatch
            await dispatches.receive(self.site_id, messages.dispatch_dict(dispatch))
            ack = F.DispatchAck(dispatch_id=dispatch.dispatch_id)
            queue.put_nowait(F.ConnectRequest(dispatch_ack=ack))
        elif kind == "result_ack":
            await dispatches.result_acknowledged(response.result_ack.dispatch_id)
        elif kind == "cancel_dispatch":
            cancel = response.cancel_dispatch
            await dispatches.cancel_received(
                self.site_id, cancel.dispatch_id, terminate=cancel.terminate
            )
        return beats

    async def _heartbeats(self, queue: asyncio.Queue[F.ConnectRequest | None]) -> None:
        while True:
            beat = F.SiteHeartbeat()
            beat.time.GetCurrentTime()
            queue.put_nowait(F.ConnectRequest(heartbeat=beat))
            await asyncio.sleep(self.keepalive_seconds)

    def _notify(self, row: DispatchRow) -> None:
        if row.role == SITE and row.status == "CLOSED" and self._queue is not None:
            self._queue.put_nowait(messages.result(row))


async def _drain(queue: asyncio.Queue[F.ConnectRequest | None]):  # type: ignore[no-untyped-def]
    while True:
        message = await queue.get()
        if message is None:
            return
        yield message
