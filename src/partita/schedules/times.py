"""Fire times of a schedule spec: pure functions of the spec and a time given to them.

Nominal fire times are whole seconds since the epoch. Cron expressions are read by
``cronsim`` in the spec's time zone and follow Debian cron across daylight-saving changes: a
time that a spring-forward skips fires right after the change, a fixed time that a fall-back
repeats fires once, and an expression with a wildcard hour fires in both repeated hours.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from partita.errors import FieldViolation, InvalidInputError
from partita.model.schedule import ScheduleDefinition, ScheduleSpec, check_definition

MAX_COUNTED = 100_000
"""Most cron fires counted one by one when a long downtime is skipped."""


def compile_definition(definition: ScheduleDefinition, where: str = "schedule") -> FireTimes:
    """Check a whole definition and compile its fire times; InvalidInputError names every bad
    field."""
    found: list[FieldViolation] = []
    times = None
    try:
        check_definition(definition, where)
    except InvalidInputError as exc:
        found.extend(exc.violations)
    try:
        times = FireTimes(definition.spec, f"{where}.spec")
    except InvalidInputError as exc:
        found.extend(exc.violations)
    if found or times is None:
        raise InvalidInputError(found)
    return times


class FireTimes:
    """The nominal fire times of one spec. Raises InvalidInputError naming a bad cron
    expression or time zone (as ``{where}.cron_expressions[i]``, ``{where}.time_zone``)."""

    def __init__(self, spec: ScheduleSpec, where: str = "schedule.spec") -> None:
        self.spec = spec
        found: list[FieldViolation] = []
        self.zone: tzinfo = UTC
        if spec.time_zone:
            try:
                self.zone = ZoneInfo(spec.time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                found.append(
                    FieldViolation(
                        f"{where}.time_zone", f"{spec.time_zone!r} is not an IANA time zone"
                    )
                )
        start = datetime(2000, 1, 1, tzinfo=UTC)
        for i, expression in enumerate(spec.cron_expressions):
            fields = len(expression.split())
            problem = ""
            if fields not in (5, 6):
                problem = f"has {fields} fields; a cron expression has 5, or 6 with seconds first"
            else:
                try:
                    CronSim(expression, start)
                except CronSimError as exc:
                    problem = f"{expression!r}: {exc}".rstrip(".")
            if problem:
                found.append(FieldViolation(f"{where}.cron_expressions[{i}]", problem))
        if found:
            raise InvalidInputError(found)

    def next_after(self, after: float) -> float | None:
        """The first fire time strictly after ``after``, or None when there is none."""
        spec = self.spec
        low = after
        if spec.start_time is not None:
            low = max(low, math.ceil(spec.start_time) - 1)
        candidates = [self._cron_after(expression, low) for expression in spec.cron_expressions]
        if spec.interval is not None:
            candidates.append(_interval_after(low, spec.interval, spec.offset))
        found = min((c for c in candidates if c is not None), default=None)
        if found is None or (spec.end_time is not None and found > spec.end_time):
            return None
        return found

    def upcoming(self, after: float, limit: int) -> list[float]:
        """The next ``limit`` fire times after ``after`` (fewer when the spec ends)."""
        return list(itertools.islice(self.iterate(after), limit))

    def iterate(self, after: float) -> Iterator[float]:
        """Every fire time after ``after``, in order."""
        found = self.next_after(after)
        while found is not None:
            yield found
            found = self.next_after(found)

    def count_between(self, after: float, until: float) -> int:
        """How many fire times lie in ``(after, until]``: exact for an interval alone, else
        counted one by one up to MAX_COUNTED."""
        spec = self.spec
        if until <= after:
            return 0
        if not spec.cron_expressions and spec.interval is not None:
            low = after if spec.start_time is None else max(after, math.ceil(spec.start_time) - 1)
            high = until if spec.end_time is None else min(until, spec.end_time)
            if high <= low:
                return 0
            return _interval_index(high, spec.interval, spec.offset) - _interval_index(
                low, spec.interval, spec.offset
            )
        count = 0
        for fire in self.iterate(after):
            if fire > until or count >= MAX_COUNTED:
                break
            count += 1
        return count

    def _cron_after(self, expression: str, after: float) -> float | None:
        try:
            start = datetime.fromtimestamp(math.floor(after), self.zone)
            for found in CronSim(expression, start):
                # Iterating from inside a repeated (fall-back) hour may yield the hour's first
                # pass, which is earlier in UTC: never go back.
                stamp = found.timestamp()
                if stamp > after:
                    return float(stamp)
        except (OverflowError, ValueError):  # past the year 9999
            return None
        return None


def _interval_index(at: float, interval: float, offset: float) -> int:
    """The number of the last interval fire at or before ``at``."""
    return math.floor((at - offset) / interval)


def _interval_after(after: float, interval: float, offset: float) -> float:
    return (_interval_index(after, interval, offset) + 1) * interval + offset


def jitter_of(key: str, nominal: float, jitter: float) -> float:
    """The delay in ``[0, jitter)`` of one fire: a hash of the schedule and the nominal time,
    so that every plane (and a restarted one) computes the same actual time."""
    if jitter <= 0:
        return 0.0
    digest = hashlib.sha256(f"{key}@{nominal:.0f}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * jitter


def stamp(nominal: float) -> str:
    """A nominal time as RFC 3339 in UTC to the second: ``2025-01-02T03:00:00Z``."""
    return datetime.fromtimestamp(math.floor(nominal), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def activation_id_for(schedule_id: str, nominal: float) -> str:
    """The id of the activation a fire starts: one fire can never start two."""
    return f"{schedule_id}-{stamp(nominal)}"
