"""The Provider protocol: what every built-in stage provider implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class StageCall:
    """One attempt of one stage run, as a provider sees it."""

    namespace: str
    campaign: str
    activation_id: str
    stage: str
    generation: int
    previous_stage: str
    site: str
    attempt: int
    inputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    state: Any = None
    """This stage's previous ``__state`` output in the activation, for stateful providers."""


class StageError(Exception):
    """A provider's report that the stage run failed."""

    def __init__(
        self,
        message: str,
        *,
        type: str = "StageError",
        details: dict[str, Any] | None = None,
        non_retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.type = type
        self.details = details or {}
        self.non_retryable = non_retryable

    def as_failure(self) -> dict[str, Any]:
        """The failure as the engine records it."""
        failure: dict[str, Any] = {"type": self.type, "message": str(self)}
        if self.details:
            failure["details"] = self.details
        if self.non_retryable:
            failure["nonRetryable"] = True
        return failure


class Provider(Protocol):
    """Runs stages of one kind inside the plane."""

    name: str
    """What campaigns write in ``provider:`` (``providers.stage.<name>`` works too)."""
    instant: bool
    """True when ``run`` only computes from its call (no I/O, no waiting): the plane may run
    it inside the transition that starts the stage run."""

    async def run(self, call: StageCall) -> dict[str, Any]:
        """The stage's outputs; raise StageError when the run failed."""
        ...

    async def aclose(self) -> None:
        """Release what the provider holds (connection pools)."""
        ...
