"""ScheduleService: thin adapters over the runtime."""

from __future__ import annotations

from partita.api import convert_schedules as convert
from partita.api.errors import Ctx
from partita.api.rpc import unary
from partita.runtime import Plane
from partita.v1 import schedule_pb2, schedule_pb2_grpc

S = schedule_pb2


class ScheduleServicer(schedule_pb2_grpc.ScheduleServiceServicer):
    def __init__(self, plane: Plane) -> None:
        self.plane = plane

    @unary
    async def CreateSchedule(
        self, request: S.CreateScheduleRequest, context: Ctx
    ) -> S.CreateScheduleResponse:
        found = await self.plane.create_schedule(
            request.namespace,
            request.schedule_id,
            convert.definition(request.schedule),
            paused=request.schedule.state.paused,
            note=request.schedule.state.note,
            request_id=request.request_id,
        )
        return S.CreateScheduleResponse(schedule=convert.schedule(found))

    @unary
    async def GetSchedule(
        self, request: S.GetScheduleRequest, context: Ctx
    ) -> S.GetScheduleResponse:
        found = await self.plane.get_schedule(request.namespace, request.schedule_id)
        return S.GetScheduleResponse(schedule=convert.schedule(found))

    @unary
    async def UpdateSchedule(
        self, request: S.UpdateScheduleRequest, context: Ctx
    ) -> S.UpdateScheduleResponse:
        found = await self.plane.update_schedule(
            request.namespace, request.schedule_id, convert.definition(request.schedule)
        )
        return S.UpdateScheduleResponse(schedule=convert.schedule(found))

    @unary
    async def DeleteSchedule(
        self, request: S.DeleteScheduleRequest, context: Ctx
    ) -> S.DeleteScheduleResponse:
        await self.plane.delete_schedule(request.namespace, request.schedule_id)
        return S.DeleteScheduleResponse()

    @unary
    async def ListSchedules(
        self, request: S.ListSchedulesRequest, context: Ctx
    ) -> S.ListSchedulesResponse:
        found, token = await self.plane.list_schedules(
            request.namespace, request.page_size, request.page_token
        )
        return S.ListSchedulesResponse(
            schedules=[convert.schedule(s) for s in found], next_page_token=token
        )

    @unary
    async def PauseSchedule(
        self, request: S.PauseScheduleRequest, context: Ctx
    ) -> S.PauseScheduleResponse:
        found = await self.plane.pause_schedule(
            request.namespace, request.schedule_id, request.note
        )
        return S.PauseScheduleResponse(schedule=convert.schedule(found))

    @unary
    async def ResumeSchedule(
        self, request: S.ResumeScheduleRequest, context: Ctx
    ) -> S.ResumeScheduleResponse:
        found = await self.plane.resume_schedule(
            request.namespace, request.schedule_id, request.note
        )
        return S.ResumeScheduleResponse(schedule=convert.schedule(found))

    @unary
    async def TriggerSchedule(
        self, request: S.TriggerScheduleRequest, context: Ctx
    ) -> S.TriggerScheduleResponse:
        activation_id = await self.plane.trigger_schedule(
            request.namespace, request.schedule_id, convert.overlap(request.overlap)
        )
        return S.TriggerScheduleResponse(activation_id=activation_id)
