"""The plane's operations RPCs: rerun, skip, retry now, pause and resume, batches (issue 12).

Mixed into ``Plane``; each input is decided by the engine (``engine.operations``)."""

from __future__ import annotations

from typing import Any

from partita.engine import ActivationState, Pause, Rerun, Resume, RetryStage, SkipStage
from partita.errors import InvalidInputError
from partita.runtime.batches import Batch, Batches, BatchSpec
from partita.runtime.config import PlaneConfig
from partita.runtime.paging import page_of, token_of


class PlaneOperations:
    config: PlaneConfig
    batches: Batches

    def _check_running(self) -> None:
        raise NotImplementedError

    def _check_payload(self, field: str, value: dict[str, Any]) -> None:
        raise NotImplementedError

    async def _submit(
        self, namespace: str, activation_id: str, request: Any, request_id: str
    ) -> ActivationState:
        raise NotImplementedError

    async def rerun_activation(
        self,
        namespace: str,
        activation_id: str,
        *,
        stage: str = "",
        inputs: dict[str, Any] | None = None,
        allow_completed: bool = False,
        request_id: str = "",
    ) -> ActivationState:
        inputs = inputs or {}
        self._check_payload("inputs", inputs)
        request = Rerun(stage, inputs, allow_completed)
        return await self._submit(namespace, activation_id, request, request_id)

    async def skip_stage(
        self,
        namespace: str,
        activation_id: str,
        stage: str,
        outputs: dict[str, Any] | None = None,
        request_id: str = "",
    ) -> ActivationState:
        if not stage:
            raise InvalidInputError.field("stage", "is required")
        outputs = outputs or {}
        self._check_payload("outputs", outputs)
        return await self._submit(namespace, activation_id, SkipStage(stage, outputs), request_id)

    async def retry_stage(
        self, namespace: str, activation_id: str, stage: str = "", request_id: str = ""
    ) -> ActivationState:
        return await self._submit(namespace, activation_id, RetryStage(stage), request_id)

    async def pause_activation(
        self,
        namespace: str,
        activation_id: str,
        reason: str = "",
        *,
        hold_tasks: bool = False,
        request_id: str = "",
    ) -> ActivationState:
        return await self._submit(namespace, activation_id, Pause(reason, hold_tasks), request_id)

    async def resume_activation(
        self, namespace: str, activation_id: str, reason: str = "", request_id: str = ""
    ) -> ActivationState:
        return await self._submit(namespace, activation_id, Resume(reason), request_id)

    async def start_batch(
        self, namespace: str, batch_id: str, spec: BatchSpec, request_id: str = ""
    ) -> tuple[Batch, bool]:
        self._check_running()
        self._check_payload("data", spec.data)
        self._check_payload("inputs", spec.inputs)
        namespace = namespace or self.config.default_namespace
        return await self.batches.start_batch(namespace, batch_id, spec, request_id)

    async def get_batch(self, namespace: str, batch_id: str) -> Batch:
        return await self.batches.get(namespace or self.config.default_namespace, batch_id)

    async def list_batches(
        self, namespace: str, page_size: int = 0, page_token: str = ""
    ) -> tuple[list[Batch], str]:
        page = page_of(page_size, page_token, ((int, float), str))
        found = await self.batches.list(namespace or self.config.default_namespace, page)
        last = found[-1].row if found else None
        token = token_of((last.create_time, last.id)) if last and len(found) == page.size else ""
        return found, token
