"""Fixtures of the Store contract suite: one ``store`` per backend (STYLE.md rule 3).

A backend joins the suite by adding its name to ``BACKENDS`` and a branch to ``_factory``:
every test in ``tests/contract`` then runs against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from partita.store import SqliteStore, Store

BACKENDS = ["sqlite"]

StoreFactory = Callable[[], Store]
"""Makes a new, unopened store on the same database each time it is called."""


def _factory(backend: str, tmp_path: Path) -> StoreFactory:
    if backend == "sqlite":
        path = tmp_path / "store.db"
        return lambda: SqliteStore(path)
    raise AssertionError(f"unknown backend {backend!r}")


@pytest.fixture(params=BACKENDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    return _factory(request.param, tmp_path)


@pytest.fixture
async def store(make_store: StoreFactory) -> AsyncIterator[Store]:
    opened = make_store()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
