"""Running a built-in provider for one stage run attempt: its outputs, or its failure.

Only the provider sees secret values; what comes back is redacted before it is recorded.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from partita.engine import ActivationState, RunStage, StageResult
from partita.providers import Provider, StageCall, StageError
from partita.runtime.config import PlaneConfig
from partita.runtime.payloads import check_outputs_size
from partita.runtime.secrets import Secrets

log = logging.getLogger("partita.driver")


def stage_call(state: ActivationState, command: RunStage, site: str) -> StageCall:
    """What a provider is given for ``command``."""
    return StageCall(
        namespace=state.namespace,
        campaign=state.campaign,
        activation_id=state.id,
        stage=command.stage,
        generation=command.generation,
        previous_stage=command.previous_stage,
        site=site,
        attempt=command.attempt,
        inputs=command.inputs,
        config=command.config,
        state=command.state,
    )


async def outcome(
    providers: dict[str, Provider],
    config: PlaneConfig,
    secrets: Secrets | None,
    call: StageCall,
    command: RunStage,
) -> StageResult:
    """Run a built-in provider; its outputs, or its failure, as a StageResult."""
    if command.provider == "continue":  # the engine's own: it only needs an answer
        return StageResult(command.run_id, command.attempt, outputs={"inputs": command.inputs})
    provider = providers[command.provider]
    if secrets is not None:  # only the provider sees secret values, never the history
        call = dataclasses.replace(
            call,
            inputs=secrets.reveal(call.namespace, call.inputs),
            config=secrets.reveal(call.namespace, call.config),
        )
    try:
        outputs = await provider.run(call)
        if secrets is not None:
            outputs = secrets.redact(outputs)
        check_outputs_size(outputs, config.max_payload_bytes)
        return StageResult(command.run_id, command.attempt, outputs=outputs)
    except asyncio.CancelledError:
        raise
    except StageError as exc:
        failure = exc.as_failure()
        if secrets is not None:
            failure = secrets.redact(failure)
        return StageResult(command.run_id, command.attempt, error=failure)
    except Exception as exc:  # a provider bug must fail the stage, not the plane
        log.exception(
            "provider %s failed on %s/%s", command.provider, call.activation_id, call.stage
        )
        error = {"type": type(exc).__name__, "message": str(exc) or repr(exc)}
        if secrets is not None:
            error = secrets.redact(error)
        return StageResult(command.run_id, command.attempt, error=error)
