"""``partita watch`` over a big fan-out: counts of its items instead of a line per event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from partita.cli import views
from partita.v1 import common_pb2

COUNTED_ABOVE = 20
"""A fan-out with more items than this (a rollout over many sites) is shown as counts."""
STEPS = 20
"""How many progress lines such a fan-out prints, at most, besides its failed items."""
FAILURES_SHOWN = 20
"""Failed items printed one by one; after these, failures are only counted."""


@dataclass
class _Fanout:
    stage: str
    total: int
    completed: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def closed(self) -> int:
        return self.completed + self.failed

    def counts(self) -> str:
        return (
            f"{self.closed}/{self.total} items closed "
            f"({self.completed} completed, {self.failed} failed)"
        )


class Progress:
    """Turns watched events into lines; None for an event folded into a count."""

    def __init__(self) -> None:
        self._fanouts: dict[str, _Fanout] = {}

    def line(self, event: Any) -> str | None:
        kind = event.type
        data = views.struct(event.data)
        run_id = str(data.get("runId", ""))
        items = data.get("items")
        if (
            kind == common_pb2.EVENT_TYPE_STAGE_STARTED
            and isinstance(items, list)
            and len(items) > COUNTED_ABOVE
        ):
            self._fanouts[run_id] = _Fanout(event.stage, len(items))
            return (
                f"▶ stage {event.stage} started over {len(items)} items (run {run_id}); "
                "progress in counts"
            )
        own = self._fanouts.get(run_id)
        if own is not None and kind in (
            common_pb2.EVENT_TYPE_STAGE_COMPLETED,
            common_pb2.EVENT_TYPE_STAGE_FAILED,
        ):
            mark = "✔" if kind == common_pb2.EVENT_TYPE_STAGE_COMPLETED else "✘"
            ended = "completed" if mark == "✔" else "failed"
            return f"{mark} stage {own.stage} {ended}: {own.counts()}"
        parent = self._fanouts.get(run_id.rsplit(".", 1)[0]) if "." in run_id else None
        if parent is None:
            return views.event_line(event)
        if kind == common_pb2.EVENT_TYPE_STAGE_COMPLETED:
            parent.completed += 1
        elif kind == common_pb2.EVENT_TYPE_STAGE_FAILED:
            parent.failed += 1
            if len(parent.failures) < FAILURES_SHOWN:
                parent.failures.append(run_id)
                failure = data.get("failure") or {}
                message = failure.get("message", "") if isinstance(failure, dict) else failure
                return f"✘ item {run_id} of stage {parent.stage} failed: {message}"
        else:
            return None
        step = max(1, parent.total // STEPS)
        if parent.closed % step == 0 or parent.closed == parent.total:
            return f"… stage {parent.stage}: {parent.counts()}"
        return None
