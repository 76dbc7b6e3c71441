"""The plane's gRPC server: every service, health and reflection on each listen address; on a
hub, the federation listener (mTLS) too; on a site of a hub, the link to it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2

from partita import __version__
from partita.api import reflection as api_reflection
from partita.api.activations import ActivationServicer
from partita.api.auth import AuthInterceptor
from partita.api.batches import BatchServicer
from partita.api.campaigns import CampaignServicer
from partita.api.federation import FederationServicer
from partita.api.replicas import GrpcPeers, ReplicaServicer
from partita.api.schedules import ScheduleServicer
from partita.api.security import ApprovalServicer, NamespaceServicer, SecurityServicer
from partita.api.workers import WorkerServicer
from partita.federation.hub import Hub
from partita.federation.site import SiteLink
from partita.federation.tls import TlsFiles, server_credentials
from partita.runtime import Plane, PlaneConfig, tracing
from partita.runtime.access import ALL, Access, needs_auth
from partita.runtime.plane import replica_id
from partita.v1 import (
    activation_pb2,
    activation_pb2_grpc,
    batch_pb2,
    batch_pb2_grpc,
    campaign_pb2,
    campaign_pb2_grpc,
    federation_pb2,
    federation_pb2_grpc,
    replica_pb2,
    replica_pb2_grpc,
    schedule_pb2,
    schedule_pb2_grpc,
    security_pb2,
    security_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
)

log = logging.getLogger("partita.server")

MAX_MESSAGE_BYTES = 16 << 20
"""Largest request a client may send; bigger ones get RESOURCE_EXHAUSTED from gRPC itself.
Above the plane's payload limit (4 MiB by default), so that the plane can name the field of
a payload that is too large."""

SERVICES = {
    "CampaignService": campaign_pb2.DESCRIPTOR.services_by_name["CampaignService"].full_name,
    "ActivationService": activation_pb2.DESCRIPTOR.services_by_name["ActivationService"].full_name,
    "WorkerService": worker_pb2.DESCRIPTOR.services_by_name["WorkerService"].full_name,
    "ScheduleService": schedule_pb2.DESCRIPTOR.services_by_name["ScheduleService"].full_name,
    "ReplicaService": replica_pb2.DESCRIPTOR.services_by_name["ReplicaService"].full_name,
    "FederationService": federation_pb2.DESCRIPTOR.services_by_name["FederationService"].full_name,
    "BatchService": batch_pb2.DESCRIPTOR.services_by_name["BatchService"].full_name,
    "SecurityService": security_pb2.DESCRIPTOR.services_by_name["SecurityService"].full_name,
    "ApprovalService": security_pb2.DESCRIPTOR.services_by_name["ApprovalService"].full_name,
    "NamespaceService": security_pb2.DESCRIPTOR.services_by_name["NamespaceService"].full_name,
}


class Companion(Protocol):
    """Another server of the plane, in the same process and loop (the console, ``partita.web``)."""

    async def start(self) -> None: ...
    async def shutdown(self) -> None: ...


class PlaneServer:
    """A plane and the gRPC server in front of it, with an explicit lifecycle."""

    def __init__(self, plane: Plane, companions: Sequence[Companion] = ()) -> None:
        self.plane = plane
        self.companions = tuple(companions)
        config = plane.config
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        self.access = Access(plane.store, config.default_namespace)
        self.auth_required = needs_auth(config.auth, config.listen)
        self.server = grpc.aio.server(
            options=_options(config),
            interceptors=[AuthInterceptor(self.access, self.auth_required)],
        )
        self.ports: list[int] = []
        self.hub = Hub(plane) if config.federation_listen else None
        self.federation_server: grpc.aio.Server | None = None
        self.federation_port = 0
        self.link: SiteLink | None = None
        needs_tls = config.federation_listen or config.hub or config.api_tls
        if needs_tls and not (config.tls_cert and config.tls_key and config.tls_ca):
            raise ValueError("federation needs --tls-cert, --tls-key and --tls-ca")
        federation = FederationServicer(plane, self.hub)
        federation_pb2_grpc.add_FederationServiceServicer_to_server(federation, self.server)
        if self.hub is not None:
            self.federation_server = grpc.aio.server(options=_options(config))
            federation_pb2_grpc.add_FederationServiceServicer_to_server(
                federation, self.federation_server
            )
        if config.hub:
            self.link = SiteLink(
                plane,
                config.hub,
                _tls(config),
                keepalive_seconds=config.keepalive_seconds,
                backoff_max_seconds=config.reconnect_max_seconds,
            )
        campaign_pb2_grpc.add_CampaignServiceServicer_to_server(
            CampaignServicer(plane), self.server
        )
        activation_pb2_grpc.add_ActivationServiceServicer_to_server(
            ActivationServicer(plane), self.server
        )
        worker_pb2_grpc.add_WorkerServiceServicer_to_server(WorkerServicer(plane), self.server)
        schedule_pb2_grpc.add_ScheduleServiceServicer_to_server(
            ScheduleServicer(plane), self.server
        )
        replica_pb2_grpc.add_ReplicaServiceServicer_to_server(ReplicaServicer(plane), self.server)
        batch_pb2_grpc.add_BatchServiceServicer_to_server(BatchServicer(plane), self.server)
        security_pb2_grpc.add_SecurityServiceServicer_to_server(
            SecurityServicer(self.access, plane.secrets), self.server
        )
        security_pb2_grpc.add_ApprovalServiceServicer_to_server(
            ApprovalServicer(plane, self.access), self.server
        )
        security_pb2_grpc.add_NamespaceServiceServicer_to_server(
            NamespaceServicer(plane), self.server
        )
        self.peers = GrpcPeers()
        if plane.replicas is not None:
            plane.replicas.peers = self.peers
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = [*SERVICES.values(), health.SERVICE_NAME, reflection.SERVICE_NAME]
        files = [
            campaign_pb2.DESCRIPTOR,
            activation_pb2.DESCRIPTOR,
            worker_pb2.DESCRIPTOR,
            schedule_pb2.DESCRIPTOR,
            federation_pb2.DESCRIPTOR,
            replica_pb2.DESCRIPTOR,
            batch_pb2.DESCRIPTOR,
            security_pb2.DESCRIPTOR,
            health_pb2.DESCRIPTOR,
            reflection_pb2.DESCRIPTOR,
        ]
        api_reflection.enable(self.server, names, files)

    async def start(self) -> None:
        """Bind every listen address, open the plane (recovery included), then serve."""
        config = self.plane.config
        for address in config.listen:
            if address.startswith("unix:"):
                path = address.removeprefix("unix:").removeprefix("//")
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)  # a socket left by a killed plane
            if config.api_tls and not address.startswith("unix:"):
                port = self.server.add_secure_port(address, server_credentials(_tls(config)))
            else:
                port = self.server.add_insecure_port(address)
            if port == 0 and not address.startswith("unix:"):
                raise OSError(f"cannot listen on {address}")
            self.ports.append(port)
        await self.plane.start(advertise=self._advertise())
        if self.plane.replicas is not None and self.auth_required:
            await self._replica_token()
        await self.server.start()
        if self.federation_server is not None:
            address = config.federation_listen
            self.federation_port = self.federation_server.add_secure_port(
                address, server_credentials(_tls(config))
            )
            if self.federation_port == 0:
                raise OSError(f"cannot listen on {address}")
            await self.federation_server.start()
        for name in ["", *SERVICES.values()]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        if self.link is not None:
            await self.link.start()
        try:
            for companion in self.companions:
                await companion.start()
        except BaseException:
            await self.shutdown(0)  # close the store too, so that the process can exit
            raise

    async def shutdown(self, grace: float | None = None) -> None:
        """Answer in-flight calls (up to ``grace`` seconds), then stop the plane. Idempotent."""
        await self.health.enter_graceful_shutdown()
        self.plane.release_waiters()
        for companion in self.companions:
            await companion.shutdown()
        if self.link is not None:
            await self.link.shutdown()
        grace = self.plane.config.grace_seconds if grace is None else grace
        if self.federation_server is not None:
            await self.federation_server.stop(min(grace, 1.0))
        await self.server.stop(grace)
        await self.plane.shutdown()
        await self.peers.close()

    async def _replica_token(self) -> None:
        """Replicas pass inputs to each other through the API: each mints a token of its own
        (only its digest is stored, as for any token) and the others accept it."""
        name = "replica-" + re.sub(r"[^A-Za-z0-9._@-]", "-", replica_id(self.plane.config))
        await self.access.revoke(name[:128], ALL)  # the previous run's
        _, secret = await self.access.create_token(name[:128], ALL, "admin", 7 * 24 * 3600.0)
        self.peers.metadata = (("authorization", f"Bearer {secret}"),)

    def _advertise(self) -> str:
        """Where other replicas reach this plane: ``--advertise``, else the first TCP address
        with the port actually bound."""
        if self.plane.config.advertise:
            return self.plane.config.advertise
        for address, port in zip(self.plane.config.listen, self.ports, strict=True):
            if not address.startswith("unix:"):
                host = address.rpartition(":")[0]
                if host in ("", "0.0.0.0", "[::]"):
                    host = "127.0.0.1"
                return f"{host}:{port}"
        return ""


async def run_site(
    config: PlaneConfig,
    *,
    ready: Callable[[PlaneServer], None] | None = None,
    companions: Sequence[Callable[[Plane], Companion]] = (),
) -> None:
    """Serve a site (or hub) plane until SIGTERM or SIGINT, then stop gracefully. Each of
    ``companions`` makes a server that runs beside the gRPC one over the same plane."""
    role = "hub" if config.federation_listen else "site"
    provider = tracing.configure(config.trace_exporter, f"partita-{role}", config.site_id)
    plane = Plane(config)
    server = PlaneServer(plane, [make(plane) for make in companions])
    await server.start()
    log.info(
        "partita %s %s plane %r serving on %s (db %s)",
        __version__,
        role,
        config.site_id,
        ", ".join(config.listen),
        config.db,
    )
    if server.auth_required:
        log.info("authentication required: a bearer token or a client certificate on every call")
    else:
        log.warning(
            "running OPEN: no authentication (%s); every caller may do everything",
            "--insecure" if config.auth == "off" else "loopback and Unix sockets only",
        )
    if config.federation_listen:
        log.info("accepting sites on %s (mTLS)", config.federation_listen)
    if config.hub:
        log.info("linking to hub %s as site %r", config.hub, config.site_id)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if ready is not None:
        ready(server)
    try:
        await stop.wait()
    finally:
        log.info("stopping: answering in-flight calls, flushing commits")
        await server.shutdown()
        if provider is not None:
            provider.shutdown()  # flushes the spans not exported yet
        log.info("stopped")


def _options(config: PlaneConfig) -> list[tuple[str, int]]:
    """Server options: the message size limit, and keepalives that find dead site links."""
    keepalive_ms = int(config.keepalive_seconds * 1000)
    return [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.so_reuseport", 0),
        ("grpc.keepalive_time_ms", keepalive_ms),
        ("grpc.keepalive_timeout_ms", keepalive_ms),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", max(keepalive_ms // 2, 100)),
        ("grpc.http2.max_ping_strikes", 0),
    ]


def _tls(config: PlaneConfig) -> TlsFiles:
    return TlsFiles(Path(config.tls_cert), Path(config.tls_key), Path(config.tls_ca))
