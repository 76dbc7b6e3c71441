"""Eclipse Symphony's document shapes: parallel tasks inside a stage, and version references.

Symphony (0.49) names a campaign version ``<root>-v-<version>`` and refers to it as
``<root>:<version>``; an older activation's ``spec.campaign`` uses the same reference.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

REFERENCE_SEPARATOR = ":"
NAME_SEPARATOR = "-v-"
CONTAINER_KINDS = ("CampaignContainer",)
"""Symphony 0.48's name for the container; 0.49 calls it ``Campaign`` with an empty spec."""


class _Spec(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )


class Task(_Spec):
    """One of a stage's parallel tasks: a provider run with the stage's inputs and its own."""

    name: str
    """The key the task's outputs take in the stage's outputs."""
    provider: str
    """The provider that runs the task (``providers.stage.mock``, ...)."""
    config: dict[str, Any] = {}
    """Provider settings; strings may hold expressions."""
    inputs: dict[str, Any] = {}
    """Merged over the stage's inputs; strings may hold expressions."""
    target: str | None = None
    """Given to the task as its ``__target`` input."""


class ErrorAction(_Spec):
    """What a failed task does to its stage."""

    mode: Literal["stopOnAnyFailure", "stopOnNFailures", "silentlyContinue"] = "stopOnAnyFailure"
    """``stopOnAnyFailure``: the stage fails at the first failed task and starts no more;
    ``stopOnNFailures``: it fails once more than ``maxToleratedFailures`` tasks failed;
    ``silentlyContinue``: failed tasks are reported in the outputs and the stage succeeds."""
    max_tolerated_failures: int = Field(default=0, ge=0)
    """``stopOnNFailures``: failed tasks the stage tolerates."""


class TaskOption(_Spec):
    """How a stage runs its tasks."""

    concurrency: int = Field(default=0, ge=0)
    """Tasks run at once; 0 (the default) runs them all at once. (Symphony runs no task at
    all when this is 0: see README "Coming from Symphony".)"""
    error_action: ErrorAction = ErrorAction()
    """What a failed task does to the stage."""


def object_name(reference: str) -> str:
    """``site-apps:version1`` is the campaign named ``site-apps-v-version1``."""
    root, separator, version = reference.partition(REFERENCE_SEPARATOR)
    return f"{root}{NAME_SEPARATOR}{version}" if separator and version else root


def reference_of(name: str) -> str:
    """``site-apps-v-version1`` is referred to as ``site-apps:version1``."""
    root, separator, version = name.rpartition(NAME_SEPARATOR)
    return f"{root}{REFERENCE_SEPARATOR}{version}" if separator and root else name


def check_schedule(value: Any) -> str:
    """An RFC 3339 time with a zone offset (``2026-10-23T21:40:00-08:00``); Symphony's older
    ``{date: "2023-10-20", time: "5:58:00PM", zone: "America/Los_Angeles"}`` is turned into one."""
    if isinstance(value, dict):
        return _legacy_schedule(value)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an RFC 3339 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no zone offset (RFC 3339 needs Z or +hh:mm)")
    return value


def schedule_time(value: str) -> float:
    """Seconds since the epoch of an RFC 3339 time."""
    return datetime.fromisoformat(value).timestamp()


def _legacy_schedule(value: dict[str, Any]) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    unknown = set(value) - {"date", "time", "zone"}
    if unknown or "date" not in value:
        raise ValueError("a schedule map has date, time and zone (or write an RFC 3339 time)")
    text = f"{value['date']} {str(value.get('time') or '12:00:00AM').replace(' ', '')}"
    try:
        moment = datetime.strptime(text, "%Y-%m-%d %I:%M:%S%p")
    except ValueError:
        raise ValueError(f"{text!r} is not a date and a time like 2023-10-20 5:58:00PM") from None
    try:
        zone = ZoneInfo(str(value.get("zone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value.get('zone')!r} is not a time zone") from None
    return moment.replace(tzinfo=zone).isoformat()
