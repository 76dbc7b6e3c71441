"""Providers by Eclipse Symphony's names, for ``workflow.symphony/v1`` campaigns.

``symphony.mock`` (``providers.stage.mock``), ``symphony.list``, ``symphony.remote`` and
``symphony.tasks`` (a stage with ``tasks``) live here; ``symphony.http`` and
``symphony.script`` have modules of their own. ``counter``, ``delay`` and ``wait`` are the
plane's own (``delay`` and ``wait`` on durable timers and signals).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from partita.engine.symphony import status_error
from partita.expr.symphony import is_number
from partita.model.durations import parse_duration
from partita.providers.base import Provider, StageCall, StageError
from partita.providers.simple import CounterProvider, _lines

log = logging.getLogger("partita.providers.mock")

SiteLister = Callable[[], Awaitable[list[str]]]
"""Federation's hook for ``providers.stage.list``: the ids of the sites a hub knows."""


class SymphonyMockProvider:
    """Symphony's mock: echoes its inputs (the injected ``__`` ones included) as outputs.
    An input ``foo`` that is a whole number comes back one higher, and an empty one as 1,
    which is what ends Symphony's looping samples (``foo: ${{$output(mock,foo)}}`` is empty
    on the first round)."""

    name = "symphony.mock"
    instant = True

    async def run(self, call: StageCall) -> dict[str, Any]:
        outputs = dict(call.inputs)
        if "foo" in outputs:
            foo = outputs["foo"]
            if foo is None or foo == "":
                outputs["foo"] = 1
            elif (is_number(foo) and float(foo).is_integer()) or (
                isinstance(foo, str) and foo.strip().lstrip("-").isdigit()
            ):
                outputs["foo"] = int(foo) + 1
        if log.isEnabledFor(logging.INFO):
            log.info(
                "\n%s\nMOCK STAGE PROVIDER IS PROCESSING INPUTS:\n%s\n%s\n"
                "MOCK STAGE PROVIDER IS DONE PROCESSING WITH OUTPUTS:\n%s\n%s",
                "=" * 52,
                _lines(call.inputs),
                "-" * 40,
                _lines(outputs),
                "=" * 52,
            )
        return outputs

    async def aclose(self) -> None:
        return None


class SymphonyCounterProvider(CounterProvider):
    """Symphony's counter: like ``counter``, but an input that is not a number is left
    alone instead of failing the stage (a Symphony stage's inputs often carry other keys)."""

    name = "symphony.counter"

    async def run(self, call: StageCall) -> dict[str, Any]:
        numbers = {
            k: v
            for k, v in call.inputs.items()
            if is_number(v) or k.endswith(".init") or k.startswith("__")
        }
        return await super().run(replace(call, inputs=numbers))


class SymphonyListProvider:
    """``providers.stage.list``: ``objectType: sites`` lists the sites a hub knows (the
    plane's own site left out), as names with ``namesOnly``."""

    name = "symphony.list"
    instant = False

    def __init__(self, sites: SiteLister | None = None) -> None:
        self._sites = sites

    async def run(self, call: StageCall) -> dict[str, Any]:
        object_type = str(call.inputs.get("objectType", ""))
        if object_type != "sites":
            raise StageError(
                f"objectType {object_type!r} is not supported by this plane "
                "(providers.stage.list lists objectType: sites)",
                type="BadConfig",
                non_retryable=True,
            )
        if self._sites is None:
            # Federation plugs the hub's site registry in here (SymphonyListProvider(sites=...)).
            raise StageError(
                "providers.stage.list with objectType: sites needs a hub plane; "
                "this plane is a site plane and knows no other sites",
                type="NotAHub",
                non_retryable=True,
            )
        names = [s for s in await self._sites() if s != call.site]
        return {"items": names, "status": 200}

    async def aclose(self) -> None:
        return None


class SymphonyRemoteProvider:
    """``providers.stage.remote``: runs the stage on the sites of ``contexts`` through
    federation. Until this plane is a hub with federation, a clear error."""

    name = "symphony.remote"
    instant = True

    async def run(self, call: StageCall) -> dict[str, Any]:
        # Federation plugs in here: dispatch to call.inputs["__site"] and report its result.
        raise StageError(
            f"providers.stage.remote cannot reach site {call.inputs.get('__site', call.site)!r}: "
            "remote stages need a hub plane with federation, which this plane does not have",
            type="RemoteUnavailable",
            non_retryable=True,
        )

    async def aclose(self) -> None:
        return None


class SymphonyTasksProvider:
    """A stage with ``tasks``: its own provider first (if any), then its tasks in parallel,
    ``taskOption.concurrency`` at a time (0: all at once). Each task's outputs go under its
    name; a failed task's are ``{status, error}``. ``errorAction.mode`` decides what a failed
    task does: ``stopOnAnyFailure`` (start no more, fail the stage), ``stopOnNFailures``
    (fail once more than ``maxToleratedFailures`` failed), ``silentlyContinue``."""

    name = "symphony.tasks"
    instant = False

    def __init__(self, providers: Mapping[str, Provider]) -> None:
        self._providers = providers

    async def run(self, call: StageCall) -> dict[str, Any]:
        config = call.config
        outputs: dict[str, Any] = {}
        own = str(config.get("provider") or "")
        if own:
            outputs.update(await self._provider(own).run(replace(call, config=_own(config))))
        tasks = list(config.get("tasks") or [])
        option = config.get("taskOption") or {}
        action = option.get("errorAction") or {}
        mode = action.get("mode", "stopOnAnyFailure")
        tolerated = int(action.get("maxToleratedFailures", 0))
        limit = int(option.get("concurrency") or 0) or max(len(tasks), 1)
        gate = asyncio.Semaphore(limit)
        failures: list[str] = []
        stop = asyncio.Event()

        async def one(task: dict[str, Any]) -> None:
            async with gate:
                if stop.is_set():
                    return
                name = str(task.get("name"))
                inputs = {**call.inputs, **(task.get("inputs") or {})}
                if task.get("target"):
                    inputs["__target"] = task["target"]
                sub = replace(call, inputs=inputs, config=task.get("config") or {})
                try:
                    outputs[name] = await self._task(str(task.get("provider")), sub)
                except StageError as exc:
                    outputs[name] = {"status": 500, "error": str(exc)}
                    failures.append(name)
                    if mode == "stopOnAnyFailure" or (
                        mode == "stopOnNFailures" and len(failures) > tolerated
                    ):
                        stop.set()

        await asyncio.gather(*(one(task) for task in tasks))
        failed_stage = (mode == "stopOnAnyFailure" and failures) or (
            mode == "stopOnNFailures" and len(failures) > tolerated
        )
        if failed_stage:
            raise StageError(
                f"task{'s' if len(failures) > 1 else ''} {', '.join(failures)} failed "
                f"(errorAction {mode})",
                type="TaskFailed",
                details={"outputs": outputs},
                non_retryable=True,
            )
        return outputs

    async def _task(self, provider: str, call: StageCall) -> dict[str, Any]:
        if provider == "delay":
            duration = parse_duration(call.inputs.get("delay", 0)).total_seconds()
            await asyncio.sleep(duration)
            return {"status": 200}
        outputs = await self._provider(provider).run(call)
        failure = status_error(outputs)  # Symphony's rule: a status that is not OK failed
        if failure is not None:
            raise StageError(failure["message"])
        return outputs

    def _provider(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            raise StageError(f"no provider {name!r}", type="BadConfig", non_retryable=True)
        return provider

    async def aclose(self) -> None:
        return None


def _own(config: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in ("provider", "tasks", "taskOption")}
