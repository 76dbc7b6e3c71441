"""Commands that follow and steer activations."""

from __future__ import annotations

import argparse
from typing import Any

from partita.cli import views
from partita.cli.client import CALL_TIMEOUT, Client, pages
from partita.cli.output import Printer, to_data
from partita.cli.progress import Progress
from partita.cli.values import assignments, json_object, to_struct
from partita.v1 import activation_pb2


def register(sub: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    """Add ``watch``, ``history``, ``cancel``, ``terminate``, ``signal`` and ``advance``."""
    p = sub.add_parser(
        "watch",
        parents=[common],
        help="follow an activation live, event by event",
        description="Print each event of an activation as it is recorded, from the first, until "
        "the activation ends; then its final status. Exit 1 unless COMPLETED. A fan-out of "
        "more than 20 items (a rollout over many sites) shows as counts of its items (closed, "
        "completed, failed) and its first failed items. "
        "With -o json, one WatchActivationResponse per line.",
    )
    p.add_argument("activation_id", metavar="ID", help="the activation id")
    p.set_defaults(func=watch)

    p = sub.add_parser("history", parents=[common], help="an activation's full event history")
    p.add_argument("activation_id", metavar="ID", help="the activation id")
    p.set_defaults(func=history)

    for name, text in (
        ("cancel", "cancel an activation (running compensations first)"),
        ("terminate", "stop an activation at once, without compensation"),
    ):
        p = sub.add_parser(name, parents=[common], help=text, description=text.capitalize() + ".")
        p.add_argument("activation_id", metavar="ID", help="the activation id")
        p.add_argument("--reason", default="", metavar="R", help="why, recorded in its history")
        p.set_defaults(func=cancel if name == "cancel" else terminate)

    p = sub.add_parser(
        "signal",
        parents=[common],
        help="send a named event to an activation",
        description="Send a signal; it wakes a wait stage waiting for EVENT (or is buffered "
        "until one asks for it). --data values are read as YAML scalars.",
    )
    p.add_argument("activation_id", metavar="ID", help="the activation id")
    p.add_argument("event", metavar="EVENT", help="the signal name a wait stage waits for")
    p.add_argument("--data", action="append", metavar="K=V", help="a payload field (repeatable)")
    p.add_argument("--data-json", metavar="JSON", help="the payload as a JSON object (--data wins)")
    p.set_defaults(func=signal)

    p = sub.add_parser(
        "advance",
        parents=[common],
        help="move on a stepped activation that is PAUSED",
        description="Start the stage the selector chose (or --stage) of an activation paused "
        "in stepped mode; with no next stage it completes.",
    )
    p.add_argument("activation_id", metavar="ID", help="the activation id")
    p.add_argument(
        "--stage", default="", metavar="S", help="run S instead of the selector's choice"
    )
    p.set_defaults(func=advance)


def watch(args: argparse.Namespace, client: Client, out: Printer) -> int:
    final = None
    progress = Progress()
    for item in client.follow(args.activation_id):
        final = item.activation
        if out.structured:
            out.emit_message(item, stream_item=True)
        else:
            line = progress.line(item.event)
            if line is not None:
                out.line(line)
    if final is None or not views.is_terminal(final.status):
        final = client.get_activation(args.activation_id)
    if not out.structured:
        out.line(views.status_line(final))
    return 0 if views.is_completed(final.status) else 1


def history(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = activation_pb2.GetActivationHistoryRequest(
        namespace=client.namespace, activation_id=args.activation_id
    )
    events = list(pages(client.activations.GetActivationHistory, request, "events"))
    if out.structured:
        out.emit({"events": [to_data(e) for e in events]})
    else:
        out.table(views.EVENT_HEADERS, [views.event_row(e) for e in events])
    return 0


def show(out: Printer, activation: Any) -> int:
    """An activation after a control request: the message itself, or its status line."""
    if out.structured:
        out.emit_message(activation)
    else:
        out.line(views.status_line(activation))
    return 0


def cancel(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = activation_pb2.CancelActivationRequest(
        namespace=client.namespace, activation_id=args.activation_id, reason=args.reason
    )
    return show(out, client.activations.CancelActivation(request, timeout=CALL_TIMEOUT).activation)


def terminate(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = activation_pb2.TerminateActivationRequest(
        namespace=client.namespace, activation_id=args.activation_id, reason=args.reason
    )
    response = client.activations.TerminateActivation(request, timeout=CALL_TIMEOUT)
    return show(out, response.activation)


def signal(args: argparse.Namespace, client: Client, out: Printer) -> int:
    data = json_object(args.data_json, "--data-json")
    data.update(assignments(args.data, "--data"))
    request = activation_pb2.SignalActivationRequest(
        namespace=client.namespace,
        activation_id=args.activation_id,
        event=args.event,
        data=to_struct(data),
    )
    return show(out, client.activations.SignalActivation(request, timeout=CALL_TIMEOUT).activation)


def advance(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = activation_pb2.AdvanceActivationRequest(
        namespace=client.namespace, activation_id=args.activation_id, stage=args.stage
    )
    response = client.activations.AdvanceActivation(request, timeout=CALL_TIMEOUT)
    return show(out, response.activation)
