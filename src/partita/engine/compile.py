"""Compiling a campaign version: every expression parsed once, every reference checked."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from partita.engine import approval, symphony
from partita.errors import FieldViolation, InvalidInputError
from partita.expr import ExpressionError, Template, evaluator_for
from partita.model.campaign import (
    SYMPHONY_API,
    CampaignSpec,
    RetryPolicy,
    StageSpec,
    StageTimeouts,
)
from partita.model.durations import parse_duration

SYMPHONY_PREFIX = "providers.stage."
DURABLE_PROVIDERS = frozenset(
    {"delay", "wait", "worker", "parallel", "campaign", "continue", approval.PROVIDER}
)
"""Providers the engine runs itself: durable timers, signals, and stage tasks on task queues."""
SINGLE_ATTEMPT = RetryPolicy(maximum_attempts=1)


def provider_name(name: str) -> str:
    """Symphony's ``providers.stage.mock`` is our ``mock``."""
    return name.removeprefix(SYMPHONY_PREFIX)


@dataclass(frozen=True)
class CompiledStage:
    name: str
    spec: StageSpec
    provider: str
    inputs: Template | None
    config: Template
    selector: Template | None
    retry: RetryPolicy
    timeouts: StageTimeouts
    contexts: Template | None = None
    """Fan-out: the expression giving the items; None for a plain stage."""
    tasks: Template | None = None
    """Symphony: the stage's parallel tasks (a list of task maps); None without tasks."""
    site: Template | None = None
    """Federation: the expression giving the site that runs the stage; None: this plane."""
    queue_key: Template | None = None
    """Queue governance: the expression giving a ``worker`` task's key; None: no ``queue``."""

    @property
    def fans_out(self) -> bool:
        """True when the stage runs as several stage runs: contexts, or parallel branches."""
        return self.contexts is not None or self.provider == "parallel"


@dataclass(frozen=True)
class CompiledCampaign:
    """A campaign version ready to run: what the engine reads while deciding."""

    name: str
    version: int
    api_version: str
    spec: CampaignSpec
    stages: dict[str, CompiledStage]

    @property
    def symphony(self) -> bool:
        """True for a ``workflow.symphony/v1`` campaign (Symphony's semantics)."""
        return self.api_version == SYMPHONY_API


def compile_campaign(
    name: str, version: int, api_version: str, spec: CampaignSpec, providers: Iterable[str]
) -> CompiledCampaign:
    """Compile ``spec``; InvalidInputError names the stage and field of every problem."""
    known = set(providers) | DURABLE_PROVIDERS
    is_symphony = api_version == SYMPHONY_API
    evaluator = evaluator_for(api_version)
    violations: list[FieldViolation] = []
    stages: dict[str, CompiledStage] = {}
    default_timeouts = spec.defaults.timeouts or StageTimeouts()

    def template(value: Any, where: str) -> Template | None:
        try:
            # Errors name the field; selectors and contexts are named where they are used.
            field = where.rsplit(".", 1)[1] if is_symphony else ""
            if field in ("stageSelector", "contexts"):
                field = ""
            return Template.compile(value, evaluator, field)
        except ExpressionError as exc:
            violations.append(FieldViolation(where, f"invalid expression: {exc}"))
            return None

    for key, stage in spec.stages.items():
        where = f"spec.stages.{key}"
        if is_symphony:
            provider = (
                symphony.TASKS_PROVIDER if stage.tasks else symphony.provider_for(stage.provider)
            )
        else:
            provider = provider_name(stage.provider)
        violations.extend(_check_symphony(stage, is_symphony, where))
        if not stage.provider and not stage.tasks:
            violations.append(FieldViolation(f"{where}.provider", "is required"))
        elif is_symphony and provider not in symphony.PROVIDERS.values() and not stage.tasks:
            names = ", ".join(f"providers.stage.{p}" for p in sorted(symphony.PROVIDERS))
            violations.append(
                FieldViolation(
                    f"{where}.provider", f"unknown provider {stage.provider!r} (known: {names})"
                )
            )
        elif provider not in known or (not is_symphony and provider.startswith("symphony.")):
            ours = sorted(p for p in known if not p.startswith("symphony."))
            violations.append(
                FieldViolation(
                    f"{where}.provider",
                    f"unknown provider {stage.provider!r} (known: {', '.join(ours)})",
                )
            )
        inputs = None if stage.inputs is None else template(stage.inputs, f"{where}.inputs")
        config = template(stage.config, f"{where}.config")
        selector = None
        if stage.stage_selector:
            selector = template(stage.stage_selector, f"{where}.stageSelector")
            if selector and selector.is_static and stage.stage_selector not in spec.stages:
                violations.append(
                    FieldViolation(
                        f"{where}.stageSelector", f"{stage.stage_selector!r} names no stage"
                    )
                )
        if not is_symphony:
            violations.extend(_check_config(provider, stage.config, where))
        tasks = None
        if stage.tasks:
            tasks = template(
                [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in stage.tasks],
                f"{where}.tasks",
            )
        contexts = None
        if stage.contexts is not None:
            contexts = template(stage.contexts, f"{where}.contexts")
        site = None
        if stage.site is not None:
            site = template(stage.site, f"{where}.site")
            if provider == "parallel":
                violations.append(
                    FieldViolation(f"{where}.site", "a parallel stage cannot run on a site")
                )
        queue_key = None
        if stage.queue is not None:
            queue_key = template(stage.queue.key or name, f"{where}.queue.key")
            if provider != "worker":
                violations.append(
                    FieldViolation(f"{where}.queue", "only worker stages have a queue policy")
                )
        violations.extend(_check_shape(key, stage, provider, spec, where))
        if provider == "worker" and not stage.task_queue:
            violations.append(
                FieldViolation(f"{where}.taskQueue", "is required by the worker provider")
            )
        retry = stage.retry or spec.defaults.retry
        if retry is None:
            retry = RetryPolicy() if provider == "worker" else SINGLE_ATTEMPT
        if config is not None:
            stages[key] = CompiledStage(
                key,
                stage,
                provider,
                inputs,
                config,
                selector,
                retry,
                stage.timeouts or default_timeouts,
                contexts,
                tasks,
                site,
                queue_key,
            )
    if violations:
        raise InvalidInputError(violations)
    return CompiledCampaign(name, version, api_version, spec, stages)


def _check_shape(
    key: str, stage: StageSpec, provider: str, spec: CampaignSpec, where: str
) -> list[FieldViolation]:
    """Fan-out, parallel branches and compensation refer to stages that can take that role."""
    out = []
    if provider == "parallel":
        if not stage.branches:
            out.append(FieldViolation(f"{where}.branches", "a parallel stage needs branches"))
        if stage.contexts is not None:
            out.append(FieldViolation(f"{where}.contexts", "a parallel stage cannot fan out"))
        for i, branch in enumerate(stage.branches or []):
            target = spec.stages.get(branch)
            if target is None:
                out.append(FieldViolation(f"{where}.branches[{i}]", f"{branch!r} names no stage"))
            elif branch == key:
                out.append(
                    FieldViolation(f"{where}.branches[{i}]", "a stage cannot be its own branch")
                )
            elif target.contexts is not None or provider_name(target.provider) == "parallel":
                out.append(
                    FieldViolation(
                        f"{where}.branches[{i}]", f"branch {branch!r} cannot fan out itself"
                    )
                )
    elif stage.branches is not None:
        out.append(
            FieldViolation(f"{where}.branches", "only a `provider: parallel` stage has branches")
        )
    if stage.compensate is not None and stage.compensate not in spec.stages:
        out.append(FieldViolation(f"{where}.compensate", f"{stage.compensate!r} names no stage"))
    return out


def _check_symphony(stage: StageSpec, is_symphony: bool, where: str) -> list[FieldViolation]:
    """Symphony's own fields: tasks with known providers, and only in Symphony documents."""
    out = []
    if stage.tasks is not None and not is_symphony:
        out.append(
            FieldViolation(f"{where}.tasks", "tasks belong to workflow.symphony/v1 documents")
        )
    for i, task in enumerate(stage.tasks or ()):
        provider = symphony.provider_for(task.provider)
        if provider == "symphony.remote":
            out.append(FieldViolation(f"{where}.tasks[{i}].provider", "a task cannot be remote"))
        elif provider not in symphony.TASK_PROVIDERS:
            out.append(
                FieldViolation(
                    f"{where}.tasks[{i}].provider",
                    f"unknown task provider {task.provider!r} (known: "
                    f"{', '.join('providers.stage.' + p for p in sorted(symphony.TASK_NAMES))})",
                )
            )
    return out


def _check_config(provider: str, config: dict[str, Any], where: str) -> list[FieldViolation]:
    out = []
    for key in ("duration", "timeout"):
        value = config.get(key)
        if value is None or (isinstance(value, str) and "${{" in value):
            continue
        if provider in DURABLE_PROVIDERS:
            try:
                parse_duration(value)
            except ValueError as exc:
                out.append(FieldViolation(f"{where}.config.{key}", str(exc)))
    if provider == "delay" and "duration" not in config:
        out.append(FieldViolation(f"{where}.config.duration", "is required by the delay provider"))
    if provider == "campaign" and not config.get("campaign"):
        out.append(
            FieldViolation(f"{where}.config.campaign", "is required by the campaign provider")
        )
    if provider == "wait" and not config.get("event"):
        out.append(FieldViolation(f"{where}.config.event", "is required by the wait provider"))
    if provider == approval.PROVIDER:
        out.extend(approval.check_config(config, where))
    return out
