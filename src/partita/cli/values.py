"""Reading command-line values: ``K=V`` pairs, JSON objects, statuses and times."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import yaml
from google.protobuf import struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from partita.cli.client import CliError
from partita.model.durations import parse_duration
from partita.v1 import common_pb2


def scalar(text: str) -> Any:
    """A value as a YAML scalar: ``3`` is 3, ``true`` is True, ``[1, 2]`` a list, ``bob`` text.

    Anything that is not JSON data (dates, timestamps) stays the text given.
    """
    if text == "":
        return ""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if _is_json(value) else text


def _is_json(value: Any) -> bool:
    if isinstance(value, datetime | date):
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool)


def assignments(pairs: list[str] | None, option: str) -> dict[str, Any]:
    """``["n=3", "name=bob"]`` as ``{"n": 3, "name": "bob"}``; later keys win."""
    result: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise CliError(f"{option} {pair!r}: expected KEY=VALUE")
        result[key] = scalar(text)
    return result


def json_object(text: str | None, option: str) -> dict[str, Any]:
    """A JSON object given on the command line; empty when ``text`` is None."""
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{option}: not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise CliError(f"{option}: must be a JSON object, not {type(value).__name__}")
    return value


def to_struct(value: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(value)
    return message


def statuses(names: list[str] | None) -> list[str]:
    """ActivationStatus names for ``running``, ``COMPLETED``, ``timed-out``, ``a,b`` ..."""
    known = {
        name.removeprefix("ACTIVATION_STATUS_"): name
        for name, _ in common_pb2.ActivationStatus.items()
        if name != "ACTIVATION_STATUS_UNSPECIFIED"
    }
    result = []
    for item in names or []:
        for part in item.split(","):
            key = part.strip().upper().replace("-", "_").removeprefix("ACTIVATION_STATUS_")
            if key not in known:
                choices = ", ".join(k.lower() for k in known)
                raise CliError(f"--status {part!r}: not a status (use one of {choices})")
            result.append(known[key])
    return result


def moment(text: str, option: str, *, durations: bool) -> Timestamp:
    """An RFC 3339 time, or (``durations``) a duration meaning that long ago."""
    when: datetime | None = None
    if durations:
        try:
            when = datetime.now(UTC) - parse_duration(text)
        except ValueError:
            when = None
    if when is None:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            forms = "a duration like 1h or " if durations else ""
            raise CliError(
                f"{option} {text!r}: expected {forms}an RFC 3339 time like 2024-04-07T02:00:00Z"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    stamp = Timestamp()
    stamp.FromDatetime(when.astimezone(UTC))
    return stamp


def duration_seconds(text: str, option: str) -> float:
    try:
        delta: timedelta = parse_duration(text)
    except ValueError as exc:
        raise CliError(f"{option}: {exc}") from None
    return delta.total_seconds()
