"""``partita certs``: a development CA and the certificates of a hub, its sites and clients."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from partita.cli.client import Client, CliError
from partita.cli.output import Printer


def register(sub: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "certs",
        parents=[common],
        help="make a development CA and mTLS certificates for a hub and its sites",
        description="Make a development certificate authority (ca.pem, ca.key) and "
        "certificates signed by it: the hub's (hub.pem/hub.key), each site's "
        "(site-ID.pem/.key, carrying spiffe://partita/site/ID) and clients' "
        "(client-NAME.pem/.key). For production, use your own CA with the same SAN URIs.",
    )
    kinds = p.add_subparsers(dest="what", metavar="{init,hub,site,client}", required=True)
    q = kinds.add_parser("init", parents=[common], help="create the CA (ca.pem, ca.key)")
    q.add_argument("--dir", required=True, metavar="D", help="the folder of the certificates")
    q.add_argument("--force", action="store_true", help="replace an existing CA")
    q.set_defaults(func=init)
    q = kinds.add_parser("hub", parents=[common], help="the hub's certificate (hub.pem, hub.key)")
    q.add_argument("--dir", required=True, metavar="D", help="the folder holding the CA")
    q.add_argument(
        "--host",
        action="append",
        metavar="H",
        help="a DNS name or IP address sites dial the hub at (repeatable; default "
        "localhost and 127.0.0.1)",
    )
    q.set_defaults(func=hub)
    q = kinds.add_parser("site", parents=[common], help="a site's certificate (site-ID.pem)")
    q.add_argument("site_id", metavar="ID", help="the site's id, as in `partita site --site-id`")
    q.add_argument("--dir", required=True, metavar="D", help="the folder holding the CA")
    q.set_defaults(func=site)
    q = kinds.add_parser("client", parents=[common], help="a client's certificate")
    q.add_argument("name", metavar="NAME", help="who the client is")
    q.add_argument("--dir", required=True, metavar="D", help="the folder holding the CA")
    q.set_defaults(func=client)


def init(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.federation.certs import init_ca

    try:
        issued = init_ca(Path(args.dir), force=args.force)
    except FileExistsError as exc:
        raise CliError(str(exc)) from None
    return _done(out, issued.cert, issued.key)


def hub(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.federation.certs import issue_hub

    hosts = args.host or ["localhost", "127.0.0.1"]
    return _done(out, *_issue(args, lambda folder: issue_hub(folder, hosts)))


def site(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.federation.certs import issue_site

    _check_name("site id", args.site_id)
    return _done(out, *_issue(args, lambda folder: issue_site(folder, args.site_id)))


def client(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.federation.certs import issue_client

    _check_name("client name", args.name)
    return _done(out, *_issue(args, lambda folder: issue_client(folder, args.name)))


def _issue(args: argparse.Namespace, make: Any) -> tuple[Path, Path]:
    folder = Path(args.dir)
    if not (folder / "ca.pem").exists() or not (folder / "ca.key").exists():
        raise CliError(f"no CA in {folder} (run `partita certs init --dir {folder}` first)")
    issued = make(folder)
    return issued.cert, issued.key


def _check_name(what: str, name: str) -> None:
    if not name or any(c.isspace() or c in "/\\" or ord(c) < 32 for c in name):
        raise CliError(f"the {what} {name!r} must be non-empty, without spaces or slashes")


def _done(out: Printer, cert: Path, key: Path) -> int:
    if out.structured:
        out.emit({"certificate": str(cert), "key": str(key)})
    else:
        out.line(f"wrote {cert} and {key}")
    return 0
