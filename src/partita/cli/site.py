"""``partita site`` runs a site plane until SIGTERM or SIGINT; ``partita health`` checks one."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import grpc

from partita.cli.client import Client, CliError
from partita.cli.output import Printer
from partita.cli.values import duration_seconds

if TYPE_CHECKING:
    from partita.api.server import Companion
    from partita.runtime import Plane

DEFAULT_LISTEN = "127.0.0.1:7600"
DEFAULT_HTTP_LISTEN = "127.0.0.1:7601"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def register(sub: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    """Add ``site`` and ``health`` to the command's subparsers."""
    p = sub.add_parser(
        "site",
        parents=[common],
        help="start a site plane (serves until SIGTERM/Ctrl-C)",
        description="Run a site plane: the gRPC API (with health and reflection) on every "
        "--listen address, over an embedded SQLite database, or as one of several "
        "replicas on a PostgreSQL database (--db postgresql://...). Stops gracefully "
        "on SIGTERM or SIGINT and exits 0.",
    )
    p.add_argument(
        "--listen",
        action="append",
        metavar="ADDR",
        help=f"host:port or unix:/path/sock (repeatable; default {DEFAULT_LISTEN})",
    )
    p.add_argument(
        "--http-listen",
        default=os.environ.get("PARTITA_HTTP_LISTEN", DEFAULT_HTTP_LISTEN),
        metavar="ADDR",
        help="host:port of the web console and its JSON API, or off "
        f"(env PARTITA_HTTP_LISTEN, default {DEFAULT_HTTP_LISTEN})",
    )
    p.add_argument(
        "--db",
        default="partita.db",
        metavar="PATH_OR_URL",
        help="the SQLite database file (default partita.db), or postgresql://USER@HOST/DB: "
        "planes on one PostgreSQL database are replicas that split the work",
    )
    p.add_argument(
        "--replica-id",
        default="",
        metavar="ID",
        help="on PostgreSQL: this plane's name among the replicas (default HOST-PID)",
    )
    p.add_argument(
        "--advertise",
        default="",
        metavar="ADDR",
        help="on PostgreSQL: host:port where the other replicas reach this one "
        "(default: the first TCP --listen address)",
    )
    p.add_argument(
        "--replica-lease",
        default="10s",
        metavar="DUR",
        help="on PostgreSQL: a replica silent this long loses its activations (default 10s)",
    )
    p.add_argument(
        "--site-id", default="local", metavar="ID", help="this site's id (default local)"
    )
    p.add_argument(
        "--retention",
        default="24h",
        metavar="DUR",
        help="keep terminal activations this long (default 24h)",
    )
    p.add_argument(
        "--synchronous",
        default="FULL",
        type=str.upper,
        choices=("FULL", "NORMAL"),
        help="SQLite synchronous: FULL (acknowledged means on disk) or NORMAL",
    )
    p.add_argument(
        "--poll-timeout",
        default="60s",
        metavar="DUR",
        help="longest a worker's PollStageTask waits for a task (default 60s)",
    )
    p.add_argument(
        "--worker-ttl",
        default="60s",
        metavar="DUR",
        help="a worker silent this long leaves ListWorkers (default 60s)",
    )
    p.add_argument(
        "--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="default INFO"
    )
    p.set_defaults(func=site)

    p = sub.add_parser(
        "health",
        parents=[common],
        help="check that the plane at --server is serving",
        description="Print the plane's health (SERVING). Exit 1 when it is not serving, "
        "2 when it cannot be reached.",
    )
    p.add_argument(
        "--service",
        default="",
        metavar="NAME",
        help="a service's health instead of the whole plane's",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long to wait for an answer (default 5)",
    )
    p.set_defaults(func=health)


def site(args: argparse.Namespace, client: Client, out: Printer) -> int:
    # The plane is imported here only, so that client commands start fast.
    from partita.api.server import run_site
    from partita.errors import PartitaError
    from partita.runtime import PlaneConfig
    from partita.web import WebServer, parse_address

    http_listen = args.http_listen.strip()
    companions: list[Callable[[Plane], Companion]] = []
    if http_listen.lower() != "off":
        try:
            parse_address(http_listen)
        except PartitaError as exc:
            raise CliError(f"--http-listen: {exc.message}") from None
        companions.append(lambda plane: WebServer(plane, http_listen))
    config = PlaneConfig(
        db=args.db,
        listen=tuple(args.listen or [DEFAULT_LISTEN]),
        site_id=args.site_id,
        retention_seconds=duration_seconds(args.retention, "--retention"),
        synchronous=args.synchronous,
        poll_seconds=duration_seconds(args.poll_timeout, "--poll-timeout"),
        worker_ttl_seconds=duration_seconds(args.worker_ttl, "--worker-ttl"),
        replica_id=args.replica_id,
        advertise=args.advertise,
        replica_lease_seconds=duration_seconds(args.replica_lease, "--replica-lease"),
    )
    logging.basicConfig(level=args.log_level, format=LOG_FORMAT)
    try:
        asyncio.run(run_site(config, companions=companions))
    except KeyboardInterrupt:
        return 0
    except PartitaError as exc:
        raise CliError(exc.message) from None
    except (OSError, RuntimeError) as exc:
        raise CliError(f"cannot start the site plane: {exc}", 1) from None
    return 0


def health(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    stub = health_pb2_grpc.HealthStub(client.channel)
    try:
        response = stub.Check(
            health_pb2.HealthCheckRequest(service=args.service), timeout=args.timeout
        )
    except grpc.RpcError as error:
        if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise CliError(f"cannot reach plane at {client.target}") from None
        raise
    serving = response.status == health_pb2.HealthCheckResponse.SERVING
    if out.structured:
        out.emit_message(response)
    else:
        out.line(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
    return 0 if serving else 1
