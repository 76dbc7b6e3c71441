"""The Store contract for federation (``partita.store.base``): dispatches and sites."""

from __future__ import annotations

import dataclasses

from partita.store import DispatchRow, Page, SiteRow, Store
from tests.contract.test_store import NS, T0


def dispatch(dispatch_id: str = "a.1.2.1", role: str = "hub", site: str = "berlin") -> DispatchRow:
    return DispatchRow(
        role=role,
        dispatch_id=dispatch_id,
        site_id=site,
        namespace=NS,
        activation_id="a",
        run_id="2",
        attempt=1,
        message='{"dispatchId": "a.1.2.1"}',
        status="PENDING",
        cancel="",
        result="",
        create_time=T0,
        update_time=T0,
    )


async def test_a_dispatch_is_added_once_per_role_and_id(store: Store) -> None:
    row = dispatch()
    stored, added = await store.add_dispatch(row)
    assert added and stored == row
    again, added_again = await store.add_dispatch(dataclasses.replace(row, message="{}"))
    assert not added_again and again == row
    _, other_role = await store.add_dispatch(dataclasses.replace(row, role="site"))
    assert other_role
    assert await store.get_dispatch("hub", row.dispatch_id) == row
    assert await store.get_dispatch("hub", "nope") is None


async def test_an_update_changes_only_the_given_fields(store: Store) -> None:
    await store.add_dispatch(dispatch())
    updated = await store.update_dispatch("hub", "a.1.2.1", T0 + 1, cancel="terminate")
    assert updated is not None
    assert (updated.status, updated.cancel, updated.update_time) == ("PENDING", "terminate", T0 + 1)
    updated = await store.update_dispatch(
        "hub", "a.1.2.1", T0 + 2, status="CLOSED", result='{"status": "COMPLETED"}'
    )
    assert updated == await store.get_dispatch("hub", "a.1.2.1")
    assert updated is not None
    assert (updated.status, updated.cancel) == ("CLOSED", "terminate")
    assert updated.result == '{"status": "COMPLETED"}'
    assert await store.update_dispatch("hub", "nope", T0, status="DONE") is None


async def test_a_status_never_moves_back(store: Store) -> None:
    """A late ack (ACCEPTED) after the result (CLOSED) must not reopen the dispatch."""
    await store.add_dispatch(dispatch())
    await store.update_dispatch("hub", "a.1.2.1", T0 + 1, status="CLOSED")
    late = await store.update_dispatch("hub", "a.1.2.1", T0 + 2, status="ACCEPTED")
    assert late is not None and late.status == "CLOSED"


async def test_open_dispatches_are_those_not_done_oldest_first(store: Store) -> None:
    await store.add_dispatch(dataclasses.replace(dispatch("b"), create_time=T0 + 2))
    await store.add_dispatch(dataclasses.replace(dispatch("a"), create_time=T0 + 1))
    await store.add_dispatch(dispatch("c", site="paris"))
    await store.add_dispatch(dispatch("d", role="site"))
    await store.add_dispatch(dispatch("e"))
    await store.update_dispatch("hub", "e", T0, status="DONE")
    assert [r.dispatch_id for r in await store.open_dispatches("hub")] == ["c", "a", "b"]
    assert [r.dispatch_id for r in await store.open_dispatches("hub", "berlin")] == ["a", "b"]
    assert [r.dispatch_id for r in await store.open_dispatches("site")] == ["d"]


async def test_the_sweep_deletes_only_old_done_dispatches(store: Store) -> None:
    await store.add_dispatch(dispatch("old"))
    await store.add_dispatch(dispatch("new"))
    await store.add_dispatch(dispatch("open"))
    await store.update_dispatch("hub", "old", T0 + 1, status="DONE")
    await store.update_dispatch("hub", "new", T0 + 10, status="DONE")
    assert await store.sweep_dispatches(T0 + 5) == 1
    assert await store.get_dispatch("hub", "old") is None
    assert await store.get_dispatch("hub", "new") is not None
    assert await store.get_dispatch("hub", "open") is not None


async def test_sites_are_saved_and_listed_by_id_a_page_at_a_time(store: Store) -> None:
    for site in ("paris", "berlin", "tokyo"):
        await store.save_site(SiteRow(site, "0.1.0", T0))
    await store.save_site(SiteRow("berlin", "0.2.0", T0 + 5))
    first = await store.list_sites(Page(size=2))
    assert first == [SiteRow("berlin", "0.2.0", T0 + 5), SiteRow("paris", "0.1.0", T0)]
    rest = await store.list_sites(Page(size=2, after=("paris",)))
    assert [s.site_id for s in rest] == ["tokyo"]
