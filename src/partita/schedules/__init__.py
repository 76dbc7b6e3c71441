"""Schedules as pure functions: fire times, jitter, overlap and catch-up decisions.

No clock and no I/O: the time comes in as an argument. ``partita.runtime.scheduler`` drives
these decisions against the store and the plane.
"""

from partita.schedules.overlap import FirePlan, missed, next_buffered, plan_fire
from partita.schedules.times import (
    FireTimes,
    activation_id_for,
    compile_definition,
    jitter_of,
    stamp,
)

__all__ = [
    "FirePlan",
    "FireTimes",
    "activation_id_for",
    "compile_definition",
    "jitter_of",
    "missed",
    "next_buffered",
    "plan_fire",
    "stamp",
]
