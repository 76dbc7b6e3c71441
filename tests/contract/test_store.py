"""The Store contract (``partita.store.base``), run against every backend in ``conftest``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

from partita.errors import AlreadyExistsError, ConflictError, PreconditionError
from partita.store import (
    ActivationFilter,
    ActivationRow,
    ActivationWrite,
    CampaignRow,
    EventRow,
    NewActivation,
    Page,
    Store,
    TimerRow,
)
from partita.store.base import OPEN_STATUSES

NS = "default"
T0 = 1_700_000_000.0


# -- rows ------------------------------------------------------------------------------------


def campaign(name: str = "deploy", digest: str = "d1", namespace: str = NS) -> CampaignRow:
    return CampaignRow(
        namespace=namespace,
        name=name,
        version=0,
        api_version="partita/v1",
        spec=json.dumps({"firstStage": "a", "digest": digest}),
        digest=digest,
        create_time=T0,
    )


def activation(
    activation_id: str,
    campaign: str = "deploy",
    *,
    status: str = "RUNNING",
    sequence: int = 1,
    created: float = T0,
    version: int = 1,
    namespace: str = NS,
) -> ActivationRow:
    return ActivationRow(
        namespace=namespace,
        id=activation_id,
        campaign=campaign,
        version=version,
        status=status,
        create_time=created,
        close_time=None if status in OPEN_STATUSES else created + sequence,
        last_sequence=sequence,
        snapshot=json.dumps({"id": activation_id, "status": status, "sequence": sequence}),
    )


def events(first: int, last: int, stage: str = "a") -> list[EventRow]:
    return [
        EventRow(sequence=n, time=T0 + n, type="STAGE_STARTED", stage=stage, data=f'{{"n":{n}}}')
        for n in range(first, last + 1)
    ]


def start(
    activation_id: str,
    campaign: str = "deploy",
    *,
    status: str = "RUNNING",
    created: float = T0,
    version: int = 1,
    namespace: str = NS,
    request_id: str = "",
    exclusive: bool = False,
    timers: dict[str, float] | None = None,
) -> NewActivation:
    row = activation(
        activation_id,
        campaign,
        status=status,
        created=created,
        version=version,
        namespace=namespace,
    )
    write = ActivationWrite(row=row, events=events(1, 1), timers=timers, request_id=request_id)
    return NewActivation(write, exclusive=exclusive)


def step(
    row: ActivationRow,
    *,
    status: str | None = None,
    count: int = 1,
    timers: dict[str, float] | None = None,
    request_id: str = "",
    expire_time: float | None = None,
    expected_sequence: int | None = None,
) -> ActivationWrite:
    """The next transition of ``row``: ``count`` more events, maybe a new status."""
    after = activation(
        row.id,
        row.campaign,
        status=status or row.status,
        sequence=row.last_sequence + count,
        created=row.create_time,
        version=row.version,
        namespace=row.namespace,
    )
    return ActivationWrite(
        row=after,
        events=events(row.last_sequence + 1, after.last_sequence),
        timers=timers,
        expire_time=expire_time,
        request_id=request_id,
        expected_sequence=row.last_sequence if expected_sequence is None else expected_sequence,
    )


async def close(
    store: Store, row: ActivationRow, status: str = "COMPLETED", expire_time: float = T0 + 1e6
) -> ActivationRow:
    write = step(row, status=status, expire_time=expire_time)
    await store.commit(write)
    return write.row


def names(rows: list[CampaignRow]) -> list[tuple[str, int]]:
    return [(r.name, r.version) for r in rows]


def timer_rows(rows: list[TimerRow], activation_id: str) -> dict[str, float]:
    return {t.timer_id: t.due for t in rows if t.activation_id == activation_id}


# -- campaigns -------------------------------------------------------------------------------


async def test_create_campaign_numbers_versions_from_one(store: Store) -> None:
    row = campaign(digest="d1")
    stored, created = await store.create_campaign(
        CampaignRow(**{**row.__dict__, "version": 42})  # the store ignores a given version
    )
    assert created
    assert stored.version == 1
    assert (stored.name, stored.digest, stored.spec) == ("deploy", "d1", row.spec)
    assert await store.get_campaign(NS, "deploy") == stored


async def test_create_campaign_with_same_digest_returns_latest_version(store: Store) -> None:
    first, _ = await store.create_campaign(campaign(digest="d1"))
    again, created = await store.create_campaign(campaign(digest="d1"))
    assert not created
    assert again == first
    assert names(await store.list_campaigns(NS, "", True, Page())) == [("deploy", 1)]


async def test_create_campaign_with_changed_digest_adds_a_version(store: Store) -> None:
    await store.create_campaign(campaign(digest="d1"))
    second, created = await store.create_campaign(campaign(digest="d2"))
    assert created and second.version == 2
    # Only the latest version counts: going back to d1 is a change again.
    third, created = await store.create_campaign(campaign(digest="d1"))
    assert created and third.version == 3
    assert names(await store.list_campaigns(NS, "", True, Page())) == [
        ("deploy", 1),
        ("deploy", 2),
        ("deploy", 3),
    ]


async def test_create_campaign_request_id_returns_first_result(store: Store) -> None:
    first, created = await store.create_campaign(campaign(digest="d1"), request_id="r1")
    assert created
    retry, created = await store.create_campaign(campaign(digest="d2"), request_id="r1")
    assert not created
    assert retry == first
    other_name, created = await store.create_campaign(campaign("other", "d3"), request_id="r1")
    assert not created and other_name == first
    assert names(await store.list_campaigns(NS, "", True, Page())) == [("deploy", 1)]


async def test_campaign_versions_are_per_namespace(store: Store) -> None:
    await store.create_campaign(campaign(digest="d1"))
    elsewhere, created = await store.create_campaign(campaign(digest="d2", namespace="other"))
    assert created and elsewhere.version == 1
    assert names(await store.list_campaigns(NS, "", True, Page())) == [("deploy", 1)]
    assert (await store.get_campaign("other", "deploy")) == elsewhere


async def test_get_campaign_latest_given_and_missing(store: Store) -> None:
    v1, _ = await store.create_campaign(campaign(digest="d1"))
    v2, _ = await store.create_campaign(campaign(digest="d2"))
    assert await store.get_campaign(NS, "deploy") == v2
    assert await store.get_campaign(NS, "deploy", 0) == v2
    assert await store.get_campaign(NS, "deploy", 1) == v1
    assert await store.get_campaign(NS, "deploy", 3) is None
    assert await store.get_campaign(NS, "missing") is None
    assert await store.get_campaign("other", "deploy") is None


async def _fill_catalog(store: Store) -> None:
    for name, digest in [
        ("b-one", "x"),
        ("a-two", "x"),
        ("a-one", "x"),
        ("a-one", "y"),
        ("c", "x"),
    ]:
        await store.create_campaign(campaign(name, digest))
    await store.create_campaign(campaign("a-elsewhere", "x", namespace="other"))


async def _walk(store: Store, prefix: str, all_versions: bool, size: int) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    after: tuple[str, int] | None = None
    for _ in range(20):
        page = await store.list_campaigns(NS, prefix, all_versions, Page(size=size, after=after))
        assert len(page) <= size
        if not page:
            return seen
        seen.extend(names(page))
        after = (page[-1].name, page[-1].version)
    raise AssertionError("paging did not end")


async def test_list_campaigns_latest_versions_in_name_order(store: Store) -> None:
    await _fill_catalog(store)
    assert names(await store.list_campaigns(NS, "", False, Page())) == [
        ("a-one", 2),
        ("a-two", 1),
        ("b-one", 1),
        ("c", 1),
    ]


async def test_list_campaigns_pages_by_name_and_version(store: Store) -> None:
    await _fill_catalog(store)
    assert await _walk(store, "", False, 1) == [("a-one", 2), ("a-two", 1), ("b-one", 1), ("c", 1)]
    assert await _walk(store, "", True, 2) == [
        ("a-one", 1),
        ("a-one", 2),
        ("a-two", 1),
        ("b-one", 1),
        ("c", 1),
    ]


async def test_list_campaigns_filters_by_prefix(store: Store) -> None:
    await _fill_catalog(store)
    assert await _walk(store, "a-", False, 1) == [("a-one", 2), ("a-two", 1)]
    assert await _walk(store, "a-", True, 10) == [("a-one", 1), ("a-one", 2), ("a-two", 1)]
    assert await _walk(store, "a-one", True, 1) == [("a-one", 1), ("a-one", 2)]
    assert await _walk(store, "z", True, 10) == []
    # A prefix is literal text, not a pattern.
    assert await _walk(store, "a_", True, 10) == []
    assert await _walk(store, "%", True, 10) == []


async def test_delete_campaign_one_version_or_all(store: Store) -> None:
    for digest in ("d1", "d2", "d3"):
        await store.create_campaign(campaign(digest=digest))
    assert await store.delete_campaign(NS, "deploy", 2) == 1
    assert await store.get_campaign(NS, "deploy", 2) is None
    assert names(await store.list_campaigns(NS, "", True, Page())) == [("deploy", 1), ("deploy", 3)]
    assert await store.delete_campaign(NS, "deploy", 2) == 0
    assert await store.delete_campaign(NS, "deploy") == 2
    assert await store.get_campaign(NS, "deploy") is None
    assert await store.delete_campaign(NS, "deploy") == 0
    assert await store.delete_campaign(NS, "missing") == 0


@pytest.mark.parametrize("status", OPEN_STATUSES)
async def test_delete_campaign_refused_while_an_activation_is_open(
    store: Store, status: str
) -> None:
    await store.create_campaign(campaign(digest="d1"))
    await store.create_campaign(campaign(digest="d2"))
    row = await store.create_activation(start("a1", status=status, version=2))
    with pytest.raises(PreconditionError):
        await store.delete_campaign(NS, "deploy")
    with pytest.raises(PreconditionError):
        await store.delete_campaign(NS, "deploy", 2)
    assert names(await store.list_campaigns(NS, "", True, Page())) == [("deploy", 1), ("deploy", 2)]
    # Another version has no open activation: it may go.
    assert await store.delete_campaign(NS, "deploy", 1) == 1
    await close(store, row)
    assert await store.delete_campaign(NS, "deploy") == 1


# -- activations -----------------------------------------------------------------------------


async def test_create_activation_stores_row_and_first_events(store: Store) -> None:
    new = start("a1", timers={"t": T0 + 5}, request_id="r1")
    created = await store.create_activation(new)
    assert created == new.write.row
    assert await store.get_activation(NS, "a1") == created
    assert await store.history(NS, "a1") == new.write.events
    assert timer_rows(await store.timers(), "a1") == {"t": T0 + 5}
    assert await store.activation_for_request(NS, "r1") == "a1"
    assert await store.activation_for_request(NS, "r2") is None
    assert await store.get_activation(NS, "missing") is None
    assert await store.get_activation("other", "a1") is None


async def test_create_activation_with_a_taken_id_fails(store: Store) -> None:
    first = await store.create_activation(start("a1"))
    with pytest.raises(AlreadyExistsError):
        await store.create_activation(start("a1", "other-campaign", request_id="r9"))
    assert await store.get_activation(NS, "a1") == first
    assert await store.activation_for_request(NS, "r9") is None
    assert len(await store.history(NS, "a1")) == 1
    # Ids are per namespace.
    await store.create_activation(start("a1", namespace="other"))


async def test_create_activation_request_id_returns_first_activation(store: Store) -> None:
    first = await store.create_activation(start("a1", request_id="r1"))
    again = await store.create_activation(start("a2", request_id="r1", created=T0 + 9))
    assert again == first
    assert await store.get_activation(NS, "a2") is None
    # The first activation moving on does not matter: the request still names it.
    moved = step(first)
    await store.commit(moved)
    assert await store.create_activation(start("a3", request_id="r1")) == moved.row
    assert await store.get_activation(NS, "a3") is None


@pytest.mark.parametrize("status", OPEN_STATUSES)
async def test_exclusive_start_refused_while_another_is_open(store: Store, status: str) -> None:
    first = await store.create_activation(start("a1", status=status))
    with pytest.raises(PreconditionError):
        await store.create_activation(start("a2", exclusive=True, request_id="r2"))
    assert await store.get_activation(NS, "a2") is None
    assert await store.activation_for_request(NS, "r2") is None
    # Another campaign, or a non-exclusive start, is not affected.
    await store.create_activation(start("b1", "other", exclusive=True))
    await store.create_activation(start("a3"))
    await close(store, first)
    with pytest.raises(PreconditionError):  # a3 is still open
        await store.create_activation(start("a4", exclusive=True))
    a3 = await store.get_activation(NS, "a3")
    assert a3 is not None
    await close(store, a3, "CANCELLED")
    assert (await store.create_activation(start("a4", exclusive=True))).id == "a4"


async def test_commit_appends_events_and_replaces_the_row(store: Store) -> None:
    row = await store.create_activation(start("a1"))
    write = step(row, status="PAUSED", count=3, request_id="signal-1")
    await store.commit(write)
    assert await store.get_activation(NS, "a1") == write.row
    assert [e.sequence for e in await store.history(NS, "a1")] == [1, 2, 3, 4]
    assert await store.activation_for_request(NS, "signal-1") == "a1"


async def test_commit_with_stale_sequence_conflicts_and_writes_nothing(store: Store) -> None:
    row = await store.create_activation(start("a1", timers={"t": T0}))
    current = step(row)
    await store.commit(current)
    stale = step(row, status="FAILED", timers={}, request_id="late", expire_time=T0)
    with pytest.raises(ConflictError):
        await store.commit(stale)
    ahead = step(current.row, expected_sequence=current.row.last_sequence + 5)
    with pytest.raises(ConflictError):
        await store.commit(ahead)
    assert await store.get_activation(NS, "a1") == current.row
    assert await store.history(NS, "a1") == [*events(1, 1), *current.events]
    assert timer_rows(await store.timers(), "a1") == {"t": T0}
    assert await store.activation_for_request(NS, "late") is None
    assert await store.sweep(T0 + 1e9) == 0


async def test_history_in_order_after_a_sequence(store: Store) -> None:
    row = await store.create_activation(start("a1"))
    await store.commit(step(row, count=9))
    await store.create_activation(start("a2"))
    history = await store.history(NS, "a1")
    assert [e.sequence for e in history] == list(range(1, 11))
    assert history == events(1, 10)
    assert [e.sequence for e in await store.history(NS, "a1", after=7)] == [8, 9, 10]
    assert [e.sequence for e in await store.history(NS, "a1", after=2, limit=3)] == [3, 4, 5]
    assert await store.history(NS, "a1", after=10) == []
    assert await store.history(NS, "missing") == []


async def test_timers_replaced_when_given_and_kept_when_none(store: Store) -> None:
    row = await store.create_activation(start("a1", timers={"t1": T0 + 1, "t2": T0 + 2}))
    await store.create_activation(start("a2", timers={"x": T0 + 3}))
    untouched = step(row, timers=None)
    await store.commit(untouched)
    assert timer_rows(await store.timers(), "a1") == {"t1": T0 + 1, "t2": T0 + 2}
    replaced = step(untouched.row, timers={"t3": T0 + 0.5})
    await store.commit(replaced)
    assert timer_rows(await store.timers(), "a1") == {"t3": T0 + 0.5}
    cleared = step(replaced.row, timers={})
    await store.commit(cleared)
    assert timer_rows(await store.timers(), "a1") == {}
    assert timer_rows(await store.timers(), "a2") == {"x": T0 + 3}
    due = [t.due for t in await store.timers()]
    assert due == sorted(due)


async def test_open_activations_are_running_and_paused_ones(store: Store) -> None:
    await store.create_activation(start("running"))
    await store.create_activation(start("paused", status="PAUSED"))
    for status in ("COMPLETED", "FAILED", "CANCELLED", "TERMINATED", "TIMED_OUT"):
        row = await store.create_activation(start(status.lower()))
        await close(store, row, status)
    await store.create_activation(start("elsewhere", namespace="other"))
    found = await store.open_activations()
    assert sorted((r.namespace, r.id, r.status) for r in found) == [
        (NS, "paused", "PAUSED"),
        (NS, "running", "RUNNING"),
        ("other", "elsewhere", "RUNNING"),
    ]


async def test_list_activations_newest_first_with_filters(store: Store) -> None:
    for n, (activation_id, campaign_name) in enumerate(
        [("a", "deploy"), ("b", "deploy"), ("c", "build"), ("d", "deploy")]
    ):
        await store.create_activation(start(activation_id, campaign_name, created=T0 + n))
    b = await store.get_activation(NS, "b")
    assert b is not None
    await close(store, b, "FAILED")
    await store.create_activation(start("z", namespace="other", created=T0 + 10))

    async def ids(**where: Any) -> list[str]:
        rows = await store.list_activations(ActivationFilter(namespace=NS, **where), Page())
        return [r.id for r in rows]

    assert await ids() == ["d", "c", "b", "a"]
    assert await ids(statuses=("RUNNING",)) == ["d", "c", "a"]
    assert await ids(statuses=("FAILED", "COMPLETED")) == ["b"]
    assert await ids(campaign="deploy") == ["d", "b", "a"]
    assert await ids(created_after=T0 + 1) == ["d", "c", "b"]
    assert await ids(created_before=T0 + 2) == ["b", "a"]
    assert await ids(created_after=T0 + 1, created_before=T0 + 3, campaign="deploy") == ["b"]


async def test_list_activations_pages_through_equal_create_times(store: Store) -> None:
    for activation_id in ("p", "q", "r"):
        await store.create_activation(start(activation_id, created=T0))
    await store.create_activation(start("newest", created=T0 + 1))
    await store.create_activation(start("oldest", created=T0 - 1))
    where = ActivationFilter(namespace=NS)
    seen: list[str] = []
    after: tuple[float, str] | None = None
    for _ in range(10):
        page = await store.list_activations(where, Page(size=2, after=after))
        if not page:
            break
        seen.extend(r.id for r in page)
        after = (page[-1].create_time, page[-1].id)
    assert seen == ["newest", "p", "q", "r", "oldest"]


async def test_sweep_deletes_only_expired_terminal_activations(store: Store) -> None:
    expired = await store.create_activation(start("expired", request_id="r-expired"))
    await store.commit(step(expired, status="COMPLETED", expire_time=T0 + 10, request_id="r-step"))
    failed = await store.create_activation(start("failed", timers={"t": T0}))
    await store.commit(step(failed, status="FAILED", expire_time=T0 + 20))
    kept = await store.create_activation(start("kept", request_id="r-kept"))
    kept_write = step(kept, status="COMPLETED", expire_time=T0 + 1000)
    await store.commit(kept_write)
    running = await store.create_activation(start("running", timers={"t": T0 + 1}))

    assert await store.sweep(T0 + 100) == 2
    for gone in ("expired", "failed"):
        assert await store.get_activation(NS, gone) is None
        assert await store.history(NS, gone) == []
        assert timer_rows(await store.timers(), gone) == {}
    assert await store.activation_for_request(NS, "r-expired") is None
    assert await store.activation_for_request(NS, "r-step") is None
    assert await store.get_activation(NS, "kept") == kept_write.row
    assert len(await store.history(NS, "kept")) == 2
    assert await store.activation_for_request(NS, "r-kept") == "kept"
    assert await store.get_activation(NS, "running") == running
    assert timer_rows(await store.timers(), "running") == {"t": T0 + 1}
    assert await store.sweep(T0 + 100) == 0


async def test_sweep_respects_its_limit(store: Store) -> None:
    for n in range(5):
        row = await store.create_activation(start(f"a{n}"))
        await close(store, row, expire_time=T0 + n)
    assert await store.sweep(T0 + 100, limit=2) == 2
    assert await store.sweep(T0 + 100, limit=2) == 2
    assert await store.sweep(T0 + 100, limit=2) == 1
    assert await store.sweep(T0 + 100, limit=2) == 0
    assert await store.list_activations(ActivationFilter(namespace=NS), Page()) == []


# -- concurrency and durability --------------------------------------------------------------


async def test_concurrent_commits_all_land_in_few_transactions(store: Store) -> None:
    count = 200
    rows = await asyncio.gather(*(store.create_activation(start(f"a{n}")) for n in range(count)))
    commits, writes = store.stats.commits, store.stats.writes
    await asyncio.gather(*(store.commit(step(row, count=2)) for row in rows))
    assert store.stats.writes - writes == count
    assert store.stats.commits - commits < count  # group commit
    assert store.stats.commits < store.stats.writes
    for n in range(count):
        row = await store.get_activation(NS, f"a{n}")
        assert row is not None and row.last_sequence == 3
        assert [e.sequence for e in await store.history(NS, f"a{n}")] == [1, 2, 3]


async def test_concurrent_campaign_versions_are_contiguous(store: Store) -> None:
    results = await asyncio.gather(
        *(store.create_campaign(campaign(digest=f"d{n}")) for n in range(50))
    )
    assert all(created for _, created in results)
    assert sorted(row.version for row, _ in results) == list(range(1, 51))
    listed = await store.list_campaigns(NS, "", True, Page())
    assert [r.version for r in listed] == list(range(1, 51))
    assert sorted(r.digest for r in listed) == sorted(f"d{n}" for n in range(50))


async def test_concurrent_creates_of_the_same_spec_store_one_version(store: Store) -> None:
    results = await asyncio.gather(*(store.create_campaign(campaign("same")) for _ in range(20)))
    assert sum(created for _, created in results) == 1
    assert {row.version for row, _ in results} == {1}


async def test_close_flushes_pending_writes(store: Store, make_store: Callable[[], Store]) -> None:
    rows = [await store.create_activation(start(f"a{n}")) for n in range(20)]
    pending = [asyncio.ensure_future(store.commit(step(row, count=2))) for row in rows]
    pending.append(asyncio.ensure_future(store.create_campaign(campaign("late"))))
    # One turn of the loop lets every write reach the store; nothing here waits on a clock.
    await asyncio.sleep(0)
    await store.close()
    await asyncio.gather(*pending)
    await store.close()  # idempotent

    reopened = make_store()
    await reopened.open()
    try:
        for row in rows:
            found = await reopened.get_activation(NS, row.id)
            assert found is not None and found.last_sequence == 3
            assert len(await reopened.history(NS, row.id)) == 3
        assert await reopened.get_campaign(NS, "late") is not None
    finally:
        await reopened.close()


async def test_a_read_after_an_acknowledged_commit_sees_it_while_other_reads_run(
    store: Store,
) -> None:
    """Reads share connections; none may serve an old snapshot after a commit returned."""
    for i in range(20):
        await store.create_activation(start(f"busy-{i}"))
    row = await store.create_activation(start("watched"))
    stop = asyncio.Event()

    async def reader() -> None:
        while not stop.is_set():
            await store.list_activations(ActivationFilter(namespace=NS), Page(size=5))
            await store.get_activation(NS, "busy-0")

    readers = [asyncio.create_task(reader()) for _ in range(8)]
    try:
        for _ in range(60):
            write = step(row)
            await store.commit(write)
            row = write.row
            seen = await store.history(NS, "watched")
            assert seen[-1].sequence == row.last_sequence
            stored = await store.get_activation(NS, "watched")
            assert stored is not None and stored.last_sequence == row.last_sequence
    finally:
        stop.set()
        await asyncio.gather(*readers)
