"""Dispatches: the hub's outbox of remote stages, and a site's inbox of stages to run.

Both sides keep each dispatch in the store (``dispatches``, by role) until the other side
has acknowledged what concerns it, so that a restart or a broken link loses nothing:

- hub: a Dispatch command adds a PENDING row; the site's ack makes it ACCEPTED (and tells
  the activation DispatchAccepted); the site's result is handed to the activation
  (DispatchClosed) and makes it DONE. A cancel is recorded on the row until the result comes.
- site: a received dispatch is added as ACCEPTED and run as a local activation whose id is the
  dispatch id; when that activation ends, the row holds its result (CLOSED) until the hub
  acknowledges it (DONE).

The link itself (streams, TLS, resending after a reconnect) is the federation layer's: it
reads rows from here and is told through ``notify`` when a row has something to send.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from partita.engine import (
    ActivationState,
    Cancel,
    Dispatch,
    DispatchAccepted,
    DispatchClosed,
    Start,
    Status,
    Terminate,
)
from partita.errors import NotFoundError, PartitaError, PreconditionError
from partita.model.campaign import PARTITA_API
from partita.store import DispatchRow, Store

if TYPE_CHECKING:
    from partita.runtime.driver import Driver

log = logging.getLogger("partita.dispatches")

HUB = "hub"
SITE = "site"
STAGE_CAMPAIGN_PREFIX = "dispatch-"
"""A site runs an inline stage as a one-stage campaign named this plus the stage's name."""


def result_of(row: DispatchRow) -> dict[str, Any]:
    """A row's result: ``{status, outputs}`` or ``{status, failure}``."""
    value: dict[str, Any] = json.loads(row.result) if row.result else {}
    return value


class Dispatches:
    """The runtime's half of federation; owned by the driver, like child activations."""

    def __init__(self, driver: Driver, store: Store, clock: Callable[[], float]) -> None:
        self._driver = driver
        self._store = store
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._reports: dict[tuple[str, str], list[tuple[Any, asyncio.Future[None]]]] = {}
        """Hub: acks and results waiting to be told to their activation, by activation."""
        self._report_locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._inbound: dict[tuple[str, str], str] = {}
        """Site: open local activations of dispatches, and the stage each one runs ('' for a
        campaign)."""
        self.notify: Callable[[DispatchRow], None] = lambda row: None
        """Set by the federation layer: ``row`` has something to send (the hub: a dispatch or
        a cancel; a site: a result)."""

    # -- hub side ----------------------------------------------------------------------------

    def send(self, state: ActivationState, command: Dispatch) -> None:
        """Keep a remote attempt's dispatch in the outbox (idempotent), and send it."""
        self._spawn(self._send(state.namespace, state.id, command))

    async def _send(self, namespace: str, activation_id: str, command: Dispatch) -> None:
        message = {
            "dispatchId": command.dispatch_id,
            "namespace": namespace,
            "campaign": command.campaign,
            "version": command.version,
            "stage": command.stage,
            "inputs": command.inputs,
            "headers": command.headers,
            "deadline": command.deadline,
        }
        now = self._clock()
        row, added = await self._store.add_dispatch(
            DispatchRow(
                role=HUB,
                dispatch_id=command.dispatch_id,
                site_id=command.site,
                namespace=namespace,
                activation_id=activation_id,
                run_id=command.run_id,
                attempt=command.attempt,
                message=json.dumps(message, separators=(",", ":")),
                status="PENDING",
                cancel="",
                result="",
                create_time=now,
                update_time=now,
            )
        )
        if added:
            self.notify(row)

    def cancel(self, dispatch_id: str, *, terminate: bool) -> None:
        """The hub's stage run was stopped: ask the site to stop the dispatch's activation."""
        self._spawn(self._cancel(dispatch_id, terminate))

    async def _cancel(self, dispatch_id: str, terminate: bool) -> None:
        how = "terminate" if terminate else "cancel"
        row = await self._store.update_dispatch(HUB, dispatch_id, self._clock(), cancel=how)
        if row is not None and row.status != "DONE":
            self.notify(row)

    async def accepted(self, dispatch_id: str) -> None:
        """The site has persisted a dispatch. Told to the activation first (which ignores a
        repeat), so that a crash in between is mended by the ack of the next resend."""
        row = await self._store.get_dispatch(HUB, dispatch_id)
        if row is None or row.status == "DONE":
            return
        report = DispatchAccepted(row.run_id, row.attempt, dispatch_id)
        await self._report(row.namespace, row.activation_id, report)
        await self._store.update_dispatch(HUB, dispatch_id, self._clock(), status="ACCEPTED")

    async def closed(self, dispatch_id: str, result: dict[str, Any]) -> None:
        """The site's result of a dispatch: hand it to the activation, then mark it DONE.
        A duplicate changes nothing."""
        row = await self._store.get_dispatch(HUB, dispatch_id)
        if row is None or row.status == "DONE":
            return
        report = DispatchClosed(
            row.run_id,
            row.attempt,
            dispatch_id,
            str(result.get("status", Status.FAILED.value)),
            outputs=result.get("outputs") or {},
            failure=result.get("failure"),
        )
        await self._report(row.namespace, row.activation_id, report)
        text = json.dumps(result, separators=(",", ":"))
        await self._store.update_dispatch(
            HUB, dispatch_id, self._clock(), status="DONE", result=text
        )

    async def _report(self, namespace: str, activation_id: str, report: Any) -> None:
        """Tell an activation a site's ack or result. Reports that arrive while the
        activation is busy with earlier ones are told together, in one transition and one
        commit: a fan-out over 10,000 sites then does not write its state 20,000 times."""
        key = (namespace, activation_id)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiting = self._reports.setdefault(key, [])
        waiting.append((report, done))
        if len(waiting) == 1:
            self._spawn(self._tell(key))
        await done

    async def _tell(self, key: tuple[str, str]) -> None:
        lock = self._report_locks.setdefault(key, asyncio.Lock())
        async with lock:  # a batch forms while the one before it is told
            batch = self._reports.pop(key, [])
            try:
                errors = await self._driver.submit_many(*key, [r for r, _ in batch])
            except (NotFoundError, PreconditionError):
                errors = [None] * len(batch)  # the activation is gone or closed
            except BaseException as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                raise
        if key not in self._reports:  # no batch waits for the lock
            self._report_locks.pop(key, None)
        for (_, done), error in zip(batch, errors, strict=True):
            if done.done():
                continue
            if error is None or isinstance(error, NotFoundError | PreconditionError):
                done.set_result(None)
            else:
                done.set_exception(error)

    async def outbox(self, site_id: str) -> list[DispatchRow]:
        """What the hub sends a site that (re)connects: every dispatch without a result (the
        site acknowledges a repeat without running it again), or its cancel once asked."""
        return await self._store.open_dispatches(HUB, site_id)

    # -- site side ---------------------------------------------------------------------------

    async def receive(self, site_id: str, message: dict[str, Any]) -> None:
        """Persist a dispatch from the hub (a duplicate is ignored) and run it. When this
        returns, the dispatch is on disk and may be acknowledged."""
        dispatch_id = str(message["dispatchId"])
        namespace = str(message.get("namespace") or "default")
        now = self._clock()
        row, added = await self._store.add_dispatch(
            DispatchRow(
                role=SITE,
                dispatch_id=dispatch_id,
                site_id=site_id,
                namespace=namespace,
                activation_id=dispatch_id,
                run_id="",
                attempt=0,
                message=json.dumps(message, separators=(",", ":")),
                status="ACCEPTED",
                cancel="",
                result="",
                create_time=now,
                update_time=now,
            )
        )
        if not added:
            if row.status == "CLOSED":
                self.notify(row)  # the hub missed the result: send it again
            return
        self._spawn(self._run(row))

    async def cancel_received(self, site_id: str, dispatch_id: str, *, terminate: bool) -> None:
        """The hub asks to stop a dispatch. One never received is recorded as CANCELLED, so
        that it will not run if it arrives late; either way a result goes back."""
        row = await self._store.get_dispatch(SITE, dispatch_id)
        if row is None:
            now = self._clock()
            result = {
                "status": Status.CANCELLED.value,
                "failure": {"type": "Cancelled", "message": "cancelled before it reached the site"},
            }
            row, _ = await self._store.add_dispatch(
                DispatchRow(
                    role=SITE,
                    dispatch_id=dispatch_id,
                    site_id=site_id,
                    namespace="",
                    activation_id=dispatch_id,
                    run_id="",
                    attempt=0,
                    message="{}",
                    status="CLOSED",
                    cancel="terminate" if terminate else "cancel",
                    result=json.dumps(result),
                    create_time=now,
                    update_time=now,
                )
            )
        if row.status == "CLOSED":
            self.notify(row)
            return
        if row.status != "ACCEPTED":
            return
        how = "terminate" if terminate else "cancel"
        await self._store.update_dispatch(SITE, dispatch_id, self._clock(), cancel=how)
        request = (
            Terminate("the hub terminated it") if terminate else Cancel("the hub cancelled it")
        )
        await _quietly(self._driver.submit(row.namespace, row.activation_id, request))

    async def result_acknowledged(self, dispatch_id: str) -> None:
        await self._store.update_dispatch(SITE, dispatch_id, self._clock(), status="DONE")

    async def unacknowledged_results(self) -> list[DispatchRow]:
        """A site's results the hub has not acknowledged, to send again after a reconnect."""
        return [r for r in await self._store.open_dispatches(SITE) if r.status == "CLOSED"]

    def activation_closed(self, state: ActivationState) -> None:
        """Called for every activation that ends: a dispatch's records its result."""
        stage = self._inbound.pop((state.namespace, state.id), None)
        if stage is not None:
            self._spawn(self._record(state, stage))

    async def recover(self) -> None:
        """Site: run again the received dispatches whose result is not recorded yet."""
        for row in await self._store.open_dispatches(SITE):
            if row.status == "ACCEPTED":
                self._spawn(self._run(row))

    async def _run(self, row: DispatchRow) -> None:
        message = json.loads(row.message)
        stage = message.get("stage") or {}
        stage_name = str(stage.get("name", "")) if not message.get("campaign") else ""
        key = (row.namespace, row.activation_id)
        self._inbound[key] = stage_name
        driver = self._driver
        try:
            if message.get("campaign"):
                stored = await driver.catalog.get(
                    row.namespace, str(message["campaign"]), int(message.get("version") or 0)
                )
            else:
                name = f"{STAGE_CAMPAIGN_PREFIX}{stage_name}"
                spec = {"firstStage": stage_name, "stages": {stage_name: stage}}
                stored, _ = await driver.catalog.create(row.namespace, name, spec, PARTITA_API)
            request = Start(
                campaign=stored.name,
                version=stored.version,
                inputs=dict(message.get("inputs") or {}),
                headers={str(k): str(v) for k, v in (message.get("headers") or {}).items()},
                deadline=message.get("deadline"),
            )
            state, _ = await driver.start(
                row.namespace,
                row.activation_id,
                driver.catalog.compile(stored),
                request,
                request_id=f"dispatch:{row.dispatch_id}",
            )
        except PartitaError as exc:
            self._inbound.pop(key, None)
            failure = {"type": "DispatchNotStarted", "message": exc.message}
            await self._close(row.dispatch_id, {"status": Status.FAILED.value, "failure": failure})
            return
        if state.status.terminal:  # it had ended before a restart
            self.activation_closed(state)

    async def _record(self, state: ActivationState, stage: str) -> None:
        result: dict[str, Any] = {"status": state.status.value}
        if state.status is Status.COMPLETED:
            outputs = state.outputs.get(stage, {}) if stage else state.outputs
            result["outputs"] = outputs if isinstance(outputs, dict) else {"value": outputs}
        else:
            failure: dict[str, Any] = {"message": state.status_message}
            for run in reversed(state.runs):
                if run.error:
                    failure = {
                        **run.error,
                        "message": state.status_message or run.error.get("message", ""),
                    }
                    break
            result["failure"] = failure
        await self._close(state.id, result)

    async def _close(self, dispatch_id: str, result: dict[str, Any]) -> None:
        row = await self._store.update_dispatch(
            SITE, dispatch_id, self._clock(), status="CLOSED", result=json.dumps(result)
        )
        if row is not None and row.status == "CLOSED":
            self.notify(row)

    # -- lifecycle ---------------------------------------------------------------------------

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, work: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(self._logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _logged(work: Any) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("dispatch bookkeeping failed (it is done again after a restart)")


async def _quietly(work: Any) -> None:
    """Run ``work``; an activation that is gone or closed is not an error."""
    with contextlib.suppress(NotFoundError, PreconditionError):
        await work
