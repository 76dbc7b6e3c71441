"""The scheduler: takes every schedule's fires on time, once each, across restarts.

One task sleeps until the soonest due fire of all schedules (no polling per schedule), then
hands each due schedule to a task of its own; a schedule's fires, buffered fires and API
changes are serialized by the schedule's lock.

Exactly once: a fire's activation id derives from the schedule id and the fire's nominal
time, and the start carries a request id derived from the same, so a fire can never start two
activations. The schedule's progress (the last nominal time handled) is saved after the
start; when a crash falls in between, the fire is handled again after the restart, finds its
activation, and is only recorded. Fires missed while the plane was down are taken up to the
catch-up window and counted beyond it.

Buffered fires (overlap policy BUFFER_*, CANCEL_OTHER) wait for the schedule's open
activations to close: the scheduler watches those activations' committed events and drains the
buffer when the last of them closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import math
from collections.abc import Callable
from typing import Any

from partita.engine import EventType
from partita.errors import InvalidInputError, NotFoundError, PartitaError, UnavailableError
from partita.model.documents import check_name
from partita.model.schedule import (
    NEXT_FIRES,
    RECENT_ACTIONS,
    OverlapPolicy,
    Schedule,
    ScheduleActionResult,
    ScheduleDefinition,
    ScheduleInfo,
    check_schedule_id,
)
from partita.runtime.catalog import Catalog
from partita.runtime.schedule_entry import (
    Activations,
    Entry,
    Key,
    definition_json,
    definition_of,
    load_entry,
    not_found,
    spend,
)
from partita.runtime.watch import Item, Poke, Watchers
from partita.schedules import (
    FireTimes,
    activation_id_for,
    compile_definition,
    missed,
    next_buffered,
    plan_fire,
    stamp,
)
from partita.store import Page, ScheduleActionRow, ScheduleRow, Store
from partita.store.base import OPEN_STATUSES

log = logging.getLogger("partita.scheduler")

RETRY_SECONDS = 5.0
"""After an unexpected failure, how long a schedule waits before it is handled again."""
CLOSING = frozenset(
    {
        EventType.ACTIVATION_COMPLETED,
        EventType.ACTIVATION_FAILED,
        EventType.ACTIVATION_CANCELLED,
        EventType.ACTIVATION_TERMINATED,
        EventType.ACTIVATION_TIMED_OUT,
        EventType.ACTIVATION_CONTINUED_AS_NEW,
    }
)


class SchedulerState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class Scheduler:
    """Every schedule of the plane. Lifecycle: ``await start()``, ``await shutdown()``."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        activations: Activations,
        watchers: Watchers,
        clock: Callable[[], float],
        default_namespace: str = "default",
        grace_seconds: float = 5.0,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._activations = activations
        self._watchers = watchers
        self._clock = clock
        self._default_namespace = default_namespace
        self._grace = grace_seconds
        self._entries: dict[Key, Entry] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._handling: set[asyncio.Task[None]] = set()
        self._watches: dict[tuple[str, str], asyncio.Task[None]] = {}
        self.state = SchedulerState.NEW

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Load every schedule and start taking their fires (missed ones first)."""
        for row in await self._store.all_schedules():
            try:
                entry = load_entry(row)
            except InvalidInputError as exc:  # e.g. a time zone this machine does not know
                log.error("schedule %s/%s cannot run: %s", row.namespace, row.id, exc.message)
                continue
            entry.drain = bool(row.buffered)
            self._entries[entry.key] = entry
        self._task = asyncio.create_task(self._run(), name="partita-scheduler")
        self.state = SchedulerState.RUNNING
        if self._entries:
            log.info("scheduler: %d schedules", len(self._entries))

    async def shutdown(self) -> None:
        """Stop taking fires; a fire being taken gets the grace period to finish. Idempotent."""
        if self.state is SchedulerState.STOPPED:
            return
        self.state = SchedulerState.STOPPED
        tasks = [t for t in (self._task,) if t is not None] + list(self._watches.values())
        for task in tasks:
            task.cancel()
        if self._handling:
            await asyncio.wait(list(self._handling), timeout=self._grace)
        for task in self._handling:
            task.cancel()
        await asyncio.gather(*tasks, *self._handling, return_exceptions=True)

    def wake(self) -> None:
        """Look at the schedules again now (after the clock moved, in tests)."""
        self._wake.set()

    # -- requests ----------------------------------------------------------------------------

    async def create(
        self,
        namespace: str,
        schedule_id: str,
        definition: ScheduleDefinition,
        *,
        paused: bool = False,
        note: str = "",
        request_id: str = "",
    ) -> Schedule:
        namespace = namespace or self._default_namespace
        check_name("namespace", namespace)
        check_schedule_id("schedule_id", schedule_id)
        times = compile_definition(definition)
        await self._check_action(namespace, definition)
        now = self._clock()
        row = ScheduleRow(
            namespace=namespace,
            id=schedule_id,
            definition=definition_json(definition),
            paused=paused,
            note=note,
            remaining_actions=definition.spec.remaining_actions,
            last_time=now,
            buffered=(),
            action_count=0,
            missed_catchup=0,
            create_time=now,
            update_time=now,
        )
        stored, created = await self._store.create_schedule(row, request_id)
        if created:
            self._entries[(namespace, schedule_id)] = Entry(stored, definition, times)
            self._wake.set()
        return await self._view(stored)

    async def get(self, namespace: str, schedule_id: str) -> Schedule:
        return await self._view(self._entry(namespace, schedule_id).row)

    async def list(self, namespace: str, page: Page) -> list[Schedule]:
        rows = await self._store.list_schedules(namespace or self._default_namespace, page)
        return [await self._view(row) for row in rows]

    async def update(
        self, namespace: str, schedule_id: str, definition: ScheduleDefinition
    ) -> Schedule:
        entry = self._entry(namespace, schedule_id)
        times = compile_definition(definition)
        await self._check_action(entry.row.namespace, definition)
        async with entry.lock:
            now = self._clock()
            await self._save(
                entry,
                definition=definition_json(definition),
                remaining_actions=definition.spec.remaining_actions,
                last_time=max(entry.row.last_time, now),  # effective from the next fire
                update_time=now,
            )
            entry.definition, entry.times = definition, times
            entry.drain = bool(entry.row.buffered)
        self._wake.set()
        return await self._view(entry.row)

    async def delete(self, namespace: str, schedule_id: str) -> None:
        entry = self._entry(namespace, schedule_id)
        async with entry.lock:
            self._entries.pop(entry.key, None)
            if not await self._store.delete_schedule(*entry.key):
                raise not_found(*entry.key)

    async def pause(self, namespace: str, schedule_id: str, note: str = "") -> Schedule:
        entry = self._entry(namespace, schedule_id)
        async with entry.lock:
            await self._save(entry, paused=True, note=note, update_time=self._clock())
        self._wake.set()
        return await self._view(entry.row)

    async def resume(self, namespace: str, schedule_id: str, note: str = "") -> Schedule:
        entry = self._entry(namespace, schedule_id)
        async with entry.lock:
            now = self._clock()
            changes: dict[str, Any] = {"paused": False, "note": note, "update_time": now}
            if entry.row.paused:  # fires that fell while it was paused are not taken
                changes["last_time"] = max(entry.row.last_time, now)
            await self._save(entry, **changes)
            entry.drain = bool(entry.row.buffered)
        self._wake.set()
        return await self._view(entry.row)

    async def trigger(
        self, namespace: str, schedule_id: str, overlap: OverlapPolicy | None = None
    ) -> str:
        """Take the action now; the activation id, or empty when the overlap policy skipped."""
        entry = self._entry(namespace, schedule_id)
        async with entry.lock:
            policy = overlap or entry.definition.policies.overlap
            activation_id = await self._fire(
                entry, float(math.floor(self._clock())), policy, scheduled=False
            )
            await self._settle(entry)
        return activation_id

    # -- taking fires ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            now = self._clock()
            soonest: float | None = None
            for entry in list(self._entries.values()):
                try:
                    due = self._due(entry)
                except Exception:  # one broken schedule must not stop the others
                    log.exception("schedule %s/%s: no next fire time", *entry.key)
                    due = entry.retry_at = now + RETRY_SECONDS
                if due is None:
                    continue
                if due <= now:
                    self._launch(entry)
                elif soonest is None or due < soonest:
                    soonest = due
            timeout = None if soonest is None else soonest - now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _due(self, entry: Entry) -> float | None:
        """When the schedule next needs handling; None when it waits for nothing."""
        if entry.busy:
            return None
        if entry.retry_at is not None:
            return entry.retry_at
        if entry.drain:
            return -math.inf
        if entry.row.paused:
            return None
        nominal = entry.next_fire()
        return None if nominal is None else nominal + entry.jitter(nominal)

    def _launch(self, entry: Entry) -> None:
        entry.busy = True
        task = asyncio.create_task(self._handle(entry), name=f"partita-schedule-{entry.row.id}")
        self._handling.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._handling.discard(finished)
            entry.busy = False
            self._wake.set()

        task.add_done_callback(done)

    async def _handle(self, entry: Entry) -> None:
        async with entry.lock:
            if self._entries.get(entry.key) is not entry:
                return  # deleted meanwhile
            entry.drain = False
            entry.retry_at = None
            try:
                await self._drain(entry)
                await self._take_due_fires(entry)
                await self._settle(entry)
            except UnavailableError:  # the plane is stopping: the rest is done after a restart
                entry.retry_at = self._clock() + RETRY_SECONDS
            except Exception:
                log.exception("schedule %s/%s: handling failed; retrying", *entry.key)
                entry.retry_at = self._clock() + RETRY_SECONDS
                with contextlib.suppress(Exception):  # the write may have lost to another
                    stored = await self._store.get_schedule(*entry.key)
                    if stored is not None:
                        entry.row = stored

    async def _take_due_fires(self, entry: Entry) -> None:
        policies, spec = entry.definition.policies, entry.definition.spec
        while not entry.row.paused and self.state is SchedulerState.RUNNING:
            now = self._clock()
            # Fires whose latest possible due time is past the window are skipped all at once.
            certainly_missed = math.ceil(now - policies.catchup_window - spec.jitter) - 1
            if certainly_missed > entry.row.last_time:
                count = entry.times.count_between(entry.row.last_time, certainly_missed)
                if count:
                    log.warning(
                        "schedule %s/%s: %d fires missed by more than the catch-up window",
                        *entry.key,
                        count,
                    )
                    await self._save(
                        entry,
                        last_time=float(certainly_missed),
                        missed_catchup=entry.row.missed_catchup + count,
                    )
            nominal = entry.next_fire()
            if nominal is None:
                return
            due = nominal + entry.jitter(nominal)
            if due > now:
                return
            if missed(due, now, policies.catchup_window):
                await self._save(
                    entry, last_time=nominal, missed_catchup=entry.row.missed_catchup + 1
                )
                continue
            await self._fire(entry, nominal, policies.overlap, scheduled=True)

    async def _fire(
        self, entry: Entry, nominal: float, policy: OverlapPolicy, *, scheduled: bool
    ) -> str:
        """Handle one fire (a scheduled one moves the schedule's progress to it); the
        activation id, or empty when the fire was skipped."""
        row = entry.row
        activation_id = activation_id_for(row.id, nominal)
        progress: dict[str, Any] = {"last_time": max(row.last_time, nominal)} if scheduled else {}
        actions = await self._store.schedule_actions(*entry.key)
        if any(a.nominal_time == nominal for a in actions):
            # Already taken for this time (a trigger in the same second).
            if progress:
                await self._save(entry, **progress)
            return activation_id
        existing = await self._store.get_activation(row.namespace, activation_id)
        if existing is not None:
            # Started before a crash that came before its recording: record it only.
            action = ScheduleActionRow(nominal, existing.create_time, activation_id)
            changes = {**progress, **spend(row, scheduled), "action_count": row.action_count + 1}
            await self._save(entry, action, **changes)
            return activation_id
        running = [a.activation_id for a in actions if a.status in OPEN_STATUSES]
        plan = plan_fire(policy, nominal, running, row.buffered)
        reason = f"schedule {row.id}: overlap policy {policy.value}"
        for other in plan.terminate:
            await self._stop(row.namespace, other, reason, terminate=True)
        for other in plan.cancel:
            await self._stop(row.namespace, other, reason, terminate=False)
        started = await self._start(entry, nominal) if plan.start else None
        taken = started is not None or nominal in plan.buffered
        changes = {**progress, "buffered": plan.buffered}
        if started is not None:
            changes["action_count"] = row.action_count + 1
        if taken:
            changes.update(spend(row, scheduled))
        await self._save(entry, started, **changes)
        for skipped in plan.skipped:
            log.info(
                "schedule %s/%s: fire at %s skipped (overlap policy %s)",
                *entry.key,
                stamp(skipped),
                policy.value,
            )
        return activation_id if taken else ""

    async def _drain(self, entry: Entry) -> None:
        """Start buffered fires, oldest first, while nothing the schedule started is open."""
        while not entry.row.paused and entry.row.buffered:
            if self.state is not SchedulerState.RUNNING:
                return
            actions = await self._store.schedule_actions(*entry.key)
            running = [a.activation_id for a in actions if a.status in OPEN_STATUSES]
            nominal = next_buffered(running, entry.row.buffered)
            if nominal is None:
                return
            rest = entry.row.buffered[1:]
            activation_id = activation_id_for(entry.row.id, nominal)
            action: ScheduleActionRow | None = None
            if not any(a.nominal_time == nominal for a in actions):
                existing = await self._store.get_activation(entry.row.namespace, activation_id)
                if existing is not None:
                    action = ScheduleActionRow(nominal, existing.create_time, activation_id)
                else:
                    action = await self._start(entry, nominal)
            changes: dict[str, Any] = {"buffered": rest}
            if action is not None:
                changes["action_count"] = entry.row.action_count + 1
            await self._save(entry, action, **changes)

    async def _start(self, entry: Entry, nominal: float) -> ScheduleActionRow | None:
        """Start a fire's activation; None when it could not be (logged)."""
        action = entry.definition.action
        activation_id = activation_id_for(entry.row.id, nominal)
        try:
            state, _ = await self._activations.start_activation(
                entry.row.namespace,
                action.campaign,
                version=action.version,
                activation_id=activation_id,
                inputs=action.inputs,
                request_id=f"schedule:{entry.row.id}:{stamp(nominal)}",
            )
        except UnavailableError:
            raise
        except PartitaError as exc:
            log.warning(
                "schedule %s/%s: the fire at %s started nothing: %s",
                *entry.key,
                stamp(nominal),
                exc.message,
            )
            return None
        return ScheduleActionRow(nominal, state.create_time, activation_id, state.status.value)

    async def _stop(
        self, namespace: str, activation_id: str, reason: str, *, terminate: bool
    ) -> None:
        try:
            if terminate:
                await self._activations.terminate_activation(namespace, activation_id, reason)
            else:
                await self._activations.cancel_activation(namespace, activation_id, reason)
        except UnavailableError:
            raise
        except PartitaError as exc:  # it closed meanwhile
            log.info("schedule: could not stop %s: %s", activation_id, exc.message)

    # -- watching open activations while fires wait ------------------------------------------

    async def _settle(self, entry: Entry) -> None:
        """After fires: start what the buffer may start now (a cancelled or terminated
        activation may have closed at once), and watch what the rest waits for."""
        await self._drain(entry)
        if not entry.row.buffered or entry.row.paused:
            return
        for action in await self._store.schedule_actions(*entry.key):
            if action.status in OPEN_STATUSES:
                self._watch(entry.key, (entry.row.namespace, action.activation_id))

    def _watch(self, key: Key, activation: tuple[str, str]) -> None:
        if activation in self._watches or self.state is not SchedulerState.RUNNING:
            return
        # Subscribed before the status is read, so that no closing event falls in between.
        queue = self._watchers.subscribe(activation)
        task = asyncio.create_task(self._await_close(key, activation, queue))
        self._watches[activation] = task

        def done(finished: asyncio.Task[None]) -> None:
            if self._watches.get(activation) is finished:
                del self._watches[activation]

        task.add_done_callback(done)

    async def _await_close(
        self, key: Key, activation: tuple[str, str], queue: asyncio.Queue[Item]
    ) -> None:
        try:
            row = await self._store.get_activation(*activation)
            if row is not None and row.close_time is None:
                while True:
                    event = await queue.get()
                    if event is None:
                        return  # the plane is stopping
                    if isinstance(event, Poke):  # changed on another replica: look
                        row = await self._store.get_activation(*activation)
                        if row is None or row.close_time is not None:
                            break
                    elif event.type in CLOSING:
                        break
        finally:
            self._watchers.unsubscribe(activation, queue)
        entry = self._entries.get(key)
        if entry is not None:
            entry.drain = True
            self._wake.set()

    # -- internals ---------------------------------------------------------------------------

    def _entry(self, namespace: str, schedule_id: str) -> Entry:
        namespace = namespace or self._default_namespace
        check_name("schedule_id", schedule_id)
        entry = self._entries.get((namespace, schedule_id))
        if entry is None:
            raise not_found(namespace, schedule_id)
        return entry

    async def _save(
        self, entry: Entry, action: ScheduleActionRow | None = None, **changes: Any
    ) -> None:
        old = entry.row
        new = dataclasses.replace(old, **changes, revision=old.revision + 1)
        await self._store.save_schedule(new, old.revision, action)
        entry.row = new

    async def _check_action(self, namespace: str, definition: ScheduleDefinition) -> None:
        action = definition.action
        try:
            await self._catalog.get(namespace, action.campaign)
        except NotFoundError:
            raise InvalidInputError.field(
                "schedule.action.campaign",
                f"{action.campaign!r} names no campaign in namespace {namespace!r}",
            ) from None
        if action.version:
            try:
                await self._catalog.get(namespace, action.campaign, action.version)
            except NotFoundError:
                raise InvalidInputError.field(
                    "schedule.action.version",
                    f"campaign {action.campaign!r} has no version {action.version}",
                ) from None

    async def _view(self, row: ScheduleRow) -> Schedule:
        entry = self._entries.get((row.namespace, row.id))
        definition = entry.definition if entry is not None else definition_of(row)
        times = entry.times if entry is not None else FireTimes(definition.spec)
        actions = await self._store.schedule_actions(row.namespace, row.id)
        spec = definition.spec.model_copy(update={"remaining_actions": row.remaining_actions})
        info = ScheduleInfo(
            next_fire_times=() if row.paused else tuple(times.upcoming(row.last_time, NEXT_FIRES)),
            recent_actions=tuple(
                ScheduleActionResult(
                    nominal_time=a.nominal_time,
                    actual_time=a.actual_time,
                    activation_id=a.activation_id,
                    status=a.status,
                )
                for a in actions[-RECENT_ACTIONS:]
            ),
            running_activation_ids=tuple(
                a.activation_id for a in actions if a.status in OPEN_STATUSES
            ),
            buffered_fire_times=row.buffered,
            action_count=row.action_count,
            missed_catchup_window=row.missed_catchup,
        )
        return Schedule(
            namespace=row.namespace,
            schedule_id=row.id,
            definition=definition.model_copy(update={"spec": spec}),
            paused=row.paused,
            note=row.note,
            info=info,
            create_time=row.create_time,
            update_time=row.update_time,
        )


__all__ = ["Activations", "Scheduler", "SchedulerState"]
