"""Providers that compute their outputs from their inputs: ``mock``, ``noop``, ``counter``."""

from __future__ import annotations

import logging
from typing import Any

from partita.providers.base import StageCall, StageError

log = logging.getLogger("partita.providers.mock")


class MockProvider:
    """Echoes its inputs as outputs, with the run's ``__`` facts added, and logs both."""

    name = "mock"
    instant = True

    async def run(self, call: StageCall) -> dict[str, Any]:
        outputs = dict(call.inputs)
        outputs.update(
            __campaign=call.campaign,
            __namespace=call.namespace,
            __activation=call.activation_id,
            __stage=call.stage,
            __activationGeneration=call.generation,
            __previousStage=call.previous_stage,
            __site=call.site,
        )
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


def _lines(values: dict[str, Any]) -> str:
    return "\n".join(f"{key}:\t{value}" for key, value in values.items())


class NoopProvider:
    """Does nothing and outputs nothing."""

    name = "noop"
    instant = True

    async def run(self, call: StageCall) -> dict[str, Any]:
        return {}

    async def aclose(self) -> None:
        return None


class CounterProvider:
    """Per-activation counters that survive loop iterations.

    Each numeric input ``k`` adds its value to counter ``k`` (starting at input ``k.init``,
    default 0). Outputs every counter, and ``__state``, which the engine hands back on the
    stage's next run.
    """

    name = "counter"
    instant = True

    async def run(self, call: StageCall) -> dict[str, Any]:
        state: dict[str, Any] = dict(call.state) if isinstance(call.state, dict) else {}
        for key, value in call.inputs.items():
            if key.endswith(".init") or key.startswith("__"):
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise StageError(
                    f"counter input {key!r} must be a number, not {value!r}",
                    type="BadInput",
                    non_retryable=True,
                )
            start = call.inputs.get(f"{key}.init", 0)
            state[key] = state.get(key, start) + value
        return {**state, "__state": state}

    async def aclose(self) -> None:
        return None
