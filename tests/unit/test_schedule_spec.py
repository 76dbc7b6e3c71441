"""Schedules as pure functions: fire times (cron with time zones and DST, intervals with
offsets), jitter, validation, and the overlap and catch-up decisions. The clock is an argument."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from partita.errors import InvalidInputError
from partita.model.schedule import (
    OverlapPolicy,
    ScheduleAction,
    ScheduleDefinition,
    SchedulePolicies,
    ScheduleSpec,
)
from partita.schedules import (
    FireTimes,
    activation_id_for,
    compile_definition,
    jitter_of,
    missed,
    next_buffered,
    plan_fire,
    stamp,
)


def at(text: str) -> float:
    """Seconds since the epoch of an ISO time (UTC unless it says otherwise)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")


def fires(spec: ScheduleSpec, after: str, count: int) -> list[str]:
    return [utc(t) for t in FireTimes(spec).upcoming(at(after), count)]


# -- intervals --------------------------------------------------------------------------------


def test_an_interval_fires_at_multiples_since_the_epoch() -> None:
    spec = ScheduleSpec(interval=3600)
    assert fires(spec, "2025-01-01 10:20:00", 3) == [
        "2025-01-01 11:00:00",
        "2025-01-01 12:00:00",
        "2025-01-01 13:00:00",
    ]


def test_an_offset_shifts_the_interval() -> None:
    spec = ScheduleSpec(interval=3600, offset=15 * 60)
    assert fires(spec, "2025-01-01 10:20:00", 2) == ["2025-01-01 11:15:00", "2025-01-01 12:15:00"]
    # Strictly after: a fire at exactly `after` is not the next one.
    assert fires(spec, "2025-01-01 11:15:00", 1) == ["2025-01-01 12:15:00"]


def test_start_and_end_bound_the_fires_inclusively() -> None:
    spec = ScheduleSpec(
        interval=60, start_time=at("2025-01-01 00:10:00"), end_time=at("2025-01-01 00:12:00")
    )
    assert fires(spec, "2025-01-01 00:00:00", 10) == [
        "2025-01-01 00:10:00",
        "2025-01-01 00:11:00",
        "2025-01-01 00:12:00",
    ]
    assert FireTimes(spec).next_after(at("2025-01-01 00:12:00")) is None


@pytest.mark.parametrize(
    ("spec", "after", "until"),
    [
        (ScheduleSpec(interval=7, offset=3), "2025-01-01 00:00:00", "2025-01-01 02:00:00"),
        (
            ScheduleSpec(interval=60, start_time=at("2025-01-01 00:30:30"), end_time=None),
            "2025-01-01 00:00:00",
            "2025-01-01 01:00:00",
        ),
        (
            ScheduleSpec(cron_expressions=("*/5 * * * *",)),
            "2025-01-01 00:00:00",
            "2025-01-01 03:00:00",
        ),
        (
            ScheduleSpec(cron_expressions=("0 * * * *",), interval=1800),
            "2025-01-01 00:00:00",
            "2025-01-02 00:00:00",
        ),
    ],
)
def test_counting_agrees_with_iterating(spec: ScheduleSpec, after: str, until: str) -> None:
    times = FireTimes(spec)
    listed = list(itertools.takewhile(lambda t: t <= at(until), times.iterate(at(after))))
    assert times.count_between(at(after), at(until)) == len(listed)


def test_a_cron_and_an_interval_fire_once_when_they_coincide() -> None:
    spec = ScheduleSpec(cron_expressions=("0 * * * *",), interval=1800)
    assert fires(spec, "2025-01-01 00:00:00", 4) == [
        "2025-01-01 00:30:00",
        "2025-01-01 01:00:00",
        "2025-01-01 01:30:00",
        "2025-01-01 02:00:00",
    ]


# -- cron --------------------------------------------------------------------------------------


def test_five_field_cron_in_utc() -> None:
    spec = ScheduleSpec(cron_expressions=("0 3 * * MON-FRI",))
    # 2025-01-03 is a Friday.
    assert fires(spec, "2025-01-03 04:00:00", 2) == ["2025-01-06 03:00:00", "2025-01-07 03:00:00"]


def test_six_field_cron_has_seconds_first() -> None:
    spec = ScheduleSpec(cron_expressions=("*/20 0 12 * * *",))
    assert fires(spec, "2025-01-01 12:00:00", 3) == [
        "2025-01-01 12:00:20",
        "2025-01-01 12:00:40",
        "2025-01-02 12:00:00",
    ]


def test_cron_is_read_in_its_time_zone() -> None:
    spec = ScheduleSpec(cron_expressions=("0 9 * * *",), time_zone="Asia/Tokyo")
    assert fires(spec, "2025-01-01 00:00:00", 1) == ["2025-01-02 00:00:00"]  # 09:00 JST


BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


@pytest.mark.parametrize(
    ("zone", "expression", "after", "expected"),
    [
        # Spring forward in Berlin (2024-03-31, 02:00 -> 03:00): 02:30 does not exist and
        # fires right after the change, at 03:00 CEST; the next day is 02:30 CEST again.
        (
            BERLIN,
            "30 2 * * *",
            "2024-03-30 12:00:00",
            ["2024-03-31 01:00:00", "2024-04-01 00:30:00"],
        ),
        # Fall back in Berlin (2024-10-27, 03:00 -> 02:00): a fixed 02:30 fires once.
        (
            BERLIN,
            "30 2 * * *",
            "2024-10-26 12:00:00",
            ["2024-10-27 00:30:00", "2024-10-28 01:30:00"],
        ),
        # ... while a wildcard hour fires in both passes of the repeated hour.
        (
            BERLIN,
            "*/30 * * * *",
            "2024-10-26 23:45:00",
            [
                "2024-10-27 00:00:00",
                "2024-10-27 00:30:00",
                "2024-10-27 01:00:00",
                "2024-10-27 01:30:00",
            ],
        ),
        # Spring forward in New York (2024-03-10, 02:00 -> 03:00).
        (
            NEW_YORK,
            "0 2 * * *",
            "2024-03-09 12:00:00",
            ["2024-03-10 07:00:00", "2024-03-11 06:00:00"],
        ),
        # Fall back in New York (2024-11-03, 02:00 -> 01:00): 01:30 once, hourly twice.
        (
            NEW_YORK,
            "30 1 * * *",
            "2024-11-02 12:00:00",
            ["2024-11-03 05:30:00", "2024-11-04 06:30:00"],
        ),
        (
            NEW_YORK,
            "0 * * * *",
            "2024-11-03 04:30:00",
            ["2024-11-03 05:00:00", "2024-11-03 06:00:00", "2024-11-03 07:00:00"],
        ),
    ],
)
def test_cron_follows_daylight_saving_changes(
    zone: str, expression: str, after: str, expected: list[str]
) -> None:
    spec = ScheduleSpec(cron_expressions=(expression,), time_zone=zone)
    assert fires(spec, after, len(expected)) == expected


def test_fire_times_never_go_back_from_inside_a_repeated_hour() -> None:
    # 01:15 UTC is 02:15 CET, in the second pass of Berlin's repeated hour; 02:30 CEST
    # (00:30 UTC) already passed and must not come back.
    spec = ScheduleSpec(cron_expressions=("30 2 * * *",), time_zone=BERLIN)
    times = FireTimes(spec)
    after = at("2024-10-27 01:15:00")
    found = times.next_after(after)
    assert found is not None and found > after
    assert utc(found) == "2024-10-28 01:30:00"


@pytest.mark.parametrize("around", ["2024-03-30 12:00:00", "2024-10-26 12:00:00"])
def test_fire_times_strictly_increase_across_dst_changes(around: str) -> None:
    spec = ScheduleSpec(cron_expressions=("*/20 * * * *", "30 2 * * *"), time_zone=BERLIN)
    found = FireTimes(spec).upcoming(at(around), 3 * 48)
    assert all(b > a for a, b in itertools.pairwise(found))
    assert found[-1] - found[0] < 49 * 3600


# -- jitter and ids ---------------------------------------------------------------------------


def test_jitter_is_deterministic_and_within_bounds() -> None:
    nominal = at("2025-01-01 00:00:00")
    delays = [jitter_of("default/nightly", nominal + 60 * i, 30.0) for i in range(2000)]
    assert all(0 <= d < 30.0 for d in delays)
    assert delays == [jitter_of("default/nightly", nominal + 60 * i, 30.0) for i in range(2000)]
    assert min(delays) < 3 and max(delays) > 27  # spread over the range
    assert jitter_of("default/other", nominal, 30.0) != jitter_of("default/nightly", nominal, 30.0)
    assert jitter_of("default/nightly", nominal, 0.0) == 0.0


def test_activation_ids_derive_from_schedule_and_nominal_time() -> None:
    nominal = at("2025-01-02 03:00:00")
    assert stamp(nominal) == "2025-01-02T03:00:00Z"
    assert activation_id_for("nightly", nominal) == "nightly-2025-01-02T03:00:00Z"


# -- validation -------------------------------------------------------------------------------


def definition(**spec: object) -> ScheduleDefinition:
    return ScheduleDefinition(
        spec=ScheduleSpec.model_validate(spec), action=ScheduleAction(campaign="c")
    )


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        ({}, "schedule.spec", "cron expression or an interval"),
        ({"cron_expressions": ("61 * * * *",)}, "schedule.spec.cron_expressions[0]", "minute"),
        (
            {"cron_expressions": ("* * * * *", "* * *")},
            "schedule.spec.cron_expressions[1]",
            "3 fields",
        ),
        (
            {"cron_expressions": ("* * * * *",), "time_zone": "Mars/Olympus"},
            "schedule.spec.time_zone",
            "IANA",
        ),
        ({"interval": 0.5}, "schedule.spec.interval", "at least 1s"),
        ({"interval": 60, "offset": 60}, "schedule.spec.offset", "under interval"),
        ({"cron_expressions": ("* * * * *",), "offset": 5}, "schedule.spec.offset", "interval"),
        ({"interval": 60, "jitter": -1}, "schedule.spec.jitter", "negative"),
        (
            {"interval": 60, "start_time": 200.0, "end_time": 100.0},
            "schedule.spec.end_time",
            "before",
        ),
        ({"interval": 60, "remaining_actions": -1}, "schedule.spec.remaining_actions", "negative"),
    ],
)
def test_a_bad_spec_names_its_field(spec: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        compile_definition(definition(**spec))
    fields = {v.field: v.description for v in err.value.violations}
    assert field in fields, fields
    assert words in fields[field]


def test_every_problem_is_named_at_once() -> None:
    bad = ScheduleDefinition(
        spec=ScheduleSpec(cron_expressions=("nope",), time_zone="Nowhere/Land", jitter=-1),
        action=ScheduleAction(campaign="", version=-1),
        policies=SchedulePolicies(catchup_window=-5),
    )
    with pytest.raises(InvalidInputError) as err:
        compile_definition(bad)
    assert {v.field for v in err.value.violations} == {
        "schedule.spec.cron_expressions[0]",
        "schedule.spec.time_zone",
        "schedule.spec.jitter",
        "schedule.action.campaign",
        "schedule.action.version",
        "schedule.policies.catchup_window",
    }


# -- overlap and catch-up decisions ------------------------------------------------------------

P = OverlapPolicy
T = 100.0


@pytest.mark.parametrize(
    ("policy", "running", "buffered", "start", "after", "cancel", "terminate", "skipped"),
    [
        # Nothing open: every policy starts the fire at once.
        *[(p, (), (), True, (), (), (), ()) for p in OverlapPolicy],
        (P.SKIP, ("a",), (), False, (), (), (), (T,)),
        (P.BUFFER_ONE, ("a",), (), False, (T,), (), (), ()),
        (P.BUFFER_ONE, ("a",), (90.0,), False, (90.0,), (), (), (T,)),
        (P.BUFFER_ALL, ("a",), (), False, (T,), (), (), ()),
        (P.BUFFER_ALL, ("a",), (80.0, 90.0), False, (80.0, 90.0, T), (), (), ()),
        (P.CANCEL_OTHER, ("a", "b"), (), False, (T,), ("a", "b"), (), ()),
        (P.CANCEL_OTHER, ("a",), (90.0,), False, (T,), ("a",), (), (90.0,)),
        (P.TERMINATE_OTHER, ("a", "b"), (), True, (), (), ("a", "b"), ()),
        (P.TERMINATE_OTHER, ("a",), (90.0,), True, (), (), ("a",), (90.0,)),
        (P.ALLOW_ALL, ("a", "b"), (), True, (), (), (), ()),
        # A waiting buffered fire makes the schedule busy even when nothing is open.
        (P.SKIP, (), (90.0,), False, (90.0,), (), (), (T,)),
    ],
)
def test_each_overlap_policy(
    policy: OverlapPolicy,
    running: tuple[str, ...],
    buffered: tuple[float, ...],
    start: bool,
    after: tuple[float, ...],
    cancel: tuple[str, ...],
    terminate: tuple[str, ...],
    skipped: tuple[float, ...],
) -> None:
    plan = plan_fire(policy, T, running, buffered)
    assert (plan.start, plan.buffered, plan.cancel, plan.terminate, plan.skipped) == (
        start,
        after,
        cancel,
        terminate,
        skipped,
    )
    assert plan.taken == (start or T in after)


def test_buffered_fires_start_oldest_first_once_nothing_is_open() -> None:
    assert next_buffered(("a",), (80.0, 90.0)) is None
    assert next_buffered((), (80.0, 90.0)) == 80.0
    assert next_buffered((), ()) is None


@pytest.mark.parametrize(
    ("due", "now", "window", "expected"),
    [(100.0, 100.0, 60.0, False), (100.0, 160.0, 60.0, False), (100.0, 160.5, 60.0, True)],
)
def test_the_catchup_window(due: float, now: float, window: float, expected: bool) -> None:
    assert missed(due, now, window) is expected
