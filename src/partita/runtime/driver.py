"""Driving activations: one input at a time per activation, committed before it counts.

For each input the driver takes the activation's lock, asks the engine what it means,
commits the events (group commit in the store), then carries out the commands: built-in
providers run as tasks, timers are armed, watchers hear of the events.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast
from weakref import WeakValueDictionary

from partita.engine import (
    ActivationState,
    CancelStage,
    CompiledCampaign,
    Context,
    ContinueAsNew,
    Dispatch,
    EnqueueTask,
    Event,
    Input,
    Rerun,
    RunStage,
    RunStatus,
    SkipStage,
    StageResult,
    Start,
    StartChild,
    Status,
    TimerFired,
    Transition,
    handle,
)
from partita.engine.remote import command as dispatch_command
from partita.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PartitaError,
    PreconditionError,
    UnavailableError,
)
from partita.providers import Provider, StageCall
from partita.runtime.builtin_runs import outcome, stage_call
from partita.runtime.catalog import Catalog
from partita.runtime.children import Children
from partita.runtime.config import PlaneConfig
from partita.runtime.dispatches import Dispatches
from partita.runtime.payloads import split
from partita.runtime.rows import (
    queued,
    requeue,
    rerun,
    restart_child,
    row_of,
    state_of,
)
from partita.runtime.secrets import Secrets
from partita.runtime.shared_tasks import SharedTaskQueues, task_row
from partita.runtime.tasks import QueuedTask, TaskQueues
from partita.runtime.timers import TimerKey, TimerWheel
from partita.runtime.tracing import ActivationTracer
from partita.runtime.watch import Watchers
from partita.store import (
    ActivationRow,
    ActivationWrite,
    NewActivation,
    ReplicaStore,
    Store,
)

if TYPE_CHECKING:
    from partita.runtime.replicas import Replicas

log = logging.getLogger("partita.driver")

Key = tuple[str, str]
INSTANT_CHAIN = 100
"""Most instant stage runs folded into one transition; longer chains go on in tasks."""


class Driver:
    """Owns the open activations of this plane and every change made to them."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        providers: dict[str, Provider],
        config: PlaneConfig,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._catalog = catalog
        self.catalog = catalog
        self._providers = providers
        self._config = config
        self._clock = clock
        self._open: dict[Key, ActivationState] = {}
        self._locks: WeakValueDictionary[Key, asyncio.Lock] = WeakValueDictionary()
        self._runs: dict[tuple[str, str, str], asyncio.Task[None]] = {}
        self.watchers = Watchers()
        self.tasks: TaskQueues | SharedTaskQueues = (
            SharedTaskQueues(cast(ReplicaStore, store), config.replica_lease_seconds)
            if store.durable_tasks
            else TaskQueues(config.queue_limits)
        )
        self.replicas: Replicas | None = None
        """Set when this plane is one of several replicas on a shared database."""
        self.children = Children(self)
        self.dispatches = Dispatches(self, store, clock)
        self.tracer = ActivationTracer(config.site_id)
        self._heartbeats: dict[Key, dict[str, float]] = {}
        """Last heartbeat of each leased ``worker`` run, by activation then run id."""
        self.timers = TimerWheel(self._fire_timer, clock)
        self.secrets: Secrets | None = None
        """Set by the plane: reveals secret references to providers, redacts what returns."""
        self._stopping = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def recover(self) -> int:
        """Reload open activations, re-run interrupted built-in stage runs, re-arm timers.

        A replica recovers nothing here: it claims activations (``Replicas``) and adopts them.
        """
        self.timers.start()
        if self.replicas is not None:
            return 0
        rows = await self._store.open_activations()
        await self.adopt(rows, all_timers=True)
        return len(rows)

    async def adopt(self, rows: list[ActivationRow], *, all_timers: bool = False) -> None:
        """Take charge of open activations (after a restart, or claimed from a replica that is
        gone): re-run interrupted built-in stage runs, queue worker tasks again, arm timers."""
        requeued: list[QueuedTask] = []
        for row in rows:
            state = state_of(row)
            self._open[(row.namespace, row.id)] = state
            campaign = await self._catalog.compiled(state.namespace, state.campaign, state.version)
            for run in state.runs:
                if run.status is not RunStatus.RUNNING:
                    continue
                if run.dispatch_id:  # in the outbox already, unless the crash came first
                    self.dispatches.send(state, dispatch_command(state, campaign, run))
                elif run.provider in self._providers or run.provider == "continue":
                    self._run_stage(state, campaign, rerun(state, run.run_id))
                elif run.provider == "campaign" and run.child:
                    self.children.start(state, restart_child(run))
                elif run.provider == "worker":
                    # Delivered again: a worker that held it before the crash may still
                    # complete it with its token; whichever completion comes first counts.
                    self.heartbeat(row.namespace, row.id, run.run_id)
                    requeued.append(requeue(state, run))
                    if run.worker and isinstance(self.tasks, TaskQueues):
                        self.tasks.hold(requeued[-1])  # its worker may still be at it
        if isinstance(self.tasks, SharedTaskQueues):
            await self.tasks.push_many(requeued)
        else:
            for task in requeued:
                self.tasks.push(task)
        if all_timers:
            for timer in await self._store.timers():
                self.timers.arm((timer.namespace, timer.activation_id, timer.timer_id), timer.due)
        else:
            for row in rows:
                for timer_id, armed in state_of(row).timers.items():
                    self.timers.arm((row.namespace, row.id, timer_id), armed.due)

    def drop(self, namespace: str, activation_id: str) -> None:
        """Forget an activation another replica owns now: its timers and runs stop here."""
        key = (namespace, activation_id)
        self._open.pop(key, None)
        self._heartbeats.pop(key, None)
        for run_key in [k for k in self._runs if k[:2] == key]:
            self._runs.pop(run_key).cancel()

    def drop_all(self) -> None:
        for namespace, activation_id in list(self._open):
            self.drop(namespace, activation_id)

    async def shutdown(self) -> None:
        """Stop running stages (they run again after a restart) and timers."""
        self._stopping = True
        await self.timers.shutdown()
        await self.children.shutdown()
        await self.dispatches.shutdown()
        tasks = list(self._runs.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.watchers.close_all()

    def open_count(self) -> int:
        return len(self._open)

    # -- requests ----------------------------------------------------------------------------

    async def start(
        self,
        namespace: str,
        activation_id: str,
        campaign: CompiledCampaign,
        request: Start,
        request_id: str = "",
    ) -> tuple[ActivationState, bool]:
        """Start an activation; (state, False) when ``request_id`` already started one."""
        key = (namespace, activation_id)
        async with self._lock(key):
            empty = ActivationState(namespace=namespace, id=activation_id)
            transition = await self._decide(empty, campaign, request)
            state = transition.state
            write = self._write(empty, transition, campaign, request_id)
            exclusive = not campaign.spec.allow_parallel
            stored = await self._store.create_activation(NewActivation(write, exclusive))
            if stored is not write.row:
                return state_of(stored), False
            self._committed(key, empty, transition, campaign)
            return state, True

    async def submit(
        self, namespace: str, activation_id: str, request: Input, request_id: str = ""
    ) -> ActivationState:
        """Apply one input to an activation and return its state once the change is on disk."""
        state, _ = await self.apply(namespace, activation_id, request, request_id)
        return state

    async def apply(
        self,
        namespace: str,
        activation_id: str,
        request: Input,
        request_id: str = "",
        *,
        forwarded: bool = False,
    ) -> tuple[ActivationState, bool]:
        """Like ``submit``; also says whether the input changed anything.

        Among replicas, an input for an activation another live replica owns is delivered to
        it (``forwarded``: this call came from such a delivery, and is not passed on again).
        """
        if self.replicas is not None and isinstance(request, Rerun | SkipStage):
            await self.replicas.take_closed(namespace, activation_id)  # a closed one reopens
        for _ in range(3):
            if self.replicas is not None and (namespace, activation_id) not in self._open:
                address = await self.replicas.route(namespace, activation_id)
                if address:
                    if forwarded:
                        raise UnavailableError(
                            f"activation {activation_id!r} moved to the replica at {address}"
                        )
                    return await self.replicas.deliver(
                        address, namespace, activation_id, request, request_id
                    )
            try:
                return await self._apply(namespace, activation_id, request, request_id)
            except ConflictError:
                if self.replicas is None:
                    raise
                self.drop(namespace, activation_id)  # another replica took it: ask again
        raise UnavailableError(f"activation {activation_id!r} is changing owner; try again")

    async def _apply(
        self, namespace: str, activation_id: str, request: Input, request_id: str
    ) -> tuple[ActivationState, bool]:
        key = (namespace, activation_id)
        async with self._lock(key):
            state = self._open.get(key)
            if state is None:
                state = await self.load(namespace, activation_id)
            if request_id:
                seen = await self._store.activation_for_request(namespace, request_id)
                if seen == activation_id:
                    return state, False  # a retry: the first call's change stands
                if seen is not None:
                    raise InvalidInputError.field(
                        "request_id", f"was already used for activation {seen!r}"
                    )
            campaign = await self._catalog.compiled(namespace, state.campaign, state.version)
            transition = await self._decide(state, campaign, request)
            if not transition.events:
                return state, False
            following = next((c for c in transition.commands if isinstance(c, ContinueAsNew)), None)
            if following is not None:
                return await self._continue(state, transition, campaign, following), True
            await self._store.commit(self._write(state, transition, campaign, request_id))
            self._committed(key, state, transition, campaign)
            return transition.state, True

    async def submit_many(
        self, namespace: str, activation_id: str, requests: list[Input]
    ) -> list[PartitaError | None]:
        """Apply several inputs to one activation in one transition and one commit (a hub's
        acks and results from many sites); for each, None or the domain error it met (it
        then changed nothing). Among replicas, each input goes its own way."""
        if self.replicas is not None or len(requests) == 1:
            errors: list[PartitaError | None] = []
            for request in requests:
                try:
                    await self.submit(namespace, activation_id, request)
                    errors.append(None)
                except PartitaError as exc:
                    errors.append(exc)
            return errors
        key = (namespace, activation_id)
        async with self._lock(key):
            state = self._open.get(key)
            if state is None:
                state = await self.load(namespace, activation_id)
            campaign = await self._catalog.compiled(namespace, state.campaign, state.version)
            found: list[PartitaError | None] = []
            events: list[Event] = []
            commands: list[Any] = []
            current = state
            for request in requests:
                try:
                    step = await self._decide(current, campaign, request)
                except PartitaError as exc:
                    found.append(exc)
                    continue
                found.append(None)
                if any(isinstance(c, ContinueAsNew) for c in step.commands):
                    raise PreconditionError("a batch of inputs cannot continue as new")
                events.extend(step.events)
                commands.extend(step.commands)
                current = step.state
            if events:
                transition = Transition(current, events, commands)
                await self._store.commit(self._write(state, transition, campaign, ""))
                self._committed(key, state, transition, campaign)
            return found

    async def _continue(
        self,
        before: ActivationState,
        closing: Transition,
        campaign: CompiledCampaign,
        command: ContinueAsNew,
    ) -> ActivationState:
        """Close this run, keep it under its archive id, and start the next run under the same
        id on the campaign's latest version, all in one commit."""
        key = (before.namespace, before.id)
        archived = Transition(
            closing.state.model_copy(update={"id": command.archived_id}),
            closing.events,
            [c for c in closing.commands if not isinstance(c, ContinueAsNew)],
        )
        latest = await self._catalog.get(before.namespace, before.campaign)
        compiled = self._catalog.compile(latest)
        start = Start(
            campaign=before.campaign,
            version=latest.version,
            inputs=command.inputs,
            headers=before.headers,
            parent=before.parent,
            continued_from=command.archived_id,
            run_number=command.run_number,
        )
        empty = ActivationState(namespace=before.namespace, id=before.id)
        following = await self._decide(empty, compiled, start)
        await self._store.continue_as_new(
            self._write(before, archived, campaign, ""),
            before.id,
            self._write(empty, following, compiled, ""),
        )
        self._open.pop(key, None)
        self._committed((before.namespace, command.archived_id), before, archived, campaign)
        self.watchers.publish(key, closing.events)  # watchers of the chain see this run end
        self._committed(key, empty, following, compiled)
        return following.state

    async def _decide(
        self, state: ActivationState, campaign: CompiledCampaign, request: Input
    ) -> Transition:
        """The engine's answer to ``request``, with instant providers' stage runs folded in.

        A stage run of an instant provider (``mock``, ``noop``, ``counter``: no I/O) is run
        right here and its result handled in the same transition, so a chain of such stages
        costs one commit. Nothing is lost by running it before its start is durable: after a
        crash before the commit, the stage run has not happened, and runs again.
        """
        context = self._context(state.namespace)
        transition = handle(state, campaign, request, context)
        events, commands = list(transition.events), list(transition.commands)
        for _ in range(INSTANT_CHAIN):
            command = next((c for c in commands if self._instant(c)), None)
            if command is None:
                break
            assert isinstance(command, RunStage)
            commands.remove(command)
            result = await self._outcome(
                stage_call(transition.state, command, self._config.site_id), command
            )
            transition = handle(transition.state, campaign, result, context)
            events.extend(transition.events)
            commands.extend(transition.commands)
        return Transition(transition.state, events, commands)

    def _instant(self, command: object) -> bool:
        if not isinstance(command, RunStage):
            return False
        provider = self._providers.get(command.provider)
        return provider is not None and provider.instant

    def open_in(self, namespace: str) -> int:
        """How many activations of ``namespace`` this plane holds open."""
        return sum(1 for ns, _ in self._open if ns == namespace)

    def open_state(self, namespace: str, activation_id: str) -> ActivationState | None:
        """The state of an open activation, from memory; None when it is not open."""
        return self._open.get((namespace, activation_id))

    def heartbeat(self, namespace: str, activation_id: str, run_id: str) -> None:
        """A worker holding this run's task is alive: push its heartbeat deadline back."""
        self._heartbeats.setdefault((namespace, activation_id), {})[run_id] = self._clock()

    async def load(self, namespace: str, activation_id: str) -> ActivationState:
        """The activation's current state (from memory when it is open)."""
        state = self._open.get((namespace, activation_id))
        if state is not None:
            return state
        row = await self._store.get_activation(namespace, activation_id)
        if row is None:
            raise NotFoundError(
                f"activation {activation_id!r} not found in namespace {namespace!r}"
            )
        return state_of(row)

    # -- internals ---------------------------------------------------------------------------

    def _lock(self, key: Key) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    def _context(self, namespace: str) -> Context:
        names = self.secrets.names(namespace) if self.secrets is not None else ()
        return Context(now=self._clock(), site=self._config.site_id, secrets=names)

    def _write(
        self,
        before: ActivationState,
        transition: Transition,
        campaign: CompiledCampaign,
        request_id: str,
    ) -> ActivationWrite:
        state = transition.state
        events, payloads = split(transition.events, self._config.payload_threshold_bytes)
        timers = {k: t.due for k, t in state.timers.items()}
        changed = timers != {k: t.due for k, t in before.timers.items()}
        expire = None
        if state.close_time is not None:
            retention = campaign.spec.retention
            seconds = retention.total_seconds() if retention else self._config.retention_seconds
            expire = state.close_time + seconds
        return ActivationWrite(
            row=row_of(state),
            events=events,
            payloads=payloads,
            timers=timers if changed else None,
            expire_time=expire,
            request_id=request_id,
            expected_sequence=before.last_sequence,
            tasks=[
                task_row(queued(state, c))
                for c in transition.commands
                if isinstance(c, EnqueueTask)
            ]
            if self.tasks.durable
            else [],
        )

    def _committed(
        self, key: Key, before: ActivationState, transition: Transition, campaign: CompiledCampaign
    ) -> None:
        state = transition.state
        if state.status.terminal:
            self._open.pop(key, None)
            self._heartbeats.pop(key, None)
            if state.parent and state.status is not Status.CONTINUED_AS_NEW:
                self.children.closed(state)
            self.dispatches.activation_closed(state)
        else:
            self._open[key] = state
        if isinstance(self.tasks, TaskQueues):
            self.tasks.settle(state)  # queue governance: finished tasks free their key
        for timer_id, timer in state.timers.items():
            previous = before.timers.get(timer_id)
            if previous is None or previous.due != timer.due:
                self.timers.arm((*key, timer_id), timer.due)
        for command in transition.commands:
            if isinstance(command, RunStage):
                self._run_stage(state, campaign, command)
            elif isinstance(command, EnqueueTask) and isinstance(self.tasks, TaskQueues):
                self.tasks.push(queued(state, command))  # shared queues got it with the write
            elif isinstance(command, StartChild):
                self.children.start(state, command)
            elif isinstance(command, Dispatch):
                self.dispatches.send(state, command)
            elif isinstance(command, CancelStage):
                task = self._runs.pop((*key, command.run_id), None)
                if task is not None:
                    task.cancel()
                run = state.run(command.run_id)
                if run is not None and run.dispatch_id:
                    self.dispatches.cancel(run.dispatch_id, terminate=command.terminate)
                if run is not None and run.child:
                    self.children.stop(state.namespace, run.child, terminate=command.terminate)
        self.watchers.publish(key, transition.events)
        self.tracer.observe(state, transition.events)

    def _run_stage(
        self, state: ActivationState, campaign: CompiledCampaign, command: RunStage
    ) -> None:
        if self._stopping:
            return
        call = stage_call(state, command, self._config.site_id)
        run_key = (state.namespace, state.id, command.run_id)
        task = asyncio.create_task(self._execute(call, command))
        self._runs[run_key] = task
        task.add_done_callback(functools.partial(self._run_done, run_key))

    def _run_done(self, run_key: tuple[str, str, str], task: asyncio.Task[None]) -> None:
        if self._runs.get(run_key) is task:
            del self._runs[run_key]

    async def _outcome(self, call: StageCall, command: RunStage) -> StageResult:
        return await outcome(self._providers, self._config, self.secrets, call, command)

    async def _execute(self, call: StageCall, command: RunStage) -> None:
        result = await self._outcome(call, command)
        try:
            await self.submit(call.namespace, call.activation_id, result)
        except Exception:
            if not self._stopping:
                log.exception(
                    "could not record the result of %s/%s", call.activation_id, call.stage
                )

    async def _fire_timer(self, key: TimerKey) -> None:
        namespace, activation_id, timer_id = key
        state = self._open.get((namespace, activation_id))
        if state is None:
            return
        if timer_id.startswith("heartbeat:"):
            run_id = timer_id.removeprefix("heartbeat:")
            run = state.run(run_id)
            last = self._heartbeats.get((namespace, activation_id), {}).get(run_id)
            if run is not None and run.heartbeat_timeout is not None and last is not None:
                due = last + run.heartbeat_timeout
                if due > self._clock():
                    self.timers.arm(key, due)  # heartbeats came: not yet
                    return
        await self.submit(namespace, activation_id, TimerFired(timer_id))
