"""What a fire does, as pure decisions: overlap policies, buffered fires and the catch-up window.

A schedule is *busy* while an activation it started is open or a fire of it waits in its
buffer: a new fire then follows the schedule's overlap policy. Buffered fires start in
nominal order, each once nothing the schedule started is open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from partita.model.schedule import OverlapPolicy


@dataclass(frozen=True)
class FirePlan:
    """What to do for one fire."""

    nominal: float
    """The fire's nominal time."""
    start: bool = False
    """Start this fire's activation now."""
    buffered: tuple[float, ...] = ()
    """The schedule's buffered fires afterwards, in nominal order."""
    cancel: tuple[str, ...] = ()
    """Open activations to cancel first."""
    terminate: tuple[str, ...] = ()
    """Open activations to terminate first."""
    skipped: tuple[float, ...] = ()
    """Fires given up: this one, or buffered ones it replaces."""

    @property
    def taken(self) -> bool:
        """This fire starts an activation, now or once the others have closed."""
        return self.start or self.nominal in self.buffered


def plan_fire(
    policy: OverlapPolicy,
    nominal: float,
    running: Sequence[str],
    buffered: Sequence[float],
) -> FirePlan:
    """The plan for a fire at ``nominal`` while ``running`` activations are open and
    ``buffered`` fires wait."""
    waiting = tuple(buffered)
    busy = bool(running) or bool(waiting)
    if not busy or policy is OverlapPolicy.ALLOW_ALL:
        return FirePlan(nominal, start=True, buffered=waiting)
    if policy is OverlapPolicy.SKIP:
        return FirePlan(nominal, buffered=waiting, skipped=(nominal,))
    if policy is OverlapPolicy.BUFFER_ONE:
        if waiting:
            return FirePlan(nominal, buffered=waiting, skipped=(nominal,))
        return FirePlan(nominal, buffered=(nominal,))
    if policy is OverlapPolicy.BUFFER_ALL:
        return FirePlan(nominal, buffered=tuple(sorted({*waiting, nominal})))
    if policy is OverlapPolicy.CANCEL_OTHER:
        # The newest fire wins: it replaces whatever waited, and starts once the cancelled
        # activations have closed.
        return FirePlan(nominal, buffered=(nominal,), cancel=tuple(running), skipped=waiting)
    if policy is OverlapPolicy.TERMINATE_OTHER:
        return FirePlan(nominal, start=True, terminate=tuple(running), skipped=waiting)
    raise AssertionError(f"unknown overlap policy {policy!r}")


def next_buffered(running: Sequence[str], buffered: Sequence[float]) -> float | None:
    """The buffered fire to start now: the oldest, once nothing the schedule started is open."""
    if running or not buffered:
        return None
    return buffered[0]


def missed(actual: float, now: float, catchup_window: float) -> bool:
    """A fire due at ``actual`` is given up when ``now`` is more than the window past it."""
    return now - actual > catchup_window
