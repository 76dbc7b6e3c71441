"""The plane's ScheduleService side: thin delegations to the scheduler (issue 6).

Mixed into ``Plane``."""

from __future__ import annotations

from partita.model.schedule import OverlapPolicy, Schedule, ScheduleDefinition
from partita.runtime.config import PlaneConfig
from partita.runtime.namespaces import Namespaces
from partita.runtime.paging import page_of, token_of
from partita.runtime.scheduler import Scheduler


class PlaneSchedules:
    config: PlaneConfig
    scheduler: Scheduler
    namespaces: Namespaces

    def _check_running(self) -> None:
        raise NotImplementedError

    async def create_schedule(
        self,
        namespace: str,
        schedule_id: str,
        definition: ScheduleDefinition,
        *,
        paused: bool = False,
        note: str = "",
        request_id: str = "",
    ) -> Schedule:
        self._check_running()
        await self.namespaces.check_schedule(namespace or self.config.default_namespace)
        return await self.scheduler.create(
            namespace, schedule_id, definition, paused=paused, note=note, request_id=request_id
        )

    async def get_schedule(self, namespace: str, schedule_id: str) -> Schedule:
        return await self.scheduler.get(namespace, schedule_id)

    async def update_schedule(
        self, namespace: str, schedule_id: str, definition: ScheduleDefinition
    ) -> Schedule:
        self._check_running()
        return await self.scheduler.update(namespace, schedule_id, definition)

    async def delete_schedule(self, namespace: str, schedule_id: str) -> None:
        self._check_running()
        await self.scheduler.delete(namespace, schedule_id)

    async def list_schedules(
        self, namespace: str, page_size: int = 0, page_token: str = ""
    ) -> tuple[list[Schedule], str]:
        page = page_of(page_size, page_token, (str,))
        found = await self.scheduler.list(namespace, page)
        token = token_of((found[-1].schedule_id,)) if len(found) == page.size else ""
        return found, token

    async def pause_schedule(self, namespace: str, schedule_id: str, note: str = "") -> Schedule:
        self._check_running()
        return await self.scheduler.pause(namespace, schedule_id, note)

    async def resume_schedule(self, namespace: str, schedule_id: str, note: str = "") -> Schedule:
        self._check_running()
        return await self.scheduler.resume(namespace, schedule_id, note)

    async def trigger_schedule(
        self, namespace: str, schedule_id: str, overlap: OverlapPolicy | None = None
    ) -> str:
        self._check_running()
        return await self.scheduler.trigger(namespace, schedule_id, overlap)
