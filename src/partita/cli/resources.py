"""Commands that create and read resources: ``apply``, ``activate``, ``get``, ``list``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import grpc
import yaml

from partita.cli import hub, views
from partita.cli.client import CALL_TIMEOUT, Client, CliError, describe_rpc_error, pages
from partita.cli.output import Printer, timestamp, to_data
from partita.cli.values import assignments, json_object, moment, statuses, to_struct
from partita.v1 import (
    activation_pb2,
    campaign_pb2,
    replica_pb2,
    replica_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
)

SUFFIXES = (".yaml", ".yml", ".json")


def register(sub: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    """Add ``apply``, ``activate``, ``get`` and ``list`` to the command's subparsers."""
    p = sub.add_parser(
        "apply",
        parents=[common],
        help="create campaigns and start activations from YAML/JSON documents",
        description=(
            "Apply campaign and activation documents in order. A directory means every "
            "*.yaml, *.yml and *.json file in it, by name; '-' reads standard input. "
            "kind: Campaign creates a campaign version (or leaves it unchanged); "
            "kind: Activation starts an activation (re-applying it changes nothing). "
            "workflow.symphony/v1 documents are read as Symphony defines them: "
            "CampaignVersion creates the campaign <root>-v-<version>, an empty Campaign "
            "(container) creates nothing, and an Activation's campaignversion "
            "'<root>:<version>' names <root>-v-<version>. "
            'With -o json or yaml: {"items": [...]}, one CreateCampaign or StartActivation '
            "response per document."
        ),
    )
    p.add_argument(
        "-f",
        "--file",
        action="append",
        required=True,
        metavar="FILE_OR_DIR",
        help="a file, a directory or '-' (repeatable)",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="wait for the activations to end; exit 1 unless all COMPLETED",
    )
    p.set_defaults(func=apply)

    p = sub.add_parser(
        "activate",
        parents=[common],
        help="start an activation of a campaign",
        description="Start an activation. Values of --input are read as YAML scalars "
        "(n=3 is a number, flag=true a boolean, name=bob text).",
    )
    p.add_argument("campaign", metavar="CAMPAIGN", help="the campaign to run")
    p.add_argument("--input", action="append", metavar="K=V", help="an input (repeatable)")
    p.add_argument("--inputs-json", metavar="JSON", help="inputs as a JSON object (--input wins)")
    p.add_argument("--id", default="", metavar="ID", help="the activation id (default: generated)")
    p.add_argument(
        "--version", type=int, default=0, metavar="N", help="the campaign version (default: latest)"
    )
    p.add_argument(
        "--stage",
        default="",
        metavar="S",
        help="the stage to start with (default: the campaign's firstStage)",
    )
    p.add_argument(
        "--wait",
        action="store_true",
        help="follow the activation to its end and print it; exit 1 unless COMPLETED",
    )
    p.set_defaults(func=activate)

    get = sub.add_parser(
        "get",
        parents=[common],
        help="show one campaign or activation",
        description="Show one campaign version or one activation.",
    )
    kinds = get.add_subparsers(dest="kind", metavar="{campaign,activation}", required=True)
    p = kinds.add_parser("campaign", parents=[common], help="a campaign version with its spec")
    p.add_argument("name", metavar="NAME", help="the campaign name")
    p.add_argument("--version", type=int, default=0, metavar="N", help="default: the latest")
    p.set_defaults(func=get_campaign)
    p = kinds.add_parser(
        "activation",
        parents=[common],
        help="an activation with its outputs and stage runs",
        description="Show one activation. -o symphony prints it in Eclipse Symphony's shape "
        "(metadata, spec, status with status, statusMessage and stageHistory).",
    )
    p.add_argument("activation_id", metavar="ID", help="the activation id")
    p.set_defaults(func=get_activation)

    lst = sub.add_parser(
        "list",
        parents=[common],
        help="list campaigns, activations, workers, queues, replicas or sites",
        description="List every match, paging through the API.",
    )
    kinds = lst.add_subparsers(
        dest="kind",
        metavar="{campaigns,activations,workers,queues,replicas,sites}",
        required=True,
    )
    p = kinds.add_parser("campaigns", parents=[common], help="latest version of each campaign")
    p.add_argument("--prefix", default="", metavar="P", help="only names starting with P")
    p.add_argument("--all-versions", action="store_true", help="every version, not the latest")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="print at most N")
    p.set_defaults(func=list_campaigns)
    p = kinds.add_parser("activations", parents=[common], help="activations, newest first")
    p.add_argument(
        "--status",
        action="append",
        metavar="S",
        help="running, paused, completed, failed, cancelled, terminated, timed_out, "
        "continued_as_new (repeatable, or comma-separated)",
    )
    p.add_argument("--campaign", default="", metavar="C", help="only activations of campaign C")
    p.add_argument(
        "--since",
        metavar="DUR|TIME",
        help="created at or after: a duration ago (1h) or an RFC 3339 time",
    )
    p.add_argument("--before", metavar="TIME", help="created before this RFC 3339 time")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="print at most N")
    p.set_defaults(func=list_activations)
    p = kinds.add_parser("workers", parents=[common], help="workers seen recently, by identity")
    p.add_argument("--queue", default="", metavar="Q", help="only workers polling queue Q")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="print at most N")
    p.set_defaults(func=list_workers)
    p = kinds.add_parser(
        "queues", parents=[common], help="task queues: backlog, oldest task's age, held tasks"
    )
    p.set_defaults(func=list_queues)
    p = kinds.add_parser(
        "replicas",
        parents=[common],
        help="the planes sharing this site's PostgreSQL database, and what each owns",
    )
    p.set_defaults(func=list_replicas)
    hub.register_list(kinds, common)


# -- apply ---------------------------------------------------------------------------------


def _files(paths: list[str]) -> list[tuple[str, str]]:
    """(name, text) of every file to apply, in order."""
    found: list[tuple[str, str]] = []
    for item in paths:
        if item == "-":
            found.append(("<stdin>", sys.stdin.read()))
            continue
        path = Path(item)
        if path.is_dir():
            members = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in SUFFIXES)
            if not members:
                raise CliError(f"{item}: no *.yaml, *.yml or *.json file in this directory")
        elif path.exists():
            members = [path]
        else:
            raise CliError(f"{item}: no such file or directory")
        for member in members:
            try:
                found.append((str(member), member.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as exc:
                raise CliError(f"{member}: cannot read: {exc}") from None
    return found


def _check_yaml(name: str, text: str) -> None:
    """Refuse text that is not YAML, naming the line and column of the problem."""
    try:
        for _ in yaml.safe_load_all(text):
            pass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise CliError(f"{name}: not valid YAML or JSON: {where}{exc.problem}") from None
    except yaml.YAMLError as exc:
        raise CliError(f"{name}: not valid YAML or JSON: {exc}") from None


def _namespace(doc_namespace: str, wanted: str, where: str) -> str:
    """The document's namespace; ``-n`` fills it in when the document leaves it default."""
    if doc_namespace == "default":
        return wanted
    if wanted not in ("default", doc_namespace):
        raise CliError(f"{where}: metadata.namespace {doc_namespace!r} differs from -n {wanted!r}")
    return doc_namespace


def apply(args: argparse.Namespace, client: Client, out: Printer) -> int:
    from partita.errors import InvalidInputError
    from partita.model.documents import activation_document, load_documents

    plan: list[tuple[str, Any, Any]] = []
    for name, text in _files(args.file):
        _check_yaml(name, text)
        try:
            for doc in load_documents(text):
                where = f"{name} document[{doc.index}] ({doc.kind}/{doc.name})"
                namespace = _namespace(doc.namespace, client.namespace, where)
                if doc.role == "container":
                    plan.append((where, doc, None))
                elif doc.role == "campaign":
                    plan.append((where, doc, _create_request(doc, namespace)))
                else:
                    plan.append((where, doc, _start_request(activation_document(doc), namespace)))
        except InvalidInputError as exc:
            raise CliError(f"{name}: {exc.message}") from None

    items: list[Any] = []
    waiting: list[tuple[str, str]] = []
    for where, doc, request in plan:
        try:
            if doc.role == "container":
                # Symphony's Campaign container: only a name that versions hang from.
                items.append({"container": doc.name})
                if not out.structured:
                    out.line(f"campaign/{doc.name} container (its versions hold the stages)")
            elif doc.role == "campaign":
                created = client.campaigns.CreateCampaign(request, timeout=CALL_TIMEOUT)
                campaign = created.campaign
                state = "created" if created.created else "unchanged"
                items.append({**to_data(created), "created": created.created})
                if not out.structured:
                    out.line(f"campaign/{campaign.name} version {campaign.version} {state}")
            else:
                started = client.activations.StartActivation(request, timeout=CALL_TIMEOUT)
                state = "started" if started.started else "unchanged"
                items.append({**to_data(started), "started": started.started})
                waiting.append((started.activation.namespace, started.activation.id))
                if not out.structured:
                    out.line(f"activation/{started.activation.id} {state}")
        except grpc.RpcError as error:
            failure = describe_rpc_error(error, client.target)
            raise CliError(f"{failure} [{where}]", failure.exit_code) from None

    code = 0
    if args.wait:
        finals = {}
        for namespace, activation_id in waiting:
            final = client.in_namespace(namespace).wait(activation_id)
            finals[(namespace, activation_id)] = final
            if not views.is_completed(final.status):
                code = 1
            if not out.structured:
                out.line(views.status_line(final))
        for item in items:
            act = item.get("activation")
            if act is not None:
                final = finals.get((act.get("namespace", ""), act.get("id", "")))
                if final is not None:
                    item["activation"] = to_data(final)
    if out.structured:
        out.emit({"items": items})
    return code


def _create_request(doc: Any, namespace: str) -> Any:
    document = {
        "apiVersion": doc.api_version,
        "kind": doc.kind,
        "metadata": {"name": doc.name, "namespace": namespace},
        "spec": doc.spec,
    }
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    return campaign_pb2.CreateCampaignRequest(namespace=namespace, document=text)


def _start_request(spec: Any, namespace: str) -> Any:
    return activation_pb2.StartActivationRequest(
        namespace=namespace,
        campaign=spec.campaign,
        version=spec.version,
        activation_id=spec.activation_id,
        inputs=to_struct(spec.inputs),
        request_id=f"apply:{spec.activation_id}",
        start_stage=spec.stage,
    )


# -- activate, get, list -------------------------------------------------------------------


def activate(args: argparse.Namespace, client: Client, out: Printer) -> int:
    inputs = json_object(args.inputs_json, "--inputs-json")
    inputs.update(assignments(args.input, "--input"))
    request = activation_pb2.StartActivationRequest(
        namespace=client.namespace,
        campaign=args.campaign,
        version=args.version,
        activation_id=args.id,
        inputs=to_struct(inputs),
        start_stage=args.stage,
    )
    activation = client.activations.StartActivation(request, timeout=CALL_TIMEOUT).activation
    if not out.structured:
        out.line(
            f"activation/{activation.id} started "
            f"(campaign {activation.campaign} version {activation.version})"
        )
    if not args.wait:
        if out.structured:
            out.emit_message(activation)
        return 0
    final = client.wait(activation.id)
    if out.structured:
        out.emit_message(final)
    else:
        out.line(views.status_line(final))
        views.print_outputs(out, final, hide_private=True)
    return 0 if views.is_completed(final.status) else 1


def get_campaign(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = campaign_pb2.GetCampaignRequest(
        namespace=client.namespace, name=args.name, version=args.version
    )
    campaign = client.campaigns.GetCampaign(request, timeout=CALL_TIMEOUT).campaign
    if out.structured:
        out.emit_message(campaign)
    else:
        views.print_campaign(out, campaign)
    return 0


def get_activation(args: argparse.Namespace, client: Client, out: Printer) -> int:
    activation = client.get_activation(args.activation_id)
    if out.format == "symphony":
        from partita.cli.symphony_view import symphony_activation

        out.emit(symphony_activation(activation))
    elif out.structured:
        out.emit_message(activation)
    else:
        views.print_activation(out, activation)
    return 0


def list_campaigns(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = campaign_pb2.ListCampaignsRequest(
        namespace=client.namespace, name_prefix=args.prefix, all_versions=args.all_versions
    )
    found = list(pages(client.campaigns.ListCampaigns, request, "campaigns", _limit(args)))
    if out.structured:
        out.emit({"campaigns": [to_data(c) for c in found]})
    elif found:
        out.table(views.CAMPAIGN_HEADERS, [views.campaign_row(c) for c in found])
    else:
        print(f"no campaigns in namespace {client.namespace}", file=sys.stderr)
    return 0


def list_activations(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = activation_pb2.ListActivationsRequest(
        namespace=client.namespace, statuses=statuses(args.status), campaign=args.campaign
    )
    if args.since:
        request.start_time_after.CopyFrom(moment(args.since, "--since", durations=True))
    if args.before:
        request.start_time_before.CopyFrom(moment(args.before, "--before", durations=False))
    found = list(pages(client.activations.ListActivations, request, "activations", _limit(args)))
    if out.structured:
        out.emit({"activations": [to_data(a) for a in found]})
    elif found:
        out.table(views.ACTIVATION_HEADERS, [views.activation_row(a) for a in found])
    else:
        print(f"no matching activations in namespace {client.namespace}", file=sys.stderr)
    return 0


WORKER_HEADERS = ["IDENTITY", "QUEUES", "LAST SEEN", "IN FLIGHT"]


def list_workers(args: argparse.Namespace, client: Client, out: Printer) -> int:
    stub = worker_pb2_grpc.WorkerServiceStub(client.channel)
    request = worker_pb2.ListWorkersRequest(namespace=client.namespace, task_queue=args.queue)
    found = list(pages(stub.ListWorkers, request, "workers", _limit(args)))
    if out.structured:
        out.emit({"workers": [to_data(w) for w in found]})
    elif found:
        rows = [
            [
                w.identity,
                ",".join(w.task_queues),
                timestamp(w.last_seen_time),
                str(w.tasks_in_flight),
            ]
            for w in found
        ]
        out.table(WORKER_HEADERS, rows)
    else:
        print(f"no workers seen recently in namespace {client.namespace}", file=sys.stderr)
    return 0


QUEUE_HEADERS = ["QUEUE", "BACKLOG", "OLDEST", "HELD", "KEYS", "RATE"]


def list_queues(args: argparse.Namespace, client: Client, out: Printer) -> int:
    stub = worker_pb2_grpc.WorkerServiceStub(client.channel)
    request = worker_pb2.ListTaskQueuesRequest(namespace=client.namespace)
    found = list(stub.ListTaskQueues(request, timeout=CALL_TIMEOUT).task_queues)
    if out.structured:
        out.emit({"taskQueues": [to_data(q) for q in found]})
    elif found:
        rows = [
            [
                q.name,
                str(q.backlog),
                f"{q.oldest_task_age.ToTimedelta().total_seconds():.1f}s"
                if q.HasField("oldest_task_age")
                else "-",
                str(q.tasks_held),
                str(q.keys),
                f"{q.rate:g}/s" if q.rate else "-",
            ]
            for q in found
        ]
        out.table(QUEUE_HEADERS, rows)
    else:
        print(f"no task queue has tasks in namespace {client.namespace}", file=sys.stderr)
    return 0


REPLICA_HEADERS = ["ID", "ADDRESS", "ALIVE", "OWNED", "LEASE UNTIL", "STARTED"]


def list_replicas(args: argparse.Namespace, client: Client, out: Printer) -> int:
    stub = replica_pb2_grpc.ReplicaServiceStub(client.channel)
    response = stub.ListReplicas(replica_pb2.ListReplicasRequest(), timeout=CALL_TIMEOUT)
    if out.structured:
        out.emit(to_data(response))
    elif response.replicas:
        rows = [
            [
                r.id + (" (this)" if r.id == response.self_id else ""),
                r.address,
                "yes" if r.alive else "no",
                str(r.owned_activations),
                timestamp(r.lease_expire_time),
                timestamp(r.start_time),
            ]
            for r in response.replicas
        ]
        out.table(REPLICA_HEADERS, rows)
    else:
        print("no replicas: this plane runs alone on its embedded SQLite store", file=sys.stderr)
    return 0


def _limit(args: argparse.Namespace) -> int:
    limit: int = args.limit
    if limit < 0:
        raise CliError("--limit must be 0 (no limit) or more")
    return limit
