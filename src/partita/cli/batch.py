"""``partita batch``: cancel, terminate, rerun or signal every activation matching a filter."""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

from partita.cli.client import CALL_TIMEOUT, Client, CliError, pages
from partita.cli.output import Printer, timestamp, to_data
from partita.cli.values import assignments, json_object, moment, statuses, to_struct
from partita.v1 import batch_pb2, batch_pb2_grpc

B = batch_pb2
ACTIONS = {
    "cancel": B.BATCH_ACTION_CANCEL,
    "terminate": B.BATCH_ACTION_TERMINATE,
    "rerun": B.BATCH_ACTION_RERUN,
    "signal": B.BATCH_ACTION_SIGNAL,
}
HEADERS = ["ID", "ACTION", "STATUS", "TOTAL", "DONE", "SKIPPED", "FAILED", "CREATED"]
WAIT_INTERVAL = 0.5


def register(sub: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    """Add ``batch cancel|terminate|rerun|signal|get|list``."""
    top = sub.add_parser(
        "batch",
        parents=[common],
        help="act on every activation matching a filter, as one durable operation",
        description="A batch cancels, terminates, reruns or signals every activation matching "
        "its filter that was created before it. Its progress is stored: it goes on after a "
        "restart of the plane. Give at least one of --status, --campaign, --since, --before.",
    )
    kinds = top.add_subparsers(dest="batch_command", metavar="ACTION", required=True)
    for name, text in (
        ("cancel", "cancel every matching activation (default: the open ones)"),
        ("terminate", "terminate every matching activation (default: the open ones)"),
        (
            "rerun",
            "rerun every matching activation (default: failed, cancelled, "
            "terminated and timed-out ones)",
        ),
        ("signal", "signal every matching activation (default: the open ones)"),
    ):
        p = kinds.add_parser(name, parents=[common], help=text, description=text.capitalize())
        _filter_options(p)
        p.add_argument("--id", default="", metavar="ID", help="the batch id (default: a new one)")
        p.add_argument(
            "--rate", type=float, default=0.0, metavar="N", help="at most N activations a second"
        )
        p.add_argument(
            "--request-id", default="", metavar="RID", help="idempotency key (default: a new one)"
        )
        p.add_argument("--wait", action="store_true", help="wait until the batch completes")
        if name in ("cancel", "terminate"):
            p.add_argument("--reason", default="", metavar="R", help="recorded in each history")
        if name == "signal":
            p.add_argument("event", metavar="EVENT", help="the signal name")
            p.add_argument("--data", action="append", metavar="K=V", help="a payload field")
            p.add_argument("--data-json", metavar="JSON", help="the payload as a JSON object")
        if name == "rerun":
            p.add_argument("--from", dest="stage", default="", metavar="STAGE", help="rerun from")
            p.add_argument("--input", action="append", metavar="K=V", help="an input to change")
            p.add_argument("--completed", action="store_true", help="COMPLETED ones too")
        p.set_defaults(func=start, action=name)

    p = kinds.add_parser("get", parents=[common], help="a batch and its progress")
    p.add_argument("batch_id", metavar="ID", help="the batch id")
    p.add_argument("--wait", action="store_true", help="wait until the batch completes")
    p.set_defaults(func=get)
    p = kinds.add_parser("list", parents=[common], help="batches, newest first")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="print at most N")
    p.set_defaults(func=list_batches)


def _filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--status", action="append", metavar="S", help="only activations with this status"
    )
    p.add_argument("--campaign", default="", metavar="C", help="only activations of campaign C")
    p.add_argument(
        "--since", metavar="DUR|TIME", help="created at or after: a duration ago or a time"
    )
    p.add_argument("--before", metavar="TIME", help="created before this RFC 3339 time")


def _stub(client: Client) -> Any:
    return batch_pb2_grpc.BatchServiceStub(client.channel)


def start(args: argparse.Namespace, client: Client, out: Printer) -> int:
    where = B.BatchFilter(statuses=statuses(args.status), campaign=args.campaign)
    if args.since:
        where.start_time_after.CopyFrom(moment(args.since, "--since", durations=True))
    if args.before:
        where.start_time_before.CopyFrom(moment(args.before, "--before", durations=False))
    request = B.StartBatchRequest(
        namespace=client.namespace,
        batch_id=args.id,
        action=ACTIONS[args.action],
        filter=where,
        rate=args.rate,
        request_id=args.request_id or str(uuid.uuid4()),
    )
    if args.action in ("cancel", "terminate"):
        request.reason = args.reason
    if args.action == "signal":
        data = json_object(args.data_json, "--data-json")
        data.update(assignments(args.data, "--data"))
        request.event = args.event
        request.data.CopyFrom(to_struct(data))
    if args.action == "rerun":
        request.stage = args.stage
        request.inputs.CopyFrom(to_struct(assignments(args.input, "--input")))
        request.allow_completed = args.completed
    found = _stub(client).StartBatch(request, timeout=CALL_TIMEOUT).batch
    return _show(client, out, found, wait=args.wait)


def get(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = B.GetBatchRequest(namespace=client.namespace, batch_id=args.batch_id)
    found = _stub(client).GetBatch(request, timeout=CALL_TIMEOUT).batch
    return _show(client, out, found, wait=args.wait)


def list_batches(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = B.ListBatchesRequest(namespace=client.namespace)
    found = list(pages(_stub(client).ListBatches, request, "batches", args.limit))
    if out.structured:
        out.emit({"batches": [to_data(b) for b in found]})
    else:
        out.table(HEADERS, [_row(b) for b in found])
    return 0


def _show(client: Client, out: Printer, found: Any, *, wait: bool) -> int:
    while wait and found.status != B.BATCH_STATUS_COMPLETED:
        time.sleep(WAIT_INTERVAL)
        request = B.GetBatchRequest(namespace=found.namespace, batch_id=found.id)
        found = _stub(client).GetBatch(request, timeout=CALL_TIMEOUT).batch
    if out.structured:
        out.emit_message(found)
    else:
        out.line(_line(found))
        if found.last_error:
            out.line(f"last error: {found.last_error}")
    if wait and found.failed:
        raise CliError(f"batch/{found.id}: {found.failed} activations failed", exit_code=1)
    return 0


def _line(found: Any) -> str:
    status = B.BatchStatus.Name(found.status).removeprefix("BATCH_STATUS_")
    return (
        f"batch/{found.id} {status}: {found.done} done, {found.skipped} skipped, "
        f"{found.failed} failed of {found.total}"
    )


def _row(found: Any) -> list[str]:
    return [
        found.id,
        B.BatchAction.Name(found.action).removeprefix("BATCH_ACTION_").lower(),
        B.BatchStatus.Name(found.status).removeprefix("BATCH_STATUS_"),
        str(found.total),
        str(found.done),
        str(found.skipped),
        str(found.failed),
        timestamp(found.create_time),
    ]
