"""PostgreSQL for tests: the server on this machine, a fresh schema per test.

``PARTITA_TEST_POSTGRES`` overrides the server's URL. Where no server answers, the tests that
need one are skipped with the reason.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest

URL = os.environ.get("PARTITA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
_REASON: list[str] = []


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to its end from sync code, inside or outside an event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _execute(sql: str) -> None:
    conn = await asyncpg.connect(URL, timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def require() -> None:
    """Skip the calling test, with the reason, when no PostgreSQL server answers."""
    if not _REASON:
        try:
            _run(_execute("SELECT 1"))
            _REASON.append("")
        except Exception as exc:
            _REASON.append(f"no PostgreSQL server at {URL}: {type(exc).__name__}: {exc}")
    if _REASON[0]:
        pytest.skip(_REASON[0])


def new_schema() -> tuple[str, str]:
    """(schema, URL whose connections use it): a new, empty schema on the test server."""
    require()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _run(_execute(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in URL else "?"
    return schema, f"{URL}{sep}search_path={quote(schema)}"


def drop_schema(schema: str) -> None:
    _run(_execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
