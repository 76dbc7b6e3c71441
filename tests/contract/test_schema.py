"""The SQL schema is canonical: the numbered migrations build exactly ``schema.sql``."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from partita.store import CampaignRow, SqliteStore
from partita.store.sqlite import migrations, schema_sql


def normalized(sql: str | None) -> str | None:
    """A statement without comments, with its whitespace collapsed."""
    if sql is None:  # autoindexes have no text
        return None
    without_comments = re.sub(r"--[^\n]*", "", sql)
    return re.sub(r"\s+", " ", without_comments).replace("( ", "(").replace(" )", ")").strip()


def schema_of(path: Path) -> set[tuple[str, str, str, str | None]]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    finally:
        conn.close()
    return {(kind, name, table, normalized(sql)) for kind, name, table, sql in rows}


def versions_of(path: Path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY rowid")]
    finally:
        conn.close()


def build_from_schema(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(schema_sql())
    finally:
        conn.close()


async def open_and_close(path: Path) -> None:
    store = SqliteStore(path)
    await store.open()
    await store.close()


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    numbers = [number for number, _ in migrations()]
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(sql.strip() for _, sql in migrations())


async def test_migrations_build_the_canonical_schema(tmp_path: Path) -> None:
    migrated, canonical = tmp_path / "migrated.db", tmp_path / "canonical.db"
    await open_and_close(migrated)
    build_from_schema(canonical)
    assert schema_of(migrated) == schema_of(canonical)
    tables = {name for kind, name, _, _ in schema_of(canonical) if kind == "table"}
    assert tables == {
        "schema_version",
        "campaigns",
        "activations",
        "events",
        "timers",
        "requests",
        "schedules",  # 0002
        "schedule_actions",  # 0002
        "dispatches",  # 0003
        "sites",  # 0003
        "batches",  # 0004
        "payloads",  # 0005
        "tokens",  # 0006
        "audit",  # 0006
        "secrets",  # 0006
        "namespaces",  # 0006
    }
    assert versions_of(migrated) == [number for number, _ in migrations()]


async def test_reopening_applies_no_migration_again(tmp_path: Path) -> None:
    path = tmp_path / "plane.db"
    store = SqliteStore(path)
    await store.open()
    row = CampaignRow("default", "kept", 0, "partita/v1", "{}", "d", 1.0)
    await store.create_campaign(row)
    await store.close()
    before = schema_of(path)

    await open_and_close(path)
    await open_and_close(path)

    assert versions_of(path) == [number for number, _ in migrations()]
    assert schema_of(path) == before
    store = SqliteStore(path)
    await store.open()
    try:
        assert (await store.get_campaign("default", "kept")) is not None
    finally:
        await store.close()


async def test_a_database_at_the_latest_version_is_left_alone(tmp_path: Path) -> None:
    # Built from schema.sql and stamped with the latest version: re-running any migration
    # would fail on its CREATE TABLE.
    path = tmp_path / "stamped.db"
    build_from_schema(path)
    latest = max(number for number, _ in migrations())
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (latest,))
    conn.close()
    await open_and_close(path)
    assert versions_of(path) == [latest]


# -- PostgreSQL --------------------------------------------------------------------------------


async def _pg_schema(url: str, schema: str) -> set[tuple[str, ...]]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name, data_type, is_nullable, "
            "coalesce(column_default, '') FROM information_schema.columns "
            "WHERE table_schema=$1",
            schema,
        )
        indexes = await conn.fetch(
            "SELECT tablename, indexname, replace(indexdef, $1 || '.', '') FROM pg_indexes "
            "WHERE schemaname=$1",
            schema,
        )
    finally:
        await conn.close()
    found = {("column", *map(str, r)) for r in columns}
    found |= {("index", *map(str, r)) for r in indexes}
    return {tuple(v.replace(schema, "<schema>") for v in row) for row in found}


async def test_postgres_migrations_build_exactly_the_canonical_schema() -> None:
    from partita.store.postgres import PostgresStore, schema_sql
    from tests import pg

    migrated, migrated_url = pg.new_schema()
    canonical, canonical_url = pg.new_schema()
    try:
        store = PostgresStore(migrated_url)
        await store.open()
        await store.close()
        import asyncpg

        conn = await asyncpg.connect(canonical_url)
        try:
            await conn.execute(schema_sql())
        finally:
            await conn.close()
        assert await _pg_schema(migrated_url, migrated) == await _pg_schema(
            canonical_url, canonical
        )
    finally:
        pg.drop_schema(migrated)
        pg.drop_schema(canonical)


async def test_postgres_reopening_applies_no_migration_twice() -> None:
    import asyncpg

    from partita.store.postgres import PostgresStore, migrations
    from tests import pg

    schema, url = pg.new_schema()
    try:
        for _ in range(2):
            store = PostgresStore(url)
            await store.open()
            await store.close()
        conn = await asyncpg.connect(url)
        try:
            versions = [r[0] for r in await conn.fetch("SELECT version FROM schema_version")]
        finally:
            await conn.close()
        assert versions == [number for number, _ in migrations()]
    finally:
        pg.drop_schema(schema)
