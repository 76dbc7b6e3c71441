"""Operations in the engine: rerun, skip, retry now, pause and resume (replay checked each step)."""

from __future__ import annotations

from typing import Any

import pytest

from partita.engine import (
    Advance,
    Cancel,
    EnqueueTask,
    Pause,
    Rerun,
    Resume,
    RetryStage,
    RunStage,
    SkipStage,
    StageResult,
    Start,
    Status,
    TaskLeased,
    Terminate,
    TimerFired,
)
from partita.errors import InvalidInputError, PreconditionError
from tests.unit.test_engine import Run, chain

FAIL = {"type": "Boom", "message": "broke", "nonRetryable": True}


def started(run: Run) -> list[str]:
    return [e.stage for e in run.events if e.type.value == "STAGE_STARTED"]


def failed_at_c(**spec: Any) -> Run:
    run = Run({**chain("a", "b", "c", "d"), **spec})
    first = run.finish_inline(run.send(Start("c", 1, {"x": 1})), {"a": 1})
    (command,) = first.commands
    assert isinstance(command, RunStage) and command.stage == "b"
    second = run.finish_inline(first, {"b": 2})
    (command,) = second.commands
    assert isinstance(command, RunStage) and command.stage == "c"
    run.send(StageResult(command.run_id, 1, error=FAIL))
    assert run.state.status is Status.FAILED
    return run


def test_rerun_continues_from_the_failed_stage_keeping_earlier_outputs() -> None:
    run = failed_at_c()
    transition = run.send(Rerun(inputs={"y": 2}))
    assert run.state.status is Status.RUNNING
    assert run.state.close_time is None
    assert run.state.inputs == {"x": 1, "y": 2}
    assert run.state.outputs == {"a": {"a": 1}, "b": {"b": 2}}
    (command,) = transition.commands
    assert isinstance(command, RunStage) and command.stage == "c"
    assert command.inputs == {"x": 1, "y": 2}
    assert command.previous_stage == "b"
    run.finish_inline(run.finish_inline(transition, {"c": 3}), {"d": 4})
    assert run.state.status is Status.COMPLETED
    assert started(run) == ["a", "b", "c", "c", "d"]
    assert "ACTIVATION_RERUN" in run.types()


def test_rerun_from_a_named_stage_drops_the_outputs_from_there_on() -> None:
    run = failed_at_c()
    transition = run.send(Rerun(stage="b"))
    assert run.state.outputs == {"a": {"a": 1}}
    (command,) = transition.commands
    assert isinstance(command, RunStage) and command.stage == "b"


def test_rerun_refuses_open_and_completed_activations_unless_asked() -> None:
    run = Run(chain("a"))
    transition = run.send(Start("c", 1, {}))
    with pytest.raises(PreconditionError, match="RUNNING"):
        run.send(Rerun())
    run.finish_inline(transition)
    with pytest.raises(PreconditionError, match="COMPLETED"):
        run.send(Rerun())
    with pytest.raises(InvalidInputError):
        run.send(Rerun(stage="nowhere", completed=True))
    run.send(Rerun(completed=True))
    assert run.state.status is Status.RUNNING


@pytest.mark.parametrize("closing", [Cancel("stop"), Terminate("stop")])
def test_a_cancelled_or_terminated_activation_reruns_its_interrupted_stage(closing: Any) -> None:
    run = Run(chain("a", "b"))
    first = run.finish_inline(run.send(Start("c", 1, {})), {"a": 1})
    run.send(closing)
    transition = run.send(Rerun())
    (command,) = transition.commands
    assert isinstance(command, RunStage) and command.stage == "b"
    run.finish_inline(transition)
    assert run.state.status is Status.COMPLETED
    assert first.commands


def test_rerun_rearms_the_activation_deadline() -> None:
    run = failed_at_c(timeout="1m")
    run.send(Rerun(), at=5000.0)
    assert run.state.timers["activation-timeout"].due == 5060.0


def test_skip_an_open_stage_completes_it_with_the_given_outputs() -> None:
    run = Run(chain("a", "b"))
    transition = run.send(Start("c", 1, {}))
    assert transition.commands
    skipped = run.send(SkipStage("a", {"given": True}))
    assert [type(c).__name__ for c in skipped.commands] == ["CancelStage", "RunStage"]
    assert run.state.outputs["a"] == {"given": True}
    assert run.types()[-3:] == ["STAGE_SKIPPED", "STAGE_COMPLETED", "STAGE_STARTED"]
    run.send(StageResult("1", 1, outputs={"late": True}))  # the skipped attempt's answer
    assert run.state.outputs["a"] == {"given": True}
    with pytest.raises(PreconditionError, match="no open stage run"):
        run.send(SkipStage("a"))


def test_skip_the_failed_stage_of_a_failed_activation() -> None:
    run = failed_at_c()
    transition = run.send(SkipStage("c", {"c": "by hand"}))
    (command,) = transition.commands
    assert isinstance(command, RunStage) and command.stage == "d"
    run.finish_inline(transition)
    assert run.state.status is Status.COMPLETED
    assert run.state.outputs["c"] == {"c": "by hand"}
    assert started(run) == ["a", "b", "c", "c", "d"]


def retrying() -> Run:
    spec = {
        "firstStage": "a",
        "stages": {"a": {"provider": "mock", "retry": {"initialInterval": "1h"}}},
    }
    run = Run(spec)
    run.send(Start("c", 1, {}), at=0.0)
    run.send(StageResult("1", 1, error={"type": "Flaky", "message": "no"}), at=1.0)
    return run


def test_retry_now_cuts_the_backoff_short() -> None:
    run = retrying()
    with pytest.raises(InvalidInputError, match="names no stage"):
        run.send(RetryStage("nowhere"))
    transition = run.send(RetryStage("a"), at=2.0)
    (command,) = transition.commands
    assert isinstance(command, RunStage) and command.attempt == 2
    assert "retry:1" not in run.state.timers
    assert run.send(TimerFired("retry:1")).events == []  # the old timer changes nothing
    run.finish_inline(transition)
    assert run.state.status is Status.COMPLETED
    with pytest.raises(PreconditionError):
        run.send(RetryStage())


def test_pause_holds_the_next_stage_until_resume() -> None:
    run = Run(chain("a", "b"))
    transition = run.send(Start("c", 1, {}))
    run.send(Pause("maintenance"))
    assert run.state.status is Status.PAUSED
    assert run.state.paused_by == "request"
    assert "maintenance" in run.state.status_message
    finished = run.finish_inline(transition, {"a": 1})  # the running stage finishes
    assert finished.commands == []
    assert run.state.held and run.state.next_stage == "b"
    with pytest.raises(PreconditionError, match="resume"):
        run.send(Advance())
    with pytest.raises(PreconditionError):
        run.send(Pause())
    resumed = run.send(Resume())
    (command,) = resumed.commands
    assert isinstance(command, RunStage) and command.stage == "b"
    assert run.state.paused_by == ""
    run.finish_inline(resumed)
    assert run.state.status is Status.COMPLETED
    with pytest.raises(PreconditionError):
        run.send(Resume())


def test_a_retry_due_while_paused_fires_on_resume() -> None:
    run = retrying()
    run.send(Pause(), at=2.0)
    assert run.send(TimerFired("retry:1"), at=3601.0).events == []
    assert "retry:1" in run.state.timers
    resumed = run.send(Resume(), at=4000.0)
    (command,) = resumed.commands
    assert isinstance(command, RunStage) and command.attempt == 2


def test_stepped_mode_pause_is_told_apart() -> None:
    run = Run({**chain("a", "b"), "selfDriving": False})
    run.finish_inline(run.send(Start("c", 1, {})))
    assert run.state.paused_by == "stepped"
    with pytest.raises(PreconditionError, match="stepped"):
        run.send(Resume())
    with pytest.raises(PreconditionError, match="stepped"):
        run.send(Pause())


def test_cancel_while_paused_closes_it() -> None:
    run = Run(chain("a", "b"))
    run.send(Start("c", 1, {}))
    run.send(Pause())
    run.send(Cancel("no"))
    assert run.state.status is Status.CANCELLED
    assert run.state.paused_by == ""


def test_held_tasks_are_not_leased_and_go_back_on_their_queue_on_resume() -> None:
    spec = {
        "firstStage": "w",
        "stages": {"w": {"provider": "worker", "taskQueue": "q", "taskType": "t"}},
    }
    run = Run(spec)
    run.send(Start("c", 1, {"k": 1}))
    run.send(Pause(hold_tasks=True))
    assert run.send(TaskLeased("1", 1, "worker-1")).events == []
    resumed = run.send(Resume())
    (command,) = resumed.commands
    assert isinstance(command, EnqueueTask) and command.task_queue == "q"
    assert command.inputs == {"k": 1}
    assert run.send(TaskLeased("1", 1, "worker-1")).events


def test_the_pause_reason_stays_in_the_status_message_while_held() -> None:
    run = Run(chain("a", "b"))
    transition = run.send(Start("c", 1, {}))
    run.send(Pause("freeze"))
    run.finish_inline(transition)
    assert run.state.status_message == "paused by request: freeze; stage 'b' waits for the resume"
