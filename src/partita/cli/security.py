"""``partita token`` and ``partita audit``: bearer tokens and the audit log."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from partita.cli.client import CALL_TIMEOUT, Client, CliError
from partita.cli.output import Printer
from partita.cli.values import duration_seconds

ROLES = ("reader", "operator", "admin")


def register(sub: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "token",
        parents=[common],
        help="create, list and revoke bearer tokens",
        description="Bearer tokens: each grants its NAME one role in one namespace (-n; '*' "
        "for every namespace and the plane-wide calls). Clients send one in the "
        "`authorization` metadata (the CLI: env PARTITA_TOKEN). The plane keeps only a "
        "SHA-256 digest. A client certificate for NAME (`partita certs client NAME`) holds "
        "every live grant of NAME.",
    )
    kinds = p.add_subparsers(dest="what", metavar="{create,list,revoke}", required=True)
    q = kinds.add_parser(
        "create", parents=[common], help="create a token and print its secret (shown once)"
    )
    q.add_argument("name", metavar="NAME", help="the principal the token stands for")
    q.add_argument("--role", required=True, choices=ROLES, help="the role in the namespace")
    q.add_argument("--ttl", default="", metavar="DUR", help="lifetime (default: no expiry)")
    q.add_argument(
        "--db",
        default="",
        metavar="PATH_OR_URL",
        help="write into this plane database directly instead of calling --server: how the "
        "first admin token of a plane that requires authentication is made",
    )
    q.set_defaults(func=create)
    q = kinds.add_parser("list", parents=[common], help="the tokens of the namespace")
    q.set_defaults(func=list_tokens)
    q = kinds.add_parser("revoke", parents=[common], help="revoke NAME's tokens in the namespace")
    q.add_argument("name", metavar="NAME")
    q.set_defaults(func=revoke)

    p = sub.add_parser(
        "audit",
        parents=[common],
        help="the audit log: every mutating call, newest first",
        description="Every mutating call recorded by the plane, newest first: when, who "
        "(token:NAME, client:NAME, site:ID or anonymous on an open plane), the namespace, "
        "the RPC and its result. Needs the admin role in the namespace.",
    )
    p.add_argument("--limit", type=int, default=100, metavar="N", help="most records (100)")
    p.set_defaults(func=audit)

    p = sub.add_parser(
        "secret",
        parents=[common],
        help="set, list and delete the secrets of a namespace",
        description="Secrets of a namespace (-n), sealed at rest with AES-GCM under the "
        "plane's key (PARTITA_SECRET_KEY or --secret-key-file; `partita secret key` makes "
        "one). Stage inputs and config read them as ${{ secrets.NAME }} (CEL) or "
        "${{ $secret(NAME, KEY) }} (Symphony, KEY of a JSON secret); outputs, failures, the "
        "history and the logs show *** instead. Needs the admin role.",
    )
    kinds = p.add_subparsers(dest="what", metavar="{set,list,delete,key}", required=True)
    q = kinds.add_parser("set", parents=[common], help="create or replace a secret")
    q.add_argument("name", metavar="NAME")
    q.add_argument(
        "--from-file", required=True, metavar="F", help="the file holding the value (- for stdin)"
    )
    q.set_defaults(func=set_secret)
    q = kinds.add_parser("list", parents=[common], help="the names of the namespace's secrets")
    q.set_defaults(func=list_secrets)
    q = kinds.add_parser("delete", parents=[common], help="delete a secret")
    q.add_argument("name", metavar="NAME")
    q.set_defaults(func=delete_secret)
    q = kinds.add_parser("key", parents=[common], help="print a new random secret key (base64)")
    q.set_defaults(func=new_secret_key)

    p = sub.add_parser(
        "namespace",
        parents=[common],
        help="create, update, list and delete namespaces and their quotas",
        description="Namespaces as objects: a namespace need not be created to be used; "
        "creating one sets its quotas (0: no limit). One is deleted only when it holds no "
        "campaign, activation, schedule or secret. Needs the admin role on '*' (list: reader).",
    )
    kinds = p.add_subparsers(dest="what", metavar="{create,update,list,delete}", required=True)
    for what, helps in (("create", "create a namespace"), ("update", "change its quotas")):
        q = kinds.add_parser(what, parents=[common], help=helps)
        q.add_argument("name", metavar="NAME")
        q.add_argument(
            "--max-running", type=int, default=0, metavar="N", help="most open activations"
        )
        q.add_argument("--max-schedules", type=int, default=0, metavar="N", help="most schedules")
        q.set_defaults(func=save_namespace)
    q = kinds.add_parser("list", parents=[common], help="the namespaces created")
    q.set_defaults(func=list_namespaces)
    q = kinds.add_parser("delete", parents=[common], help="delete an empty namespace")
    q.add_argument("name", metavar="NAME")
    q.set_defaults(func=delete_namespace)

    for verb, does in (("approve", "approve"), ("reject", "reject")):
        p = sub.add_parser(
            verb,
            parents=[common],
            help=f"{does} an approval stage waiting in an activation",
            description=f"Answer the form of an `approval` stage: {does} it, filling the "
            "form's fields with --field. The answer and who gave it are recorded in the "
            "history. Needs the operator role, and the approver role or name the form asks "
            "for.",
        )
        p.add_argument("activation_id", metavar="ID")
        p.add_argument("stage", metavar="STAGE", help="the waiting approval stage")
        p.add_argument(
            "--field",
            action="append",
            metavar="K=V",
            help="a form field (repeatable; V is read as YAML: 3, true, text)",
        )
        p.set_defaults(func=answer, approve=verb == "approve")


def _stub(client: Client) -> Any:
    from partita.v1 import security_pb2_grpc

    return security_pb2_grpc.SecurityServiceStub(client.channel)


def create(args: argparse.Namespace, client: Client, out: Printer) -> int:
    ttl = duration_seconds(args.ttl, "--ttl") if args.ttl else 0.0
    if args.db:
        name, namespace, secret = asyncio.run(_create_in(args.db, args, ttl))
    else:
        from partita.v1 import security_pb2

        response = _stub(client).CreateToken(
            security_pb2.CreateTokenRequest(
                namespace=client.namespace, name=args.name, role=args.role, ttl_seconds=ttl
            ),
            timeout=CALL_TIMEOUT,
        )
        name, namespace, secret = response.token.name, response.token.namespace, response.secret
    if out.structured:
        out.emit({"name": name, "namespace": namespace, "role": args.role, "secret": secret})
    else:
        out.line(secret)
    return 0


async def _create_in(db: str, args: argparse.Namespace, ttl: float) -> tuple[str, str, str]:
    from partita.errors import PartitaError
    from partita.runtime.access import Access
    from partita.store import open_store

    store = open_store(db)
    await store.open()
    try:
        row, secret = await Access(store, "default").create_token(
            args.name, args.namespace or "default", args.role, ttl
        )
    except PartitaError as exc:
        raise CliError(exc.message) from None
    finally:
        await store.close()
    return row.name, row.namespace, secret


def list_tokens(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.v1 import security_pb2

    response = _stub(client).ListTokens(
        security_pb2.ListTokensRequest(namespace=client.namespace), timeout=CALL_TIMEOUT
    )
    if out.structured:
        out.emit_message(response)
        return 0
    rows = [
        [
            t.name,
            t.namespace,
            t.role,
            _time(t.create_time) if t.HasField("create_time") else "",
            _time(t.expire_time) if t.HasField("expire_time") else "never",
            "revoked" if t.HasField("revoke_time") else "live",
        ]
        for t in response.tokens
    ]
    out.table(["NAME", "NAMESPACE", "ROLE", "CREATED", "EXPIRES", "STATE"], rows)
    return 0


def revoke(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.v1 import security_pb2

    response = _stub(client).RevokeToken(
        security_pb2.RevokeTokenRequest(namespace=client.namespace, name=args.name),
        timeout=CALL_TIMEOUT,
    )
    if out.structured:
        out.emit_message(response)
    else:
        out.line(f"revoked {response.revoked} token(s) of {args.name}")
    return 0


def audit(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.cli.client import pages
    from partita.v1 import security_pb2

    if args.limit < 1:
        raise CliError("--limit must be at least 1")
    request = security_pb2.ListAuditRecordsRequest(namespace=client.namespace)
    records = list(pages(_stub(client).ListAuditRecords, request, "records", args.limit))
    if out.structured:
        out.emit([_record(r) for r in records])
        return 0
    rows = [[_time(r.time), r.identity, r.namespace, r.rpc, r.result] for r in records]
    out.table(["TIME", "IDENTITY", "NAMESPACE", "RPC", "RESULT"], rows)
    return 0


def _record(record: Any) -> Any:
    from google.protobuf import json_format

    return json_format.MessageToDict(record)


def _time(stamp: Any) -> str:
    seconds = stamp.seconds + stamp.nanos / 1e9
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def answer(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.cli.control import show
    from partita.cli.values import assignments, to_struct
    from partita.v1 import security_pb2, security_pb2_grpc

    request = security_pb2.AnswerApprovalRequest(
        namespace=client.namespace,
        activation_id=args.activation_id,
        stage=args.stage,
        approve=args.approve,
        fields=to_struct(assignments(args.field, "--field")),
    )
    stub = security_pb2_grpc.ApprovalServiceStub(client.channel)
    response = stub.AnswerApproval(request, timeout=CALL_TIMEOUT)
    return show(out, response.activation)


def set_secret(args: argparse.Namespace, client: Client, out: Printer) -> int:
    import sys

    from partita.v1 import security_pb2

    try:
        if args.from_file == "-":
            value = sys.stdin.read()
        else:
            with open(args.from_file, encoding="utf-8") as handle:
                value = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"--from-file: {exc}") from None
    value = value.removesuffix("\n")
    response = _stub(client).SetSecret(
        security_pb2.SetSecretRequest(namespace=client.namespace, name=args.name, value=value),
        timeout=CALL_TIMEOUT,
    )
    if out.structured:
        out.emit_message(response.secret)
    else:
        out.line(f"secret {response.secret.name} set in namespace {response.secret.namespace}")
    return 0


def list_secrets(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.v1 import security_pb2

    response = _stub(client).ListSecrets(
        security_pb2.ListSecretsRequest(namespace=client.namespace), timeout=CALL_TIMEOUT
    )
    if out.structured:
        out.emit_message(response)
        return 0
    out.table(["NAME", "UPDATED"], [[s.name, _time(s.update_time)] for s in response.secrets])
    return 0


def delete_secret(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.v1 import security_pb2

    _stub(client).DeleteSecret(
        security_pb2.DeleteSecretRequest(namespace=client.namespace, name=args.name),
        timeout=CALL_TIMEOUT,
    )
    if not out.structured:
        out.line(f"secret {args.name} deleted")
    return 0


def new_secret_key(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.runtime.secrets import new_key

    out.line(new_key())
    return 0


def _namespaces(client: Client) -> Any:
    from partita.v1 import security_pb2_grpc

    return security_pb2_grpc.NamespaceServiceStub(client.channel)


def save_namespace(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.v1 import security_pb2

    given = security_pb2.Namespace(
        name=args.name,
        max_running_activations=args.max_running,
        max_schedules=args.max_schedules,
    )
    stub = _namespaces(client)
    request: Any
    if args.what == "create":
        call, request = stub.CreateNamespace, security_pb2.CreateNamespaceRequest(namespace=given)
    else:
        call, request = stub.UpdateNamespace, security_pb2.UpdateNamespaceRequest(namespace=given)
    response = call(request, timeout=CALL_TIMEOUT)
    if out.structured:
        out.emit_message(response.namespace)
    else:
        out.line(f"namespace {response.namespace.name} {args.what}d")
    return 0


def list_namespaces(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.v1 import security_pb2

    response = _namespaces(client).ListNamespaces(
        security_pb2.ListNamespacesRequest(), timeout=CALL_TIMEOUT
    )
    if out.structured:
        out.emit_message(response)
        return 0
    rows = [
        [n.name, str(n.max_running_activations or "-"), str(n.max_schedules or "-")]
        for n in response.namespaces
    ]
    out.table(["NAME", "MAX RUNNING", "MAX SCHEDULES"], rows)
    return 0


def delete_namespace(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.v1 import security_pb2

    _namespaces(client).DeleteNamespace(
        security_pb2.DeleteNamespaceRequest(name=args.name), timeout=CALL_TIMEOUT
    )
    if not out.structured:
        out.line(f"namespace {args.name} deleted")
    return 0
