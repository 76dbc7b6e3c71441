"""BatchService: thin adapters over the runtime's batches (issue 12)."""

from __future__ import annotations

from partita.api.errors import Ctx
from partita.api.rpc import unary
from partita.runtime import Plane
from partita.runtime.batches import Batch, BatchSpec
from partita.v1 import batch_pb2, batch_pb2_grpc
from partita.wire import convert

B = batch_pb2
ACTIONS = {
    B.BATCH_ACTION_CANCEL: "cancel",
    B.BATCH_ACTION_TERMINATE: "terminate",
    B.BATCH_ACTION_RERUN: "rerun",
    B.BATCH_ACTION_SIGNAL: "signal",
}
ACTION_OF = {name: value for value, name in ACTIONS.items()}


def spec_of(request: batch_pb2.StartBatchRequest) -> BatchSpec:
    """The runtime's spec of a StartBatch request (an unspecified action stays empty)."""
    where = request.filter
    return BatchSpec(
        action=ACTIONS.get(request.action, ""),
        statuses=tuple(convert.status_name(s, "filter.statuses") for s in where.statuses),
        campaign=where.campaign,
        created_after=convert.seconds(where.start_time_after)
        if where.HasField("start_time_after")
        else None,
        created_before=convert.seconds(where.start_time_before)
        if where.HasField("start_time_before")
        else None,
        reason=request.reason,
        event=request.event,
        data=convert.to_dict(request.data),
        stage=request.stage,
        inputs=convert.to_dict(request.inputs),
        allow_completed=request.allow_completed,
        rate=request.rate,
    )


def batch(value: Batch) -> batch_pb2.Batch:
    row, spec = value.row, value.spec
    return B.Batch(
        id=row.id,
        namespace=row.namespace,
        action=ACTION_OF.get(spec.action, B.BATCH_ACTION_UNSPECIFIED),
        filter=B.BatchFilter(
            statuses=[convert.status(s) for s in spec.statuses],
            campaign=spec.campaign,
            start_time_after=convert.timestamp(spec.created_after),
            start_time_before=convert.timestamp(spec.created_before),
        ),
        reason=spec.reason,
        event=spec.event,
        data=convert.struct(spec.data),
        stage=spec.stage,
        inputs=convert.struct(spec.inputs),
        allow_completed=spec.allow_completed,
        rate=spec.rate,
        status=B.BATCH_STATUS_COMPLETED if row.status == "COMPLETED" else B.BATCH_STATUS_RUNNING,
        total=row.total,
        done=row.done,
        skipped=row.skipped,
        failed=row.failed,
        last_error=row.last_error,
        create_time=convert.timestamp(row.create_time),
        update_time=convert.timestamp(row.update_time),
        close_time=convert.timestamp(row.close_time),
    )


class BatchServicer(batch_pb2_grpc.BatchServiceServicer):
    def __init__(self, plane: Plane) -> None:
        self.plane = plane

    @unary
    async def StartBatch(self, request: B.StartBatchRequest, context: Ctx) -> B.StartBatchResponse:
        found, started = await self.plane.start_batch(
            request.namespace, request.batch_id, spec_of(request), request.request_id
        )
        return B.StartBatchResponse(batch=batch(found), started=started)

    @unary
    async def GetBatch(self, request: B.GetBatchRequest, context: Ctx) -> B.GetBatchResponse:
        found = await self.plane.get_batch(request.namespace, request.batch_id)
        return B.GetBatchResponse(batch=batch(found))

    @unary
    async def ListBatches(
        self, request: B.ListBatchesRequest, context: Ctx
    ) -> B.ListBatchesResponse:
        found, token = await self.plane.list_batches(
            request.namespace, request.page_size, request.page_token
        )
        return B.ListBatchesResponse(batches=[batch(b) for b in found], next_page_token=token)
