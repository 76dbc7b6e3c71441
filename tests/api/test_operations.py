"""Operations through real gRPC: rerun, skip, retry now, pause and resume."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from partita.v1 import activation_pb2, common_pb2, worker_pb2
from tests.api.plane_client import Api, HttpSite, event_type, plain, status_name, struct

A = activation_pb2
PAUSED = common_pb2.ACTIVATION_STATUS_PAUSED


def four_stages(url: str) -> dict[str, Any]:
    """a -> b -> call (an HTTP request to ``inputs.path``) -> d."""
    return {
        "firstStage": "a",
        "stages": {
            "a": {"provider": "mock", "stageSelector": "b"},
            "b": {"provider": "mock", "stageSelector": "call"},
            "call": {
                "provider": "http",
                "config": {"url": url + "${{ inputs.path }}"},
                "stageSelector": "d",
            },
            "d": {"provider": "mock", "inputs": {"answer": "${{ outputs.call.body.path }}"}},
        },
    }


async def started_stages(api: Api, activation_id: str) -> list[str]:
    return [
        e.stage for e in await api.history(activation_id) if event_type(e.type) == "STAGE_STARTED"
    ]


async def test_rerun_from_the_failed_stage_completes_without_repeating_earlier_stages(
    api: Api, http_site: HttpSite
) -> None:
    await api.create("four", four_stages(http_site.url))
    await api.start("four", {"path": "/missing"}, activation_id="r1")
    failed = await api.wait("r1")
    assert status_name(failed.status) == "FAILED"
    assert failed.current_stage == "call"

    request = A.RerunActivationRequest(
        activation_id="r1", inputs=struct({"path": "/ok"}), request_id="fix-1"
    )
    rerun = await api.activations.RerunActivation(request)
    assert status_name(rerun.activation.status) != "FAILED"
    done = await api.wait("r1")
    assert status_name(done.status) == "COMPLETED"
    assert plain(done.outputs)["d"]["answer"] == "/ok"
    assert plain(done.inputs)["path"] == "/ok"
    history = await api.history("r1")
    # Stages that completed before the rerun point ran once; only `call` ran again.
    assert await started_stages(api, "r1") == ["a", "b", "call", "call", "d"]
    reruns = [e for e in history if event_type(e.type) == "ACTIVATION_RERUN"]
    assert len(reruns) == 1 and reruns[0].stage == "call"
    assert plain(reruns[0].data)["previousStatus"] == "FAILED"

    again = await api.activations.RerunActivation(request)  # same request id: nothing more
    assert again.activation.history_length == done.history_length
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.activations.RerunActivation(A.RerunActivationRequest(activation_id="r1"))
    assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "COMPLETED" in (err.value.details() or "")


async def test_rerun_and_skip_errors_name_the_field(api: Api, http_site: HttpSite) -> None:
    await api.create("four", four_stages(http_site.url))
    await api.start("four", {"path": "/missing"}, activation_id="r2")
    await api.wait("r2")
    for call, request in (
        (api.activations.RerunActivation, A.RerunActivationRequest(activation_id="r2", stage="x")),
        (api.activations.SkipStage, A.SkipStageRequest(activation_id="r2", stage="x")),
        (api.activations.SkipStage, A.SkipStageRequest(activation_id="r2")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(request)
        assert err.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "stage" in (err.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.activations.RerunActivation(A.RerunActivationRequest(activation_id="nope"))
    assert err.value.code() is grpc.StatusCode.NOT_FOUND


async def test_skip_the_failed_stage_goes_on_with_the_given_outputs(
    api: Api, http_site: HttpSite
) -> None:
    await api.create("four", four_stages(http_site.url))
    await api.start("four", {"path": "/missing"}, activation_id="s1")
    await api.wait("s1")
    outputs = struct({"body": {"path": "by hand"}})
    await api.activations.SkipStage(
        A.SkipStageRequest(activation_id="s1", stage="call", outputs=outputs)
    )
    done = await api.wait("s1")
    assert status_name(done.status) == "COMPLETED"
    assert plain(done.outputs)["d"]["answer"] == "by hand"
    types = [event_type(e.type) for e in await api.history("s1")]
    assert "STAGE_SKIPPED" in types
    assert len(http_site.requests) == 1  # the skipped stage did not run again


def worker_campaign(**stage: Any) -> dict[str, Any]:
    return {
        "firstStage": "work",
        "stages": {
            "work": {
                "provider": "worker",
                "taskQueue": "ops",
                "taskType": "t",
                **stage,
                "stageSelector": "after",
            },
            "after": {"provider": "mock"},
        },
    }


async def poll(api: Api) -> worker_pb2.StageTask | None:
    response = await api.workers.PollStageTask(
        worker_pb2.PollStageTaskRequest(task_queue="ops", identity="tester")
    )
    return response.task if response.HasField("task") else None


async def test_retry_now_starts_the_next_attempt_at_once(api: Api) -> None:
    await api.create("flaky", worker_campaign(retry={"initialInterval": "1h"}))
    await api.start("flaky", activation_id="t1")
    task = await poll(api)
    assert task is not None
    await api.workers.FailStageTask(
        worker_pb2.FailStageTaskRequest(
            task_token=task.task_token, failure=common_pb2.Failure(type="Flaky", message="no")
        )
    )
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.activations.RetryStage(A.RetryStageRequest(activation_id="t1", stage="after"))
    assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    await api.activations.RetryStage(A.RetryStageRequest(activation_id="t1", request_id="now"))
    again = await poll(api)  # an hour early
    assert again is not None and again.attempt == 2
    await api.workers.CompleteStageTask(
        worker_pb2.CompleteStageTaskRequest(task_token=again.task_token, outputs=struct({}))
    )
    done = await api.wait("t1")
    assert status_name(done.status) == "COMPLETED"
    assert "STAGE_RETRY_REQUESTED" in [event_type(e.type) for e in await api.history("t1")]


async def test_pause_holds_the_next_stage_and_resume_continues(api: Api) -> None:
    await api.create("held", worker_campaign())
    await api.start("held", activation_id="p1")
    paused = await api.activations.PauseActivation(
        A.PauseActivationRequest(activation_id="p1", reason="change freeze", request_id="p")
    )
    assert paused.activation.status == PAUSED
    assert paused.activation.paused_by == A.PAUSE_KIND_REQUEST
    assert "change freeze" in paused.activation.status_message
    again = await api.activations.PauseActivation(
        A.PauseActivationRequest(activation_id="p1", request_id="p")
    )
    assert again.activation.history_length == paused.activation.history_length
    task = await poll(api)  # the running stage's task still runs (no --hold-tasks)
    assert task is not None
    await api.workers.CompleteStageTask(
        worker_pb2.CompleteStageTaskRequest(task_token=task.task_token, outputs=struct({"x": 1}))
    )
    held = await api.get("p1")
    assert held.status == PAUSED
    assert [r.stage for r in held.stage_runs] == ["work"]  # `after` waits for the resume
    assert "'after' waits for the resume" in held.status_message
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.activations.AdvanceActivation(A.AdvanceActivationRequest(activation_id="p1"))
    assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    await api.activations.ResumeActivation(A.ResumeActivationRequest(activation_id="p1"))
    done = await api.wait("p1")
    assert status_name(done.status) == "COMPLETED"
    assert done.paused_by == A.PAUSE_KIND_UNSPECIFIED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.activations.ResumeActivation(A.ResumeActivationRequest(activation_id="p1"))
    assert err.value.code() is grpc.StatusCode.FAILED_PRECONDITION


async def test_pause_with_hold_tasks_keeps_the_task_from_workers(api: Api) -> None:
    await api.create("held", worker_campaign())
    await api.start("held", activation_id="p2")
    await api.activations.PauseActivation(
        A.PauseActivationRequest(activation_id="p2", hold_tasks=True)
    )
    assert await poll(api) is None
    await api.activations.ResumeActivation(A.ResumeActivationRequest(activation_id="p2"))
    task = await poll(api)
    assert task is not None and task.activation_id == "p2"


async def test_stepped_mode_says_which_pause_it_is(api: Api) -> None:
    await api.create("stepped", {**worker_campaign(), "selfDriving": False})
    await api.start("stepped", activation_id="p3")
    task = await poll(api)
    assert task is not None
    await api.workers.CompleteStageTask(
        worker_pb2.CompleteStageTaskRequest(task_token=task.task_token, outputs=struct({}))
    )
    found = await api.wait("p3", PAUSED)
    assert found.paused_by == A.PAUSE_KIND_STEPPED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.activations.ResumeActivation(A.ResumeActivationRequest(activation_id="p3"))
    assert "stepped" in (err.value.details() or "")
