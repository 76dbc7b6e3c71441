"""Schedules: when a schedule fires, what it starts, and how it handles overlaps and downtime.

Times are seconds since the Unix epoch and durations are seconds, both as floats. Field names
are the API's (``spec.cron_expressions``), so that a violation names the request's field. The
structure is checked by :func:`check_definition`; cron expressions and time zones by
``partita.schedules.FireTimes``.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from partita.errors import FieldViolation, InvalidInputError
from partita.model.documents import NAME_LIMIT, check_name

DEFAULT_CATCHUP_SECONDS = 60.0
"""Catch-up window of a schedule that sets none."""
RECENT_ACTIONS = 10
"""Most recent actions a schedule shows."""
NEXT_FIRES = 10
"""Most upcoming fire times a schedule shows."""
ID_SUFFIX = len("-2025-01-02T03:00:00Z")
"""Length of what a fire adds to the schedule id to name its activation."""


class OverlapPolicy(StrEnum):
    """What a fire does while an activation the schedule started is still open."""

    SKIP = "SKIP"
    BUFFER_ONE = "BUFFER_ONE"
    BUFFER_ALL = "BUFFER_ALL"
    CANCEL_OTHER = "CANCEL_OTHER"
    TERMINATE_OTHER = "TERMINATE_OTHER"
    ALLOW_ALL = "ALLOW_ALL"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScheduleSpec(_Frozen):
    """When a schedule fires: every cron expression's times and the interval's, in
    ``[start_time, end_time]``."""

    cron_expressions: tuple[str, ...] = ()
    """5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first)."""
    time_zone: str = ""
    """IANA time zone the cron expressions are read in; empty means UTC."""
    interval: float | None = None
    """Fires at every whole multiple of this many seconds since the epoch, plus ``offset``."""
    offset: float = 0.0
    """Shifts the interval's fires; less than ``interval``."""
    jitter: float = 0.0
    """Each action waits a deterministic amount in ``[0, jitter)`` after its nominal time."""
    start_time: float | None = None
    """No fire before this time."""
    end_time: float | None = None
    """No fire after this time."""
    remaining_actions: int = 0
    """Scheduled actions left before the schedule pauses itself; 0 means unlimited."""


class ScheduleAction(_Frozen):
    """What a fire starts: an activation of a campaign in the schedule's namespace."""

    campaign: str
    version: int = 0
    """0: the latest version at each fire."""
    inputs: dict[str, Any] = {}


class SchedulePolicies(_Frozen):
    overlap: OverlapPolicy = OverlapPolicy.SKIP
    """What a fire does while an activation the schedule started is open."""
    catchup_window: float = DEFAULT_CATCHUP_SECONDS
    """Fires missed (the plane was down) by at most this long are still taken."""


class ScheduleDefinition(_Frozen):
    """What a user sets: the spec, the action and the policies."""

    spec: ScheduleSpec
    action: ScheduleAction
    policies: SchedulePolicies = SchedulePolicies()


class ScheduleActionResult(_Frozen):
    """One action a schedule took."""

    nominal_time: float
    """The fire time it is for (the activation id derives from it)."""
    actual_time: float
    """When the activation started."""
    activation_id: str
    status: str = ""
    """The activation's status as last read; empty when it is gone (retention)."""


class ScheduleInfo(_Frozen):
    """What a schedule has done and will do."""

    next_fire_times: tuple[float, ...] = ()
    """Nominal times of the next fires (empty while paused)."""
    recent_actions: tuple[ScheduleActionResult, ...] = ()
    """The most recent actions, oldest first."""
    running_activation_ids: tuple[str, ...] = ()
    """Activations the schedule started that are still open."""
    buffered_fire_times: tuple[float, ...] = ()
    """Fires waiting for the running activations to close (overlap policy BUFFER_*)."""
    action_count: int = 0
    """Actions taken in all, triggered ones included."""
    missed_catchup_window: int = 0
    """Fires skipped because they were missed by more than the catch-up window."""


class Schedule(_Frozen):
    """A schedule as the API shows it."""

    namespace: str
    schedule_id: str
    definition: ScheduleDefinition
    paused: bool = False
    note: str = ""
    info: ScheduleInfo = ScheduleInfo()
    create_time: float = 0.0
    update_time: float = 0.0


def check_schedule_id(field: str, schedule_id: object) -> str:
    """A schedule id: a resource name short enough to prefix its activations' ids."""
    check_name(field, schedule_id)
    assert isinstance(schedule_id, str)
    if len(schedule_id) > NAME_LIMIT - ID_SUFFIX:
        raise InvalidInputError.field(
            field, f"must be at most {NAME_LIMIT - ID_SUFFIX} characters (activation ids add 21)"
        )
    return schedule_id


def check_definition(definition: ScheduleDefinition, where: str = "schedule") -> None:
    """Raise InvalidInputError naming every structurally bad field of a definition."""
    spec, action, policies = definition.spec, definition.action, definition.policies
    found: list[FieldViolation] = []

    def bad(field: str, description: str) -> None:
        found.append(FieldViolation(f"{where}.{field}", description))

    if not spec.cron_expressions and spec.interval is None:
        bad("spec", "needs a cron expression or an interval")
    if spec.interval is not None:
        if not _whole(spec.interval) or spec.interval < 1:
            bad("spec.interval", "must be a whole number of seconds, at least 1s")
        elif not _whole(spec.offset) or not 0 <= spec.offset < spec.interval:
            bad("spec.offset", "must be a whole number of seconds, at least 0 and under interval")
    elif spec.offset:
        bad("spec.offset", "needs an interval")
    if not math.isfinite(spec.jitter) or spec.jitter < 0:
        bad("spec.jitter", "must not be negative")
    for name in ("start_time", "end_time"):
        value = getattr(spec, name)
        if value is not None and not math.isfinite(value):
            bad(f"spec.{name}", "must be a finite time")
    if (
        spec.start_time is not None
        and spec.end_time is not None
        and spec.end_time < spec.start_time
    ):
        bad("spec.end_time", "is before start_time")
    if spec.remaining_actions < 0:
        bad("spec.remaining_actions", "must not be negative")
    try:
        check_name(f"{where}.action.campaign", action.campaign)
    except InvalidInputError as exc:
        found.extend(exc.violations)
    if action.version < 0:
        bad("action.version", "must not be negative")
    if not math.isfinite(policies.catchup_window) or policies.catchup_window < 0:
        bad("policies.catchup_window", "must not be negative")
    if found:
        raise InvalidInputError(found)


def _whole(value: float) -> bool:
    return math.isfinite(value) and float(value).is_integer()
