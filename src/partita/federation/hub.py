"""The hub side of the site link: one Connect stream per site, and the outbox sent on it.

A site's stream opens with its hello; the hub checks the id against the identity in the
site's certificate, answers a welcome, then sends every dispatch (or cancel) the site has
not acknowledged, and afterwards each new one as the runtime adds it. What the site sends
(acks, results, heartbeats) is handed to the runtime's dispatches, each result persisted
before the hub acknowledges it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from partita.errors import (
    InvalidInputError,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
)
from partita.federation import messages
from partita.runtime import Plane
from partita.runtime.dispatches import HUB
from partita.store import DispatchRow
from partita.v1 import federation_pb2 as F

log = logging.getLogger("partita.hub")

ADMITTING = 64
"""Sites whose hello the hub handles at once (records the link, reads the outbox)."""
ADMISSION_QUEUE = 4096
"""Sites that may wait for admission; more are asked to come back later (UNAVAILABLE), and
dial again after their jittered back-off."""


class Hub:
    """Accepts site links for a plane (which then acts as a hub) and sends them dispatches."""

    def __init__(self, plane: Plane) -> None:
        self.plane = plane
        self._queues: dict[str, asyncio.Queue[F.ConnectResponse | None]] = {}
        self._heard: dict[str, float] = {}
        """When each linked site last sent anything (monotonic seconds)."""
        self._admission = asyncio.Semaphore(ADMITTING)
        self._admitting = 0
        self._sweeper: asyncio.Task[None] | None = None
        plane.dispatches.notify = self._notify

    async def connect(
        self, identity: str | None, requests: AsyncIterator[F.ConnectRequest]
    ) -> AsyncIterator[F.ConnectResponse]:
        """Serve one site's Connect stream; ``identity`` is the site id in its certificate
        (None without a usable one)."""
        if identity is None:
            raise UnauthenticatedError(
                "Connect needs a client certificate naming a site "
                "(a SAN URI spiffe://partita/site/<id>) on the hub's federation listener"
            )
        first = await anext(aiter(requests), None)
        if first is None or first.WhichOneof("message") != "hello":
            raise InvalidInputError.field("hello", "the first message must be a SiteHello")
        hello = first.hello
        if hello.site_id != identity:
            raise PermissionDeniedError(
                f"site id {hello.site_id!r} does not match the certificate's site {identity!r}"
            )
        site_id = hello.site_id
        sites = self.plane.sites
        if self._admitting >= ADMISSION_QUEUE:
            raise UnavailableError("the hub is admitting many sites at once; dial again later")
        self._admitting += 1
        try:
            async with self._admission:
                link = await sites.connected(site_id, hello.plane_version)
                outbox = await self.plane.dispatches.outbox(site_id)
        finally:
            self._admitting -= 1
        self._heard[site_id] = time.monotonic()
        queue: asyncio.Queue[F.ConnectResponse | None] = asyncio.Queue()
        replaced = self._queues.get(site_id)
        if replaced is not None:
            replaced.put_nowait(None)  # a newer link of the same site wins
        self._queues[site_id] = queue
        self._sweep()
        log.info("site %r connected (plane %s)", site_id, hello.plane_version)
        reader = asyncio.create_task(self._read(site_id, requests, queue))
        try:
            yield F.ConnectResponse(welcome=F.HubWelcome(hub_id=self.plane.config.site_id))
            for row in outbox:
                yield messages.outgoing(row)
            while True:
                message = await queue.get()
                if message is None:
                    break
                yield message
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            if self._queues.get(site_id) is queue:
                del self._queues[site_id]
                self._heard.pop(site_id, None)
            await sites.disconnected(site_id, link)
            log.info("site %r disconnected", site_id)

    def _sweep(self) -> None:
        """Start the one task that closes silent links (none per link)."""
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweeping(), name="partita-hub-sweeper")

    async def _sweeping(self) -> None:
        interval = self.plane.config.keepalive_seconds
        while self._queues:
            await asyncio.sleep(interval)
            # A site sends a heartbeat every interval: one silent for three is gone (a
            # stopped process, a cut link), even if TCP has not noticed yet.
            silent = time.monotonic() - 3 * interval
            for site_id, heard in list(self._heard.items()):
                queue = self._queues.get(site_id)
                if heard < silent and queue is not None:
                    log.warning("site %r went silent: closing its link", site_id)
                    queue.put_nowait(None)

    async def _read(
        self,
        site_id: str,
        requests: AsyncIterator[F.ConnectRequest],
        queue: asyncio.Queue[F.ConnectResponse | None],
    ) -> None:
        dispatches = self.plane.dispatches
        try:
            async for request in requests:
                self._heard[site_id] = time.monotonic()
                kind = request.WhichOneof("message")
                if kind == "dispatch_ack":
                    await dispatches.accepted(request.dispatch_ack.dispatch_id)
                elif kind == "dispatch_result":
                    result = request.dispatch_result
                    await dispatches.closed(result.dispatch_id, messages.result_dict(result))
                    ack = F.ResultAck(dispatch_id=result.dispatch_id)
                    queue.put_nowait(F.ConnectResponse(result_ack=ack))
                await self.plane.sites.seen(site_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("link of site %r broke: %s", site_id, exc)
        finally:
            queue.put_nowait(None)

    def _notify(self, row: DispatchRow) -> None:
        if row.role != HUB:
            return
        queue = self._queues.get(row.site_id)
        if queue is not None:
            queue.put_nowait(messages.outgoing(row))
