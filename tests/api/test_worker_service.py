"""WorkerService through real gRPC calls: tasks, leases, results, retries, timeouts, heartbeats."""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import grpc
import pytest

from partita.v1 import activation_pb2, common_pb2, worker_pb2
from tests.api.plane_client import Api, plain, struct, violations

W = worker_pb2


def worker_stage(**extra: Any) -> dict[str, Any]:
    return {
        "firstStage": "work",
        "stages": {
            "work": {
                "provider": "worker",
                "taskQueue": "q",
                "taskType": "add",
                "inputs": {"a": "${{ inputs.a }}", "b": 2},
                **extra,
            }
        },
    }


async def poll(api: Api, queue: str = "q", identity: str = "w1") -> W.StageTask | None:
    response = await api.workers.PollStageTask(
        W.PollStageTaskRequest(task_queue=queue, identity=identity)
    )
    return response.task if response.HasField("task") else None


async def poll_until(api: Api, queue: str = "q", identity: str = "w1") -> W.StageTask:
    for _ in range(40):
        task = await poll(api, queue, identity)
        if task is not None:
            return task
    raise AssertionError("no task arrived")


async def complete(
    api: Api, task: W.StageTask, outputs: dict[str, Any], identity: str = "w1"
) -> None:
    await api.workers.CompleteStageTask(
        W.CompleteStageTaskRequest(
            task_token=task.task_token, outputs=struct(outputs), identity=identity
        )
    )


async def fail(api: Api, task: W.StageTask, kind: str, non_retryable: bool = False) -> None:
    await api.workers.FailStageTask(
        W.FailStageTaskRequest(
            task_token=task.task_token,
            failure=common_pb2.Failure(
                type=kind, message=f"{kind} happened", non_retryable=non_retryable
            ),
            identity="w1",
        )
    )


async def events(api: Api, activation_id: str) -> list[str]:
    return [
        common_pb2.EventType.Name(e.type).removeprefix("EVENT_TYPE_")
        for e in await api.history(activation_id)
    ]


async def test_a_worker_stage_becomes_a_task_and_its_outputs_come_back(api: Api) -> None:
    await api.create("adder", worker_stage())
    await api.start("adder", {"a": 40}, activation_id="x1")
    task = await poll_until(api)
    assert (task.task_type, task.activation_id, task.stage, task.attempt) == (
        "add",
        "x1",
        "work",
        1,
    )
    assert plain(task.inputs) == {"a": 40, "b": 2}
    assert task.campaign == "adder" and task.task_queue == "q" and task.task_token
    await complete(api, task, {"sum": 42})
    await complete(api, task, {"sum": 0})  # a duplicate is acknowledged and changes nothing
    done = await api.wait("x1")
    assert done.status == common_pb2.ACTIVATION_STATUS_COMPLETED
    assert plain(done.outputs) == {"work": {"sum": 42}}
    assert (await events(api, "x1")).count("STAGE_COMPLETED") == 1
    assert "STAGE_TASK_LEASED" in await events(api, "x1")


async def test_a_waiting_poll_is_answered_the_moment_a_task_arrives(api: Api) -> None:
    await api.create("adder", worker_stage())
    waiting = asyncio.ensure_future(poll(api))
    await asyncio.sleep(0.05)  # let the poll reach the plane and wait there
    await api.start("adder", {"a": 1}, activation_id="x2")
    task = await asyncio.wait_for(waiting, 0.4)  # well inside the 0.5 s poll bound
    assert task is not None and task.activation_id == "x2"


async def test_a_completion_brings_back_the_next_waiting_task_leased(api: Api) -> None:
    await api.create("adder", worker_stage())
    await api.start("adder", {"a": 1}, activation_id="n1")
    await api.start("adder", {"a": 2}, activation_id="n2")
    first = await poll_until(api)
    answer = await api.workers.CompleteStageTask(
        W.CompleteStageTaskRequest(
            task_token=first.task_token,
            outputs=struct({"sum": 1}),
            identity="w1",
            next_task_queue="q",
        )
    )
    assert answer.HasField("next_task")
    following = answer.next_task
    assert {first.activation_id, following.activation_id} == {"n1", "n2"}
    assert following.stage == "work" and following.task_token and following.attempt == 1
    assert "STAGE_TASK_LEASED" in await events(api, following.activation_id)
    assert await poll(api) is None  # it left the queue: no one else gets it
    last = await api.workers.CompleteStageTask(
        W.CompleteStageTaskRequest(
            task_token=following.task_token,
            outputs=struct({"sum": 2}),
            identity="w1",
            next_task_queue="q",
        )
    )
    assert not last.HasField("next_task")  # nothing waits: none comes back
    for activation_id in ("n1", "n2"):
        done = await api.wait(activation_id)
        assert done.status == common_pb2.ACTIVATION_STATUS_COMPLETED


async def test_a_next_task_needs_the_workers_identity(api: Api) -> None:
    await api.create("adder", worker_stage())
    await api.start("adder", {"a": 1}, activation_id="n3")
    task = await poll_until(api)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.workers.CompleteStageTask(
            W.CompleteStageTaskRequest(
                task_token=task.task_token, outputs=struct({"sum": 3}), next_task_queue="q"
            )
        )
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in violations(caught.value)] == ["identity"]
    assert (await api.get("n3")).status == common_pb2.ACTIVATION_STATUS_RUNNING


async def test_an_empty_poll_ends_with_no_task(api: Api) -> None:
    assert await poll(api, "nothing-here") is None


async def test_the_trace_context_travels_to_the_task(api: Api) -> None:
    await api.create("adder", worker_stage())
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    await api.activations.StartActivation(
        activation_pb2.StartActivationRequest(campaign="adder", inputs=struct({"a": 1})),
        metadata=(("traceparent", traceparent),),
    )
    task = await poll_until(api)
    assert dict(task.headers) == {"traceparent": traceparent}


async def test_failures_retry_with_backoff_then_fail_the_activation(api: Api) -> None:
    retry = {"maximumAttempts": 3, "initialInterval": "100ms", "backoffCoefficient": 2}
    await api.create("flaky", worker_stage(retry=retry))
    await api.start("flaky", {"a": 1}, activation_id="f1")
    for attempt in (1, 2, 3):
        task = await poll_until(api)
        assert task.attempt == attempt
        await fail(api, task, "Flaky")
    done = await api.wait("f1")
    assert done.status == common_pb2.ACTIVATION_STATUS_FAILED
    history = await api.history("f1")
    started = [
        e.time.ToNanoseconds() / 1e9
        for e in history
        if e.type == common_pb2.EVENT_TYPE_STAGE_STARTED
    ]
    scheduled = [e for e in history if e.type == common_pb2.EVENT_TYPE_STAGE_RETRY_SCHEDULED]
    assert len(started) == 3 and len(scheduled) == 2
    failed_at = [e.time.ToNanoseconds() / 1e9 for e in scheduled]
    gaps = [started[1] - failed_at[0], started[2] - failed_at[1]]
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2  # 100ms, then 200ms
    assert (await events(api, "f1")).count("STAGE_FAILED") == 1


async def test_a_non_retryable_failure_fails_at_once(api: Api) -> None:
    await api.create(
        "strict", worker_stage(retry={"maximumAttempts": 5, "nonRetryableErrors": ["BadRef"]})
    )
    await api.start("strict", {"a": 1}, activation_id="n1")
    await fail(api, await poll_until(api), "Boom", non_retryable=True)
    assert (await api.wait("n1")).status == common_pb2.ACTIVATION_STATUS_FAILED
    await api.start("strict", {"a": 1}, activation_id="n2")
    await fail(api, await poll_until(api), "BadRef")
    assert (await api.wait("n2")).status == common_pb2.ACTIVATION_STATUS_FAILED
    assert "STAGE_RETRY_SCHEDULED" not in await events(api, "n2")


async def test_start_to_close_timeout_fails_the_attempt_and_a_retry_follows(api: Api) -> None:
    spec = worker_stage(timeouts={"startToClose": "200ms"}, retry={"initialInterval": "10ms"})
    await api.create("slow", spec)
    await api.start("slow", {"a": 1}, activation_id="t1")
    first = await poll_until(api, identity="dead")
    second = await poll_until(api, identity="alive")  # attempt 1 timed out; attempt 2 is here
    assert (first.attempt, second.attempt) == (1, 2)
    await complete(api, first, {"late": True})  # the timed-out attempt's result is stale
    await complete(api, second, {"sum": 3}, identity="alive")
    done = await api.wait("t1")
    assert plain(done.outputs) == {"work": {"sum": 3}}
    assert "STAGE_TIMED_OUT" in await events(api, "t1")


async def test_heartbeats_keep_a_task_and_silence_loses_it(api: Api) -> None:
    spec = worker_stage(timeouts={"heartbeat": "300ms"}, retry={"initialInterval": "10ms"})
    await api.create("beating", spec)
    await api.start("beating", {"a": 1}, activation_id="h1")
    task = await poll_until(api)
    assert task.heartbeat_timeout.ToNanoseconds() == 300_000_000
    for _ in range(8):  # 0.8 s of work, well past one heartbeat timeout
        answer = await api.workers.HeartbeatStageTask(
            W.HeartbeatStageTaskRequest(task_token=task.task_token, identity="w1")
        )
        assert not answer.cancel_requested
        await asyncio.sleep(0.1)
    await complete(api, task, {"sum": 1})
    assert (await api.wait("h1")).status == common_pb2.ACTIVATION_STATUS_COMPLETED
    await api.start("beating", {"a": 1}, activation_id="h2")
    silent = await poll_until(api)
    again = await poll_until(api)  # no heartbeat: the attempt times out and is retried
    assert (silent.attempt, again.attempt) == (1, 2)
    answer = await api.workers.HeartbeatStageTask(
        W.HeartbeatStageTaskRequest(task_token=silent.task_token)
    )
    assert answer.cancel_requested  # the silent worker is told to stop


async def test_schedule_to_start_timeout(api: Api) -> None:
    await api.create(
        "unclaimed",
        worker_stage(timeouts={"scheduleToStart": "100ms"}, retry={"maximumAttempts": 1}),
    )
    await api.start("unclaimed", {"a": 1}, activation_id="s1")
    done = await api.wait("s1")
    assert done.status == common_pb2.ACTIVATION_STATUS_FAILED
    assert "scheduleToStart" in done.status_message


@pytest.mark.parametrize("how", ["cancel", "terminate"])
async def test_cancel_and_terminate_reach_the_worker(api: Api, how: str) -> None:
    await api.create("long", worker_stage())
    await api.start("long", {"a": 1}, activation_id=f"c-{how}")
    task = await poll_until(api)
    request = {"activation_id": f"c-{how}", "reason": "stop"}
    if how == "cancel":
        await api.activations.CancelActivation(activation_pb2.CancelActivationRequest(**request))
    else:
        await api.activations.TerminateActivation(
            activation_pb2.TerminateActivationRequest(**request)
        )
    answer = await api.workers.HeartbeatStageTask(
        W.HeartbeatStageTaskRequest(task_token=task.task_token)
    )
    assert answer.cancel_requested
    await complete(api, task, {"sum": 1})  # a late completion is acknowledged and ignored
    done = await api.get(f"c-{how}")
    assert done.status in (
        common_pb2.ACTIVATION_STATUS_CANCELLED,
        common_pb2.ACTIVATION_STATUS_TERMINATED,
    )
    assert "STAGE_COMPLETED" not in await events(api, f"c-{how}")


async def test_bad_tokens(api: Api) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.workers.CompleteStageTask(W.CompleteStageTaskRequest(task_token=b"junk"))
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert [f for f, _ in violations(caught.value)] == ["task_token"]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await api.workers.PollStageTask(W.PollStageTaskRequest(task_queue="", identity="w"))
    assert [f for f, _ in violations(caught.value)] == ["task_queue"]


async def test_list_workers_shows_who_polls_and_forgets_who_left(api: Api) -> None:
    polling = asyncio.ensure_future(poll(api, "q", "worker-a"))
    await asyncio.sleep(0.05)
    found = await api.workers.ListWorkers(W.ListWorkersRequest(task_queue="q"))
    assert [w.identity for w in found.workers] == ["worker-a"]
    assert list(found.workers[0].task_queues) == ["q"]
    await polling

    async def gone() -> bool:
        listed = await api.workers.ListWorkers(W.ListWorkersRequest())
        return not listed.workers

    from tests.conftest import assert_eventually

    await assert_eventually(gone, within=5)


async def test_many_tasks_over_four_workers_none_lost_none_doubled(api: Api) -> None:
    await api.create("bulk", worker_stage())
    total = 1000
    for i in range(total):
        await api.start("bulk", {"a": i}, activation_id=f"b{i}")
    completions: collections.Counter[str] = collections.Counter()

    async def worker(identity: str) -> None:
        while sum(completions.values()) < total:
            task = await poll(api, "q", identity)
            if task is None:
                continue
            completions[task.activation_id] += 1
            await complete(api, task, {"sum": plain(task.inputs)["a"] + 2}, identity)

    await asyncio.wait_for(asyncio.gather(*(worker(f"w{n}") for n in range(4))), 60)
    assert set(completions.values()) == {1} and len(completions) == total
    for i in range(0, total, 37):
        done = await api.wait(f"b{i}")
        assert plain(done.outputs) == {"work": {"sum": i + 2}}
