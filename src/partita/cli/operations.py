"""Commands that repair or hold an activation: rerun, skip, retry, pause, resume."""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from partita.cli.client import CALL_TIMEOUT, Client
from partita.cli.control import show
from partita.cli.output import Printer
from partita.cli.values import assignments, json_object, to_struct
from partita.v1 import activation_pb2

A = activation_pb2


def register(sub: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    """Add ``rerun``, ``skip``, ``retry``, ``pause`` and ``resume``."""
    p = _parser(
        sub,
        common,
        "rerun",
        "run a closed activation again from a stage",
        "Reopen a FAILED, CANCELLED, TERMINATED or TIMED_OUT activation and run it from its "
        "failed stage (or --from STAGE), keeping the outputs of the stages before it; those "
        "stages do not run again. --input values (YAML scalars) change its inputs.",
    )
    p.add_argument(
        "--from", dest="stage", default="", metavar="STAGE", help="the stage to rerun from"
    )
    p.add_argument(
        "--input", action="append", metavar="K=V", help="an input to change (repeatable)"
    )
    p.add_argument(
        "--completed", action="store_true", help="allow rerunning a COMPLETED activation"
    )
    p.set_defaults(func=rerun)

    p = _parser(
        sub,
        common,
        "skip",
        "mark a stage completed with given outputs, without running it",
        "Skip STAGE: its open stage run (or, on a closed activation, a new one) completes with "
        "the --set values (YAML scalars) and the activation goes on from its selector.",
    )
    p.add_argument("stage", metavar="STAGE", help="the stage to skip")
    p.add_argument(
        "--set", action="append", metavar="K=V", help="an output of the stage (repeatable)"
    )
    p.add_argument(
        "--outputs-json", metavar="JSON", help="the outputs as a JSON object (--set wins)"
    )
    p.set_defaults(func=skip)

    p = _parser(
        sub,
        common,
        "retry",
        "start a stage's next attempt now, cutting its retry backoff short",
        "Retry now every stage run waiting in its retry backoff (or only --stage S's).",
    )
    p.add_argument("--stage", default="", metavar="S", help="only this stage's retry")
    p.set_defaults(func=retry)

    p = _parser(
        sub,
        common,
        "pause",
        "pause a RUNNING activation until it is resumed",
        "No new stage starts while paused: running stage runs finish, what follows waits; "
        "with --hold-tasks, stage tasks no worker took yet wait too. Timers keep their due "
        "times and fire on resume.",
    )
    p.add_argument("--reason", default="", metavar="R", help="why, recorded in its history")
    p.add_argument("--hold-tasks", action="store_true", help="hold tasks no worker took yet")
    p.set_defaults(func=pause)

    p = _parser(
        sub,
        common,
        "resume",
        "resume an activation paused by `partita pause`",
        "Fire the timers that came due while paused and start what was held.",
    )
    p.add_argument("--reason", default="", metavar="R", help="why, recorded in its history")
    p.set_defaults(func=resume)


def _parser(
    sub: argparse._SubParsersAction[Any],
    common: argparse.ArgumentParser,
    name: str,
    text: str,
    description: str,
) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name, parents=[common], help=text, description=description
    )
    p.add_argument("activation_id", metavar="ID", help="the activation id")
    p.add_argument(
        "--request-id",
        default="",
        metavar="RID",
        help="idempotency key: the same key again changes nothing more (default: a new one)",
    )
    return p


def _request_id(args: argparse.Namespace) -> str:
    return str(args.request_id or uuid.uuid4())


def rerun(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = A.RerunActivationRequest(
        namespace=client.namespace,
        activation_id=args.activation_id,
        stage=args.stage,
        inputs=to_struct(assignments(args.input, "--input")),
        allow_completed=args.completed,
        request_id=_request_id(args),
    )
    return show(out, client.activations.RerunActivation(request, timeout=CALL_TIMEOUT).activation)


def skip(args: argparse.Namespace, client: Client, out: Printer) -> int:
    outputs = json_object(args.outputs_json, "--outputs-json")
    outputs.update(assignments(args.set, "--set"))
    request = A.SkipStageRequest(
        namespace=client.namespace,
        activation_id=args.activation_id,
        stage=args.stage,
        outputs=to_struct(outputs),
        request_id=_request_id(args),
    )
    return show(out, client.activations.SkipStage(request, timeout=CALL_TIMEOUT).activation)


def retry(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = A.RetryStageRequest(
        namespace=client.namespace,
        activation_id=args.activation_id,
        stage=args.stage,
        request_id=_request_id(args),
    )
    return show(out, client.activations.RetryStage(request, timeout=CALL_TIMEOUT).activation)


def pause(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = A.PauseActivationRequest(
        namespace=client.namespace,
        activation_id=args.activation_id,
        reason=args.reason,
        hold_tasks=args.hold_tasks,
        request_id=_request_id(args),
    )
    return show(out, client.activations.PauseActivation(request, timeout=CALL_TIMEOUT).activation)


def resume(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = A.ResumeActivationRequest(
        namespace=client.namespace,
        activation_id=args.activation_id,
        reason=args.reason,
        request_id=_request_id(args),
    )
    return show(out, client.activations.ResumeActivation(request, timeout=CALL_TIMEOUT).activation)
