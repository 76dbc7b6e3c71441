"""Fixtures of the Store contract suite: one ``store`` per backend (STYLE.md rule 3).

A backend joins the suite by adding its name to ``BACKENDS`` and a branch to ``_factory``:
every test in ``tests/contract`` then runs against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from partita.store import SqliteStore, Store
from partita.store.postgres import PostgresStore
from tests import pg

BACKENDS = ["sqlite", "postgres"]

StoreFactory = Callable[[], Store]
"""Makes a new, unopened store on the same database each time it is called."""


@pytest.fixture(params=BACKENDS)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        yield lambda: SqliteStore(path)
    elif request.param == "postgres":  # the local server, a schema of its own per test
        schema, url = pg.new_schema()
        yield lambda: PostgresStore(url)
        pg.drop_schema(schema)
    else:
        raise AssertionError(f"unknown backend {request.param!r}")


@pytest.fixture
async def store(make_store: StoreFactory) -> AsyncIterator[Store]:
    opened = make_store()
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
