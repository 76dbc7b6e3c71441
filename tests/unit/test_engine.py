"""The engine as a pure function: (state, campaign, input, context) -> (events, state, commands)."""

from __future__ import annotations

from typing import Any

import pytest

from partita.engine import (
    ActivationState,
    Advance,
    Cancel,
    CancelStage,
    Context,
    EventType,
    Input,
    RunStage,
    Signal,
    StageResult,
    Start,
    Status,
    Terminate,
    TimerFired,
    Transition,
    compile_campaign,
    handle,
    replay,
)
from partita.errors import InvalidInputError, PreconditionError
from partita.model.documents import parse_campaign_spec

PROVIDERS = ["mock", "noop", "counter", "http", "symphony.mock"]


class Run:
    """One activation driven by hand, checking after every step that replay rebuilds the state."""

    def __init__(self, spec: dict[str, Any], api_version: str = "partita/v1") -> None:
        parsed = parse_campaign_spec(spec, api_version)
        self.campaign = compile_campaign("c", 1, api_version, parsed, PROVIDERS)
        self.state = ActivationState(namespace="default", id="a1")
        self.events: list[Any] = []
        self.now = 1000.0

    def send(self, request: Input, *, at: float | None = None) -> Transition:
        if at is not None:
            self.now = at
        transition = handle(self.state, self.campaign, request, Context(now=self.now, site="hq"))
        self.state = transition.state
        self.events.extend(transition.events)
        assert replay("default", "a1", self.events) == self.state
        return transition

    def types(self) -> list[str]:
        return [e.type.value for e in self.events]

    def finish_inline(
        self, transition: Transition, outputs: dict[str, Any] | None = None
    ) -> Transition:
        """Answer the one RunStage command of ``transition`` with ``outputs``."""
        (command,) = [c for c in transition.commands if isinstance(c, RunStage)]
        return self.send(StageResult(command.run_id, command.attempt, outputs=outputs or {}))


def chain(*names: str, provider: str = "mock") -> dict[str, Any]:
    stages = {}
    for i, name in enumerate(names):
        following = names[i + 1] if i + 1 < len(names) else ""
        stages[name] = {"provider": provider, "stageSelector": following}
    return {"firstStage": names[0], "stages": stages}


def test_a_stage_without_inputs_receives_the_activation_inputs() -> None:
    run = Run(chain("mock"))
    transition = run.send(Start("c", 1, {"foo": "bar"}))
    (command,) = transition.commands
    assert isinstance(command, RunStage)
    assert command.inputs == {"foo": "bar"}
    run.finish_inline(transition, {"foo": "bar"})
    assert run.state.status is Status.COMPLETED
    assert run.state.outputs == {"mock": {"foo": "bar"}}
    assert run.types() == [
        "ACTIVATION_STARTED",
        "STAGE_STARTED",
        "STAGE_COMPLETED",
        "ACTIVATION_COMPLETED",
    ]


def test_cel_inputs_and_selector_pick_the_next_stage() -> None:
    spec = {
        "firstStage": "build",
        "stages": {
            "build": {
                "provider": "mock",
                "inputs": {"ref": "${{ inputs.ref }}", "label": "ref ${{ inputs.ref }}!"},
                "stageSelector": "${{ outputs.build.ok ? 'deploy' : 'report' }}",
            },
            "deploy": {"provider": "mock", "inputs": {"built": "${{ outputs.build.ref }}"}},
            "report": {"provider": "noop"},
        },
    }
    run = Run(spec)
    first = run.send(Start("c", 1, {"ref": 7}))
    assert first.commands[0].inputs == {"ref": 7, "label": "ref 7!"}  # type: ignore[union-attr]
    second = run.finish_inline(first, {"ok": True, "ref": 7})
    assert second.commands[0].stage == "deploy"  # type: ignore[union-attr]
    assert second.commands[0].inputs == {"built": 7}  # type: ignore[union-attr]
    assert run.state.generation == 2


def test_stepped_mode_pauses_after_each_stage_until_advanced() -> None:
    spec = {**chain("one", "two"), "selfDriving": False}
    run = Run(spec)
    run.finish_inline(run.send(Start("c", 1, {})), {"x": 1})
    assert run.state.status is Status.PAUSED
    assert run.state.next_stage == "two"
    with pytest.raises(InvalidInputError):
        run.send(Advance("nowhere"))
    advanced = run.send(Advance())
    assert run.state.status is Status.RUNNING
    with pytest.raises(PreconditionError):
        run.send(Advance())
    run.finish_inline(advanced, {"y": 2})
    assert run.state.status is Status.PAUSED and run.state.next_stage == ""
    assert run.state.outputs == {"one": {"x": 1}, "two": {"y": 2}}
    run.send(Advance())
    assert run.state.status is Status.COMPLETED


def test_advance_may_name_another_stage() -> None:
    run = Run({**chain("one", "two"), "selfDriving": False})
    run.finish_inline(run.send(Start("c", 1, {})))
    transition = run.send(Advance("one"))
    assert transition.commands[0].stage == "one"  # type: ignore[union-attr]


def test_a_failed_stage_fails_the_activation() -> None:
    run = Run(chain("a", "b"))
    first = run.send(Start("c", 1, {}))
    run.send(StageResult("1", 1, error={"type": "Boom", "message": "it broke"}))
    assert run.state.status is Status.FAILED
    assert "it broke" in run.state.status_message
    assert first.commands and run.types()[-2:] == ["STAGE_FAILED", "ACTIVATION_FAILED"]


def test_handle_errors_lets_the_selector_see_the_failure() -> None:
    spec = {
        "firstStage": "risky",
        "stages": {
            "risky": {
                "provider": "mock",
                "handleErrors": True,
                "stageSelector": "${{ outputs.risky.status == 'FAILED' ? 'recover' : '' }}",
            },
            "recover": {"provider": "mock", "inputs": {"why": "${{ outputs.risky.error }}"}},
        },
    }
    run = Run(spec)
    run.send(Start("c", 1, {}))
    recovering = run.send(StageResult("1", 1, error={"type": "Boom", "message": "it broke"}))
    assert recovering.commands[0].inputs == {"why": "it broke"}  # type: ignore[union-attr]
    run.finish_inline(recovering)
    assert run.state.status is Status.COMPLETED


def test_a_selector_loop_ends_at_the_stage_run_bound() -> None:
    spec = {
        "firstStage": "loop",
        "maxStageRuns": 5,
        "stages": {"loop": {"provider": "noop", "stageSelector": "loop"}},
    }
    run = Run(spec)
    transition = run.send(Start("c", 1, {}))
    while run.state.status is Status.RUNNING:
        transition = run.finish_inline(transition)
    assert run.state.status is Status.FAILED
    assert run.state.generation == 5
    assert "stage-run limit of 5" in run.state.status_message


def test_a_selector_naming_no_stage_fails_with_the_reason() -> None:
    spec = {
        "firstStage": "a",
        "stages": {"a": {"provider": "mock", "stageSelector": "${{ 'ghost' }}"}},
    }
    run = Run(spec)
    run.finish_inline(run.send(Start("c", 1, {})))
    assert run.state.status is Status.FAILED
    assert "ghost" in run.state.status_message


def test_delay_is_a_durable_timer() -> None:
    spec = {
        "firstStage": "wait",
        "stages": {"wait": {"provider": "delay", "config": {"duration": "30s"}}},
    }
    run = Run(spec)
    transition = run.send(Start("c", 1, {}), at=100.0)
    assert transition.commands == []
    assert {k: t.due for k, t in run.state.timers.items()} == {"delay:1": 130.0}
    run.send(TimerFired("delay:1"), at=130.0)
    assert run.state.status is Status.COMPLETED
    assert run.state.timers == {}
    assert run.send(TimerFired("delay:1")).events == []  # a timer fires once


def test_wait_takes_a_signal_even_one_that_came_early() -> None:
    spec = {
        "firstStage": "first",
        "stages": {
            "first": {"provider": "mock", "stageSelector": "gate"},
            "gate": {
                "provider": "wait",
                "config": {"event": "approve"},
                "stageSelector": "${{ trigger.data.ok ? 'after' : '' }}",
            },
            "after": {"provider": "noop"},
        },
    }
    run = Run(spec)
    first = run.send(Start("c", 1, {}))
    run.send(Signal("approve", {"ok": True}))  # before the gate: buffered
    assert len(run.state.signals) == 1
    after = run.finish_inline(first)
    assert run.state.signals == []
    assert run.state.outputs["gate"] == {"ok": True}
    run.finish_inline(after)
    assert run.state.status is Status.COMPLETED


def test_wait_times_out() -> None:
    spec = {
        "firstStage": "gate",
        "stages": {"gate": {"provider": "wait", "config": {"event": "go", "timeout": "1m"}}},
    }
    run = Run(spec)
    run.send(Start("c", 1, {}), at=0.0)
    run.send(TimerFired("wait:1"), at=60.0)
    assert run.state.status is Status.FAILED
    assert run.state.runs[0].error == {
        "type": "Timeout",
        "message": "no 'go' signal arrived in time",
    }


def test_retries_back_off_then_succeed() -> None:
    spec = {
        "firstStage": "a",
        "stages": {
            "a": {
                "provider": "mock",
                "retry": {"maximumAttempts": 3, "initialInterval": "2s", "backoffCoefficient": 3},
            }
        },
    }
    run = Run(spec)
    run.send(Start("c", 1, {}), at=0.0)
    run.send(StageResult("1", 1, error={"type": "Flaky", "message": "no"}), at=1.0)
    assert run.state.timers["retry:1"].due == 3.0
    retried = run.send(TimerFired("retry:1"), at=3.0)
    assert retried.commands[0].attempt == 2  # type: ignore[union-attr]
    run.send(StageResult("1", 2, error={"type": "Flaky", "message": "no"}), at=4.0)
    assert run.state.timers["retry:1"].due == 10.0
    run.send(StageResult("1", 2, outputs={"late": True}))  # a stale attempt changes nothing
    assert run.state.status is Status.RUNNING
    third = run.send(TimerFired("retry:1"), at=10.0)
    run.finish_inline(third, {"ok": 1})
    assert run.state.status is Status.COMPLETED
    assert run.types().count("STAGE_COMPLETED") == 1
    assert run.types().count("STAGE_RETRY_SCHEDULED") == 2


def test_non_retryable_errors_fail_at_once() -> None:
    spec = {
        "firstStage": "a",
        "stages": {
            "a": {
                "provider": "mock",
                "retry": {"maximumAttempts": 5, "nonRetryableErrors": ["BadRef"]},
            }
        },
    }
    run = Run(spec)
    run.send(Start("c", 1, {}))
    run.send(StageResult("1", 1, error={"type": "BadRef", "message": "no such ref"}))
    assert run.state.status is Status.FAILED


def test_symphony_retry_spelling() -> None:
    spec = {
        "firstStage": "a",
        "selfDriving": True,
        "stages": {
            "a": {
                "name": "a",
                "provider": "providers.stage.mock",
                "retry": {"maxRetries": 1, "interval": "5s"},
            }
        },
    }
    run = Run(spec, "workflow.symphony/v1")
    run.send(Start("c", 1, {}), at=0.0)
    run.send(StageResult("1", 1, error={"type": "X", "message": "x"}))
    assert run.state.timers["retry:1"].due == 5.0
    run.send(TimerFired("retry:1"), at=5.0)
    run.send(StageResult("1", 2, error={"type": "X", "message": "x"}))
    assert run.state.status is Status.FAILED


def test_activation_timeout() -> None:
    spec = {**chain("a"), "timeout": "1h"}
    run = Run(spec)
    run.send(Start("c", 1, {}), at=0.0)
    transition = run.send(TimerFired("activation-timeout"), at=3600.0)
    assert run.state.status is Status.TIMED_OUT
    assert transition.commands == [CancelStage("1")]
    assert run.send(StageResult("1", 1, outputs={})).events == []


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        (Cancel("no longer needed"), Status.CANCELLED),
        (Terminate("stuck"), Status.TERMINATED),
    ],
)
def test_cancel_and_terminate(request_: Input, status: Status) -> None:
    run = Run(chain("a", "b"))
    run.send(Start("c", 1, {}))
    transition = run.send(request_)
    assert run.state.status is status
    # A terminated activation's stage runs are stopped as terminated (children too).
    assert transition.commands == [CancelStage("1", terminate=status is Status.TERMINATED)]
    assert run.state.runs[0].status.value == "CANCELLED"
    with pytest.raises(PreconditionError):
        run.send(request_)
    with pytest.raises(PreconditionError):
        run.send(Signal("x"))


def test_counter_state_comes_back_on_the_next_run() -> None:
    spec = {
        "firstStage": "count",
        "stages": {
            "count": {
                "provider": "counter",
                "inputs": {"n": 1},
                "stageSelector": "${{ outputs.count.n < 3 ? 'count' : '' }}",
            }
        },
    }
    run = Run(spec)
    transition = run.send(Start("c", 1, {}))
    states = []
    while run.state.status is Status.RUNNING:
        (command,) = transition.commands
        assert isinstance(command, RunStage)
        states.append(command.state)
        n = (command.state or {}).get("n", 0) + 1
        transition = run.send(StageResult(command.run_id, 1, outputs={"n": n, "__state": {"n": n}}))
    assert states == [None, {"n": 1}, {"n": 2}]
    assert run.state.outputs["count"]["n"] == 3


def test_a_bad_expression_at_run_time_fails_the_stage_with_its_reason() -> None:
    spec = {
        "firstStage": "a",
        "stages": {"a": {"provider": "mock", "inputs": {"x": "${{ inputs.missing.deep }}"}}},
    }
    run = Run(spec)
    transition = run.send(Start("c", 1, {}))
    assert transition.commands == []
    assert run.state.status is Status.FAILED
    assert "missing" in run.state.status_message


def test_start_at_a_named_stage() -> None:
    run = Run(chain("a", "b"))
    transition = run.send(Start("c", 1, {}, start_stage="b"))
    assert transition.commands[0].stage == "b"  # type: ignore[union-attr]
    with pytest.raises(InvalidInputError):
        Run(chain("a")).send(Start("c", 1, {}, start_stage="zz"))


def test_events_are_numbered_from_one_and_carry_the_documented_keys() -> None:
    run = Run(chain("a"))
    run.finish_inline(run.send(Start("c", 1, {"k": "v"})), {"o": 1})
    assert [e.sequence for e in run.events] == [1, 2, 3, 4]
    started, stage_started, completed, closed = run.events
    assert started.data["inputs"] == {"k": "v"} and started.stage == "a"
    assert stage_started.data["runId"] == "1" and stage_started.data["attempt"] == 1
    assert completed.data["outputs"] == {"o": 1}
    assert closed.type is EventType.ACTIVATION_COMPLETED and closed.data["outputs"] == {
        "a": {"o": 1}
    }


def test_handle_leaves_the_given_state_alone() -> None:
    run = Run(chain("a"))
    before = run.state.model_copy(deep=True)
    handle(run.state, run.campaign, Start("c", 1, {}), Context(now=1.0))
    assert run.state == before


def fan(spec_stage: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"firstStage": "each", "stages": {"each": spec_stage, **more}}


def test_contexts_run_once_per_item_and_gather_outputs_in_order() -> None:
    run = Run(
        fan(
            {
                "provider": "mock",
                "contexts": "${{ inputs.sites }}",
                "inputs": {"site": "${{ context }}"},
                "stageSelector": "after",
            },
            after={"provider": "noop", "inputs": {"n": "${{ size(outputs.each) }}"}},
        )
    )
    first = run.send(Start("c", 1, {"sites": ["a", "b", "c"]}))
    commands = [c for c in first.commands if isinstance(c, RunStage)]
    assert [(c.run_id, c.inputs) for c in commands] == [
        ("1.0", {"site": "a"}),
        ("1.1", {"site": "b"}),
        ("1.2", {"site": "c"}),
    ]
    for command in reversed(commands):  # items may finish in any order
        last = run.send(StageResult(command.run_id, 1, outputs={"at": command.inputs["site"]}))
    assert run.state.outputs["each"] == [{"at": "a"}, {"at": "b"}, {"at": "c"}]
    assert last.commands[0].inputs == {"n": 3}  # type: ignore[union-attr]
    assert run.state.generation == 2  # items are not stage runs of the selector chain
    assert run.types().count("STAGE_COMPLETED") == 4  # three items and the fan-out


def test_max_concurrency_starts_items_as_others_finish() -> None:
    run = Run(fan({"provider": "mock", "contexts": [1, 2, 3], "maxConcurrency": 2}))
    first = run.send(Start("c", 1, {}))
    assert [c.run_id for c in first.commands] == ["1.0", "1.1"]  # type: ignore[union-attr]
    following = run.send(StageResult("1.1", 1, outputs={}))
    assert [c.run_id for c in following.commands] == ["1.2"]  # type: ignore[union-attr]
    run.send(StageResult("1.0", 1, outputs={}))
    run.send(StageResult("1.2", 1, outputs={}))
    assert run.state.status is Status.COMPLETED


def test_fail_fast_cancels_the_other_items() -> None:
    run = Run(fan({"provider": "mock", "contexts": ["a", "b", "c"]}))
    run.send(Start("c", 1, {}))
    transition = run.send(StageResult("1.1", 1, error={"type": "Boom", "message": "b broke"}))
    assert {c.run_id for c in transition.commands if isinstance(c, CancelStage)} == {"1.0", "1.2"}
    assert run.state.status is Status.FAILED
    assert "item 1 ('b') failed: b broke" in run.state.status_message
    assert run.send(StageResult("1.0", 1, outputs={})).events == []


def test_collect_runs_every_item_and_reports_each_failure_in_place() -> None:
    run = Run(
        fan(
            {
                "provider": "mock",
                "contexts": ["a", "b"],
                "contextFailure": "collect",
                "stageSelector": "${{ outputs.each[1].status == 'FAILED' ? 'repair' : '' }}",
            },
            repair={"provider": "noop"},
        )
    )
    run.send(Start("c", 1, {}))
    run.send(StageResult("1.1", 1, error={"type": "Boom", "message": "b broke"}))
    repairing = run.send(StageResult("1.0", 1, outputs={"ok": True}))
    assert run.state.outputs["each"] == [
        {"ok": True},
        {"status": "FAILED", "error": "b broke", "errorType": "Boom"},
    ]
    assert repairing.commands[0].stage == "repair"  # type: ignore[union-attr]


def test_parallel_branches_join_with_their_outputs_merged() -> None:
    spec = {
        "firstStage": "checks",
        "stages": {
            "checks": {
                "provider": "parallel",
                "branches": ["lint", "test"],
                "stageSelector": "ship",
            },
            "lint": {"provider": "mock", "inputs": {"tool": "ruff"}, "stageSelector": "ship"},
            "test": {"provider": "mock", "inputs": {"tool": "pytest"}},
            "ship": {"provider": "noop"},
        },
    }
    run = Run(spec)
    first = run.send(Start("c", 1, {}))
    assert sorted(c.stage for c in first.commands) == ["lint", "test"]  # type: ignore[union-attr]
    run.send(StageResult("1.1", 1, outputs={"passed": 10}))
    shipping = run.send(StageResult("1.0", 1, outputs={"clean": True}))
    assert run.state.outputs["checks"] == {"lint": {"clean": True}, "test": {"passed": 10}}
    assert run.state.outputs["lint"] == {"clean": True}  # each branch is a stage of its own
    assert [c.stage for c in shipping.commands] == ["ship"]  # type: ignore[union-attr]


def test_an_empty_fan_out_completes_at_once() -> None:
    run = Run(fan({"provider": "mock", "contexts": "${{ inputs.none }}"}))
    run.send(Start("c", 1, {"none": []}))
    assert run.state.status is Status.COMPLETED
    assert run.state.outputs["each"] == []


def test_fan_out_items_retry_on_their_own() -> None:
    run = Run(
        fan(
            {
                "provider": "mock",
                "contexts": ["a", "b"],
                "retry": {"maximumAttempts": 2, "initialInterval": "1s"},
            }
        )
    )
    run.send(Start("c", 1, {}), at=0.0)
    run.send(StageResult("1.0", 1, error={"type": "Flaky", "message": "x"}))
    assert "retry:1.0" in run.state.timers
    retried = run.send(TimerFired("retry:1.0"), at=1.0)
    assert [(c.run_id, c.attempt) for c in retried.commands] == [("1.0", 2)]  # type: ignore[union-attr]
    run.send(StageResult("1.0", 2, outputs={"a": 1}))
    run.send(StageResult("1.1", 1, outputs={"b": 1}))
    assert run.state.outputs["each"] == [{"a": 1}, {"b": 1}]


SAGA = {
    "firstStage": "reserve",
    "stages": {
        "reserve": {"provider": "mock", "compensate": "release", "stageSelector": "charge"},
        "charge": {"provider": "mock", "compensate": "refund", "stageSelector": "ship"},
        "ship": {"provider": "mock"},
        "release": {"provider": "mock"},
        "refund": {"provider": "mock"},
    },
}


def test_a_failure_runs_compensations_in_reverse_order_then_fails() -> None:
    run = Run(SAGA)
    transition = run.send(Start("c", 1, {}), at=1.0)
    transition = run.finish_inline(transition)  # reserve
    run.now = 2.0
    transition = run.finish_inline(transition)  # charge
    transition = run.send(StageResult("3", 1, error={"type": "NoStock", "message": "gone"}))
    assert [c.stage for c in transition.commands] == ["refund"]  # type: ignore[union-attr]
    assert run.state.status is Status.RUNNING
    transition = run.finish_inline(transition)
    assert [c.stage for c in transition.commands] == ["release"]  # type: ignore[union-attr]
    run.finish_inline(transition)
    assert run.state.status is Status.FAILED
    assert "gone" in run.state.status_message
    compensations = [
        (e.stage, e.data["compensates"])
        for e in run.events
        if e.type is EventType.COMPENSATION_STARTED
    ]
    assert compensations == [("refund", "charge"), ("release", "reserve")]


def test_cancel_in_the_middle_of_a_saga_compensates_then_cancels() -> None:
    run = Run(SAGA)
    transition = run.finish_inline(run.send(Start("c", 1, {})))  # reserve done, charge running
    transition = run.send(Cancel("customer changed their mind"))
    assert CancelStage("2") in transition.commands
    assert [c.stage for c in transition.commands if isinstance(c, RunStage)] == ["release"]
    assert run.send(Cancel("again")).events == []  # already on its way out
    run.send(StageResult("3", 1, error={"type": "Down", "message": "release failed"}))
    assert run.state.status is Status.CANCELLED  # a failed compensation is recorded; it ends
    assert run.state.status_message == "customer changed their mind"


def test_terminate_skips_compensation() -> None:
    run = Run(SAGA)
    run.finish_inline(run.send(Start("c", 1, {})))
    run.send(Terminate("now"))
    assert run.state.status is Status.TERMINATED
    assert EventType.COMPENSATION_STARTED not in [e.type for e in run.events]
