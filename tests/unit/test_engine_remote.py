"""Remote stages in the engine: a stage with ``site`` becomes a dispatch, its result the stage's."""

from __future__ import annotations

from typing import Any

import pytest

from partita.engine import (
    Cancel,
    CancelStage,
    Dispatch,
    DispatchAccepted,
    DispatchClosed,
    RunStage,
    Start,
    Status,
    Terminate,
    TimerFired,
)
from partita.errors import InvalidInputError
from tests.unit.test_engine import Run


def rollout(**deploy: Any) -> dict[str, Any]:
    return {
        "firstStage": "deploy",
        "stages": {
            "deploy": {
                "provider": "mock",
                "contexts": "${{ inputs.sites }}",
                "site": "${{ context }}",
                "inputs": {"version": "${{ inputs.version }}"},
                "config": {"note": "${{ 'v' + string(inputs.version) }}"},
                "stageSelector": "report",
                **deploy,
            },
            "report": {"provider": "mock", "inputs": {"deployed": "${{ outputs.deploy }}"}},
        },
    }


def dispatches(transition: Any) -> list[Dispatch]:
    return [c for c in transition.commands if isinstance(c, Dispatch)]


def test_a_stage_for_another_site_is_dispatched_with_its_rendered_inputs_and_config() -> None:
    run = Run(rollout())
    transition = run.send(Start("c", 1, {"sites": ["berlin", "paris"], "version": 2}))
    sent = dispatches(transition)
    assert [d.site for d in sent] == ["berlin", "paris"]
    assert not [c for c in transition.commands if isinstance(c, RunStage)]
    berlin = sent[0]
    assert berlin.inputs == {"version": 2}
    assert berlin.stage["name"] == "deploy" and berlin.stage["provider"] == "mock"
    assert berlin.stage["config"] == {"note": "v2"}
    assert "site" not in berlin.stage and "contexts" not in berlin.stage
    assert berlin.dispatch_id == "a1.1.1.0.1" and berlin.campaign == ""
    assert run.types().count("DISPATCH_SENT") == 2


def test_site_results_complete_the_fan_out_keyed_by_site() -> None:
    run = Run(rollout())
    sent = dispatches(run.send(Start("c", 1, {"sites": ["berlin", "paris"], "version": 2})))
    for d in sent:
        run.send(DispatchAccepted(d.run_id, d.attempt, d.dispatch_id))
    run.send(DispatchClosed(sent[1].run_id, 1, sent[1].dispatch_id, "COMPLETED", {"ok": "p"}))
    last = run.send(
        DispatchClosed(sent[0].run_id, 1, sent[0].dispatch_id, "COMPLETED", {"ok": "b"})
    )
    run.finish_inline(last)
    assert run.state.status is Status.COMPLETED
    assert run.state.outputs["deploy"] == {"berlin": {"ok": "b"}, "paris": {"ok": "p"}}
    assert run.types().count("DISPATCH_ACCEPTED") == 2
    assert run.types().count("DISPATCH_RESULT") == 2


def test_a_duplicate_result_changes_nothing() -> None:
    run = Run(rollout())
    sent = dispatches(run.send(Start("c", 1, {"sites": ["berlin"], "version": 1})))
    d = sent[0]
    result = DispatchClosed(d.run_id, 1, d.dispatch_id, "COMPLETED", {"ok": 1})
    run.send(result)
    assert not run.send(result).events
    assert not run.send(DispatchAccepted(d.run_id, 1, d.dispatch_id)).events


def test_a_failed_dispatch_fails_the_stage_without_a_hub_retry() -> None:
    run = Run(rollout(retry={"maximumAttempts": 5}))
    sent = dispatches(run.send(Start("c", 1, {"sites": ["berlin"], "version": 1})))
    failure = {"type": "BadRef", "message": "no such ref"}
    run.send(DispatchClosed(sent[0].run_id, 1, sent[0].dispatch_id, "FAILED", failure=failure))
    assert run.state.status is Status.FAILED
    assert "on site 'berlin': no such ref" in run.state.status_message
    assert "STAGE_RETRY_SCHEDULED" not in run.types()


def test_a_site_that_never_accepts_times_out_and_its_dispatch_is_withdrawn() -> None:
    run = Run(rollout(timeouts={"scheduleToStart": "30s"}))
    sent = dispatches(run.send(Start("c", 1, {"sites": ["berlin"], "version": 1})))
    (timer_id,) = [k for k in run.state.timers if k.startswith("schedule-to-start:")]
    transition = run.send(TimerFired(timer_id), at=run.now + 30)
    assert run.state.status is Status.FAILED
    assert "did not accept dispatch" in run.state.status_message
    assert "scheduleToStart timeout of 30s" in run.state.status_message
    assert CancelStage(sent[0].run_id) in transition.commands


def test_an_accepted_dispatch_has_no_schedule_to_start_timer() -> None:
    run = Run(rollout(timeouts={"scheduleToStart": "30s"}))
    d = dispatches(run.send(Start("c", 1, {"sites": ["berlin"], "version": 1})))[0]
    run.send(DispatchAccepted(d.run_id, 1, d.dispatch_id))
    assert not any(k.startswith("schedule-to-start:") for k in run.state.timers)


@pytest.mark.parametrize("request_", [Cancel("stop"), Terminate("stop")])
def test_cancel_and_terminate_reach_the_dispatches(request_: Any) -> None:
    run = Run(rollout())
    sent = dispatches(run.send(Start("c", 1, {"sites": ["berlin", "paris"], "version": 1})))
    transition = run.send(request_)
    stops = [c for c in transition.commands if isinstance(c, CancelStage)]
    assert {c.run_id for c in stops} >= {d.run_id for d in sent}
    assert all(c.terminate == isinstance(request_, Terminate) for c in stops)


def test_the_own_site_runs_the_stage_here() -> None:
    run = Run(rollout())  # the test context's site is "hq"
    transition = run.send(Start("c", 1, {"sites": ["hq"], "version": 1}))
    assert not dispatches(transition)
    run.finish_inline(transition, {"ok": True})
    assert run.state.runs[1].site == "hq"


def test_a_campaign_stage_on_a_site_dispatches_the_campaign() -> None:
    spec = {
        "firstStage": "remote",
        "stages": {
            "remote": {"provider": "campaign", "site": "berlin", "config": {"campaign": "upd"}}
        },
    }
    run = Run(spec)
    (d,) = dispatches(run.send(Start("c", 1, {"x": 1})))
    assert (d.campaign, d.site, d.inputs, d.stage) == ("upd", "berlin", {"x": 1}, {})
    run.send(DispatchClosed(d.run_id, 1, d.dispatch_id, "COMPLETED", {"a": {"b": 1}}))
    assert run.state.outputs == {"remote": {"a": {"b": 1}}}


def test_a_site_expression_that_gives_no_text_fails_the_stage() -> None:
    run = Run(rollout(site="${{ 42 }}"))
    run.send(Start("c", 1, {"sites": ["berlin"], "version": 1}))
    assert run.state.status is Status.FAILED
    assert "site must give a site id" in run.state.status_message


def test_an_invalid_site_expression_is_refused_when_compiled() -> None:
    with pytest.raises(InvalidInputError, match=r"spec\.stages\.deploy\.site"):
        Run(rollout(site="${{ context. }}"))


def test_collect_keeps_every_sites_outcome_keyed_by_site() -> None:
    run = Run(rollout(contextFailure="collect"))
    sent = dispatches(run.send(Start("c", 1, {"sites": ["berlin", "paris"], "version": 1})))
    failure = {"type": "DiskFull", "message": "no space"}
    run.send(DispatchClosed(sent[0].run_id, 1, sent[0].dispatch_id, "FAILED", failure=failure))
    last = run.send(DispatchClosed(sent[1].run_id, 1, sent[1].dispatch_id, "COMPLETED", {"ok": 1}))
    run.finish_inline(last)
    assert run.state.status is Status.COMPLETED
    deployed = run.state.outputs["deploy"]
    assert deployed["paris"] == {"ok": 1}
    assert deployed["berlin"]["status"] == "FAILED"
    assert deployed["berlin"]["errorType"] == "DiskFull"
    assert "on site 'berlin': no space" in deployed["berlin"]["error"]


def test_fail_fast_withdraws_the_other_sites_dispatches() -> None:
    run = Run(rollout())
    sent = dispatches(
        run.send(Start("c", 1, {"sites": ["berlin", "paris", "tokyo"], "version": 1}))
    )
    failure = {"type": "DiskFull", "message": "no space"}
    transition = run.send(
        DispatchClosed(sent[0].run_id, 1, sent[0].dispatch_id, "FAILED", failure=failure)
    )
    stopped = {c.run_id for c in transition.commands if isinstance(c, CancelStage)}
    assert stopped == {sent[1].run_id, sent[2].run_id}
    assert run.state.status is Status.FAILED
    assert "item 0 ('berlin') failed" in run.state.status_message


def test_a_dispatch_carries_the_hubs_deadline_and_a_site_honours_it() -> None:
    hub = Run({**rollout(), "timeout": "1h"})
    (d, *_) = dispatches(hub.send(Start("c", 1, {"sites": ["berlin"], "version": 1}), at=1000.0))
    assert d.deadline == 1000.0 + 3600
    site = Run(rollout())
    site.send(Start("c", 1, {"sites": [], "version": 1}, deadline=1060.0), at=1000.0)
    assert site.state.timers["activation-timeout"].due == 1060.0
    site.send(TimerFired("activation-timeout"), at=1060.0)
    assert site.state.status is Status.TIMED_OUT
