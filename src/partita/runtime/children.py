"""Child activations of ``campaign`` stages: starting them, and telling parents how they ended."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from partita.engine import (
    ActivationState,
    Cancel,
    ChildClosed,
    ChildStarted,
    Start,
    StartChild,
    Status,
    Terminate,
)
from partita.errors import NotFoundError, PartitaError, PreconditionError

if TYPE_CHECKING:
    from partita.runtime.driver import Driver

log = logging.getLogger("partita.children")


class Children:
    """Runs the driver's child-activation commands as tasks, and tracks them for shutdown."""

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, parent: ActivationState, command: StartChild) -> None:
        self._spawn(self._start(parent.namespace, parent.id, dict(parent.headers), command))

    def closed(self, child: ActivationState) -> None:
        """A child reached a terminal status: report it to its parent."""
        self._spawn(self._report(child))

    def stop(self, namespace: str, child_id: str, *, terminate: bool) -> None:
        """The parent was cancelled or terminated: do the same to the child."""
        request = Terminate("parent terminated") if terminate else Cancel("parent cancelled")
        self._spawn(self._quietly(self._driver.submit(namespace, child_id, request)))

    async def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, work: object) -> None:
        task = asyncio.ensure_future(work)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start(
        self, namespace: str, parent_id: str, headers: dict[str, str], command: StartChild
    ) -> None:
        driver = self._driver
        try:
            stored = await driver.catalog.get(namespace, command.campaign, command.version)
            request = Start(
                campaign=command.campaign,
                version=stored.version,
                inputs=command.inputs,
                headers=headers,
                parent={
                    "activationId": parent_id,
                    "runId": command.run_id,
                    "attempt": command.attempt,
                },
            )
            child, created = await driver.start(
                namespace,
                command.child_id,
                driver.catalog.compile(stored),
                request,
                request_id=f"child:{command.child_id}",
            )
        except PartitaError as exc:
            failure = {
                "type": "ChildNotStarted",
                "message": exc.message,
                "nonRetryable": isinstance(exc, NotFoundError),
            }
            report = ChildClosed(
                command.run_id,
                command.attempt,
                command.child_id,
                Status.FAILED.value,
                failure=failure,
            )
            await self._quietly(driver.submit(namespace, parent_id, report))
            return
        started = ChildStarted(command.run_id, command.attempt, command.child_id)
        await self._quietly(driver.submit(namespace, parent_id, started))
        if not created and child.status.terminal:  # it had ended before a restart
            await self._report(child)

    async def _report(self, child: ActivationState) -> None:
        link = child.parent
        failure = None
        if child.status is not Status.COMPLETED:
            failure = {
                "type": f"Child{child.status.value.title().replace('_', '')}",
                "message": f"child activation {child.id} ended {child.status.value}: "
                f"{child.status_message}",
            }
        report = ChildClosed(
            link["runId"],
            int(link["attempt"]),
            child.id,
            child.status.value,
            outputs=dict(child.outputs),
            failure=failure,
        )
        await self._quietly(self._driver.submit(child.namespace, link["activationId"], report))

    @staticmethod
    async def _quietly(work: object) -> None:
        """Run ``work``; a parent or child that is gone or closed is not an error."""
        with contextlib.suppress(NotFoundError, PreconditionError):
            await work  # type: ignore[misc]
