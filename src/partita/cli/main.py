"""The ``partita`` command: its parser, and how failures become one line and an exit code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import grpc

from partita import __version__
from partita.cli import (
    batch,
    certs,
    control,
    hub,
    operations,
    resources,
    schedule,
    security,
    site,
    worker,
)
from partita.cli.client import Client, CliError, describe_rpc_error
from partita.cli.output import FORMATS, Printer

DEFAULT_SERVER = "127.0.0.1:7600"
SERVER_ENV = "PARTITA_SERVER"

EPILOG = f"""\
global options may come before or after the command (partita get activation ID -o json).
environment: {SERVER_ENV} sets the default --server; PARTITA_TLS_CA (with PARTITA_TLS_CERT and
PARTITA_TLS_KEY, a client certificate) makes the CLI use mTLS, e.g. for `partita hub --api-tls`;
PARTITA_TOKEN sends a bearer token (`partita token create`) with every call.
exit status: 0 success; 1 the thing asked for failed (e.g. an activation waited on did not
complete); 2 bad usage, bad input, or no plane at --server.
"""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """--server, -o, -n; subcommands add them with SUPPRESS so they keep the global values."""

    def default(value: str) -> str:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--server",
        metavar="ADDR",
        default=default(os.environ.get(SERVER_ENV, DEFAULT_SERVER)),
        help=f"the plane: host:port or unix:/path (env {SERVER_ENV}; default {DEFAULT_SERVER})",
    )
    group.add_argument(
        "-o",
        "--output",
        choices=FORMATS,
        default=default("table"),
        help="output format (default table); symphony: Eclipse Symphony's activation "
        "status shape for `get activation` (JSON elsewhere)",
    )
    group.add_argument(
        "-n",
        "--namespace",
        metavar="NS",
        default=default("default"),
        help="the namespace (default default)",
    )


def build_parser() -> Parser:
    """The whole command-line grammar."""
    parser = Parser(
        prog="partita",
        description="Partita: a durable workflow control plane.\n"
        "Run a site plane; apply campaigns; start, follow and steer activations.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"partita {__version__}")
    _global_options(parser, suppress=False)
    common = Parser(add_help=False)
    _global_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    site.register(sub, common)
    hub.register(sub, common)
    certs.register(sub, common)
    resources.register(sub, common)
    control.register(sub, common)
    operations.register(sub, common)
    batch.register(sub, common)
    worker.register(sub, common)
    schedule.register(sub, common)
    security.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit status."""
    args = build_parser().parse_args(argv)
    client = Client(args.server, args.namespace or "default")
    try:
        code: int = args.func(args, client, Printer(args.output))
        return code
    except CliError as exc:
        return _fail(str(exc), exc.exit_code)
    except grpc.RpcError as error:
        failure = describe_rpc_error(error, args.server)
        return _fail(str(failure), failure.exit_code)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into something that stopped reading (| head): not our failure.
        sys.stderr.close()
        return 0
    finally:
        client.close()


def _fail(message: str, code: int) -> int:
    one_line = " ".join(part.strip() for part in message.splitlines() if part.strip())
    print(f"partita: error: {one_line}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
