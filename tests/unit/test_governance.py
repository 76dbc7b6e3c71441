"""Queue governance as a policy: fair shares by weight, concurrency by key, token buckets."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from partita.engine import EnqueueTask, Start
from partita.runtime.governance import Lanes, QueueLimit, TokenBucket
from partita.runtime.tasks import QueuedTask
from tests.unit.test_engine import Run


def task(n: int, key: str, priority: int = 3, concurrency: int = 0) -> QueuedTask:
    return QueuedTask(
        namespace="default",
        activation_id=f"{key}-{n}",
        campaign="c",
        run_id="1",
        attempt=1,
        stage="s",
        task_queue="q",
        task_type="t",
        inputs={},
        headers={},
        queue={"key": key, "priority": priority, "concurrency": concurrency},
    )


def burst_then_trickle(priority_a: int, priority_b: int) -> Lanes:
    """1,000 queued tasks: a burst of 900 from key a, then 100 from key b."""
    lanes = Lanes()
    for n in range(900):
        lanes.push(task(n, "a", priority_a), now=float(n))
    for n in range(100):
        lanes.push(task(n, "b", priority_b), now=900.0 + n)
    return lanes


@pytest.mark.parametrize(
    ("priority_a", "priority_b", "share_b"),
    [(3, 3, 1 / 2), (1, 5, 1 / 6), (3, 5, 1 / 4), (5, 1, 5 / 6)],
)
def test_a_burst_does_not_starve_the_other_key(
    priority_a: int, priority_b: int, share_b: float
) -> None:
    lanes = burst_then_trickle(priority_a, priority_b)
    taken: list[str] = []
    while (next_task := lanes.pop()) is not None:
        taken.append(next_task.queue["key"])
        lanes.release(next_task.queue["key"], (next_task.activation_id, next_task.run_id))
    assert len(taken) == 1000
    contended = taken[: max(i for i, k in enumerate(taken) if k == "b") + 1]
    # While both keys wait, b's share of the polls is its weight's share, within a task.
    assert abs(contended.count("b") - share_b * len(contended)) <= 1
    for window in range(50, len(contended), 50):
        assert abs(contended[:window].count("b") - share_b * window) <= 1


def test_fifo_within_a_key_and_one_lane_without_a_policy() -> None:
    lanes = Lanes()
    plain = [QueuedTask("default", f"x{n}", "c", "1", 1, "s", "q", "t", {}, {}) for n in range(5)]
    for n, queued in enumerate(plain):
        lanes.push(queued, now=float(n))
    assert [lanes.pop() for _ in range(5)] == plain
    assert lanes.pop() is None


def test_a_key_at_its_concurrency_limit_is_passed_over_until_a_task_finishes() -> None:
    lanes = Lanes()
    for n in range(3):
        lanes.push(task(n, "prod", concurrency=1), now=float(n))
    lanes.push(task(0, "dev", concurrency=1), now=3.0)
    first = lanes.pop()
    assert first is not None and first.activation_id == "prod-0"
    second = lanes.pop()
    assert second is not None and second.activation_id == "dev-0"
    assert lanes.pop() is None  # prod holds its one, dev has none left
    assert lanes.oldest() == 1.0 and lanes.size == 2
    assert not lanes.release("prod", ("prod-0", "1"), attempt=2)  # another attempt's
    assert lanes.release("prod", ("prod-0", "1"), attempt=1)
    third = lanes.pop()
    assert third is not None and third.activation_id == "prod-1"


def test_a_held_run_queued_again_may_be_taken_within_its_key_limit() -> None:
    lanes = Lanes()
    again = task(0, "prod", concurrency=1)
    lanes.hold(again)  # leased before a restart, and queued again
    lanes.push(task(1, "prod", concurrency=1), now=0.0)
    lanes.push(again, now=1.0)
    assert lanes.pop() is None  # prod-1 is first in the lane, and prod is at its limit
    lanes.release("prod", ("prod-0", "1"))
    assert lanes.pop() is not None


def test_an_idle_key_saves_no_credit() -> None:
    lanes = Lanes()
    for n in range(100):
        lanes.push(task(n, "a"), now=float(n))
    for _ in range(100):
        got = lanes.pop()
        assert got is not None
        lanes.release("a", (got.activation_id, "1"))
    for n in range(100, 110):
        lanes.push(task(n, "a"), now=float(n))
    for n in range(10):
        lanes.push(task(n, "b"), now=float(200 + n))
    taken = []
    for _ in range(10):
        got = lanes.pop()
        assert got is not None
        taken.append(got.queue["key"])
    assert taken.count("a") == 5  # a got no penalty, b no saved-up credit: half each


def test_token_bucket_allows_bursts_then_the_rate() -> None:
    bucket = TokenBucket(QueueLimit(rate=2.0, burst=3), now=0.0)
    for _ in range(3):
        assert bucket.delay(0.0) == 0.0
        bucket.take(0.0)
    assert bucket.delay(0.0) == pytest.approx(0.5)
    assert bucket.delay(0.5) == 0.0
    bucket.take(0.5)
    assert bucket.delay(0.5) == pytest.approx(0.5)
    assert bucket.delay(100.0) == 0.0  # never more than the burst saved up
    for _ in range(3):
        bucket.take(100.0)
    assert bucket.delay(100.0) > 0


def test_the_engine_renders_the_queue_key_from_the_inputs() -> None:
    spec: dict[str, Any] = {
        "firstStage": "deploy",
        "stages": {
            "deploy": {
                "provider": "worker",
                "taskQueue": "deploys",
                "queue": {"key": "${{ inputs.env }}", "concurrency": 1, "priority": 2},
            }
        },
    }
    run = Run(spec)
    (command,) = run.send(Start("c", 1, {"env": "prod"})).commands
    assert isinstance(command, EnqueueTask)
    assert command.queue == {"key": "prod", "priority": 2, "concurrency": 1}
    assert run.state.runs[0].queue == command.queue
    assert Counter(e.type.value for e in run.events)["STAGE_STARTED"] == 1
