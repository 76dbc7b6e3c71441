"""The campaign: a versioned workflow definition of named stages.

These models hold a document's ``spec`` as written (camelCase in YAML/JSON, snake_case in
Python). Structure is checked here; expressions and providers are checked when the engine
compiles a campaign (``partita.engine.compile``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from partita.model.durations import format_duration, parse_duration
from partita.model.symphony import Task, TaskOption, check_schedule

PARTITA_API = "partita/v1"
SYMPHONY_API = "workflow.symphony/v1"
DEFAULT_MAX_STAGE_RUNS = 1000

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
"""A duration field: accepts ``30s``, ``1h30m`` or seconds; serializes as ``30s``."""


class Spec(BaseModel):
    """Base of document models: frozen, camelCase aliases, unknown fields refused."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True
    )


class RetryPolicy(Spec):
    """How a failed stage run is tried again. Symphony's ``maxRetries``/``interval`` map onto it."""

    initial_interval: Duration = timedelta(seconds=1)
    """Delay before the first retry."""
    backoff_coefficient: float = Field(default=2.0, ge=1.0)
    """Each further delay is the previous one times this."""
    maximum_interval: Duration | None = None
    """Cap on the delay; default 100 times ``initialInterval``."""
    maximum_attempts: int = Field(default=0, ge=0)
    """Attempts in all, the first included; 0 means unlimited."""
    non_retryable_errors: tuple[str, ...] = ()
    """Error types that fail the stage at once."""

    @model_validator(mode="before")
    @classmethod
    def _symphony_spelling(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("maxRetries" in data or "interval" in data):
            data = dict(data)
            retries = data.pop("maxRetries", 0)
            if not isinstance(retries, int) or retries < 0:
                raise ValueError("maxRetries must be a whole number >= 0")
            data["maximumAttempts"] = retries + 1
            interval = data.pop("interval", None)
            if interval:
                data["initialInterval"] = interval
                data["backoffCoefficient"] = 1.0
            else:
                data.setdefault("initialInterval", "2s")
                data.setdefault("maximumInterval", "30s")
        return data


class StageTimeouts(Spec):
    """Deadlines of one attempt of a ``worker`` stage; an expired one fails the attempt."""

    schedule_to_start: Duration | None = None
    """From the task being queued to a worker taking it."""
    start_to_close: Duration | None = None
    """From a worker taking the task to its completion."""
    heartbeat: Duration | None = None
    """Longest silence between a worker's heartbeats while it holds the task."""


class QueuePolicy(Spec):
    """``worker`` stages: how their stage tasks share their task queue (queue governance)."""

    key: str = ""
    """An expression over the inputs (e.g. ``${{ inputs.env }}``) naming the task's key;
    default: the campaign's name. Tasks with the same key share one concurrency limit, and
    keys share the queue fairly, by weight."""
    concurrency: int | None = Field(default=None, ge=1)
    """At most this many tasks of one key are held by workers at once (unset: no limit)."""
    priority: int = Field(default=3, ge=1, le=5)
    """1 (highest) to 5 (lowest): while several keys wait, a key whose next task has
    priority p gets a share of the polls in proportion to 6 - p."""


class Defaults(Spec):
    """Values a stage takes when it does not set its own."""

    retry: RetryPolicy | None = None
    timeouts: StageTimeouts | None = None


class StageSpec(Spec):
    """One stage: what runs it, with what, and what comes next."""

    name: str | None = None
    """Symphony repeats the map key here; when given it must equal the key."""
    provider: str = ""
    """The provider that runs the stage (``mock``, ``delay``, ``providers.stage.mock``, ...);
    required unless the stage has ``tasks``."""
    config: dict[str, Any] = {}
    """Provider settings; strings may hold expressions."""
    inputs: dict[str, Any] | None = None
    """The stage's inputs; strings may hold expressions. Unset: the activation's inputs."""
    stage_selector: str | None = None
    """Expression or literal naming the next stage; empty: the campaign is finished."""
    handle_errors: bool = False
    """When this stage fails, its selector still runs and the activation goes on."""
    retry: RetryPolicy | None = None
    """Retry policy for this stage's runs. Unset: the campaign's default; without one, a
    ``worker`` stage retries without limit (Temporal's default) and built-ins try once."""
    task_queue: str | None = None
    """``worker`` stages: the task queue their stage tasks go to."""
    task_type: str | None = None
    """``worker`` stages: which handler a worker runs (default: the stage name)."""
    timeouts: StageTimeouts | None = None
    """``worker`` stages: deadlines of each attempt."""
    queue: QueuePolicy | None = None
    """``worker`` stages: concurrency limit by key, fair share and priority on the queue."""
    contexts: Any = None
    """Fan-out (map-reduce): an expression (or a list) giving the items; the stage runs once
    per item, in parallel, the item in ``context``; its outputs are the items' outputs in
    item order."""
    max_concurrency: int | None = Field(default=None, ge=1)
    """Fan-out and parallel stages: at most this many items or branches run at once."""
    context_failure: Literal["failFast", "collect"] = "failFast"
    """Fan-out and parallel stages: ``failFast`` cancels the rest when one fails and fails the
    stage; ``collect`` runs them all and reports each failure in its place in the outputs."""
    branches: list[str] | None = None
    """``provider: parallel``: the stages to run at once; the stage's outputs map each
    branch to its outputs, and its selector runs when all have finished."""
    compensate: str | None = None
    """Saga: the stage that undoes this one, run if the activation later fails or is
    cancelled (compensations run in the reverse order of completion)."""
    schedule: Annotated[str, BeforeValidator(check_schedule)] | None = None
    """An RFC 3339 time: the stage waits (durably) until then before it runs."""
    tasks: tuple[Task, ...] | None = None
    """Symphony: tasks run inside the stage, in parallel, after its provider (if any)."""
    task_option: TaskOption | None = None
    """Symphony: how ``tasks`` run (``concurrency``, ``errorAction``)."""
    target: str | None = None
    """Symphony: given to the stage as its ``__target`` input."""
    triggering_stage: str | None = None
    """Symphony's Kubernetes type has it; informational."""
    site: str | None = None
    """Federation: on a hub, the site that runs this stage (an expression allowed, e.g.
    ``${{ context }}``); empty or this plane's own site id runs it here."""


class CampaignSpec(Spec):
    """A campaign version's definition."""

    first_stage: str = ""
    """The stage an activation starts with unless it names another."""
    self_driving: bool = True
    """False: stepped mode, PAUSED after every stage until advanced."""
    allow_parallel: bool = True
    """False: starting a second activation while one runs is refused."""
    timeout: Duration | None = None
    """An activation still open after this long ends TIMED_OUT."""
    retention: Duration | None = None
    """How long terminal activations are kept; default the plane's setting (24h)."""
    max_stage_runs: int = Field(default=DEFAULT_MAX_STAGE_RUNS, ge=1)
    """Stage runs one activation may start; more means a selector loop, and it fails."""
    defaults: Defaults = Defaults()
    """Defaults for every stage."""
    stages: dict[str, StageSpec]
    """The stages by name."""
    version: str | None = None
    """Symphony's version label; informational."""
    root_resource: str | None = None
    """Symphony's container name; informational."""

    def dump(self) -> dict[str, Any]:
        """The spec in its document (camelCase) shape, without unset defaults."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


class Campaign(BaseModel):
    """A stored campaign version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str
    name: str
    version: int
    """1-based; a version never changes once created."""
    api_version: str
    """Document dialect: ``partita/v1`` (CEL) or ``workflow.symphony/v1``."""
    spec: CampaignSpec
    digest: str
    """sha256 of the canonical spec JSON."""
    create_time: float
    """Seconds since the epoch."""
