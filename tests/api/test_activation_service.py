"""ActivationService through real gRPC calls, on a real plane with its SQLite file."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2

from partita.v1 import activation_pb2, common_pb2
from tests.api.plane_client import Api, HttpSite, event_type, plain, struct

A = activation_pb2
S = common_pb2

MOCK = {"firstStage": "mock", "stages": {"mock": {"provider": "mock"}}}
WAIT = {"firstStage": "hold", "stages": {"hold": {"provider": "wait", "config": {"event": "go"}}}}
SIGNALLED = {
    "firstStage": "hold",
    "stages": {
        "hold": {"provider": "wait", "config": {"event": "go"}, "stageSelector": "report"},
        "report": {
            "provider": "mock",
            "inputs": {"x": "${{ outputs.hold.x }}", "event": "${{ trigger.event }}"},
        },
    },
}
TWO_WAITS = {
    "firstStage": "first",
    "stages": {
        "first": {"provider": "wait", "config": {"event": "first"}, "stageSelector": "second"},
        "second": {"provider": "wait", "config": {"event": "go"}},
    },
}
CHAIN = {
    "firstStage": "one",
    "stages": {
        "one": {"provider": "mock", "inputs": {"n": 1}, "stageSelector": "two"},
        "two": {"provider": "mock", "inputs": {"n": 2}, "stageSelector": "three"},
        "three": {"provider": "mock", "inputs": {"n": 3}},
    },
}
STEPPED = {**CHAIN, "selfDriving": False}


def code_of(err: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> grpc.StatusCode:
    return err.value.code()


async def watch_all(api: Api, activation_id: str, from_sequence: int = 0) -> list[Any]:
    """Every item of a WatchActivation stream, which must end by itself."""
    call = api.activations.WatchActivation(
        A.WatchActivationRequest(activation_id=activation_id, from_sequence=from_sequence)
    )
    async with asyncio.timeout(10):
        return [item async for item in call]


def runs_by_stage(activation: A.Activation) -> dict[str, list[A.StageRun]]:
    found: dict[str, list[A.StageRun]] = {}
    for run in activation.stage_runs:
        found.setdefault(run.stage, []).append(run)
    return found


# -- start -----------------------------------------------------------------------------------


async def test_start_with_a_generated_id(api: Api) -> None:
    await api.create("mock", MOCK)
    response = await api.activations.StartActivation(A.StartActivationRequest(campaign="mock"))
    assert response.started
    activation = response.activation
    uuid.UUID(activation.id)
    assert (activation.campaign, activation.version, activation.namespace) == (
        "mock",
        1,
        "default",
    )
    done = await api.wait(activation.id)
    assert done.status == S.ACTIVATION_STATUS_COMPLETED


async def test_start_with_a_given_id_and_inputs(api: Api) -> None:
    await api.create("mock", MOCK)
    activation = await api.start("mock", {"foo": "bar"}, activation_id="given-1")
    assert activation.id == "given-1"
    assert plain(activation.inputs) == {"foo": "bar"}
    assert activation.create_time.seconds > 0
    got = await api.get("given-1")
    assert got.id == "given-1"


async def test_start_request_id_is_idempotent(api: Api) -> None:
    await api.create("hold", WAIT)
    first = await api.activations.StartActivation(
        A.StartActivationRequest(campaign="hold", activation_id="a1", request_id="r1")
    )
    assert first.started
    again = await api.activations.StartActivation(
        A.StartActivationRequest(campaign="hold", activation_id="a2", request_id="r1")
    )
    assert not again.started
    assert again.activation.id == "a1"
    generated = await api.activations.StartActivation(
        A.StartActivationRequest(campaign="hold", request_id="r2")
    )
    retried = await api.activations.StartActivation(
        A.StartActivationRequest(campaign="hold", request_id="r2")
    )
    assert generated.started and not retried.started
    assert retried.activation.id == generated.activation.id
    ids = [activation_id for activation_id, _, _ in (await api.snapshot())[1]]
    assert sorted(ids) == sorted(["a1", generated.activation.id])


async def test_start_with_a_taken_id_already_exists(api: Api) -> None:
    await api.create("hold", WAIT)
    await api.start("hold", activation_id="a1", request_id="r1")
    before = await api.snapshot()
    for request_id in ("", "r-other"):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.start("hold", activation_id="a1", request_id=request_id)
        assert code_of(err) == grpc.StatusCode.ALREADY_EXISTS
    assert await api.snapshot() == before


async def test_start_of_an_unknown_campaign_or_version_is_not_found(api: Api) -> None:
    await api.create("mock", MOCK)
    for request in ({"campaign": "nope"}, {"campaign": "mock", "version": 9}):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.activations.StartActivation(A.StartActivationRequest(**request))
        assert code_of(err) == grpc.StatusCode.NOT_FOUND
    assert (await api.snapshot())[1] == []


async def test_start_stage_picks_the_first_stage(api: Api) -> None:
    await api.create("chain", CHAIN)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.start("chain", start_stage="nowhere")
    assert code_of(err) == grpc.StatusCode.INVALID_ARGUMENT
    assert "start_stage" in (err.value.details() or "")
    assert (await api.snapshot())[1] == []

    activation = await api.start("chain", start_stage="two")
    done = await api.wait(activation.id)
    assert done.status == S.ACTIVATION_STATUS_COMPLETED
    assert sorted(plain(done.outputs)) == ["three", "two"]
    assert plain(done.outputs)["two"]["__previousStage"] == "two"
    assert plain(done.outputs)["three"]["__previousStage"] == "two"


async def test_no_parallel_start_while_one_is_open(api: Api) -> None:
    await api.create("solo", {**WAIT, "allowParallel": False})
    await api.start("solo", activation_id="p1")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.start("solo", activation_id="p2")
    assert code_of(err) == grpc.StatusCode.FAILED_PRECONDITION
    assert "p1" in (err.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError):
        await api.get("p2")
    await api.activations.CancelActivation(A.CancelActivationRequest(activation_id="p1"))
    second = await api.start("solo", activation_id="p2")
    assert second.status == S.ACTIVATION_STATUS_RUNNING


async def test_concurrent_starts_without_parallelism_admit_one(api: Api) -> None:
    await api.create("solo", {**WAIT, "allowParallel": False})
    results = await asyncio.gather(
        *(api.start("solo", activation_id=f"c{n}") for n in range(8)), return_exceptions=True
    )
    started = [r for r in results if isinstance(r, A.Activation)]
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(started) == 1
    assert len(refused) == 7
    assert {r.code() for r in refused} == {grpc.StatusCode.FAILED_PRECONDITION}
    assert [a for a, _, _ in (await api.snapshot())[1]] == [started[0].id]


async def test_concurrent_starts_with_one_request_id_start_once(api: Api) -> None:
    await api.create("hold", WAIT)
    responses = await asyncio.gather(
        *(
            api.activations.StartActivation(
                A.StartActivationRequest(campaign="hold", request_id="same")
            )
            for _ in range(8)
        )
    )
    assert sum(r.started for r in responses) == 1
    assert len({r.activation.id for r in responses}) == 1
    assert len((await api.snapshot())[1]) == 1


# -- read ------------------------------------------------------------------------------------


async def test_get_shows_stage_runs(api: Api) -> None:
    await api.create("chain", CHAIN)
    activation = await api.start("chain", {"k": "v"}, activation_id="c1")
    done = await api.wait("c1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED
    assert [r.stage for r in done.stage_runs] == ["one", "two", "three"]
    assert [r.run_id for r in done.stage_runs] == ["1", "2", "3"]
    assert all(r.status == A.STAGE_RUN_STATUS_COMPLETED for r in done.stage_runs)
    assert [r.next_stage for r in done.stage_runs] == ["two", "three", ""]
    assert plain(done.stage_runs[1].inputs) == {"n": 2}
    assert done.generation == 3
    assert done.current_stage == "three"
    assert done.close_time.ToNanoseconds() >= activation.create_time.ToNanoseconds()
    assert done.history_length == len(await api.history("c1"))


def _between(a: A.Activation, b: A.Activation) -> timestamp_pb2.Timestamp:
    middle = timestamp_pb2.Timestamp()
    middle.FromNanoseconds((a.create_time.ToNanoseconds() + b.create_time.ToNanoseconds()) // 2)
    return middle


async def test_list_filters_and_pages(api: Api) -> None:
    await api.create("mock", MOCK)
    await api.create("hold", WAIT)
    m1 = await api.start("mock", activation_id="m1")
    h1 = await api.start("hold", activation_id="h1")
    h2 = await api.start("hold", activation_id="h2")
    m2 = await api.start("mock", activation_id="m2")
    await api.activations.CancelActivation(A.CancelActivationRequest(activation_id="h2"))
    await api.wait("m1")
    await api.wait("m2")

    async def ids(**request: Any) -> list[str]:
        found = await api.activations.ListActivations(A.ListActivationsRequest(**request))
        assert found.next_page_token == ""
        return [a.id for a in found.activations]

    assert await ids() == ["m2", "h2", "h1", "m1"]
    assert await ids(statuses=[S.ACTIVATION_STATUS_RUNNING]) == ["h1"]
    assert await ids(statuses=[S.ACTIVATION_STATUS_COMPLETED]) == ["m2", "m1"]
    assert await ids(
        statuses=[S.ACTIVATION_STATUS_CANCELLED, S.ACTIVATION_STATUS_COMPLETED], campaign="mock"
    ) == ["m2", "m1"]
    assert await ids(campaign="hold") == ["h2", "h1"]
    assert await ids(campaign="nope") == []
    assert await ids(start_time_after=_between(h1, h2)) == ["m2", "h2"]
    assert await ids(start_time_before=_between(h1, h2)) == ["h1", "m1"]
    assert await ids(start_time_after=_between(m1, h1), start_time_before=_between(h2, m2)) == [
        "h2",
        "h1",
    ]
    assert await ids(namespace="elsewhere") == []

    seen: list[str] = []
    token = ""
    for _ in range(10):
        page = await api.activations.ListActivations(
            A.ListActivationsRequest(page_size=1, page_token=token)
        )
        assert len(page.activations) <= 1
        seen.extend(a.id for a in page.activations)
        token = page.next_page_token
        if not token:
            break
    assert seen == ["m2", "h2", "h1", "m1"]
    listed = await api.activations.ListActivations(A.ListActivationsRequest(page_size=1))
    assert listed.activations[0].status == S.ACTIVATION_STATUS_COMPLETED


# -- control ---------------------------------------------------------------------------------


async def test_cancel_with_a_reason(api: Api) -> None:
    await api.create("hold", WAIT)
    await api.start("hold", activation_id="h1")
    response = await api.activations.CancelActivation(
        A.CancelActivationRequest(activation_id="h1", reason="not needed")
    )
    cancelled = response.activation
    assert cancelled.status == S.ACTIVATION_STATUS_CANCELLED
    assert cancelled.status_message == "not needed"
    assert cancelled.stage_runs[0].status == A.STAGE_RUN_STATUS_CANCELLED
    assert cancelled.HasField("close_time")
    assert (await api.get("h1")) == cancelled
    types = [event_type(e.type) for e in await api.history("h1")]
    assert types[-2:] == ["CANCEL_REQUESTED", "ACTIVATION_CANCELLED"]

    before = await api.snapshot()
    for call in (
        api.activations.CancelActivation(A.CancelActivationRequest(activation_id="h1")),
        api.activations.SignalActivation(A.SignalActivationRequest(activation_id="h1", event="go")),
        api.activations.TerminateActivation(A.TerminateActivationRequest(activation_id="h1")),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        assert code_of(err) == grpc.StatusCode.FAILED_PRECONDITION
    assert await api.snapshot() == before


async def test_terminate_with_a_reason(api: Api) -> None:
    await api.create("hold", WAIT)
    await api.start("hold", activation_id="h1")
    response = await api.activations.TerminateActivation(
        A.TerminateActivationRequest(activation_id="h1", reason="operator said so")
    )
    assert response.activation.status == S.ACTIVATION_STATUS_TERMINATED
    assert response.activation.status_message == "operator said so"
    got = await api.get("h1")
    assert got.status == S.ACTIVATION_STATUS_TERMINATED
    assert got.status_message == "operator said so"
    assert event_type((await api.history("h1"))[-1].type) == "ACTIVATION_TERMINATED"


async def test_signal_wakes_a_wait_stage(api: Api) -> None:
    await api.create("signalled", SIGNALLED)
    started = await api.start("signalled", activation_id="s1")
    assert started.stage_runs[0].status == A.STAGE_RUN_STATUS_WAITING
    response = await api.activations.SignalActivation(
        A.SignalActivationRequest(
            activation_id="s1", event="go", data=struct({"x": 7}), request_id="sig-1"
        )
    )
    assert response.activation.stage_runs[0].status == A.STAGE_RUN_STATUS_COMPLETED
    done = await api.wait("s1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED, done.status_message
    outputs = plain(done.outputs)
    assert outputs["hold"] == {"x": 7}
    assert (outputs["report"]["x"], outputs["report"]["event"]) == (7, "go")
    signals = [e for e in await api.history("s1") if event_type(e.type) == "SIGNAL_RECEIVED"]
    assert [(e.stage, plain(e.data)["event"]) for e in signals] == [("hold", "go")]


async def test_signal_request_id_is_applied_once(api: Api) -> None:
    await api.create("hold", WAIT)
    await api.start("hold", activation_id="h1")
    for _ in range(2):
        await api.activations.SignalActivation(
            A.SignalActivationRequest(activation_id="h1", event="noise", request_id="sig-1")
        )
    history = await api.history("h1")
    assert [event_type(e.type) for e in history].count("SIGNAL_RECEIVED") == 1
    assert (await api.get("h1")).status == S.ACTIVATION_STATUS_RUNNING


async def test_a_signal_sent_before_its_wait_stage_is_buffered(api: Api) -> None:
    await api.create("two-waits", TWO_WAITS)
    await api.start("two-waits", activation_id="w1")
    early = await api.activations.SignalActivation(
        A.SignalActivationRequest(activation_id="w1", event="go", data=struct({"early": 1}))
    )
    assert early.activation.status == S.ACTIVATION_STATUS_RUNNING
    assert [r.stage for r in early.activation.stage_runs] == ["first"]

    await api.activations.SignalActivation(
        A.SignalActivationRequest(activation_id="w1", event="first")
    )
    done = await api.wait("w1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED, done.status_message
    assert plain(done.outputs)["second"] == {"early": 1}
    history = await api.history("w1")
    second_started = [
        e for e in history if event_type(e.type) == "STAGE_STARTED" and e.stage == "second"
    ]
    assert len(second_started) == 1
    assert "consumedSignal" in plain(second_started[0].data)
    # Consumed once: a second run of "go" would have to wait again.
    assert [event_type(e.type) for e in history].count("SIGNAL_RECEIVED") == 2


async def test_stepped_mode_pauses_after_each_stage(api: Api) -> None:
    await api.create("stepped", STEPPED)
    started = await api.start("stepped", activation_id="st1")
    assert not started.self_driving

    paused = await api.wait("st1", S.ACTIVATION_STATUS_PAUSED)
    assert paused.current_stage == "one"
    assert "two" in paused.status_message
    assert plain(paused.outputs)["one"]["n"] == 1

    advanced = await api.activations.AdvanceActivation(
        A.AdvanceActivationRequest(activation_id="st1")
    )
    # The answer comes once the advance is on disk: stage two has started (a mock stage runs
    # within the same transition, so it may already have paused again after it).
    assert advanced.activation.current_stage == "two"
    assert advanced.activation.status in (S.ACTIVATION_STATUS_RUNNING, S.ACTIVATION_STATUS_PAUSED)
    paused = await api.wait("st1", S.ACTIVATION_STATUS_PAUSED)
    assert paused.current_stage == "two"
    assert sorted(plain(paused.outputs)) == ["one", "two"]

    # An explicit stage overrides the selector ("three" either way here, so go back to one).
    await api.activations.AdvanceActivation(
        A.AdvanceActivationRequest(activation_id="st1", stage="one")
    )
    paused = await api.wait("st1", S.ACTIVATION_STATUS_PAUSED)
    assert [r.stage for r in paused.stage_runs] == ["one", "two", "one"]
    assert paused.generation == 3

    await api.activations.AdvanceActivation(A.AdvanceActivationRequest(activation_id="st1"))
    paused = await api.wait("st1", S.ACTIVATION_STATUS_PAUSED)
    assert paused.current_stage == "two"
    await api.activations.AdvanceActivation(A.AdvanceActivationRequest(activation_id="st1"))
    paused = await api.wait("st1", S.ACTIVATION_STATUS_PAUSED)
    assert paused.current_stage == "three"
    assert "next stage" not in paused.status_message

    response = await api.activations.AdvanceActivation(
        A.AdvanceActivationRequest(activation_id="st1")
    )
    assert response.activation.status == S.ACTIVATION_STATUS_COMPLETED
    assert sorted(plain(response.activation.outputs)) == ["one", "three", "two"]
    advances = [e for e in await api.history("st1") if event_type(e.type) == "ACTIVATION_ADVANCED"]
    assert len(advances) == 5

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.activations.AdvanceActivation(A.AdvanceActivationRequest(activation_id="st1"))
    assert code_of(err) == grpc.StatusCode.FAILED_PRECONDITION


async def test_advance_refused_unless_paused(api: Api) -> None:
    await api.create("stepped-wait", {**WAIT, "selfDriving": False})
    await api.start("stepped-wait", activation_id="sw1")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.activations.AdvanceActivation(A.AdvanceActivationRequest(activation_id="sw1"))
    assert code_of(err) == grpc.StatusCode.FAILED_PRECONDITION
    assert "RUNNING" in (err.value.details() or "")

    await api.activations.SignalActivation(
        A.SignalActivationRequest(activation_id="sw1", event="go")
    )
    await api.wait("sw1", S.ACTIVATION_STATUS_PAUSED)
    before = await api.snapshot()
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.activations.AdvanceActivation(
            A.AdvanceActivationRequest(activation_id="sw1", stage="nowhere")
        )
    assert code_of(err) == grpc.StatusCode.INVALID_ARGUMENT
    assert "stage" in (err.value.details() or "")
    assert await api.snapshot() == before


# -- history and watch -----------------------------------------------------------------------


async def test_history_is_contiguous_with_one_completion_per_stage_run(api: Api) -> None:
    await api.create("chain", CHAIN)
    await api.start("chain", activation_id="c1")
    done = await api.wait("c1")
    history = await api.history("c1")
    assert [e.sequence for e in history] == list(range(1, len(history) + 1))
    assert done.history_length == len(history)
    types = [event_type(e.type) for e in history]
    assert types == [
        "ACTIVATION_STARTED",
        "STAGE_STARTED",
        "STAGE_COMPLETED",
        "STAGE_STARTED",
        "STAGE_COMPLETED",
        "STAGE_STARTED",
        "STAGE_COMPLETED",
        "ACTIVATION_COMPLETED",
    ]
    completed = [plain(e.data)["runId"] for e in history if event_type(e.type) == "STAGE_COMPLETED"]
    assert sorted(completed) == sorted(r.run_id for r in done.stage_runs)
    assert all(e.time.seconds > 0 for e in history)

    paged: list[int] = []
    token = ""
    for _ in range(10):
        page = await api.activations.GetActivationHistory(
            A.GetActivationHistoryRequest(activation_id="c1", page_size=3, page_token=token)
        )
        paged.extend(e.sequence for e in page.events)
        token = page.next_page_token
        if not token:
            break
    assert paged == [e.sequence for e in history]


async def test_watch_streams_live_until_the_end(api: Api) -> None:
    await api.create("signalled", SIGNALLED)
    await api.start("signalled", activation_id="s1")
    call = api.activations.WatchActivation(A.WatchActivationRequest(activation_id="s1"))
    items = []
    async with asyncio.timeout(10):
        async for item in call:
            items.append(item)
            if event_type(item.event.type) == "STAGE_STARTED" and item.event.stage == "hold":
                assert item.activation.status == S.ACTIVATION_STATUS_RUNNING
                await api.activations.SignalActivation(
                    A.SignalActivationRequest(activation_id="s1", event="go", data=struct({"x": 1}))
                )
    assert [i.event.sequence for i in items] == list(range(1, len(items) + 1))
    assert event_type(items[-1].event.type) == "ACTIVATION_COMPLETED"
    assert items[-1].activation.status == S.ACTIVATION_STATUS_COMPLETED
    assert "SIGNAL_RECEIVED" in [event_type(i.event.type) for i in items]
    assert [e.sequence for e in await api.history("s1")] == [i.event.sequence for i in items]
    # Each item carries the state right after its event.
    assert all(i.activation.history_length == i.event.sequence for i in items)


async def test_watch_from_a_sequence_skips_earlier_events(api: Api) -> None:
    await api.create("chain", CHAIN)
    await api.start("chain", activation_id="c1")
    done = await api.wait("c1")
    items = await watch_all(api, "c1", from_sequence=3)
    assert [i.event.sequence for i in items] == list(range(4, done.history_length + 1))
    assert await watch_all(api, "c1", from_sequence=done.history_length) == []
    everything = await watch_all(api, "c1")
    assert len(everything) == done.history_length


# -- built-in providers and limits -----------------------------------------------------------


async def test_delay_stage_completes_after_its_duration(api: Api) -> None:
    await api.create(
        "delayed",
        {
            "firstStage": "pause",
            "stages": {
                "pause": {
                    "provider": "delay",
                    "config": {"duration": "100ms"},
                    "stageSelector": "after",
                },
                "after": {"provider": "noop"},
            },
        },
    )
    await api.start("delayed", activation_id="d1")
    done = await api.wait("d1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED, done.status_message
    pause = runs_by_stage(done)["pause"][0]
    waited = pause.end_time.ToNanoseconds() - pause.start_time.ToNanoseconds()
    assert waited >= 100_000_000
    assert "TIMER_FIRED" in [event_type(e.type) for e in await api.history("d1")]


async def test_activation_timeout_ends_timed_out(api: Api) -> None:
    await api.create("slow", {**WAIT, "timeout": "200ms"})
    started = await api.start("slow", activation_id="t1")
    done = await api.wait("t1")
    assert done.status == S.ACTIVATION_STATUS_TIMED_OUT
    assert done.status_message == "timed out after 200ms"
    assert done.close_time.ToNanoseconds() - started.create_time.ToNanoseconds() >= 200_000_000
    assert done.stage_runs[0].status == A.STAGE_RUN_STATUS_CANCELLED
    assert event_type((await api.history("t1"))[-1].type) == "ACTIVATION_TIMED_OUT"


async def test_selector_loop_hits_max_stage_runs(api: Api) -> None:
    await api.create(
        "spin",
        {
            "firstStage": "spin",
            "maxStageRuns": 5,
            "stages": {"spin": {"provider": "noop", "stageSelector": "spin"}},
        },
    )
    await api.start("spin", activation_id="l1")
    done = await api.wait("l1")
    assert done.status == S.ACTIVATION_STATUS_FAILED
    assert "stage-run limit of 5" in done.status_message
    assert "'spin'" in done.status_message
    assert done.generation == 5
    assert len(done.stage_runs) == 5


CLOSED_PORT_URL = "http://127.0.0.1:1/"


def _http_campaign(url: str, **config: Any) -> dict[str, Any]:
    return {
        "firstStage": "call",
        "stages": {"call": {"provider": "http", "config": {"url": url, **config}}},
    }


async def test_handle_errors_lets_the_selector_see_the_failure(api: Api) -> None:
    await api.create(
        "careful",
        {
            "firstStage": "call",
            "stages": {
                "call": {
                    "provider": "http",
                    "config": {"url": CLOSED_PORT_URL},
                    "handleErrors": True,
                    "stageSelector": "${{ outputs.call.status == 'FAILED' ? 'report' : '' }}",
                },
                "report": {
                    "provider": "mock",
                    "inputs": {
                        "status": "${{ outputs.call.status }}",
                        "error": "${{ outputs.call.error }}",
                    },
                },
            },
        },
    )
    await api.start("careful", activation_id="e1")
    done = await api.wait("e1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED, done.status_message
    report = plain(done.outputs)["report"]
    assert report["status"] == "FAILED"
    assert "127.0.0.1:1" in report["error"]
    call = runs_by_stage(done)["call"][0]
    assert call.status == A.STAGE_RUN_STATUS_FAILED
    assert call.error.type == "HttpError"
    assert call.next_stage == "report"
    assert plain(done.outputs)["call"]["status"] == "FAILED"


async def test_a_failing_stage_without_handle_errors_fails_the_activation(api: Api) -> None:
    await api.create(
        "careless",
        {
            "firstStage": "call",
            "stages": {"call": {"provider": "http", "config": {"url": CLOSED_PORT_URL}}},
        },
    )
    await api.start("careless", activation_id="e2")
    done = await api.wait("e2")
    assert done.status == S.ACTIVATION_STATUS_FAILED
    assert done.status_message.startswith("stage 'call' failed:")
    types = [event_type(e.type) for e in await api.history("e2")]
    assert types.count("STAGE_FAILED") == 1
    assert types[-1] == "ACTIVATION_FAILED"


async def test_http_provider_calls_a_real_server(api: Api, http_site: HttpSite) -> None:
    await api.create(
        "post",
        _http_campaign(f"{http_site.url}/things", method="POST", body={"k": "${{ inputs.k }}"}),
    )
    await api.start("post", {"k": "v"}, activation_id="p1")
    done = await api.wait("p1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED, done.status_message
    outputs = plain(done.outputs)["call"]
    assert outputs["status"] == 200
    assert outputs["body"]["ok"] is True
    assert outputs["body"]["path"] == "/things"
    assert outputs["headers"]["content-type"] == "application/json"
    assert [(r["method"], r["path"]) for r in http_site.requests] == [("POST", "/things")]
    assert json.loads(http_site.requests[0]["body"]) == {"k": "v"}


async def test_http_provider_fails_on_404_unless_it_is_a_success_code(
    api: Api, http_site: HttpSite
) -> None:
    await api.create("strict", _http_campaign(f"{http_site.url}/missing"))
    await api.create("lenient", _http_campaign(f"{http_site.url}/missing", successCodes=[404]))
    await api.start("strict", activation_id="s404")
    await api.start("lenient", activation_id="l404")

    strict = await api.wait("s404")
    assert strict.status == S.ACTIVATION_STATUS_FAILED
    assert "answered 404" in strict.status_message
    assert strict.stage_runs[0].error.type == "HttpStatus"
    assert strict.stage_runs[0].attempt == 1

    lenient = await api.wait("l404")
    assert lenient.status == S.ACTIVATION_STATUS_COMPLETED, lenient.status_message
    outputs = plain(lenient.outputs)["call"]
    assert outputs["status"] == 404
    assert outputs["body"] == {"error": "no such thing"}
    assert len(http_site.requests) == 2


async def test_counter_persists_across_a_loop(api: Api) -> None:
    await api.create(
        "count",
        {
            "firstStage": "count",
            "stages": {
                "count": {
                    "provider": "counter",
                    "inputs": {"n": 1, "total": "${{ inputs.step }}", "total.init": 100},
                    "stageSelector": "${{ outputs.count.n < 3 ? 'count' : '' }}",
                }
            },
        },
    )
    await api.start("count", {"step": 5}, activation_id="n1")
    done = await api.wait("n1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED, done.status_message
    outputs = plain(done.outputs)["count"]
    assert (outputs["n"], outputs["total"]) == (3, 115)
    assert done.generation == 3
    assert [plain(r.outputs)["n"] for r in done.stage_runs] == [1, 2, 3]


async def test_mock_outputs_hold_the_inputs_and_run_facts(api: Api) -> None:
    await api.create("mock-campaign", MOCK)
    await api.start("mock-campaign", {"foo": "bar", "n": 2}, activation_id="m1")
    done = await api.wait("m1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED, done.status_message
    assert plain(done.outputs) == {
        "mock": {
            "foo": "bar",
            "n": 2,
            "__campaign": "mock-campaign",
            "__namespace": "default",
            "__activation": "m1",
            "__stage": "mock",
            "__activationGeneration": 1,
            "__previousStage": "mock",
            "__site": "local",
        }
    }
