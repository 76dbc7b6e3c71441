"""Fan-out: a stage that runs as several stage runs at once, then continues as one.

Two shapes share this: ``contexts`` (map-reduce: the same stage once per item, the item in
``context``) and ``provider: parallel`` (fork-join: each of ``branches`` at once). The
fan-out's own stage run holds the items; each item is a stage run of its own, with its own
attempts and retries, whose run id is ``<fan-out run id>.<index>``. When every item has
closed, the fan-out's run completes with the items' outputs (a list in item order, or a map
by branch) and its selector runs; with ``failFast`` the first failed item cancels the rest
and fails the fan-out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partita.engine import remote, symphony
from partita.engine.compile import CompiledStage
from partita.engine.events import EventType
from partita.engine.fold import failure_view
from partita.engine.state import RunStatus, StageRun
from partita.expr import ExpressionError

if TYPE_CHECKING:
    from partita.engine.machine import _Step


def start(step: _Step, stage: CompiledStage, run_id: str, previous: str) -> None:
    """Start the fan-out's own run and its first items (up to ``maxConcurrency``)."""
    parallel = stage.provider == "parallel"
    error = None
    items: Any
    if parallel:
        items = list(stage.spec.branches or [])
    else:
        assert stage.contexts is not None
        try:
            items = stage.contexts.render(step.env(step.state.outputs))
        except ExpressionError as exc:
            items, error = [], f"contexts: {exc}"
        if items is None:
            items = []
        elif not isinstance(items, list):
            items = [items] if isinstance(items, str | int | float | bool) else []
            if not items:
                error = "contexts must give a list"
    step.emit(
        EventType.STAGE_STARTED,
        stage.name,
        runId=run_id,
        attempt=1,
        provider="parallel" if parallel else "fanout",
        config={},
        inputs=None,
        previousStage=previous,
        items=items,
        maxConcurrency=stage.spec.max_concurrency,
    )
    run = step.state.run(run_id)
    assert run is not None
    if error is not None:
        step.attempt_failed(run, {"type": "InvalidStage", "message": error, "nonRetryable": True})
        return
    _fill(step, stage, run)
    _maybe_done(step, run_id)


def item_closed(step: _Step, item: StageRun) -> None:
    """An item finished: fail fast, start the next item, or complete the fan-out."""
    item = _current(step, item)
    parent = step.state.run(item.parent)
    if parent is None or not parent.open:
        return
    stage = step.campaign.stages[parent.stage]
    # Symphony lets every context finish, then fails the stage if one failed.
    fail_fast = stage.spec.context_failure == "failFast" and not step.campaign.symphony
    if item.status is RunStatus.FAILED and fail_fast:
        index = item.run_id.rsplit(".", 1)[1]
        for other in _items(step, parent):
            if other.open:
                step.emit(
                    EventType.STAGE_FAILED,
                    other.stage,
                    runId=other.run_id,
                    attempt=other.attempt,
                    failure={"type": "Cancelled", "message": f"item {index} failed first"},
                )
                step.cancel_run(other)
        error = item.error or {}
        message = f"item {index} ({_label(item)}) failed: {error.get('message', '')}"
        step.attempt_failed(
            _current(step, parent), {**error, "message": message, "nonRetryable": True}
        )
        return
    _fill(step, stage, _current(step, parent))
    _maybe_done(step, parent.run_id)


def _fill(step: _Step, stage: CompiledStage, parent: StageRun) -> None:
    """Start items until ``maxConcurrency`` run at once or none is left."""
    items = parent.items or []
    limit = stage.spec.max_concurrency or len(items)
    while True:
        parent = _current(step, parent)
        if not parent.open:
            return
        # Counted again each time: an item that fails as it starts fills the fan-out itself.
        index, running = _counts(step, parent)
        if index >= len(items) or running >= limit:
            return
        if parent.provider == "parallel":
            target, context = step.campaign.stages[items[index]], None
        else:
            target, context = stage, items[index]
        step.begin_attempt(
            target,
            f"{parent.run_id}.{index}",
            1,
            parent.previous_stage,
            context=context,
            parent=parent.run_id,
        )


def _counts(step: _Step, parent: StageRun) -> tuple[int, int]:
    """(items started, items open) of a fan-out: kept on its run, or counted from the runs
    for a state stored before they were kept."""
    parent = _current(step, parent)
    if parent.items_started is not None and parent.items_open is not None:
        return parent.items_started, parent.items_open
    started = _items(step, parent)
    return len(started), sum(1 for r in started if r.open)


def _maybe_done(step: _Step, run_id: str) -> None:
    parent = step.state.run(run_id)
    if parent is None or not parent.open:
        return
    count, running = _counts(step, parent)
    if count < len(parent.items or []) or running:
        return
    started = _items(step, parent)
    if step.campaign.symphony and parent.provider != "parallel":
        aggregated, failed = symphony.aggregate(step, started)
        if failed:
            message = f"{len(failed)} of {len(started)} contexts failed: {'; '.join(failed)}"
            error = {
                "type": "ContextFailed",
                "message": message,
                "details": {"outputs": aggregated},
                "nonRetryable": True,
            }
            step.attempt_failed(parent, error)
        else:
            step.run_completed(parent, aggregated)
        return
    results = [
        r.outputs if r.status is RunStatus.COMPLETED else failure_view(r.error or {})
        for r in started
    ]
    outputs: Any = remote.keyed_by_site(step, parent, started, results)
    if parent.provider == "parallel":
        outputs = {r.stage: result for r, result in zip(started, results, strict=True)}
    step.run_completed(parent, outputs)


def _items(step: _Step, parent: StageRun) -> list[StageRun]:
    """The items started so far, in item order (item ``i`` has run id ``<parent>.<i>``)."""
    found = []
    for index in range(len(parent.items or [])):
        item = step.state.run(f"{parent.run_id}.{index}")
        if item is None:
            break
        found.append(item)
    return found


def _current(step: _Step, run: StageRun) -> StageRun:
    found = step.state.run(run.run_id)
    assert found is not None
    return found


def _label(item: StageRun) -> str:
    return item.stage if item.context is None else repr(item.context)
