"""Replicas: planes sharing one PostgreSQL database split the work and survive each other.

Real processes (``partita site --db postgresql://…``) on the local PostgreSQL server, each
test in a schema of its own; skipped, with the reason, where no server answers.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format, struct_pb2

from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from partita.v1 import replica_pb2 as R
from partita.v1 import replica_pb2_grpc as RG
from partita.v1 import worker_pb2 as W
from partita.v1 import worker_pb2_grpc as WG
from tests import pg
from tests.conftest import assert_eventually
from tests.e2e.planes import PlaneProcess

ACTIVATIONS = 500
JOBS = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: jobs}
spec:
  firstStage: first
  stages:
    first:
      provider: worker
      taskQueue: jobs
      inputs: {n: "${{ inputs.n }}"}
      timeouts: {startToClose: 10s}  # a lease whose answer was lost (a poll timed out) runs again
      stageSelector: second
    second:
      provider: worker
      taskQueue: jobs
      inputs: {n: "${{ outputs.first.n }}"}
      timeouts: {startToClose: 10s}
"""
DELAYED = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: delayed}
spec:
  firstStage: pause
  stages:
    pause: {provider: delay, config: {duration: 4s}, stageSelector: done}
    done: {provider: noop}
"""


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[list[PlaneProcess]]:
    schema, url = pg.new_schema()
    planes = [
        PlaneProcess(
            url,
            "--replica-id",
            f"r{i}",
            "--replica-lease",
            "2s",
            "--poll-timeout",
            "300ms",
            log=tmp_path / f"r{i}.log",
        )
        for i in range(3)
    ]
    yield planes
    for plane in planes:
        plane.close()
    pg.drop_schema(schema)


def _struct(data: dict[str, object]) -> struct_pb2.Struct:
    return json_format.ParseDict(data, struct_pb2.Struct())


async def _owned(channel: grpc.aio.Channel) -> dict[str, tuple[bool, int]]:
    answer = await RG.ReplicaServiceStub(channel).ListReplicas(R.ListReplicasRequest(), timeout=5)
    return {r.id: (r.alive, r.owned_activations) for r in answer.replicas}


async def _work(
    channels: list[grpc.aio.Channel | None], done: asyncio.Event, seen: collections.Counter[str]
) -> None:
    """A worker that polls the replicas in turn and reports each task to the next one, as a
    worker behind a load balancer would; a report that fails goes to another replica."""
    for turn in itertools.count():
        if done.is_set():
            return
        live = [c for c in channels if c is not None]
        try:
            answer = await WG.WorkerServiceStub(live[turn % len(live)]).PollStageTask(
                W.PollStageTaskRequest(task_queue="jobs", identity="w"), timeout=5
            )
        except grpc.aio.AioRpcError:
            continue
        if not answer.HasField("task"):
            continue
        task = answer.task
        seen[f"{task.activation_id}/{task.stage}"] += 1
        n = json_format.MessageToDict(task.inputs)["n"]
        request = W.CompleteStageTaskRequest(
            task_token=task.task_token, outputs=_struct({"n": n + 1}), identity="w"
        )
        for attempt in itertools.count(turn + 1):
            live = [c for c in channels if c is not None]
            try:
                await WG.WorkerServiceStub(live[attempt % len(live)]).CompleteStageTask(
                    request, timeout=10
                )
                break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.2)  # its owner is gone: until another replica takes over


@pytest.mark.timeout(600)
async def test_replicas_split_the_work_and_finish_a_killed_ones_activations(
    replicas: list[PlaneProcess],
) -> None:
    for plane in replicas:
        plane.start()
    channels: list[grpc.aio.Channel | None] = [await p.channel() for p in replicas]
    first = channels[0]
    assert first is not None
    await CG.CampaignServiceStub(first).CreateCampaign(C.CreateCampaignRequest(document=JOBS))
    for i in range(ACTIVATIONS):  # spread over the replicas, as a load balancer would
        channel = channels[i % 3]
        assert channel is not None
        await AG.ActivationServiceStub(channel).StartActivation(
            A.StartActivationRequest(
                campaign="jobs", activation_id=f"j{i}", inputs=_struct({"n": i})
            )
        )
    owned = await _owned(first)
    assert all(owned[f"r{i}"] == (True, ACTIVATIONS // 3 + (i < ACTIVATIONS % 3)) for i in range(3))

    done = asyncio.Event()
    seen: collections.Counter[str] = collections.Counter()
    workers = [asyncio.create_task(_work(channels, done, seen)) for _ in range(6)]

    async def half_done() -> bool:
        return sum(seen.values()) >= ACTIVATIONS // 2

    await assert_eventually(half_done, within=120)
    replicas[1].kill()  # in the middle of the run, with tasks leased through it
    channels[1] = None  # the workers stop calling it

    stub = AG.ActivationServiceStub(first)

    async def all_completed() -> bool | None:
        answer = await stub.ListActivations(
            A.ListActivationsRequest(
                campaign="jobs", statuses=[common_pb2.ACTIVATION_STATUS_COMPLETED], page_size=1000
            )
        )
        return True if len(answer.activations) == ACTIVATIONS else None

    try:
        await assert_eventually(all_completed, within=180)
    except AssertionError:
        stuck = await stub.ListActivations(
            A.ListActivationsRequest(
                campaign="jobs", statuses=[common_pb2.ACTIVATION_STATUS_RUNNING]
            )
        )
        for activation in stuck.activations[:5]:
            history = await stub.GetActivationHistory(
                A.GetActivationHistoryRequest(activation_id=activation.id)
            )
            print(activation.id, [common_pb2.EventType.Name(e.type) for e in history.events])
        print(await _owned(first), sum(seen.values()))
        raise
    done.set()
    await asyncio.gather(*workers)

    owned = await _owned(first)
    assert owned["r1"][0] is False, "the killed replica is not alive"
    for i in range(ACTIVATIONS):
        history = await stub.GetActivationHistory(
            A.GetActivationHistoryRequest(activation_id=f"j{i}", page_size=1000)
        )
        completed = collections.Counter(
            e.stage for e in history.events if e.type == common_pb2.EVENT_TYPE_STAGE_COMPLETED
        )
        assert completed == {"first": 1, "second": 1}, (i, completed)
        answer = await stub.GetActivation(A.GetActivationRequest(activation_id=f"j{i}"))
        # Each stage saw the output of the one before: n, n + 1, n + 2.
        outputs = json_format.MessageToDict(answer.activation.outputs)
        assert outputs["second"]["n"] == i + 2


async def test_a_paused_replica_cannot_write_a_stale_transition(
    replicas: list[PlaneProcess],
) -> None:
    paused, other = replicas[0], replicas[1]
    paused.start()
    other.start()
    on_paused, on_other = await paused.channel(), await other.channel()
    await CG.CampaignServiceStub(on_paused).CreateCampaign(
        C.CreateCampaignRequest(document=DELAYED)
    )
    await AG.ActivationServiceStub(on_paused).StartActivation(
        A.StartActivationRequest(campaign="delayed", activation_id="d1")
    )
    assert (await _owned(on_other))["r0"] == (True, 1)

    paused.pause()  # holds d1 and its timer in memory, past its lease
    # The other replica takes d1 over.
    await assert_eventually(lambda: _owned_by(on_other, "r1", 1), within=30)
    stub = AG.ActivationServiceStub(on_other)

    async def completed() -> bool | None:
        answer = await stub.GetActivation(A.GetActivationRequest(activation_id="d1"))
        return True if answer.activation.status == common_pb2.ACTIVATION_STATUS_COMPLETED else None

    await assert_eventually(completed, within=30)
    paused.resume()  # its timer for d1 fires now, on a stale copy of d1
    # It comes back to life: it rejoins and answers again.
    await assert_eventually(lambda: _owned_by(on_other, "r0", 0), within=30)
    await AG.ActivationServiceStub(on_paused).GetActivation(
        A.GetActivationRequest(activation_id="d1"), timeout=10
    )
    history = await stub.GetActivationHistory(
        A.GetActivationHistoryRequest(activation_id="d1", page_size=1000)
    )
    sequences = [e.sequence for e in history.events]
    assert sequences == list(range(1, len(sequences) + 1))
    types = collections.Counter(common_pb2.EventType.Name(e.type) for e in history.events)
    assert types["EVENT_TYPE_TIMER_FIRED"] == 1
    assert types["EVENT_TYPE_STAGE_COMPLETED"] == 2  # pause, then done: once each
    assert types["EVENT_TYPE_ACTIVATION_COMPLETED"] == 1

    # What an operator sees: both replicas alive again, owning nothing open.
    process = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "partita.cli.main", "list", "replicas", "-o", "json"],
        env={**os.environ, "PARTITA_SERVER": other.address},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0
    replicas_seen = json.loads(out)
    assert replicas_seen["selfId"] == "r1"
    assert [(r["id"], r["alive"]) for r in replicas_seen["replicas"]] == [
        ("r0", True),
        ("r1", True),
    ]


async def _owned_by(channel: grpc.aio.Channel, replica: str, count: int) -> bool | None:
    owned = await _owned(channel)
    alive, owns = owned.get(replica, (False, -1))
    return True if alive and owns == count else None


GATED = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: gated}
spec:
  firstStage: gate
  stages:
    gate: {provider: wait, config: {event: go}, stageSelector: done}
    done: {provider: noop}
"""


async def test_any_replica_watches_signals_and_cancels_another_ones_activations(
    replicas: list[PlaneProcess],
) -> None:
    owner, other = replicas[0], replicas[1]
    owner.start()
    other.start()
    on_owner, on_other = await owner.channel(), await other.channel()
    await CG.CampaignServiceStub(on_owner).CreateCampaign(C.CreateCampaignRequest(document=GATED))
    started = AG.ActivationServiceStub(on_owner)
    for name in ("g1", "g2"):
        await started.StartActivation(
            A.StartActivationRequest(campaign="gated", activation_id=name)
        )
    assert (await _owned(on_other))["r0"] == (True, 2)

    stub = AG.ActivationServiceStub(on_other)  # the replica that owns neither
    watch = stub.WatchActivation(A.WatchActivationRequest(activation_id="g1"))
    seen: list[str] = []

    async def follow() -> None:
        async for item in watch:
            seen.append(common_pb2.EventType.Name(item.event.type))

    following = asyncio.create_task(follow())
    await stub.SignalActivation(
        A.SignalActivationRequest(activation_id="g1", event="go", request_id="s1")
    )
    await stub.SignalActivation(  # a retry of the same request changes nothing
        A.SignalActivationRequest(activation_id="g1", event="go", request_id="s1")
    )
    await asyncio.wait_for(following, 30)  # the stream ends with the closing event
    assert seen[-1] == "EVENT_TYPE_ACTIVATION_COMPLETED"
    assert seen.count("EVENT_TYPE_SIGNAL_RECEIVED") == 1

    cancelled = await stub.CancelActivation(A.CancelActivationRequest(activation_id="g2"))
    assert cancelled.activation.status == common_pb2.ACTIVATION_STATUS_CANCELLED
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await stub.SignalActivation(A.SignalActivationRequest(activation_id="g2", event="go"))
    assert raised.value.code() is grpc.StatusCode.FAILED_PRECONDITION
