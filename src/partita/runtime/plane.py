"""The plane: the runtime's public face, one method per RPC (``VerbNoun`` -> ``verb_noun``)."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

from partita.engine import (
    ActivationState,
    Advance,
    Cancel,
    CompiledCampaign,
    Event,
    Signal,
    Start,
    Terminate,
    apply,
    approval,
)
from partita.errors import (
    InvalidInputError,
    LimitExceededError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionError,
    UnavailableError,
)
from partita.model.campaign import PARTITA_API, Campaign
from partita.model.documents import check_name, load_documents
from partita.providers import Provider, builtin_providers
from partita.runtime.batches import Batches
from partita.runtime.catalog import Catalog
from partita.runtime.config import PlaneConfig
from partita.runtime.driver import Driver
from partita.runtime.namespaces import Namespaces
from partita.runtime.paging import MAX_PAGE, page_of, token_of
from partita.runtime.payloads import resolve
from partita.runtime.plane_operations import PlaneOperations
from partita.runtime.plane_schedules import PlaneSchedules
from partita.runtime.plane_sites import PlaneSites
from partita.runtime.replicas import Replicas
from partita.runtime.rows import event_of, state_of
from partita.runtime.scheduler import Scheduler
from partita.runtime.secrets import Secrets, load_key
from partita.runtime.sites import SiteInfo, Sites
from partita.runtime.stage_tasks import LeasedTask, StageTasks
from partita.runtime.tasks import QueueInfo, TaskQueues, TaskToken, WorkerInfo
from partita.runtime.tracing import new_traceparent
from partita.store import ActivationFilter, ReplicaRow, ReplicaStore, Store, open_store

log = logging.getLogger("partita.plane")


class PlaneState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True)
class WatchItem:
    """One event of a watched activation, with the activation's state right after it.

    ``activation`` is the watcher's own state, folded further as the watch goes on: use it
    (convert it, copy it) before asking for the next item. A copy per event cost about 6 %
    of the plane's time under W1."""

    event: Event
    activation: ActivationState


class Plane(PlaneOperations, PlaneSchedules, PlaneSites):
    """A site plane's runtime: campaigns, activations, timers, retention, recovery.

    Lifecycle: ``await start()`` (or ``async with``), then ``await shutdown()``, which is
    idempotent and flushes every pending commit.
    """

    def __init__(
        self,
        config: PlaneConfig,
        *,
        store: Store | None = None,
        providers: dict[str, Provider] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store: Store = store or open_store(
            config.db, synchronous=config.synchronous, replica_id=replica_id(config)
        )
        self.sites = Sites(self.store, clock)  # federation (issue 8)
        # On a hub, Symphony's `providers.stage.list` (objectType: sites) lists its sites.
        lister = self._site_ids if config.federation_listen else None
        self.providers = providers if providers is not None else builtin_providers(lister)
        self.catalog = Catalog(self.store, sorted(self.providers))
        self.clock = clock
        self.driver = Driver(self.store, self.catalog, self.providers, config, clock)
        self.secrets = Secrets(self.store, load_key(config.secret_key_file), clock)
        self.namespaces = Namespaces(self.store, clock)
        self.driver.secrets = self.secrets
        self.stage_tasks = StageTasks(
            self.driver,
            clock,
            poll_seconds=config.poll_seconds,
            worker_ttl_seconds=config.worker_ttl_seconds,
            check_payload=self._check_payload,
        )
        self.replicas: Replicas | None = None
        if self.store.durable_tasks:  # a shared database: this plane is one of its replicas
            self.replicas = Replicas(
                cast(ReplicaStore, self.store),
                self.driver,
                lease_seconds=config.replica_lease_seconds,
                on_task=self.driver.tasks.wake,  # type: ignore[union-attr]
                on_activation=lambda ns, a: self.driver.watchers.poke((ns, a)),
            )
            self.driver.replicas = self.replicas
        self.dispatches = self.driver.dispatches
        self.batches = Batches(self.store, self, clock)  # batch actions (issue 12)
        self.state = PlaneState.NEW
        self._sweeper: asyncio.Task[None] | None = None
        self.scheduler = Scheduler(  # schedules (issue 6)
            self.store,
            self.catalog,
            self,
            self.driver.watchers,
            clock,
            config.default_namespace,
            grace_seconds=config.grace_seconds,
        )

    async def __aenter__(self) -> Plane:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    async def start(self, advertise: str = "") -> None:
        """Open the store and recover; among replicas, join and claim activations, reachable
        by the others at ``advertise`` (default: the config's)."""
        await self.store.open()
        await self.secrets.load()
        await self.namespaces.load()
        recovered = await self.driver.recover()
        await self.dispatches.recover()
        if recovered:
            log.info("recovered %d open activations", recovered)
        if self.replicas is not None:
            await self.replicas.start(advertise or self.config.advertise)
            log.info("replica %s joined", self.replicas.id)
        self._sweeper = asyncio.create_task(self._sweep_loop(), name="partita-sweeper")
        self.state = PlaneState.RUNNING
        await self.scheduler.start()  # after RUNNING: missed fires start activations at once
        await self.batches.start()  # after RUNNING: batches act through the plane

    async def shutdown(self) -> None:
        if self.state in (PlaneState.STOPPING, PlaneState.STOPPED):
            return
        self.state = PlaneState.STOPPING
        await self.scheduler.shutdown()
        await self.batches.shutdown()
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        self.release_waiters()
        if self.replicas is not None:
            await self.replicas.shutdown()
        await self.driver.shutdown()
        if self.replicas is not None:
            await self.replicas.leave()
        for provider in self.providers.values():
            await provider.aclose()
        await self.store.close()
        self.state = PlaneState.STOPPED

    def release_waiters(self) -> None:
        """End every WatchActivation stream (UNAVAILABLE) and every long poll (empty), so that
        a shutdown need not wait for them."""
        self.driver.watchers.close_all()
        self.driver.tasks.wake_all()

    def _check_running(self) -> None:
        if self.state is not PlaneState.RUNNING:
            raise UnavailableError()

    # -- campaigns ---------------------------------------------------------------------------

    async def create_campaign(
        self,
        namespace: str,
        name: str,
        spec: dict[str, Any] | None,
        document: str = "",
        request_id: str = "",
    ) -> tuple[Campaign, bool]:
        self._check_running()
        api_version = PARTITA_API
        if document:
            docs = [d for d in load_documents(document) if d.role == "campaign"]
            if len(docs) != 1:
                raise InvalidInputError.field("document", "must hold exactly one Campaign document")
            doc = docs[0]
            name, spec, api_version = doc.name, doc.spec, doc.api_version
            namespace = namespace or doc.namespace
        if spec is None:
            raise InvalidInputError.field("spec", "is required (or give a document)")
        self._check_payload("document" if document else "spec", document or spec)
        return await self.catalog.create(
            namespace or self.config.default_namespace, name, spec, api_version, request_id
        )

    async def validate_campaign(
        self, name: str, spec: dict[str, Any] | None, document: str = ""
    ) -> list[Any]:
        """The problems with a campaign, as field violations (empty when it is valid)."""
        try:
            if document:
                docs = [d for d in load_documents(document) if d.role == "campaign"]
                if len(docs) != 1:
                    raise InvalidInputError.field(
                        "document", "must hold exactly one Campaign document"
                    )
                self.catalog.validate(docs[0].name, docs[0].spec, docs[0].api_version)
            else:
                if spec is None:
                    raise InvalidInputError.field("spec", "is required (or give a document)")
                self.catalog.validate(name, spec, PARTITA_API)
        except InvalidInputError as exc:
            return exc.violations
        return []

    async def get_campaign(self, namespace: str, name: str, version: int = 0) -> Campaign:
        check_name("name", name)
        return await self.catalog.get(namespace or self.config.default_namespace, name, version)

    async def list_campaigns(
        self,
        namespace: str,
        name_prefix: str = "",
        all_versions: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> tuple[list[Campaign], str]:
        page = page_of(page_size, page_token, (str, int))
        found = await self.catalog.list(
            namespace or self.config.default_namespace, name_prefix, all_versions, page
        )
        token = token_of((found[-1].name, found[-1].version)) if len(found) == page.size else ""
        return found, token

    async def delete_campaign(self, namespace: str, name: str, version: int = 0) -> int:
        self._check_running()
        check_name("name", name)
        return await self.catalog.delete(namespace or self.config.default_namespace, name, version)

    # -- activations -------------------------------------------------------------------------

    async def start_activation(
        self,
        namespace: str,
        campaign: str,
        *,
        version: int = 0,
        activation_id: str = "",
        inputs: dict[str, Any] | None = None,
        request_id: str = "",
        start_stage: str = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[ActivationState, bool]:
        self._check_running()
        namespace = namespace or self.config.default_namespace
        check_name("campaign", campaign)
        if activation_id:
            check_name("activation_id", activation_id)
        inputs = inputs or {}
        self._check_payload("inputs", inputs)
        request_id = f"start:{request_id}" if request_id else ""
        if request_id:
            seen = await self.store.activation_for_request(namespace, request_id)
            if seen:
                return await self.driver.load(namespace, seen), False
        stored = await self.catalog.get(namespace, campaign, version)
        await self.namespaces.check_start(namespace, self.driver.open_in(namespace))
        compiled: CompiledCampaign = self.catalog.compile(stored)
        headers = dict(headers or {})
        if "traceparent" not in headers:  # every activation has a trace, passed on downstream
            headers = {**headers, "traceparent": new_traceparent()}
        request = Start(
            campaign=stored.name,
            version=stored.version,
            inputs=inputs,
            start_stage=start_stage,
            headers=headers,
        )
        return await self.driver.start(
            namespace, activation_id or str(uuid.uuid4()), compiled, request, request_id
        )

    async def get_activation(self, namespace: str, activation_id: str) -> ActivationState:
        check_name("activation_id", activation_id)
        return await self.driver.load(namespace or self.config.default_namespace, activation_id)

    async def list_activations(
        self,
        namespace: str,
        *,
        statuses: tuple[str, ...] = (),
        campaign: str = "",
        created_after: float | None = None,
        created_before: float | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> tuple[list[ActivationState], str]:
        page = page_of(page_size, page_token, ((int, float), str))
        where = ActivationFilter(
            namespace=namespace or self.config.default_namespace,
            statuses=statuses,
            campaign=campaign,
            created_after=created_after,
            created_before=created_before,
        )
        rows = await self.store.list_activations(where, page)
        token = token_of((rows[-1].create_time, rows[-1].id)) if len(rows) == page.size else ""
        return [state_of(r) for r in rows], token

    async def cancel_activation(
        self, namespace: str, activation_id: str, reason: str = "", request_id: str = ""
    ) -> ActivationState:
        return await self._submit(namespace, activation_id, Cancel(reason), request_id)

    async def terminate_activation(
        self, namespace: str, activation_id: str, reason: str = "", request_id: str = ""
    ) -> ActivationState:
        return await self._submit(namespace, activation_id, Terminate(reason), request_id)

    async def signal_activation(
        self,
        namespace: str,
        activation_id: str,
        event: str,
        data: dict[str, Any] | None = None,
        request_id: str = "",
    ) -> ActivationState:
        if not event:
            raise InvalidInputError.field("event", "is required")
        if event.startswith(approval.EVENT_PREFIX):
            raise InvalidInputError.field(
                "event", "approvals are answered with partita approve|reject (AnswerApproval)"
            )
        data = data or {}
        self._check_payload("data", data)
        return await self._submit(namespace, activation_id, Signal(event, data), request_id)

    async def answer_approval(
        self,
        namespace: str,
        activation_id: str,
        stage: str,
        decision: str,
        fields: dict[str, Any],
        by: str,
        role: str,
    ) -> ActivationState:
        """Answer the form of an ``approval`` stage waiting in the activation, as ``by``
        holding ``role`` in the namespace (the form says who may answer)."""
        state = await self.get_activation(namespace, activation_id)
        run = next(
            (
                r
                for r in state.runs
                if r.stage == stage and r.provider == approval.PROVIDER and r.open
            ),
            None,
        )
        if run is None:
            raise PreconditionError(f"stage {stage!r} is not waiting for an approval")
        approval.check_answer(run.config, decision, fields)
        if not approval.may_answer(run.config, by.partition(":")[2] or by, role):
            raise PermissionDeniedError(f"not an approver of stage {stage!r}")
        self._check_payload("fields", fields)
        data = approval.outputs(decision, by, fields)
        return await self._submit(
            namespace, activation_id, Signal(approval.event_of(stage), data), ""
        )

    async def advance_activation(
        self, namespace: str, activation_id: str, stage: str = "", request_id: str = ""
    ) -> ActivationState:
        return await self._submit(namespace, activation_id, Advance(stage), request_id)

    async def get_activation_history(
        self, namespace: str, activation_id: str, page_size: int = 0, page_token: str = ""
    ) -> tuple[list[Event], str]:
        namespace = namespace or self.config.default_namespace
        check_name("activation_id", activation_id)
        page = page_of(page_size, page_token, (int,))
        after = int(page.after[0]) if page.after else 0
        rows = await self.store.history(namespace, activation_id, after, page.size)
        if not rows:
            # Only now: loading a big activation's state for each page would cost more than
            # the page (a rollout over 10,000 sites has that many stage runs).
            await self.get_activation(namespace, activation_id)
        events = await self._resolve(namespace, activation_id, [event_of(r) for r in rows])
        token = token_of((events[-1].sequence,)) if len(events) == page.size else ""
        return events, token

    async def watch_activation(
        self, namespace: str, activation_id: str, from_sequence: int = 0
    ) -> AsyncIterator[WatchItem]:
        """Every event after ``from_sequence`` with the state after it, live, until the end.

        The watcher folds the history itself, so each item carries the exact state after its
        event; the stream ends after the activation's closing event.
        """
        namespace = namespace or self.config.default_namespace
        await self.get_activation(namespace, activation_id)
        key = (namespace, activation_id)
        queue = self.driver.watchers.subscribe(key)
        try:
            state = ActivationState(namespace=namespace, id=activation_id)
            caught_up = False
            while not caught_up or not state.status.terminal:
                if caught_up:
                    live = await queue.get()
                    if live is None:
                        raise UnavailableError("the plane is shutting down; watch again to resume")
                    if isinstance(live, Event):
                        if live.sequence <= state.last_sequence:
                            continue
                        if live.sequence == state.last_sequence + 1:
                            apply(state, live)
                            if live.sequence > from_sequence:
                                yield WatchItem(live, state)
                            continue
                # From the store: the history so far, or what another replica wrote (a poke).
                while True:
                    rows = await self.store.history(
                        namespace, activation_id, state.last_sequence, MAX_PAGE
                    )
                    stored = [event_of(r) for r in rows]
                    for event in await self._resolve(namespace, activation_id, stored):
                        apply(state, event)
                        if event.sequence > from_sequence:
                            yield WatchItem(event, state)
                    if len(rows) < MAX_PAGE:
                        break
                caught_up = True
        finally:
            self.driver.watchers.unsubscribe(key, queue)

    # -- stage tasks -------------------------------------------------------------------------

    async def poll_stage_task(
        self, namespace: str, task_queue: str, identity: str
    ) -> LeasedTask | None:
        self._check_running()
        namespace = namespace or self.config.default_namespace
        leased = await self.stage_tasks.poll(namespace, task_queue, identity)
        if leased is None:
            return None
        inputs = self.secrets.reveal(namespace, leased.task.inputs)  # only the worker sees them
        if inputs is leased.task.inputs:
            return leased
        return dataclasses.replace(leased, task=dataclasses.replace(leased.task, inputs=inputs))

    async def complete_stage_task(
        self, token: bytes, outputs: dict[str, Any], identity: str, next_task_queue: str = ""
    ) -> LeasedTask | None:
        """Record a task's outputs; with ``next_task_queue``, also lease the next task waiting
        there to the same worker (None when none waits)."""
        self._check_running()
        return await self.stage_tasks.complete(
            token, self.secrets.redact(outputs), identity, next_task_queue
        )

    async def fail_stage_task(self, token: bytes, failure: dict[str, Any], identity: str) -> None:
        self._check_running()
        await self.stage_tasks.fail(token, self.secrets.redact(failure), identity)

    async def heartbeat_stage_task(self, token: bytes, identity: str) -> bool:
        """True when the worker should stop: the activation was cancelled, or the task is stale."""
        self._check_running()
        return await self.stage_tasks.heartbeat(token, identity)

    async def list_task_queues(self, namespace: str) -> list[QueueInfo]:
        """Queues with tasks waiting or held: backlog, oldest age, held tasks (queue
        governance). Among replicas, the queues the workers poll, with their backlog only."""
        namespace = namespace or self.config.default_namespace
        tasks = self.driver.tasks
        if isinstance(tasks, TaskQueues):
            return tasks.queues(namespace)
        store = cast(ReplicaStore, self.store)
        names = sorted({q for w in await self.list_workers(namespace) for q in w.task_queues})
        found = [QueueInfo(n, await store.task_backlog(namespace, n), None) for n in names]
        return [q for q in found if q.backlog]

    async def list_replicas(self) -> list[ReplicaRow]:
        """The replicas sharing this plane's database; empty on SQLite (one plane)."""
        return await self.replicas.list() if self.replicas is not None else []

    async def deliver_input(
        self, namespace: str, activation_id: str, request: Any, request_id: str
    ) -> tuple[ActivationState, bool]:
        """An input another replica passed on: this replica owns the activation."""
        self._check_running()
        return await self.driver.apply(
            namespace, activation_id, request, request_id, forwarded=True
        )

    async def deliver_heartbeat(self, token: bytes, identity: str) -> bool:
        self._check_running()
        return self.stage_tasks.heartbeat_here(TaskToken.decode(token), identity)

    async def list_workers(self, namespace: str, task_queue: str = "") -> list[WorkerInfo]:
        return self.stage_tasks.list_workers(namespace or self.config.default_namespace, task_queue)

    # -- internals ---------------------------------------------------------------------------

    async def _submit(
        self, namespace: str, activation_id: str, request: Any, request_id: str
    ) -> ActivationState:
        self._check_running()
        check_name("activation_id", activation_id)
        # Request ids are kept per kind of request, so that a cancel never answers for a signal.
        key = f"{type(request).__name__.lower()}:{request_id}" if request_id else ""
        return await self.driver.submit(
            namespace or self.config.default_namespace, activation_id, request, key
        )

    def _check_payload(self, field: str, value: dict[str, Any] | str) -> None:
        size = len(value if isinstance(value, str) else json.dumps(value, default=str))
        if size > self.config.max_payload_bytes:
            raise LimitExceededError.field(
                field, f"is {size} bytes as JSON, over the limit of {self.config.max_payload_bytes}"
            )

    async def _resolve(
        self, namespace: str, activation_id: str, events: list[Event]
    ) -> list[Event]:
        """Events read from the history with their large payloads loaded."""

        async def load(refs: list[str]) -> dict[str, str]:
            return await self.store.payloads(namespace, activation_id, refs)

        return await resolve(events, load)

    async def _sweep_loop(self) -> None:
        while True:
            try:
                while await self.store.sweep(self.clock()) > 0:
                    pass
                before = self.clock() - self.config.retention_seconds
                while await self.store.sweep_dispatches(before) > 0:
                    pass
            except Exception:
                log.exception("retention sweep failed")
            await asyncio.sleep(self.config.sweep_interval_seconds)


def replica_id(config: PlaneConfig) -> str:
    return config.replica_id or f"{socket.gethostname()}-{os.getpid()}"


__all__ = ["NotFoundError", "Plane", "PlaneConfig", "PlaneState", "SiteInfo", "WatchItem"]
