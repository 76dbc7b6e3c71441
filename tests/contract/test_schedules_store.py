"""The Store contract for schedules (``partita.store.base``), run against every backend."""

from __future__ import annotations

import dataclasses

import pytest

from partita.errors import AlreadyExistsError, ConflictError
from partita.store import Page, ScheduleActionRow, ScheduleRow, Store
from partita.store.base import KEPT_SCHEDULE_ACTIONS
from tests.contract.conftest import StoreFactory
from tests.contract.test_store import NS, T0, close, start


def schedule(schedule_id: str = "nightly", namespace: str = NS) -> ScheduleRow:
    return ScheduleRow(
        namespace=namespace,
        id=schedule_id,
        definition='{"spec": {"interval": 60.0}}',
        paused=False,
        note="",
        remaining_actions=0,
        last_time=T0,
        buffered=(),
        action_count=0,
        missed_catchup=0,
        create_time=T0,
        update_time=T0,
    )


def advanced(row: ScheduleRow, **changes: object) -> ScheduleRow:
    return dataclasses.replace(row, **changes, revision=row.revision + 1)  # type: ignore[arg-type]


async def test_a_created_schedule_reads_back(store: Store) -> None:
    row = schedule()
    stored, created = await store.create_schedule(row)
    assert created and stored == row
    assert await store.get_schedule(NS, "nightly") == row
    assert await store.get_schedule("other", "nightly") is None
    assert await store.get_schedule(NS, "nope") is None


async def test_a_schedule_id_is_taken_once_per_namespace(store: Store) -> None:
    await store.create_schedule(schedule())
    with pytest.raises(AlreadyExistsError):
        await store.create_schedule(schedule())
    _, created = await store.create_schedule(schedule(namespace="other"))
    assert created


async def test_a_request_id_returns_the_schedule_it_created(store: Store) -> None:
    first, created = await store.create_schedule(schedule("a"), request_id="r1")
    again, created_again = await store.create_schedule(schedule("b"), request_id="r1")
    assert created and not created_again
    assert again == first
    assert await store.get_schedule(NS, "b") is None


async def test_list_pages_by_id(store: Store) -> None:
    for name in ["c", "a", "e", "b", "d"]:
        await store.create_schedule(schedule(name))
    await store.create_schedule(schedule("z", namespace="other"))
    first = await store.list_schedules(NS, Page(size=2))
    assert [r.id for r in first] == ["a", "b"]
    rest = await store.list_schedules(NS, Page(size=10, after=("b",)))
    assert [r.id for r in rest] == ["c", "d", "e"]
    assert [(r.namespace, r.id) for r in await store.all_schedules()] == [
        (NS, "a"),
        (NS, "b"),
        (NS, "c"),
        (NS, "d"),
        (NS, "e"),
        ("other", "z"),
    ]


async def test_save_replaces_the_row_guarded_by_its_revision(store: Store) -> None:
    row = schedule()
    await store.create_schedule(row)
    saved = advanced(
        row,
        paused=True,
        note="why",
        remaining_actions=3,
        last_time=T0 + 60,
        buffered=(T0 + 120.0, T0 + 180.0),
        action_count=4,
        missed_catchup=2,
        definition='{"x": 1}',
        update_time=T0 + 1,
    )
    await store.save_schedule(saved, row.revision)
    assert await store.get_schedule(NS, "nightly") == saved
    with pytest.raises(ConflictError):
        await store.save_schedule(advanced(row, note="stale"), row.revision)
    assert await store.get_schedule(NS, "nightly") == saved


async def test_saving_a_deleted_schedule_fails(store: Store) -> None:
    row = schedule()
    await store.create_schedule(row)
    assert await store.delete_schedule(NS, "nightly")
    assert not await store.delete_schedule(NS, "nightly")
    with pytest.raises(ConflictError):
        await store.save_schedule(advanced(row), row.revision)


async def test_actions_are_recorded_once_per_nominal_time_with_their_status(store: Store) -> None:
    row = schedule()
    await store.create_schedule(row)
    created = await store.create_activation(start("nightly-1"))
    action = ScheduleActionRow(T0 + 60, T0 + 60.5, "nightly-1")
    row2 = advanced(row, action_count=1)
    await store.save_schedule(row2, row.revision, action)
    twice = ScheduleActionRow(T0 + 60, T0 + 99, "other")
    await store.save_schedule(advanced(row2), row2.revision, twice)
    assert await store.schedule_actions(NS, "nightly") == [
        ScheduleActionRow(T0 + 60, T0 + 60.5, "nightly-1", "RUNNING")
    ]
    await close(store, created)
    assert [a.status for a in await store.schedule_actions(NS, "nightly")] == ["COMPLETED"]


async def test_old_actions_go_unless_their_activation_is_open(store: Store) -> None:
    row = schedule()
    await store.create_schedule(row)
    open_one = await store.create_activation(start("a0"))
    total = KEPT_SCHEDULE_ACTIONS + 5
    for i in range(total):
        if i:
            await close(store, await store.create_activation(start(f"a{i}")))
        new = advanced(row, action_count=i + 1)
        await store.save_schedule(new, row.revision, ScheduleActionRow(T0 + i, T0 + i, f"a{i}"))
        row = new
    kept = await store.schedule_actions(NS, "nightly")
    # The open first action stays; of the closed ones only the newest are kept.
    assert [a.activation_id for a in kept] == [
        "a0",
        *[f"a{i}" for i in range(total - KEPT_SCHEDULE_ACTIONS, total)],
    ]
    assert kept[0].status == "RUNNING" and open_one.id == "a0"


async def test_an_action_whose_activation_is_gone_has_no_status(store: Store) -> None:
    row = schedule()
    await store.create_schedule(row)
    await store.save_schedule(advanced(row), row.revision, ScheduleActionRow(T0, T0, "gone"))
    assert await store.schedule_actions(NS, "nightly") == [ScheduleActionRow(T0, T0, "gone", "")]


async def test_deleting_a_schedule_deletes_its_actions(store: Store) -> None:
    row = schedule()
    await store.create_schedule(row)
    await store.save_schedule(advanced(row), row.revision, ScheduleActionRow(T0, T0, "x"))
    await store.delete_schedule(NS, "nightly")
    await store.create_schedule(schedule())
    assert await store.schedule_actions(NS, "nightly") == []


async def test_schedules_survive_a_reopen(make_store: StoreFactory) -> None:
    store = make_store()
    await store.open()
    row = schedule()
    await store.create_schedule(row)
    saved = advanced(row, last_time=T0 + 600, buffered=(T0 + 660.0,))
    await store.save_schedule(saved, row.revision, ScheduleActionRow(T0, T0, "kept"))
    await store.close()
    reopened = make_store()
    await reopened.open()
    try:
        assert await reopened.get_schedule(NS, "nightly") == saved
        assert [a.activation_id for a in await reopened.schedule_actions(NS, "nightly")] == ["kept"]
    finally:
        await reopened.close()
