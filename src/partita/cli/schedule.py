"""``partita schedule create|get|update|delete|list|pause|resume|trigger``."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from google.protobuf import duration_pb2

from partita.cli.client import CALL_TIMEOUT, Client, CliError, pages
from partita.cli.output import Printer, compact, timestamp, to_data
from partita.cli.values import assignments, duration_seconds, json_object, moment, to_struct
from partita.cli.views import status_name, struct
from partita.model.durations import format_duration
from partita.v1 import schedule_pb2, schedule_pb2_grpc

S = schedule_pb2
POLICIES = ("skip", "buffer_one", "buffer_all", "cancel_other", "terminate_other", "allow_all")
HEADERS = ["NAME", "SPEC", "CAMPAIGN", "OVERLAP", "STATE", "NEXT FIRE", "ACTIONS", "RUNNING"]


def register(sub: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    """Add ``schedule`` and its commands to the command's subparsers."""
    schedule = sub.add_parser(
        "schedule",
        parents=[common],
        help="durable cron and interval triggers that start activations",
        description="Create, change and read schedules. Each fire starts an activation whose "
        "id is NAME-<nominal time in UTC>, e.g. nightly-2025-01-02T03:00:00Z.",
    )
    commands = schedule.add_subparsers(
        dest="action", metavar="{create,get,update,delete,list,pause,resume,trigger}", required=True
    )

    p = commands.add_parser(
        "create",
        parents=[common],
        help="create a schedule",
        description="Create a schedule firing on every --cron expression and every --every "
        "interval (at least one). --input values are read as YAML scalars.",
    )
    p.add_argument("name", metavar="NAME", help="the schedule id")
    _definition_options(p, creating=True)
    p.add_argument("--paused", action="store_true", help="create it paused")
    p.add_argument("--note", default="", metavar="N", help="a note on its state")
    p.set_defaults(func=create)

    p = commands.add_parser(
        "update",
        parents=[common],
        help="change a schedule (from its next fire)",
        description="Change the options given, keep the others. --cron and --every replace "
        "the schedule's cron expressions and interval together; --input replaces its inputs.",
    )
    p.add_argument("name", metavar="NAME", help="the schedule id")
    _definition_options(p, creating=False)
    p.set_defaults(func=update)

    for name, text, func in (
        ("get", "show a schedule: spec, state, next fires, recent actions", get),
        ("delete", "delete a schedule (its activations are not affected)", delete),
    ):
        p = commands.add_parser(name, parents=[common], help=text, description=text + ".")
        p.add_argument("name", metavar="NAME", help="the schedule id")
        p.set_defaults(func=func)

    p = commands.add_parser("list", parents=[common], help="list schedules by name")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="print at most N")
    p.set_defaults(func=list_schedules)

    for name, text, func in (
        ("pause", "pause a schedule: it takes no action until resumed", pause),
        ("resume", "resume a paused schedule (fires missed while paused are not taken)", resume),
    ):
        p = commands.add_parser(name, parents=[common], help=text, description=text + ".")
        p.add_argument("name", metavar="NAME", help="the schedule id")
        p.add_argument("--note", default="", metavar="N", help="why, kept as its state's note")
        p.set_defaults(func=func)

    p = commands.add_parser(
        "trigger",
        parents=[common],
        help="take a schedule's action now, once",
        description="Start the schedule's activation now, paused or not; prints its id "
        "(nothing when the overlap policy skipped it).",
    )
    p.add_argument("name", metavar="NAME", help="the schedule id")
    p.add_argument("--overlap", metavar="POLICY", help="this time only: " + ", ".join(POLICIES))
    p.set_defaults(func=trigger)


def _definition_options(p: argparse.ArgumentParser, *, creating: bool) -> None:
    p.add_argument(
        "--campaign", required=creating, metavar="C", help="the campaign each fire starts"
    )
    p.add_argument("--version", type=int, metavar="N", help="the campaign version (0: latest)")
    p.add_argument(
        "--cron",
        action="append",
        metavar="EXPR",
        help="5 fields, or 6 with seconds first (repeatable)",
    )
    p.add_argument("--tz", metavar="TZ", help="IANA time zone of --cron (default UTC)")
    p.add_argument("--every", metavar="DUR", help="an interval: fire every DUR (e.g. 30s, 1h)")
    p.add_argument("--offset", metavar="DUR", help="shift --every's fires by DUR")
    p.add_argument(
        "--overlap", metavar="POLICY", help="while one runs: " + ", ".join(POLICIES) + " (skip)"
    )
    p.add_argument(
        "--catchup-window", metavar="DUR", help="take fires missed by at most DUR (default 1m)"
    )
    p.add_argument("--jitter", metavar="DUR", help="delay each fire by up to DUR")
    p.add_argument("--start", metavar="TIME", help="no fire before this RFC 3339 time")
    p.add_argument("--end", metavar="TIME", help="no fire after this RFC 3339 time")
    p.add_argument(
        "--max-actions", type=int, metavar="N", help="pause after N more actions (0: unlimited)"
    )
    p.add_argument("--input", action="append", metavar="K=V", help="an input (repeatable)")
    p.add_argument("--inputs-json", metavar="JSON", help="inputs as a JSON object (--input wins)")


# -- building requests --------------------------------------------------------------------


def _stub(client: Client) -> Any:
    return schedule_pb2_grpc.ScheduleServiceStub(client.channel)


def _duration(text: str, option: str) -> duration_pb2.Duration:
    message = duration_pb2.Duration()
    message.FromTimedelta(timedelta(seconds=duration_seconds(text, option)))
    return message


def _policy(text: str, option: str = "--overlap") -> int:
    key = text.strip().lower().replace("-", "_").removeprefix("overlap_policy_")
    if key not in POLICIES:
        raise CliError(f"{option} {text!r}: not a policy (use one of {', '.join(POLICIES)})")
    value: int = S.OverlapPolicy.Value("OVERLAP_POLICY_" + key.upper())
    return value


def _apply(args: argparse.Namespace, schedule: Any) -> None:
    """Set on ``schedule`` every definition option that was given."""
    spec, action, policies = schedule.spec, schedule.action, schedule.policies
    if args.campaign is not None:
        action.campaign = args.campaign
    if args.version is not None:
        action.version = args.version
    if args.cron is not None or args.every is not None:
        del spec.cron_expressions[:]
        spec.cron_expressions.extend(args.cron or [])
        spec.ClearField("interval")
        spec.ClearField("offset")
        if args.every is not None:
            spec.interval.CopyFrom(_duration(args.every, "--every"))
    if args.tz is not None:
        spec.time_zone = args.tz
    if args.offset is not None:
        spec.offset.CopyFrom(_duration(args.offset, "--offset"))
    if args.jitter is not None:
        spec.jitter.CopyFrom(_duration(args.jitter, "--jitter"))
    if args.start is not None:
        spec.start_time.CopyFrom(moment(args.start, "--start", durations=False))
    if args.end is not None:
        spec.end_time.CopyFrom(moment(args.end, "--end", durations=False))
    if args.max_actions is not None:
        spec.remaining_actions = args.max_actions
    if args.overlap is not None:
        policies.overlap = _policy(args.overlap)
    if args.catchup_window is not None:
        policies.catchup_window.CopyFrom(_duration(args.catchup_window, "--catchup-window"))
    if args.input is not None or args.inputs_json is not None:
        inputs = json_object(args.inputs_json, "--inputs-json")
        inputs.update(assignments(args.input, "--input"))
        action.inputs.Clear()
        action.inputs.CopyFrom(to_struct(inputs))


# -- commands -----------------------------------------------------------------------------


def create(args: argparse.Namespace, client: Client, out: Printer) -> int:
    if not args.cron and args.every is None:
        raise CliError("schedule create: give --cron EXPR or --every DUR")
    schedule = S.Schedule(state=S.ScheduleState(paused=args.paused, note=args.note))
    _apply(args, schedule)
    request = S.CreateScheduleRequest(
        namespace=client.namespace, schedule_id=args.name, schedule=schedule
    )
    created = _stub(client).CreateSchedule(request, timeout=CALL_TIMEOUT).schedule
    return _show(out, created, f"schedule/{created.schedule_id} created")


def update(args: argparse.Namespace, client: Client, out: Printer) -> int:
    stub = _stub(client)
    current = _get(client, args.name)
    _apply(args, current)
    request = S.UpdateScheduleRequest(
        namespace=client.namespace, schedule_id=args.name, schedule=current
    )
    updated = stub.UpdateSchedule(request, timeout=CALL_TIMEOUT).schedule
    return _show(out, updated, f"schedule/{updated.schedule_id} updated")


def get(args: argparse.Namespace, client: Client, out: Printer) -> int:
    found = _get(client, args.name)
    if out.structured:
        out.emit_message(found)
    else:
        print_schedule(out, found)
    return 0


def delete(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = S.DeleteScheduleRequest(namespace=client.namespace, schedule_id=args.name)
    response = _stub(client).DeleteSchedule(request, timeout=CALL_TIMEOUT)
    if out.structured:
        out.emit_message(response)
    else:
        out.line(f"schedule/{args.name} deleted")
    return 0


def list_schedules(args: argparse.Namespace, client: Client, out: Printer) -> int:
    if args.limit < 0:
        raise CliError("--limit must be 0 (no limit) or more")
    request = S.ListSchedulesRequest(namespace=client.namespace)
    found = list(pages(_stub(client).ListSchedules, request, "schedules", args.limit))
    if out.structured:
        out.emit({"schedules": [to_data(s) for s in found]})
    elif found:
        out.table(HEADERS, [schedule_row(s) for s in found])
    else:
        print(f"no schedules in namespace {client.namespace}", file=sys.stderr)
    return 0


def pause(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = S.PauseScheduleRequest(
        namespace=client.namespace, schedule_id=args.name, note=args.note
    )
    paused = _stub(client).PauseSchedule(request, timeout=CALL_TIMEOUT).schedule
    return _show(out, paused, f"schedule/{paused.schedule_id} paused")


def resume(args: argparse.Namespace, client: Client, out: Printer) -> int:
    request = S.ResumeScheduleRequest(
        namespace=client.namespace, schedule_id=args.name, note=args.note
    )
    resumed = _stub(client).ResumeSchedule(request, timeout=CALL_TIMEOUT).schedule
    return _show(out, resumed, f"schedule/{resumed.schedule_id} resumed")


def trigger(args: argparse.Namespace, client: Client, out: Printer) -> int:
    overlap = _policy(args.overlap) if args.overlap else 0
    request = S.TriggerScheduleRequest(
        namespace=client.namespace,
        schedule_id=args.name,
        overlap=overlap,  # type: ignore[arg-type]
    )
    response = _stub(client).TriggerSchedule(request, timeout=CALL_TIMEOUT)
    if out.structured:
        out.emit_message(response)
    elif response.activation_id:
        out.line(f"activation/{response.activation_id} triggered")
    else:
        out.line(f"schedule/{args.name}: skipped by its overlap policy")
    return 0


def _get(client: Client, name: str) -> Any:
    request = S.GetScheduleRequest(namespace=client.namespace, schedule_id=name)
    return _stub(client).GetSchedule(request, timeout=CALL_TIMEOUT).schedule


def _show(out: Printer, schedule: Any, line: str) -> int:
    if out.structured:
        out.emit_message(schedule)
    else:
        out.line(line)
        next_fire = schedule.info.next_fire_times
        if next_fire:
            out.line(f"next fire: {timestamp(next_fire[0])}")
    return 0


# -- views --------------------------------------------------------------------------------


def _seconds(duration: Any) -> str:
    return format_duration(duration.ToTimedelta())


def spec_text(spec: Any) -> str:
    """``cron '0 3 * * *' (Europe/Paris)``, ``every 1h +5m``, joined by ``; ``."""
    parts = []
    for expression in spec.cron_expressions:
        parts.append(f"cron '{expression}'" + (f" ({spec.time_zone})" if spec.time_zone else ""))
    if spec.HasField("interval"):
        text = f"every {_seconds(spec.interval)}"
        if spec.HasField("offset") and spec.offset.ToTimedelta():
            text += f" +{_seconds(spec.offset)}"
        parts.append(text)
    return "; ".join(parts)


def _policy_name(value: int) -> str:
    return str(S.OverlapPolicy.Name(value)).removeprefix("OVERLAP_POLICY_")


def _state(schedule: Any) -> str:
    return "paused" if schedule.state.paused else "active"


def schedule_row(schedule: Any) -> list[str]:
    action, info = schedule.action, schedule.info
    version = f" v{action.version}" if action.version else ""
    return [
        schedule.schedule_id,
        spec_text(schedule.spec),
        action.campaign + version,
        _policy_name(schedule.policies.overlap),
        _state(schedule),
        timestamp(info.next_fire_times[0]) if info.next_fire_times else "",
        str(info.action_count),
        str(len(info.running_activation_ids)),
    ]


def print_schedule(out: Printer, schedule: Any) -> None:
    """A schedule as key: value lines, then its next fires and recent actions."""
    spec, action, policies, info = (
        schedule.spec,
        schedule.action,
        schedule.policies,
        schedule.info,
    )
    version = f"version {action.version}" if action.version else "latest version"
    state = _state(schedule) + (f": {schedule.state.note}" if schedule.state.note else "")
    out.fields(
        [
            ("name", schedule.schedule_id),
            ("namespace", schedule.namespace),
            ("spec", spec_text(spec)),
            ("jitter", _seconds(spec.jitter) if spec.HasField("jitter") else ""),
            ("start", timestamp(spec.start_time) if spec.HasField("start_time") else ""),
            ("end", timestamp(spec.end_time) if spec.HasField("end_time") else ""),
            ("remaining actions", str(spec.remaining_actions) if spec.remaining_actions else ""),
            ("campaign", f"{action.campaign} ({version})"),
            ("inputs", compact(struct(action.inputs)) if action.inputs.fields else ""),
            ("overlap", _policy_name(policies.overlap)),
            ("catch-up window", _seconds(policies.catchup_window)),
            ("state", state),
            ("actions", str(info.action_count)),
            ("missed", str(info.missed_catchup_window) if info.missed_catchup_window else ""),
            ("running", ", ".join(info.running_activation_ids)),
        ]
    )
    if info.next_fire_times:
        out.line("next fires:")
        for fire in info.next_fire_times:
            out.line(f"  {timestamp(fire)}")
    if info.recent_actions:
        out.line("recent actions:")
        rows = [
            [
                timestamp(a.nominal_time),
                timestamp(a.actual_time, millis=True),
                a.activation_id,
                status_name(a.status) if a.status else "",
            ]
            for a in info.recent_actions
        ]
        out.table(["NOMINAL", "STARTED", "ACTIVATION", "STATUS"], rows, indent="  ")
