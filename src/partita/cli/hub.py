"""``partita hub`` runs a hub plane; ``partita list sites`` shows the sites linked to one."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from partita.cli.client import Client, CliError, pages
from partita.cli.output import Printer, timestamp, to_data
from partita.cli.site import (
    check_tls,
    plane_arguments,
    plane_config,
    serve,
    tls_arguments,
    web_companions,
)


def register(sub: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "hub",
        parents=[common],
        help="start a hub plane: a site plane that sites link to (serves until SIGTERM)",
        description="Run a hub plane: everything a site plane does, plus a federation "
        "listener (mTLS only) where site planes started with --hub dial in. A stage with "
        "`site: NAME` is dispatched to that site and its result completes the stage.",
    )
    plane_arguments(p, "hub")
    p.add_argument(
        "--federation-listen",
        required=True,
        metavar="ADDR",
        help="host:port where sites connect (mTLS, client certificates from --tls-ca)",
    )
    tls_arguments(p, "the hub's server certificate")
    p.add_argument(
        "--api-tls",
        action="store_true",
        help="serve the public API (--listen TCP addresses) with mTLS too: clients present a "
        "certificate from --tls-ca (e.g. from `partita certs client`)",
    )
    p.set_defaults(func=hub)


def register_list(kinds: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    """Add ``sites`` to ``partita list``."""
    p = kinds.add_parser("sites", parents=[common], help="the sites a hub knows, by id")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="print at most N")
    p.set_defaults(func=list_sites)


def hub(args: argparse.Namespace, client: Client, out: Printer) -> int:
    check_tls(args, "a hub")
    config = plane_config(args, federation_listen=args.federation_listen, api_tls=args.api_tls)
    return serve(config, args.log_level, "hub", web_companions(args))


SITE_HEADERS = ["SITE", "STATE", "LAST SEEN", "IN FLIGHT", "VERSION"]


def list_sites(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.v1 import federation_pb2, federation_pb2_grpc

    if args.limit < 0:
        raise CliError("--limit must be 0 (no limit) or more")
    stub = federation_pb2_grpc.FederationServiceStub(client.channel)
    found = list(pages(stub.ListSites, federation_pb2.ListSitesRequest(), "sites", args.limit))
    if out.structured:
        out.emit({"sites": [to_data(s) for s in found]})
    elif found:
        rows = [
            [
                s.site_id,
                federation_pb2.SiteState.Name(s.state).removeprefix("SITE_STATE_"),
                timestamp(s.last_seen_time),
                str(s.dispatches_in_flight),
                s.plane_version,
            ]
            for s in found
        ]
        out.table(SITE_HEADERS, rows)
    else:
        print("no site has connected to this hub", file=sys.stderr)
    return 0
