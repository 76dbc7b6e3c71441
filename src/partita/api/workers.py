"""WorkerService: thin adapters over the runtime's stage tasks."""

from __future__ import annotations

from google.protobuf import duration_pb2

from partita.api.errors import Ctx
from partita.api.rpc import unary
from partita.runtime import Plane
from partita.runtime.stage_tasks import LeasedTask
from partita.v1 import worker_pb2, worker_pb2_grpc
from partita.wire import convert

W = worker_pb2


class WorkerServicer(worker_pb2_grpc.WorkerServiceServicer):
    def __init__(self, plane: Plane) -> None:
        self.plane = plane

    @unary
    async def PollStageTask(
        self, request: W.PollStageTaskRequest, context: Ctx
    ) -> W.PollStageTaskResponse:
        leased = await self.plane.poll_stage_task(
            request.namespace, request.task_queue, request.identity
        )
        if leased is None:
            return W.PollStageTaskResponse()
        return W.PollStageTaskResponse(task=stage_task(leased))

    @unary
    async def CompleteStageTask(
        self, request: W.CompleteStageTaskRequest, context: Ctx
    ) -> W.CompleteStageTaskResponse:
        following = await self.plane.complete_stage_task(
            request.task_token,
            convert.to_dict(request.outputs),
            request.identity,
            request.next_task_queue,
        )
        if following is None:
            return W.CompleteStageTaskResponse()
        return W.CompleteStageTaskResponse(next_task=stage_task(following))

    @unary
    async def FailStageTask(
        self, request: W.FailStageTaskRequest, context: Ctx
    ) -> W.FailStageTaskResponse:
        await self.plane.fail_stage_task(
            request.task_token, convert.failure_dict(request.failure), request.identity
        )
        return W.FailStageTaskResponse()

    @unary
    async def HeartbeatStageTask(
        self, request: W.HeartbeatStageTaskRequest, context: Ctx
    ) -> W.HeartbeatStageTaskResponse:
        stop = await self.plane.heartbeat_stage_task(request.task_token, request.identity)
        return W.HeartbeatStageTaskResponse(cancel_requested=stop)

    @unary
    async def ListWorkers(
        self, request: W.ListWorkersRequest, context: Ctx
    ) -> W.ListWorkersResponse:
        found = await self.plane.list_workers(request.namespace, request.task_queue)
        return W.ListWorkersResponse(
            workers=[
                W.Worker(
                    identity=w.identity,
                    task_queues=sorted(w.task_queues),
                    last_seen_time=convert.timestamp(w.last_seen),
                    tasks_in_flight=len(w.in_flight),
                )
                for w in found
            ]
        )

    @unary
    async def ListTaskQueues(
        self, request: W.ListTaskQueuesRequest, context: Ctx
    ) -> W.ListTaskQueuesResponse:
        found = await self.plane.list_task_queues(request.namespace)
        queues = []
        for q in found:
            queue = W.TaskQueue(
                name=q.name, backlog=q.backlog, tasks_held=q.held, keys=q.keys, rate=q.rate
            )
            if q.oldest_age is not None:
                queue.oldest_task_age.FromNanoseconds(int(q.oldest_age * 1e9))
            queues.append(queue)
        return W.ListTaskQueuesResponse(task_queues=queues)


def stage_task(leased: LeasedTask) -> W.StageTask:
    """A leased task as a worker gets it."""
    task = leased.task
    heartbeat = None
    if leased.heartbeat_timeout is not None:
        heartbeat = duration_pb2.Duration()
        heartbeat.FromNanoseconds(int(leased.heartbeat_timeout * 1e9))
    return W.StageTask(
        task_token=leased.token,
        namespace=task.namespace,
        task_queue=task.task_queue,
        task_type=task.task_type,
        inputs=convert.struct(task.inputs),
        attempt=task.attempt,
        activation_id=task.activation_id,
        campaign=task.campaign,
        stage=task.stage,
        headers=task.headers,
        start_to_close_deadline=convert.timestamp(leased.start_to_close_deadline),
        heartbeat_timeout=heartbeat,
    )
