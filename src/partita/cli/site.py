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
        "replicas on a PostgreSQL database (--db postgresql://...). With --hub, the site "
        "also dials that hub over mTLS and runs the stages it dispatches. Stops gracefully "
        "on SIGTERM or SIGINT and exits 0.",
    )
    plane_arguments(p, "local")
    p.add_argument(
        "--hub",
        default="",
        metavar="ADDR",
        help="the hub's federation address (host:port) to link to, over mTLS: needs "
        "--site-id, --tls-cert, --tls-key and --tls-ca",
    )
    tls_arguments(p, "this site's client certificate (carrying its site id)")
    p.add_argument(
        "--reconnect-max",
        default="30s",
        metavar="DUR",
        help="longest wait between attempts to reach the hub (backoff with jitter; default 30s)",
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


def plane_arguments(p: argparse.ArgumentParser, site_id: str) -> None:
    """The options every plane takes (``partita site`` and ``partita hub``)."""
    p.add_argument(
        "--secret-key-file",
        default="",
        metavar="F",
        help="file holding the key that seals secrets (base64 of 32 bytes, `partita secret "
        "key`); default: env PARTITA_SECRET_KEY",
    )
    auth = p.add_mutually_exclusive_group()
    auth.add_argument(
        "--insecure",
        action="store_true",
        help="serve with no authentication although an address is not loopback (without it, "
        "only a plane on loopback or Unix sockets runs open)",
    )
    auth.add_argument(
        "--require-auth",
        action="store_true",
        help="require a bearer token or a client certificate on every call, on loopback too",
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
        "--queue-rate",
        action="append",
        metavar="QUEUE=RATE[/BURST]",
        help="hand out at most RATE tasks a second from task queue QUEUE, in bursts of up "
        "to BURST (default 1); repeatable",
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
        "--site-id", default=site_id, metavar="ID", help=f"this plane's id (default {site_id})"
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
    p.add_argument(
        "--trace-exporter",
        default="none",
        choices=("none", "console", "otlp"),
        help="where OpenTelemetry spans of activations, stages and dispatches go: none "
        "(default), console (stdout) or otlp (configured by the OTEL_EXPORTER_OTLP_* variables)",
    )
    p.add_argument(
        "--keepalive",
        default="10s",
        metavar="DUR",
        help="federation: keepalive ping and heartbeat interval; a link silent about twice "
        "this long is found dead (default 10s)",
    )


def tls_arguments(p: argparse.ArgumentParser, cert: str) -> None:
    """--tls-cert, --tls-key, --tls-ca (files made by `partita certs`)."""
    p.add_argument("--tls-cert", default="", metavar="F", help=f"PEM file: {cert}")
    p.add_argument("--tls-key", default="", metavar="F", help="PEM file: its private key")
    p.add_argument(
        "--tls-ca",
        default="",
        metavar="F",
        help="PEM file: the CA that the peers' certificates must chain to (certificate "
        "files are read again when they change: no restart to rotate them)",
    )


def plane_config(args: argparse.Namespace, **federation: Any) -> Any:
    """The PlaneConfig that a plane's options describe."""
    from partita.runtime import PlaneConfig

    return PlaneConfig(
        db=args.db,
        listen=tuple(args.listen or [DEFAULT_LISTEN]),
        site_id=args.site_id,
        retention_seconds=duration_seconds(args.retention, "--retention"),
        synchronous=args.synchronous,
        poll_seconds=duration_seconds(args.poll_timeout, "--poll-timeout"),
        queue_limits=queue_limits(args.queue_rate),
        worker_ttl_seconds=duration_seconds(args.worker_ttl, "--worker-ttl"),
        replica_id=args.replica_id,
        advertise=args.advertise,
        replica_lease_seconds=duration_seconds(args.replica_lease, "--replica-lease"),
        keepalive_seconds=duration_seconds(args.keepalive, "--keepalive"),
        trace_exporter=args.trace_exporter,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_ca=args.tls_ca,
        auth="off" if args.insecure else "on" if args.require_auth else "auto",
        secret_key_file=args.secret_key_file,
        **federation,
    )


def queue_limits(values: list[str] | None) -> dict[str, Any]:
    """``--queue-rate QUEUE=RATE[/BURST]`` options, by queue."""
    from partita.runtime.governance import QueueLimit

    limits = {}
    for value in values or []:
        name, _, rate = value.partition("=")
        try:
            per_second, _, burst = rate.partition("/")
            limit = QueueLimit(float(per_second), float(burst or 1))
            if not name or limit.rate <= 0 or limit.burst < 1:
                raise ValueError
        except ValueError:
            raise CliError(
                f"--queue-rate {value!r}: expected QUEUE=RATE[/BURST], e.g. builds=5/10"
            ) from None
        limits[name] = limit
    return limits


def web_companions(args: argparse.Namespace) -> list[Callable[[Plane], Companion]]:
    """The console beside the gRPC server, unless ``--http-listen off``."""
    from partita.errors import PartitaError
    from partita.web import WebServer, parse_address

    http_listen = args.http_listen.strip()
    if http_listen.lower() == "off":
        return []
    try:
        parse_address(http_listen)
    except PartitaError as exc:
        raise CliError(f"--http-listen: {exc.message}") from None
    return [lambda plane: WebServer(plane, http_listen)]


def check_tls(args: argparse.Namespace, why: str) -> None:
    missing = [
        f"--{n}"
        for n in ("tls-cert", "tls-key", "tls-ca")
        if not getattr(args, n.replace("-", "_"))
    ]
    if missing:
        raise CliError(f"{why} needs {', '.join(missing)} (make them with `partita certs`)")
    for name in ("tls_cert", "tls_key", "tls_ca"):
        path = getattr(args, name)
        if not os.path.isfile(path):
            raise CliError(f"--{name.replace('_', '-')}: no such file {path!r}")


def serve(
    config: Any,
    log_level: str,
    what: str,
    companions: list[Callable[[Plane], Companion]] | None = None,
) -> int:
    """Run a plane until SIGTERM or SIGINT."""
    # The plane is imported here only, so that client commands start fast.
    from partita.api.server import run_site
    from partita.errors import PartitaError

    logging.basicConfig(level=log_level, format=LOG_FORMAT)
    try:
        asyncio.run(run_site(config, companions=companions or []))
    except KeyboardInterrupt:
        return 0
    except PartitaError as exc:
        raise CliError(exc.message) from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise CliError(f"cannot start the {what} plane: {exc}", 1) from None
    return 0


def site(args: argparse.Namespace, client: Client, out: Printer) -> int:
    if args.hub:
        check_tls(args, "--hub")
        if args.site_id == "local":
            raise CliError("--hub needs --site-id: the id in this site's certificate")
    config = plane_config(
        args,
        hub=args.hub,
        reconnect_max_seconds=duration_seconds(args.reconnect_max, "--reconnect-max"),
    )
    return serve(config, args.log_level, "site", web_companions(args))


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
