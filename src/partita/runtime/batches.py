"""Batch actions: cancel, terminate, rerun or signal every activation matching a filter.

A batch is one durable operation. It goes through the matching activations newest first by
keyset pages, applies its action to each with a request id of its own
(``batch:<batch id>:<activation id>``, so an activation handled again after a crash is not
changed twice), and stores its progress (cursor and counts) after every page, guarded by a
revision. After a restart the plane takes up every RUNNING batch where its last saved page
ended. Only activations created before the batch are considered, so that a batch ends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from partita.errors import (
    InvalidInputError,
    NotFoundError,
    PartitaError,
    PreconditionError,
    UnavailableError,
)
from partita.model.documents import check_name
from partita.store import ActivationFilter, BatchRow, Page, Store

if TYPE_CHECKING:
    from partita.runtime.plane import Plane

log = logging.getLogger("partita.batches")

ACTIONS = ("cancel", "terminate", "rerun", "signal")
DEFAULT_STATUSES = {
    "cancel": ("RUNNING", "PAUSED"),
    "terminate": ("RUNNING", "PAUSED"),
    "signal": ("RUNNING", "PAUSED"),
    "rerun": ("FAILED", "CANCELLED", "TERMINATED", "TIMED_OUT"),
}
"""The statuses a batch acts on when its filter names none."""
AFTER = {"cancel": ("CANCELLED",), "terminate": ("TERMINATED",)}
"""Statuses the action leads to. A page handled again after a crash must list the activations
the batch already changed, to count them: pages of a cancel or terminate also hold these; pages
of a rerun or signal (whose activations may end in any status) hold every status."""
PAGE_SIZE = 50


@dataclass(frozen=True)
class BatchSpec:
    """What a batch does, to which activations. Stored as JSON in ``BatchRow.spec``."""

    action: str
    statuses: tuple[str, ...] = ()
    campaign: str = ""
    created_after: float | None = None
    created_before: float | None = None
    reason: str = ""
    """cancel, terminate: recorded in each activation's history."""
    event: str = ""
    """signal: the signal's name."""
    data: dict[str, Any] = field(default_factory=dict)
    """signal: its payload."""
    stage: str = ""
    """rerun: the stage to rerun from; empty: each activation's last stage."""
    inputs: dict[str, Any] = field(default_factory=dict)
    """rerun: inputs to change."""
    allow_completed: bool = False
    """rerun: COMPLETED activations too."""
    rate: float = 0.0
    """Most activations per second; 0: no limit."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> BatchSpec:
        values = json.loads(text)
        values["statuses"] = tuple(values.get("statuses", ()))
        return cls(**values)


@dataclass(frozen=True)
class Batch:
    """A batch as the API shows it: its row and its spec."""

    row: BatchRow
    spec: BatchSpec


class Batches:
    """Runs the plane's batches; lifecycle ``start`` (takes up RUNNING ones), ``shutdown``."""

    def __init__(self, store: Store, plane: Plane, clock: Callable[[], float]) -> None:
        self._store = store
        self._plane = plane
        self._clock = clock
        self._running: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._stopping = False

    async def start(self) -> None:
        for row in await self._store.open_batches():
            self._drive(row)

    async def shutdown(self) -> None:
        self._stopping = True
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def start_batch(
        self, namespace: str, batch_id: str, spec: BatchSpec, request_id: str = ""
    ) -> tuple[Batch, bool]:
        """Store a new batch and start it; (the existing batch, False) when ``batch_id`` or
        ``request_id`` already named one."""
        spec = _checked(spec)
        if batch_id:
            check_name("batch_id", batch_id)
        now = self._clock()
        before = now if spec.created_before is None else min(spec.created_before, now)
        spec = dataclasses.replace(spec, created_before=before)
        total = await self._store.count_activations(_filter(namespace, spec))
        row = BatchRow(
            namespace=namespace,
            id=batch_id or str(uuid.uuid4()),
            request_id=request_id,
            spec=spec.to_json(),
            status="RUNNING",
            cursor="",
            total=total,
            done=0,
            skipped=0,
            failed=0,
            last_error="",
            create_time=now,
            update_time=now,
        )
        stored, created = await self._store.create_batch(row)
        if created:
            self._drive(stored)
        return Batch(stored, BatchSpec.from_json(stored.spec)), created

    async def get(self, namespace: str, batch_id: str) -> Batch:
        check_name("batch_id", batch_id)
        row = await self._store.get_batch(namespace, batch_id)
        if row is None:
            raise NotFoundError(f"batch {batch_id!r} not found in namespace {namespace!r}")
        return Batch(row, BatchSpec.from_json(row.spec))

    async def list(self, namespace: str, page: Page) -> list[Batch]:
        rows = await self._store.list_batches(namespace, page)
        return [Batch(r, BatchSpec.from_json(r.spec)) for r in rows]

    # -- running -----------------------------------------------------------------------------

    def _drive(self, row: BatchRow) -> None:
        key = (row.namespace, row.id)
        if self._stopping or key in self._running:
            return
        task = asyncio.create_task(self._run(row), name=f"partita-batch-{row.id}")
        self._running[key] = task
        task.add_done_callback(lambda _: self._running.pop(key, None))

    async def _run(self, row: BatchRow) -> None:
        try:
            await self._go(row)
        except (asyncio.CancelledError, UnavailableError):
            pass  # the plane stops: the batch goes on after the restart
        except Exception:
            log.exception("batch %s/%s stopped; it goes on after a restart", row.namespace, row.id)

    async def _go(self, row: BatchRow) -> None:
        spec = BatchSpec.from_json(row.spec)
        wanted = set(spec.statuses)
        where = dataclasses.replace(
            _filter(row.namespace, spec),
            statuses=(*spec.statuses, *AFTER[spec.action]) if spec.action in AFTER else (),
        )
        loop = asyncio.get_running_loop()
        pace = 1.0 / spec.rate if spec.rate > 0 else 0.0
        next_time = loop.time()
        while True:
            after = tuple(json.loads(row.cursor)) if row.cursor else None
            found = await self._store.list_activations(where, Page(size=PAGE_SIZE, after=after))
            counts = {"done": row.done, "skipped": row.skipped, "failed": row.failed}
            last_error = row.last_error
            for activation in found:
                if activation.status not in wanted:
                    if await self._handled(row, spec, activation.id):
                        counts["done"] += 1  # before a crash cut the page short
                    continue
                if pace:
                    next_time = max(next_time + pace, loop.time())
                    await asyncio.sleep(next_time - loop.time())
                outcome, error = await self._act(row, spec, activation.id)
                counts[outcome] += 1
                last_error = error or last_error
            finished = len(found) < PAGE_SIZE
            now = self._clock()
            row = dataclasses.replace(
                row,
                cursor=json.dumps([found[-1].create_time, found[-1].id]) if found else row.cursor,
                last_error=last_error,
                status="COMPLETED" if finished else "RUNNING",
                update_time=now,
                close_time=now if finished else None,
                revision=row.revision + 1,
                done=counts["done"],
                skipped=counts["skipped"],
                failed=counts["failed"],
            )
            if not await self._store.save_batch(row):
                return  # another plane (a replica) drives it
            if finished:
                log.info(
                    "batch %s/%s completed: %d done, %d skipped, %d failed",
                    row.namespace,
                    row.id,
                    row.done,
                    row.skipped,
                    row.failed,
                )
                return

    async def _handled(self, row: BatchRow, spec: BatchSpec, activation_id: str) -> bool:
        """Whether the batch applied its action to this activation already."""
        # The plane keeps request ids per kind of request, ``<input kind>:<request id>``; the
        # engine inputs of the four actions are named as the actions are.
        key = f"{spec.action}:{_request_id(row, activation_id)}"
        seen = await self._store.activation_for_request(row.namespace, key)
        return seen == activation_id

    async def _act(self, row: BatchRow, spec: BatchSpec, activation_id: str) -> tuple[str, str]:
        """Apply the batch's action to one activation: ``(done|skipped|failed, error)``."""
        plane, namespace = self._plane, row.namespace
        request_id = _request_id(row, activation_id)
        reason = spec.reason or f"batch {row.id}"
        try:
            if spec.action == "cancel":
                await plane.cancel_activation(namespace, activation_id, reason, request_id)
            elif spec.action == "terminate":
                await plane.terminate_activation(namespace, activation_id, reason, request_id)
            elif spec.action == "signal":
                await plane.signal_activation(
                    namespace, activation_id, spec.event, spec.data, request_id
                )
            else:
                await plane.rerun_activation(
                    namespace,
                    activation_id,
                    stage=spec.stage,
                    inputs=spec.inputs,
                    allow_completed=spec.allow_completed,
                    request_id=request_id,
                )
        except (PreconditionError, NotFoundError):
            return "skipped", ""
        except UnavailableError:
            raise
        except PartitaError as exc:
            return "failed", f"{activation_id}: {exc}"
        return "done", ""


def _request_id(row: BatchRow, activation_id: str) -> str:
    return f"batch:{row.id}:{activation_id}"


def _checked(spec: BatchSpec) -> BatchSpec:
    if spec.action not in ACTIONS:
        raise InvalidInputError.field("action", f"must be one of {', '.join(ACTIONS)}")
    if not (spec.statuses or spec.campaign or spec.created_after or spec.created_before):
        raise InvalidInputError.field(
            "filter", "give at least one of statuses, campaign or a time range"
        )
    if spec.action == "signal" and not spec.event:
        raise InvalidInputError.field("event", "is required to signal")
    if spec.rate < 0:
        raise InvalidInputError.field("rate", "must not be negative")
    if not spec.statuses:
        spec = dataclasses.replace(spec, statuses=DEFAULT_STATUSES[spec.action])
    return spec


def _filter(namespace: str, spec: BatchSpec) -> ActivationFilter:
    return ActivationFilter(
        namespace=namespace,
        statuses=spec.statuses,
        campaign=spec.campaign,
        created_after=spec.created_after,
        created_before=spec.created_before,
    )
