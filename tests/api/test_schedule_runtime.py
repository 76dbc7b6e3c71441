"""The scheduler inside a real plane, on a fake clock: fires on time and only on time, each
overlap policy, catch-up after downtime, pause, limits, updates, and a fire whose start a crash
left unrecorded. No sleeps: the clock moves, then the scheduler is woken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from partita.model.schedule import (
    OverlapPolicy,
    Schedule,
    ScheduleAction,
    ScheduleDefinition,
    SchedulePolicies,
    ScheduleSpec,
)
from partita.runtime import Plane, PlaneConfig
from partita.schedules import activation_id_for, jitter_of
from tests.conftest import assert_eventually

T0 = 1_700_000_000.0
"""A whole multiple of 10 s: interval-10 fires fall on T0 + 10 n."""
MOCK = {"firstStage": "a", "stages": {"a": {"provider": "mock"}}}
HOLD = {"firstStage": "hold", "stages": {"hold": {"provider": "wait", "config": {"event": "go"}}}}


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def running_plane(path: Path, clock: FakeClock) -> AsyncIterator[Plane]:
    async with Plane(PlaneConfig(db=str(path)), clock=clock) as plane:
        await plane.create_campaign("", "tick", MOCK)
        await plane.create_campaign("", "hold", HOLD)
        yield plane


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + 0.5)


@pytest.fixture
async def plane(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Plane]:
    async with running_plane(tmp_path / "plane.db", clock) as started:
        yield started


def every(
    seconds: float,
    campaign: str = "tick",
    overlap: OverlapPolicy = OverlapPolicy.SKIP,
    **spec: Any,
) -> ScheduleDefinition:
    return ScheduleDefinition(
        spec=ScheduleSpec(interval=seconds, **spec),
        action=ScheduleAction(campaign=campaign, inputs={"from": "schedule"}),
        policies=SchedulePolicies(overlap=overlap),
    )


def ids(schedule_id: str, *offsets: float) -> list[str]:
    return [activation_id_for(schedule_id, T0 + o) for o in offsets]


async def activations(plane: Plane) -> dict[str, str]:
    found, _ = await plane.list_activations("", page_size=1000)
    return {a.id: a.status.value for a in found}


async def advance(plane: Plane, clock: FakeClock, to: float, schedule_id: str) -> Schedule:
    """Move the clock to T0 + ``to`` and wait until the schedule has handled every fire due."""
    clock.now = T0 + to
    plane.scheduler.wake()

    async def handled() -> Schedule | None:
        found = await plane.get_schedule("", schedule_id)
        upcoming = found.info.next_fire_times
        return found if not upcoming or upcoming[0] > clock.now else None

    return await assert_eventually(handled, within=5, interval=0.01)


async def until(probe: Callable[[], Any]) -> Any:
    async def check() -> Any:
        return await probe()

    return await assert_eventually(check, within=5, interval=0.01)


async def test_a_schedule_fires_at_its_nominal_times_and_not_before(
    plane: Plane, clock: FakeClock
) -> None:
    created = await plane.create_schedule("", "tick", every(10))
    assert created.info.next_fire_times[:3] == (T0 + 10, T0 + 20, T0 + 30)
    await advance(plane, clock, 9.9, "tick")
    assert await activations(plane) == {}
    found = await advance(plane, clock, 35, "tick")
    assert sorted(await activations(plane)) == ids("tick", 10, 20, 30)
    assert [a.activation_id for a in found.info.recent_actions] == ids("tick", 10, 20, 30)
    assert {a.status for a in found.info.recent_actions} == {"COMPLETED"}
    assert found.info.action_count == 3
    assert found.info.next_fire_times[0] == T0 + 40
    state = await plane.get_activation("", ids("tick", 10)[0])
    assert state.inputs == {"from": "schedule"}


async def test_after_downtime_fires_within_the_catchup_window_are_taken(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "plane.db"
    async with running_plane(path, clock) as plane:
        await plane.create_schedule("", "tick", every(10))
    clock.now = T0 + 300.5  # down for five minutes
    async with running_plane(path, clock) as plane:
        found = await until(
            lambda: _when(
                plane, lambda s: s.info.action_count == 6 and s.info.missed_catchup_window
            )
        )
        # Fires at T0+10 .. T0+240 are more than 60 s late: counted, not taken.
        assert found.info.missed_catchup_window == 24
        assert sorted(await activations(plane)) == ids("tick", 250, 260, 270, 280, 290, 300)


async def _when(plane: Plane, test: Callable[[Schedule], Any], name: str = "tick") -> Any:
    found = await plane.get_schedule("", name)
    return found if test(found) else None


async def test_a_fire_started_before_a_crash_is_recorded_not_started_again(
    plane: Plane, clock: FakeClock
) -> None:
    await plane.create_schedule("", "tick", every(10))
    # As if a plane had started the fire's activation and died before recording it.
    first = ids("tick", 10)[0]
    await plane.start_activation("", "tick", activation_id=first)
    found = await advance(plane, clock, 10, "tick")
    assert list(await activations(plane)) == [first]
    assert found.info.action_count == 1
    assert [a.activation_id for a in found.info.recent_actions] == [first]


async def test_jitter_delays_the_start_but_not_the_id(plane: Plane, clock: FakeClock) -> None:
    await plane.create_schedule("", "j", every(10, jitter=5))
    delay = jitter_of("default/j", T0 + 10, 5)
    assert 0 <= delay < 5
    clock.now = T0 + 10 + delay - 0.01
    plane.scheduler.wake()
    await asyncio.sleep(0.1)  # proving that nothing happens takes a moment of nothing
    assert await activations(plane) == {}
    clock.now = T0 + 10 + delay
    plane.scheduler.wake()
    await until(lambda: _started(plane, ids("j", 10)))


async def _started(plane: Plane, wanted: list[str]) -> bool:
    return set(wanted) <= set(await activations(plane))


async def signal(plane: Plane, activation_id: str) -> None:
    await plane.signal_activation("", activation_id, "go")


@pytest.mark.parametrize("policy", [OverlapPolicy.SKIP, OverlapPolicy.BUFFER_ONE])
async def test_skip_and_buffer_one(plane: Plane, clock: FakeClock, policy: OverlapPolicy) -> None:
    await plane.create_schedule("", "s", every(10, "hold", policy))
    a1, a2, a3 = ids("s", 10, 20, 30)
    found = await advance(plane, clock, 30, "s")
    assert await activations(plane) == {a1: "RUNNING"}
    assert found.info.running_activation_ids == (a1,)
    buffered = policy is OverlapPolicy.BUFFER_ONE
    assert found.info.buffered_fire_times == ((T0 + 20,) if buffered else ())
    await signal(plane, a1)
    if buffered:  # the buffered fire starts as soon as a1 closes, under its own nominal time
        await until(lambda: _started(plane, [a2]))
    else:
        found = await advance(plane, clock, 40, "s")
        assert set(await activations(plane)) == {a1, ids("s", 40)[0]}
    assert a3 not in await activations(plane)


async def test_buffer_all_starts_every_fire_one_after_another(
    plane: Plane, clock: FakeClock
) -> None:
    await plane.create_schedule("", "s", every(10, "hold", OverlapPolicy.BUFFER_ALL))
    a1, a2, a3 = ids("s", 10, 20, 30)
    found = await advance(plane, clock, 30, "s")
    assert found.info.buffered_fire_times == (T0 + 20, T0 + 30)
    await signal(plane, a1)
    await until(lambda: _started(plane, [a2]))
    assert a3 not in await activations(plane)
    await signal(plane, a2)
    await until(lambda: _started(plane, [a3]))

    async def drained() -> bool:  # progress is saved just after the start it records
        return (await plane.get_schedule("", "s")).info.buffered_fire_times == ()

    await until(drained)


async def test_cancel_other_cancels_then_starts(plane: Plane, clock: FakeClock) -> None:
    await plane.create_schedule("", "s", every(10, "hold", OverlapPolicy.CANCEL_OTHER))
    a1, a2 = ids("s", 10, 20)
    await advance(plane, clock, 10, "s")
    await advance(plane, clock, 20, "s")
    await until(lambda: _started(plane, [a2]))
    assert await activations(plane) == {a1: "CANCELLED", a2: "RUNNING"}


async def test_terminate_other_terminates_and_starts_at_once(
    plane: Plane, clock: FakeClock
) -> None:
    await plane.create_schedule("", "s", every(10, "hold", OverlapPolicy.TERMINATE_OTHER))
    a1, a2 = ids("s", 10, 20)
    await advance(plane, clock, 10, "s")
    await advance(plane, clock, 20, "s")
    assert await activations(plane) == {a1: "TERMINATED", a2: "RUNNING"}


async def test_allow_all_starts_whatever_runs(plane: Plane, clock: FakeClock) -> None:
    await plane.create_schedule("", "s", every(10, "hold", OverlapPolicy.ALLOW_ALL))
    found = await advance(plane, clock, 30, "s")
    assert await activations(plane) == dict.fromkeys(ids("s", 10, 20, 30), "RUNNING")
    assert sorted(found.info.running_activation_ids) == ids("s", 10, 20, 30)


async def test_a_paused_schedule_takes_no_fire_and_resumes_from_now(
    plane: Plane, clock: FakeClock
) -> None:
    await plane.create_schedule("", "tick", every(10))
    paused = await plane.pause_schedule("", "tick", "maintenance")
    assert (paused.paused, paused.note, paused.info.next_fire_times) == (True, "maintenance", ())
    await advance(plane, clock, 45, "tick")
    assert await activations(plane) == {}
    resumed = await plane.resume_schedule("", "tick", "done")
    assert (resumed.paused, resumed.note) == (False, "done")
    assert resumed.info.next_fire_times[0] == T0 + 50  # fires of the pause are not taken
    await advance(plane, clock, 50, "tick")
    assert list(await activations(plane)) == ids("tick", 50)


async def test_a_limited_schedule_pauses_itself_after_its_last_action(
    plane: Plane, clock: FakeClock
) -> None:
    created = await plane.create_schedule("", "tick", every(10, remaining_actions=2))
    assert created.definition.spec.remaining_actions == 2
    await advance(plane, clock, 40, "tick")
    found = await plane.get_schedule("", "tick")
    assert sorted(await activations(plane)) == ids("tick", 10, 20)
    assert found.paused and "remaining_actions" in found.note
    assert found.definition.spec.remaining_actions == 0
    # Triggering does not count against the limit, and works while paused.
    clock.now = T0 + 41.7
    assert await plane.trigger_schedule("", "tick") == ids("tick", 41)[0]
    assert ids("tick", 41)[0] in await activations(plane)


async def test_an_update_takes_effect_from_the_next_fire(plane: Plane, clock: FakeClock) -> None:
    await plane.create_schedule("", "tick", every(10))
    await advance(plane, clock, 12, "tick")
    updated = await plane.update_schedule("", "tick", every(100, "hold"))
    assert updated.info.next_fire_times[0] == T0 + 100
    assert updated.info.action_count == 1  # its info is kept
    await advance(plane, clock, 100, "tick")
    assert await activations(plane) == {
        ids("tick", 10)[0]: "COMPLETED",
        ids("tick", 100)[0]: "RUNNING",
    }


async def test_trigger_follows_the_overlap_policy(plane: Plane, clock: FakeClock) -> None:
    await plane.create_schedule("", "s", every(1000, "hold"))
    clock.now = T0 + 5.2
    first = await plane.trigger_schedule("", "s")
    assert first == ids("s", 5)[0]
    clock.now = T0 + 6.2
    assert await plane.trigger_schedule("", "s") == ""  # SKIP: first is open
    second = await plane.trigger_schedule("", "s", OverlapPolicy.ALLOW_ALL)
    assert second == ids("s", 6)[0]
    found = await plane.get_schedule("", "s")
    assert found.info.action_count == 2
    assert sorted(found.info.running_activation_ids) == [first, second]


async def test_a_deleted_schedule_fires_no_more(plane: Plane, clock: FakeClock) -> None:
    await plane.create_schedule("", "tick", every(10))
    await advance(plane, clock, 10, "tick")
    await plane.delete_schedule("", "tick")
    clock.now = T0 + 60
    plane.scheduler.wake()
    assert list(await activations(plane)) == ids("tick", 10)
    found, token = await plane.list_schedules("")
    assert (found, token) == ([], "")
