"""Symphony's semantics for ``workflow.symphony/v1`` campaigns, as functions over the step.

What differs from a ``partita/v1`` campaign:

- providers go by Symphony's names (``providers.stage.http`` runs ``symphony.http``);
- a stage's inputs are only its own (activation inputs are read with ``$trigger``), plus the
  injected ``__`` inputs (``__campaignversion``, ``__namespace``, ``__activation``,
  ``__activationGeneration``, ``__stage``, ``__previousStage``, ``__site``, ``__target``,
  ``__schedule``, ``__state``, and ``__origin`` on a site a hub dispatched to);
- an output ``status`` other than 200 fails the stage, and a failed stage's outputs keep
  what it reported, with ``status`` (the code) and ``error`` (the message);
- a fan-out's outputs are keyed ``<site>.<key>`` (unprefixed for this plane's own site),
  with ``<site>.status`` for every item, and a failed item fails the stage once every item
  has finished.

Pure, like the rest of the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partita.engine.state import RunStatus, StageRun
from partita.expr.symphony import text
from partita.model.symphony import reference_of

if TYPE_CHECKING:
    from partita.engine.compile import CompiledStage
    from partita.engine.machine import _Step

PROVIDERS = {
    "mock": "symphony.mock",
    "counter": "symphony.counter",
    "delay": "delay",
    "wait": "wait",
    "http": "symphony.http",
    "script": "symphony.script",
    "list": "symphony.list",
    "remote": "symphony.remote",
}
"""Symphony's provider names (without ``providers.stage.``) and what runs them here."""

TASK_NAMES = ("mock", "counter", "delay", "http", "script")
TASK_PROVIDERS = frozenset(PROVIDERS[name] for name in TASK_NAMES)
"""What a task may run: providers that finish by themselves inside the plane."""

TASKS_PROVIDER = "symphony.tasks"
"""Runs a stage that has ``tasks``: its own provider first (if any), then the tasks."""

RAW_CONFIG = ("wait.expression",)
OK_STATUSES = frozenset({200, "200", "OK", 9996, "9996", "Done"})
INTERNAL_ERROR = 500


def provider_for(name: str) -> str:
    """What runs a stage that names ``name`` (``providers.stage.http``); unknown names are
    returned as they are, for the campaign's check to refuse."""
    short = name.removeprefix("providers.stage.")
    return PROVIDERS.get(short, short)


def render(
    step: _Step,
    stage: CompiledStage,
    run_id: str,
    previous: str,
    context: Any,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stage's inputs (with the injected ones) and config for one attempt."""
    state = step.state
    injected = _injected(step, stage, run_id, previous, context)
    raw = stage.spec.inputs or {}
    env: dict[str, Any] = {
        "triggers": state.inputs,
        "inputs": {**raw, **injected},
        "outputs": state.outputs,
        "value": context if context is not None else raw.get("context"),
    }
    rendered = stage.inputs.render(env) if stage.inputs is not None else {}
    if not isinstance(rendered, dict):
        raise ValueError(f"inputs must be a map, not {type(rendered).__name__}")
    inputs = {**rendered, **injected}
    env["inputs"] = inputs
    config = stage.config.render(env)
    for key in RAW_CONFIG:
        # Evaluated by the provider against each answer, not when the stage starts.
        if key in stage.spec.config:
            config = {**config, key: stage.spec.config[key]}
    if stage.provider == "delay" and "duration" not in config:
        config = {**config, "duration": inputs.get("delay", 0)}
    if stage.provider == "wait" and not config.get("event"):
        config = {**config, "event": inputs.get("event") or f"{stage.name}"}
    if stage.tasks is not None:
        tasks = stage.tasks.render(env)
        config = {
            **config,
            "provider": provider_for(stage.spec.provider) if stage.spec.provider else "",
            "tasks": [
                {**task, "provider": provider_for(str(task.get("provider", "")))} for task in tasks
            ],
            "taskOption": (stage.spec.task_option.model_dump(mode="json", by_alias=True))
            if stage.spec.task_option
            else {},
        }
    return inputs, config


def _injected(
    step: _Step, stage: CompiledStage, run_id: str, previous: str, context: Any
) -> dict[str, Any]:
    state = step.state
    injected: dict[str, Any] = {
        "__campaign": state.campaign,
        "__campaignversion": reference_of(state.campaign),
        "__namespace": state.namespace,
        "__activation": state.id,
        "__activationGeneration": str(state.run_number),
        "__stage": stage.name,
        "__previousStage": previous,
        "__site": text(context) if context is not None else step.context.site,
    }
    if stage.spec.target:
        injected["__target"] = stage.spec.target
    if stage.spec.schedule:
        injected["__schedule"] = stage.spec.schedule
    earlier = state.outputs.get(stage.name)
    if isinstance(earlier, dict) and "__state" in earlier:
        injected["__state"] = earlier["__state"]
    origin = state.parent.get("origin") if state.parent else None
    if origin:
        # Federation: a dispatched activation names the hub it came from here.
        injected["__origin"] = origin
    return injected


def status_error(outputs: Any) -> dict[str, Any] | None:
    """Symphony's rule: outputs whose ``status`` is not OK mean the stage failed."""
    if not isinstance(outputs, dict) or "status" not in outputs:
        return None
    status = outputs["status"]
    if isinstance(status, float) and status.is_integer():
        status = int(status)
    if status in OK_STATUSES or (isinstance(status, int) and 200 <= status < 300):
        return None
    message = outputs.get("error") or f"the stage reported status {text(status)}"
    return {
        "type": "StageStatus",
        "message": text(message),
        "details": {"outputs": outputs},
        "nonRetryable": True,
    }


def failure_view(error: dict[str, Any]) -> dict[str, Any]:
    """What a failed stage's ``$output`` reads: what it reported, ``status`` and ``error``."""
    details = error.get("details")
    reported: dict[str, Any] = {}
    if isinstance(details, dict):
        inner = details.get("outputs")
        reported = dict(inner) if isinstance(inner, dict) else dict(details)
    status = reported.get("status")
    if status is None or status_error({"status": status}) is None:  # fine, a failure after
        status = INTERNAL_ERROR
    return {**reported, "status": status, "error": str(error.get("message", ""))}


def aggregate(step: _Step, items: list[StageRun]) -> tuple[dict[str, Any], list[str]]:
    """A fan-out's outputs keyed ``<site>.<key>``, and ``site: error`` of each failed item."""
    outputs: dict[str, Any] = {}
    failed = []
    for item in items:
        site = text(item.context)
        prefix = "" if site == step.context.site else f"{site}."
        if item.status is RunStatus.COMPLETED:
            result = dict(item.outputs) if isinstance(item.outputs, dict) else {}
            result.setdefault("status", 200)
        else:
            result = failure_view(item.error or {})
            failed.append(f"{site}: {result['error']}")
        for key, value in result.items():
            outputs[f"{prefix}{key}"] = value
    return outputs, failed


def delay_outputs() -> dict[str, Any]:
    """Symphony's delay provider reports success this way."""
    return {"status": 200}
