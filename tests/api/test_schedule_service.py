"""ScheduleService over real gRPC: every RPC, a 1-second schedule firing, and bad input refused
with the field named (INVALID_ARGUMENT with ``google.rpc.BadRequest``), changing nothing."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from partita.v1 import common_pb2, schedule_pb2
from tests.api.plane_client import Api, struct, violations
from tests.conftest import assert_eventually

S = schedule_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
MOCK = {"firstStage": "a", "stages": {"a": {"provider": "mock"}}}
HOLD = {"firstStage": "hold", "stages": {"hold": {"provider": "wait", "config": {"event": "go"}}}}


def seconds(value: float) -> duration_pb2.Duration:
    message = duration_pb2.Duration()
    message.FromNanoseconds(int(value * 1e9))
    return message


def at(value: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=value)


def schedule(
    campaign: str = "tick", *, every: float | None = 1.0, cron: tuple[str, ...] = (), **spec: Any
) -> S.Schedule:
    return S.Schedule(
        spec=S.ScheduleSpec(
            cron_expressions=cron,
            interval=seconds(every) if every is not None else None,
            **spec,
        ),
        action=S.ScheduleAction(campaign=campaign, inputs=struct({"n": 1})),
    )


@pytest.fixture
async def ready(api: Api) -> Api:
    await api.create("tick", MOCK)
    await api.create("hold", HOLD)
    return api


async def create(api: Api, schedule_id: str, body: S.Schedule, **request: Any) -> S.Schedule:
    response = await api.schedules.CreateSchedule(
        S.CreateScheduleRequest(schedule_id=schedule_id, schedule=body, **request)
    )
    return response.schedule


async def get(api: Api, schedule_id: str) -> S.Schedule:
    response = await api.schedules.GetSchedule(S.GetScheduleRequest(schedule_id=schedule_id))
    return response.schedule


async def test_a_one_second_schedule_starts_activations(ready: Api) -> None:
    created = await create(ready, "tick", schedule())
    assert created.schedule_id == "tick" and created.namespace == "default"
    assert len(created.info.next_fire_times) == 10
    first = created.info.next_fire_times[0].seconds

    async def two_actions() -> S.Schedule | None:
        found = await get(ready, "tick")
        return found if len(found.info.recent_actions) >= 2 else None

    found = await assert_eventually(two_actions, within=10)
    nominal = [a.nominal_time.seconds for a in found.info.recent_actions]
    assert nominal[:2] == [first, first + 1]
    action = found.info.recent_actions[0]
    assert action.activation_id.startswith("tick-") and action.activation_id.endswith("Z")
    assert action.actual_time.ToNanoseconds() >= action.nominal_time.ToNanoseconds()
    activation = await ready.wait(action.activation_id)
    assert activation.status == common_pb2.ACTIVATION_STATUS_COMPLETED
    assert activation.inputs == struct({"n": 1})


async def test_pause_resume_update_trigger_list_delete(ready: Api) -> None:
    body = schedule("hold", every=3600, remaining_actions=5)
    body.policies.overlap = S.OVERLAP_POLICY_BUFFER_ONE
    await create(ready, "hourly", body)
    await create(ready, "daily", schedule(every=None, cron=("0 3 * * *",), time_zone="Asia/Tokyo"))

    paused = await ready.schedules.PauseSchedule(
        S.PauseScheduleRequest(schedule_id="hourly", note="maintenance")
    )
    assert (paused.schedule.state.paused, paused.schedule.state.note) == (True, "maintenance")
    assert not paused.schedule.info.next_fire_times

    triggered = await ready.schedules.TriggerSchedule(
        S.TriggerScheduleRequest(schedule_id="hourly")
    )
    assert triggered.activation_id.startswith("hourly-")
    resumed = await ready.schedules.ResumeSchedule(
        S.ResumeScheduleRequest(schedule_id="hourly", note="back")
    )
    assert (resumed.schedule.state.paused, resumed.schedule.state.note) == (False, "back")
    info = resumed.schedule.info
    assert list(info.running_activation_ids) == [triggered.activation_id]
    assert info.action_count == 1
    assert resumed.schedule.spec.remaining_actions == 5  # triggers do not count
    assert resumed.schedule.policies.overlap == S.OVERLAP_POLICY_BUFFER_ONE
    assert resumed.schedule.policies.catchup_window.seconds == 60

    new = schedule("tick", every=7200, offset=seconds(600))
    updated = await ready.schedules.UpdateSchedule(
        S.UpdateScheduleRequest(schedule_id="hourly", schedule=new)
    )
    assert updated.schedule.spec.interval.seconds == 7200
    assert updated.schedule.action.campaign == "tick"
    assert all(t.seconds % 7200 == 600 for t in updated.schedule.info.next_fire_times)
    assert updated.schedule.info.action_count == 1  # kept
    assert updated.schedule.policies.overlap == S.OVERLAP_POLICY_SKIP

    page = await ready.schedules.ListSchedules(S.ListSchedulesRequest(page_size=1))
    assert [s.schedule_id for s in page.schedules] == ["daily"]
    rest = await ready.schedules.ListSchedules(
        S.ListSchedulesRequest(page_size=1, page_token=page.next_page_token)
    )
    assert [s.schedule_id for s in rest.schedules] == ["hourly"]
    daily = page.schedules[0]
    assert all(t.seconds % 86400 == 18 * 3600 for t in daily.info.next_fire_times)  # 03:00 JST

    await ready.schedules.DeleteSchedule(S.DeleteScheduleRequest(schedule_id="hourly"))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await get(ready, "hourly")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    # Its activations are not affected.
    assert (await ready.get(triggered.activation_id)).status == common_pb2.ACTIVATION_STATUS_RUNNING


async def test_create_is_idempotent_with_a_request_id(ready: Api) -> None:
    first = await create(ready, "once", schedule(every=60), request_id="r-1")
    again = await create(ready, "once", schedule(every=60), request_id="r-1")
    assert again.schedule_id == first.schedule_id
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(ready, "once", schedule(every=60))
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


BAD_CREATES: list[tuple[str, str, S.Schedule, str]] = [
    ("no-id", "", schedule(), "schedule_id"),
    ("bad-id", "a b", schedule(), "schedule_id"),
    ("long-id", "x" * 240, schedule(), "schedule_id"),
    ("no-spec", "s", schedule(every=None), "schedule.spec"),
    (
        "invalid-cron",
        "s",
        schedule(every=None, cron=("0 25 * * *",)),
        "schedule.spec.cron_expressions[0]",
    ),
    (
        "cron-fields",
        "s",
        schedule(every=None, cron=("* * * * * * *",)),
        "schedule.spec.cron_expressions[0]",
    ),
    (
        "bad-time-zone",
        "s",
        schedule(every=None, cron=("0 3 * * *",), time_zone="Europe/Atlantis"),
        "schedule.spec.time_zone",
    ),
    ("unknown-campaign", "s", schedule("nope"), "schedule.action.campaign"),
    ("no-campaign", "s", schedule(""), "schedule.action.campaign"),
    (
        "end-before-start",
        "s",
        schedule(start_time=at(2_000_000_000), end_time=at(1_900_000_000)),
        "schedule.spec.end_time",
    ),
    ("short-interval", "s", schedule(every=0.25), "schedule.spec.interval"),
    ("offset-too-big", "s", schedule(every=60, offset=seconds(60)), "schedule.spec.offset"),
    ("negative-jitter", "s", schedule(jitter=seconds(-1)), "schedule.spec.jitter"),
    (
        "bad-overlap",
        "s",
        S.Schedule(
            spec=S.ScheduleSpec(interval=seconds(60)),
            action=S.ScheduleAction(campaign="tick"),
            policies=S.SchedulePolicies(overlap=42),  # type: ignore[arg-type]
        ),
        "schedule.policies.overlap",
    ),
]


@pytest.mark.parametrize(
    ("schedule_id", "body", "field"),
    [pytest.param(i, b, f, id=n) for n, i, b, f in BAD_CREATES],
)
async def test_bad_creates_name_the_field(
    ready: Api, schedule_id: str, body: S.Schedule, field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(ready, schedule_id, body)
    assert err.value.code() == INVALID, err.value.details()
    assert field in [f for f, _ in violations(err.value)], violations(err.value)
    listed = await ready.schedules.ListSchedules(S.ListSchedulesRequest())
    assert not listed.schedules


async def test_a_bad_update_names_the_field_and_changes_nothing(ready: Api) -> None:
    await create(ready, "s", schedule(every=60))
    before = await get(ready, "s")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ready.schedules.UpdateSchedule(
            S.UpdateScheduleRequest(
                schedule_id="s", schedule=schedule(every=None, cron=("nonsense",))
            )
        )
    assert err.value.code() == INVALID
    assert [f for f, _ in violations(err.value)] == ["schedule.spec.cron_expressions[0]"]
    after = await get(ready, "s")
    assert after.spec == before.spec and after.action == before.action


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("GetSchedule", S.GetScheduleRequest(schedule_id="nope")),
        ("UpdateSchedule", S.UpdateScheduleRequest(schedule_id="nope", schedule=schedule())),
        ("DeleteSchedule", S.DeleteScheduleRequest(schedule_id="nope")),
        ("PauseSchedule", S.PauseScheduleRequest(schedule_id="nope")),
        ("ResumeSchedule", S.ResumeScheduleRequest(schedule_id="nope")),
        ("TriggerSchedule", S.TriggerScheduleRequest(schedule_id="nope")),
    ],
)
async def test_an_unknown_schedule_is_not_found(ready: Api, method: str, message: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await getattr(ready.schedules, method)(message)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_forged_page_token_is_refused(ready: Api) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await ready.schedules.ListSchedules(S.ListSchedulesRequest(page_token="zz"))
    assert err.value.code() == INVALID
    assert [f for f, _ in violations(err.value)] == ["page_token"]
