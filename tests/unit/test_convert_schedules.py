"""Schedule conversion between protobuf and the domain: round trips and bad enum values."""

from __future__ import annotations

import pytest

from partita.api import convert_schedules as convert
from partita.errors import InvalidInputError
from partita.model.schedule import (
    DEFAULT_CATCHUP_SECONDS,
    OverlapPolicy,
    Schedule,
    ScheduleAction,
    ScheduleActionResult,
    ScheduleDefinition,
    ScheduleInfo,
    SchedulePolicies,
    ScheduleSpec,
)
from partita.v1 import common_pb2, schedule_pb2

FULL = ScheduleDefinition(
    spec=ScheduleSpec(
        cron_expressions=("0 3 * * *", "*/10 0 12 * * *"),
        time_zone="Europe/Paris",
        interval=3600.0,
        offset=900.0,
        jitter=2.5,
        start_time=1_700_000_000.25,
        end_time=1_800_000_000.0,
        remaining_actions=7,
    ),
    action=ScheduleAction(campaign="deploy", version=3, inputs={"n": 3, "who": ["a", "b"]}),
    policies=SchedulePolicies(overlap=OverlapPolicy.BUFFER_ALL, catchup_window=300.0),
)
MINIMAL = ScheduleDefinition(
    spec=ScheduleSpec(interval=60.0), action=ScheduleAction(campaign="tick")
)


@pytest.mark.parametrize("definition", [FULL, MINIMAL], ids=["full", "minimal"])
def test_a_definition_survives_the_round_trip(definition: ScheduleDefinition) -> None:
    value = Schedule(namespace="ns", schedule_id="s", definition=definition)
    message = convert.schedule(value)
    assert convert.definition(message) == definition


def test_info_and_state_are_converted() -> None:
    value = Schedule(
        namespace="ns",
        schedule_id="s",
        definition=MINIMAL,
        paused=True,
        note="maintenance",
        info=ScheduleInfo(
            next_fire_times=(1_700_000_060.0,),
            recent_actions=(
                ScheduleActionResult(
                    nominal_time=1_700_000_000.0,
                    actual_time=1_700_000_000.5,
                    activation_id="s-2023-11-14T22:13:20Z",
                    status="RUNNING",
                ),
                ScheduleActionResult(nominal_time=1.0, actual_time=1.0, activation_id="gone"),
            ),
            running_activation_ids=("s-2023-11-14T22:13:20Z",),
            action_count=5,
            missed_catchup_window=2,
        ),
    )
    message = convert.schedule(value)
    assert (message.state.paused, message.state.note) == (True, "maintenance")
    assert message.info.next_fire_times[0].seconds == 1_700_000_060
    first, gone = message.info.recent_actions
    assert first.actual_time.ToNanoseconds() == 1_700_000_000_500_000_000
    assert first.status == common_pb2.ACTIVATION_STATUS_RUNNING
    assert gone.status == common_pb2.ACTIVATION_STATUS_UNSPECIFIED
    assert list(message.info.running_activation_ids) == ["s-2023-11-14T22:13:20Z"]
    assert (message.info.action_count, message.info.missed_catchup_window) == (5, 2)


def test_unset_policies_take_the_defaults() -> None:
    message = schedule_pb2.Schedule(action=schedule_pb2.ScheduleAction(campaign="c"))
    policies = convert.definition(message).policies
    assert policies == SchedulePolicies(
        overlap=OverlapPolicy.SKIP, catchup_window=DEFAULT_CATCHUP_SECONDS
    )


@pytest.mark.parametrize("policy", list(OverlapPolicy))
def test_every_overlap_policy_maps_both_ways(policy: OverlapPolicy) -> None:
    assert convert.overlap(convert.overlap_value(policy)) is policy


def test_an_unknown_overlap_value_names_the_field() -> None:
    assert convert.overlap(schedule_pb2.OVERLAP_POLICY_UNSPECIFIED) is None
    with pytest.raises(InvalidInputError) as err:
        convert.overlap(99, "schedule.policies.overlap")
    assert err.value.violations[0].field == "schedule.policies.overlap"
