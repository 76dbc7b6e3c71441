"""Symphony campaigns through the engine as a pure function, with the real instant providers.

Every step checks that replaying the history rebuilds the state.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from partita.engine import (
    ActivationState,
    Advance,
    Context,
    EventType,
    Input,
    RunStage,
    StageResult,
    Start,
    Status,
    TimerFired,
    Transition,
    compile_campaign,
    handle,
    replay,
)
from partita.errors import InvalidInputError
from partita.model.documents import parse_campaign_spec
from partita.providers import StageCall, StageError, builtin_providers

SYMPHONY = "workflow.symphony/v1"
PROVIDERS = builtin_providers()


class Run:
    """One Symphony activation; RunStage commands of instant providers are answered by the
    real provider, others by hand."""

    def __init__(self, spec: dict[str, Any], name: str = "c-v-v1") -> None:
        parsed = parse_campaign_spec(spec, SYMPHONY)
        self.campaign = compile_campaign(name, 1, SYMPHONY, parsed, list(PROVIDERS))
        self.name = name
        self.state = ActivationState(namespace="default", id="a1")
        self.events: list[Any] = []
        self.now = 1000.0
        self.pending: list[RunStage] = []

    def send(self, request: Input, *, at: float | None = None) -> Transition:
        if at is not None:
            self.now = at
        transition = handle(self.state, self.campaign, request, Context(now=self.now, site="hq"))
        self.state = transition.state
        self.events.extend(transition.events)
        assert replay("default", "a1", self.events) == self.state
        for command in transition.commands:
            if isinstance(command, RunStage):
                provider = PROVIDERS[command.provider]
                if provider.instant:
                    self.send(self._result(command))
                else:
                    self.pending.append(command)
        return transition

    def _result(self, command: RunStage) -> StageResult:
        call = StageCall(
            "default",
            self.name,
            "a1",
            command.stage,
            command.generation,
            command.previous_stage,
            "hq",
            command.attempt,
            command.inputs,
            command.config,
            command.state,
        )
        try:
            outputs = asyncio.run(PROVIDERS[command.provider].run(call))
        except StageError as exc:
            return StageResult(command.run_id, command.attempt, error=exc.as_failure())
        return StageResult(command.run_id, command.attempt, outputs=outputs)

    def answer(self, outputs: dict[str, Any] | None = None, error: Any = None) -> None:
        command = self.pending.pop(0)
        self.send(StageResult(command.run_id, command.attempt, outputs=outputs, error=error))

    def stages(self) -> list[str]:
        return [r.stage for r in self.state.runs if not r.parent]


def stage(provider: str, **fields: Any) -> dict[str, Any]:
    return {"provider": f"providers.stage.{provider}", **fields}


def test_symphony_counter_sample_loops_until_the_selector_ends_it() -> None:
    run = Run(
        {
            "firstStage": "counter",
            "selfDriving": True,
            "stages": {
                "counter": stage(
                    "counter",
                    name="counter",
                    inputs={"val": 1, "val.init": 0},
                    stageSelector="${{$if($lt($output(counter,val),20), counter, '')}}",
                )
            },
        }
    )
    run.send(Start("c-v-v1", 1, {}))
    assert run.state.status is Status.COMPLETED
    assert run.state.outputs["counter"]["val"] == 20
    assert len(run.stages()) == 20  # every loop is in the history, not the last 10


def test_mock_foo_loop_ends_and_activation_inputs_come_through_trigger() -> None:
    run = Run(
        {
            "firstStage": "mock",
            "selfDriving": True,
            "stages": {
                "mock": stage(
                    "mock",
                    inputs={"foo": "${{$output(mock,foo)}}", "who": "${{$trigger(name, nobody)}}"},
                    stageSelector="${{$if($lt($output(mock,foo),5), mock, '')}}",
                )
            },
        }
    )
    run.send(Start("c-v-v1", 1, {"name": "edge", "unused": 1}))
    assert run.state.status is Status.COMPLETED
    outputs = run.state.outputs["mock"]
    assert outputs["foo"] == 5
    assert outputs["who"] == "edge"
    assert "unused" not in outputs  # activation inputs are not merged into a stage's
    assert outputs["__campaignversion"] == "c:v1"
    assert outputs["__previousStage"] == "mock"
    assert outputs["__site"] == "hq"
    assert outputs["__activation"] == "a1"


def test_a_scheduled_stage_waits_on_a_durable_timer() -> None:
    run = Run(
        {
            "firstStage": "later",
            "selfDriving": True,
            "stages": {
                "later": stage("mock", inputs={"x": 1}, schedule="2030-01-01T00:00:00Z"),
            },
        }
    )
    run.send(Start("c-v-v1", 1, {}), at=1000.0)
    assert run.state.status is Status.RUNNING
    (timer_id,) = run.state.timers
    assert run.state.timers[timer_id].due == 1893456000.0
    run.send(TimerFired(timer_id), at=1893456000.0)
    assert run.state.status is Status.COMPLETED
    assert run.state.outputs["later"]["__schedule"] == "2030-01-01T00:00:00Z"


def test_a_past_schedule_runs_at_once() -> None:
    run = Run(
        {
            "firstStage": "now",
            "stages": {"now": stage("mock", schedule="2000-01-01T00:00:00+01:00")},
            "selfDriving": True,
        }
    )
    run.send(Start("c-v-v1", 1, {}), at=1_800_000_000.0)
    assert run.state.status is Status.COMPLETED


def test_the_selector_after_a_fan_out_sees_every_site_keyed_by_site() -> None:
    run = Run(
        {
            "firstStage": "deploy",
            "selfDriving": True,
            "stages": {
                "deploy": stage(
                    "mock",
                    contexts="${{$trigger(sites, '')}}",
                    inputs={"target": "${{$input(__site)}}"},
                    stageSelector="${{$if($equal($output(deploy,s2.target),s2), done, '')}}",
                ),
                "done": stage("mock"),
            },
        }
    )
    run.send(Start("c-v-v1", 1, {"sites": ["s1", "s2", "hq"]}))
    assert run.state.status is Status.COMPLETED
    outputs = run.state.outputs["deploy"]
    assert outputs["s1.target"] == "s1" and outputs["s2.status"] == 200
    assert outputs["target"] == "hq"  # this plane's own site is not prefixed
    assert run.stages() == ["deploy", "done"]


def test_a_failed_context_fails_the_stage_after_all_finish_and_an_error_handler_runs() -> None:
    run = Run(
        {
            "firstStage": "deploy",
            "selfDriving": True,
            "stages": {
                "deploy": stage(
                    "http",
                    config={"url": "http://unused.invalid/"},
                    contexts=["s1", "s2"],
                    stageSelector="recover",
                ),
                "recover": stage(
                    "mock",
                    handleErrors=True,
                    inputs={
                        "failed": "${{$output(deploy,s2.status)}}",
                        "message": "${{$output(deploy,error)}}",
                    },
                ),
            },
        }
    )
    run.send(Start("c-v-v1", 1, {}))
    run.answer({"status": 200, "body": "ok"})
    assert run.state.status is Status.RUNNING  # s2 still runs: no fail-fast in Symphony
    run.answer(error={"type": "HttpError", "message": "refused"})
    assert run.state.status is Status.COMPLETED
    recover = run.state.outputs["recover"]
    assert recover["failed"] == 500
    assert "1 of 2 contexts failed: s2: refused" in recover["message"]
    assert run.state.outputs["deploy"]["s1.status"] == 200


def test_an_error_status_in_outputs_fails_the_stage_and_the_selector_sees_it() -> None:
    spec = {
        "firstStage": "approval",
        "selfDriving": True,
        "stages": {
            "approval": stage(
                "http",
                config={"url": "http://unused.invalid/"},
                stageSelector="${{$if($equal($output(approval,status),200), deploy, rejected)}}",
            ),
            "deploy": stage("mock"),
            "rejected": stage("mock", handleErrors=True),
        },
    }
    run = Run(spec)
    run.send(Start("c-v-v1", 1, {}))
    run.answer({"status": 403, "body": "no"})
    assert run.stages() == ["approval", "rejected"]
    assert run.state.status is Status.COMPLETED
    assert run.state.outputs["approval"]["status"] == 403

    unhandled = Run({**spec, "stages": {**spec["stages"], "rejected": stage("mock")}})
    unhandled.send(Start("c-v-v1", 1, {}))
    unhandled.answer({"status": 403, "body": "no"})
    assert unhandled.state.status is Status.FAILED
    assert "stage 'approval' failed" in unhandled.state.status_message


def test_stepped_mode_keeps_outputs_and_state_across_advances() -> None:
    run = Run(
        {
            "firstStage": "count",
            "selfDriving": False,
            "stages": {
                "count": stage("counter", inputs={"n": 2}, stageSelector="count"),
            },
        }
    )
    run.send(Start("c-v-v1", 1, {}))
    assert run.state.status is Status.PAUSED
    run.send(Advance())
    run.send(Advance("count"))
    assert run.state.status is Status.PAUSED
    assert run.state.outputs["count"]["n"] == 6


def test_retry_without_interval_backs_off_exponentially_from_2s() -> None:
    run = Run(
        {
            "firstStage": "call",
            "selfDriving": True,
            "stages": {
                "call": stage(
                    "http", config={"url": "http://unused.invalid/"}, retry={"maxRetries": 2}
                ),
            },
        }
    )
    run.send(Start("c-v-v1", 1, {}), at=0.0)
    run.answer(error={"type": "HttpError", "message": "refused"})
    assert run.state.timers["retry:1"].due == 2.0
    run.send(TimerFired("retry:1"), at=2.0)
    run.answer(error={"type": "HttpError", "message": "refused"})
    assert run.state.timers["retry:1"].due == 6.0
    run.send(TimerFired("retry:1"), at=6.0)
    run.answer({"status": 200})
    assert run.state.status is Status.COMPLETED


def test_an_expression_failing_at_run_time_names_stage_field_and_column() -> None:
    run = Run(
        {
            "firstStage": "a",
            "selfDriving": True,
            "stages": {
                "a": stage("mock", stageSelector="b"),
                "b": stage("mock", inputs={"x": "${{$output(ghost, x)}}"}),
            },
        }
    )
    run.send(Start("c-v-v1", 1, {"seed": 1}))
    assert run.state.status is Status.FAILED
    message = run.state.status_message
    assert "stage 'b'" in message
    assert "inputs.x" in message
    assert "$output() at column 1" in message


def test_tasks_run_through_the_tasks_provider_with_their_options() -> None:
    run = Run(
        {
            "firstStage": "fan",
            "selfDriving": True,
            "stages": {
                "fan": {
                    "tasks": [
                        {"name": "t1", "provider": "providers.stage.mock", "inputs": {"foo": 1}},
                        {"name": "t2", "provider": "providers.stage.mock", "target": "edge"},
                    ],
                    "taskOption": {"concurrency": 1, "errorAction": {"mode": "silentlyContinue"}},
                    "inputs": {"shared": "${{$trigger(v, 0)}}"},
                }
            },
        }
    )
    run.send(Start("c-v-v1", 1, {"v": 9}))
    (command,) = run.pending
    assert command.provider == "symphony.tasks"
    assert command.config["taskOption"]["errorAction"]["mode"] == "silentlyContinue"
    assert [t["provider"] for t in command.config["tasks"]] == ["symphony.mock"] * 2
    assert command.inputs["shared"] == 9


def test_symphony_fields_are_checked_when_the_campaign_is_created() -> None:
    spec = {
        "firstStage": "a",
        "stages": {
            "a": stage("nosuch"),
            "b": {"tasks": [{"name": "t", "provider": "providers.stage.remote"}]},
            "c": stage("mock", schedule="tomorrow"),
        },
    }
    with pytest.raises(InvalidInputError) as caught:
        parse_campaign_spec(spec, SYMPHONY)
    assert [v.field for v in caught.value.violations] == ["spec.stages.c.schedule"]
    del spec["stages"]["c"]  # type: ignore[attr-defined]
    parsed = parse_campaign_spec(spec, SYMPHONY)
    with pytest.raises(InvalidInputError) as caught:
        compile_campaign("c", 1, SYMPHONY, parsed, list(PROVIDERS))
    found = {v.field: v.description for v in caught.value.violations}
    assert "providers.stage.http" in found["spec.stages.a.provider"]
    assert found["spec.stages.b.tasks[0].provider"] == "a task cannot be remote"


def test_history_records_the_schedule_wait() -> None:
    run = Run(
        {
            "firstStage": "later",
            "selfDriving": True,
            "stages": {"later": stage("mock", schedule="2030-01-01T00:00:00Z")},
        }
    )
    run.send(Start("c-v-v1", 1, {}))
    started = [e for e in run.events if e.type is EventType.STAGE_STARTED]
    assert started[0].data["timer"]["kind"] == "schedule"


@pytest.mark.parametrize(("delay", "seconds"), [(5, 5.0), ("2m", 120.0), ("7", 7.0)])
def test_delay_waits_its_input_on_a_durable_timer(delay: Any, seconds: float) -> None:
    run = Run(
        {
            "firstStage": "pause",
            "selfDriving": True,
            "stages": {"pause": stage("delay", inputs={"delay": delay})},
        }
    )
    run.send(Start("c-v-v1", 1, {}), at=0.0)
    assert run.state.timers["delay:1"].due == seconds
    run.send(TimerFired("delay:1"), at=seconds)
    assert run.state.status is Status.COMPLETED
    assert run.state.outputs["pause"] == {"status": 200}


def test_wait_waits_for_a_signal_named_by_config_or_input_or_stage() -> None:
    from partita.engine import Signal

    run = Run(
        {
            "firstStage": "gate",
            "selfDriving": True,
            "stages": {"gate": stage("wait", inputs={"event": "approved"})},
        }
    )
    run.send(Start("c-v-v1", 1, {}))
    run.send(Signal("gate", {}))
    assert run.state.status is Status.RUNNING
    run.send(Signal("approved", {"by": "bob"}))
    assert run.state.status is Status.COMPLETED
    assert run.state.outputs["gate"] == {"by": "bob"}


def test_symphony_older_schedule_map_is_read_as_a_time_in_its_zone() -> None:
    schedule = {"date": "2023-10-20", "time": "5:58:00PM", "zone": "America/Los_Angeles"}
    parsed = parse_campaign_spec(
        {"firstStage": "a", "stages": {"a": stage("mock", schedule=schedule)}}, SYMPHONY
    )
    assert parsed.stages["a"].schedule == "2023-10-20T17:58:00-07:00"


def test_a_campaign_timeout_ends_a_stuck_symphony_activation() -> None:
    run = Run(
        {
            "firstStage": "gate",
            "selfDriving": True,
            "timeout": "1h",
            "stages": {"gate": stage("wait")},
        }
    )
    run.send(Start("c-v-v1", 1, {}), at=0.0)
    assert run.state.timers["activation-timeout"].due == 3600.0
    run.send(TimerFired("activation-timeout"), at=3600.0)
    assert run.state.status is Status.TIMED_OUT
