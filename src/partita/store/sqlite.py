"""The embedded SQLite store: one writer thread with group commit, readers over WAL."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiosqlite

from partita.errors import AlreadyExistsError, ConflictError, PartitaError, PreconditionError
from partita.store.base import (
    OPEN_STATUSES,
    ActivationFilter,
    ActivationRow,
    ActivationWrite,
    CampaignRow,
    EventRow,
    NewActivation,
    Page,
    StoreStats,
    TimerRow,
)
from partita.store.rows import ACTIVATION_COLUMNS, activation_values, campaign_row, drain, schema
from partita.store.rows import migrations as numbered
from partita.store.sqlite_batches import SqliteBatches
from partita.store.sqlite_dispatches import SqliteDispatches
from partita.store.sqlite_schedules import SqliteSchedules
from partita.store.sqlite_security import SqliteSecurity

log = logging.getLogger("partita.store")

PRAGMAS = {
    # Readers never block the writer and the writer never blocks readers.
    "journal_mode": "WAL",
    # FULL: a commit is on disk before it is acknowledged. NORMAL may lose the last commits
    # on power loss (never on a process crash).
    "synchronous": "FULL",
    "foreign_keys": "ON",
    # Another process (a CLI reading the file) may hold a lock briefly.
    "busy_timeout": "5000",
}
MAX_BATCH = 1024
"""Most operations folded into one transaction by the group commit."""

_OPEN = ",".join(f"'{s}'" for s in OPEN_STATUSES)


def migrations() -> list[tuple[int, str]]:
    """The numbered SQLite migrations, in order."""
    return numbered("migrations")


def schema_sql() -> str:
    """The canonical SQLite schema."""
    return schema("")


class _Op:
    __slots__ = ("fn", "future")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any], future: asyncio.Future[Any]):
        self.fn = fn
        self.future = future


class SqliteStore(SqliteSchedules, SqliteDispatches, SqliteSecurity, SqliteBatches):
    """A Store on one SQLite file (``:memory:`` is refused: readers need a shared file)."""

    durable_tasks = False
    """One process owns the file, so stage tasks are queued in memory and rebuilt on recovery."""

    def __init__(self, path: str | Path, *, synchronous: str = "FULL") -> None:
        self.path = str(path)
        self.synchronous = synchronous
        self.stats = StoreStats()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="partita-writer")
        self._writer_conn: sqlite3.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._queue: asyncio.Queue[_Op | None] = asyncio.Queue()
        self._writer_task: asyncio.Task[None] | None = None
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._open_writer)
        self._reader = await aiosqlite.connect(self.path)
        await self._reader.execute("PRAGMA busy_timeout=5000")
        self._writer_task = asyncio.create_task(self._write_loop(), name="partita-store-writer")

    def _open_writer(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        for name, value in {**PRAGMAS, "synchronous": self.synchronous}.items():
            conn.execute(f"PRAGMA {name}={value}")
        self._migrate(conn)
        self._writer_conn = conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
        ).fetchone()
        current = 0
        if exists:
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            current = row[0] or 0
        else:
            conn.execute("CREATE TABLE schema_version (\n    version INTEGER NOT NULL\n)")
        for number, sql in migrations():
            if number > current:
                conn.execute("BEGIN IMMEDIATE")
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
                conn.execute("COMMIT")
                log.info("applied schema migration %04d", number)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer_task is not None:
            await self._queue.put(None)
            await self._writer_task
        if self._reader is not None:
            await self._reader.close()
        loop = asyncio.get_running_loop()
        if self._writer_conn is not None:
            await loop.run_in_executor(self._executor, self._writer_conn.close)
        self._executor.shutdown(wait=True)

    # -- the writer --------------------------------------------------------------------------

    async def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        if self._closed:
            raise PartitaError("the store is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Op(fn, future))
        return await future

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        stop = False
        while not stop:
            op = await self._queue.get()
            if op is None:
                break
            batch, stop = drain(op, self._queue, MAX_BATCH)
            try:
                results = await loop.run_in_executor(self._executor, self._run_batch, batch)
            except Exception as exc:  # the commit itself failed: nobody's write is durable
                log.exception("store: commit failed")
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            self.stats.commits += 1
            self.stats.writes += len(batch)
            for item, (ok, value) in zip(batch, results, strict=True):
                if item.future.done():
                    continue
                if ok:
                    item.future.set_result(value)
                else:
                    item.future.set_exception(value)

    def _run_batch(self, batch: list[_Op]) -> list[tuple[bool, Any]]:
        conn = self._writer_conn
        assert conn is not None
        results: list[tuple[bool, Any]] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for op in batch:
                # An operation raises PartitaError only before it writes anything, so a
                # refused one leaves nothing behind and needs no savepoint.
                try:
                    results.append((True, op.fn(conn)))
                except PartitaError as exc:
                    results.append((False, exc))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return results

    # -- campaigns ---------------------------------------------------------------------------

    async def create_campaign(
        self, row: CampaignRow, request_id: str = ""
    ) -> tuple[CampaignRow, bool]:
        def op(conn: sqlite3.Connection) -> tuple[CampaignRow, bool]:
            if request_id:
                seen = conn.execute(
                    "SELECT * FROM campaigns WHERE namespace=? AND request_id=?",
                    (row.namespace, request_id),
                ).fetchone()
                if seen:
                    return campaign_row(seen), False
            latest = conn.execute(
                "SELECT * FROM campaigns WHERE namespace=? AND name=? "
                "ORDER BY version DESC LIMIT 1",
                (row.namespace, row.name),
            ).fetchone()
            if latest and latest[5] == row.digest and latest[3] == row.api_version:
                return campaign_row(latest), False
            version = latest[2] + 1 if latest else 1
            conn.execute(
                "INSERT INTO campaigns VALUES (?,?,?,?,?,?,?,?)",
                (
                    row.namespace,
                    row.name,
                    version,
                    row.api_version,
                    row.spec,
                    row.digest,
                    row.create_time,
                    request_id or None,
                ),
            )
            return CampaignRow(
                row.namespace,
                row.name,
                version,
                row.api_version,
                row.spec,
                row.digest,
                row.create_time,
            ), True

        result: tuple[CampaignRow, bool] = await self._write(op)
        return result

    async def get_campaign(self, namespace: str, name: str, version: int = 0) -> CampaignRow | None:
        if version:
            sql = "SELECT * FROM campaigns WHERE namespace=? AND name=? AND version=?"
            args: tuple[Any, ...] = (namespace, name, version)
        else:
            sql = (
                "SELECT * FROM campaigns WHERE namespace=? AND name=? ORDER BY version DESC LIMIT 1"
            )
            args = (namespace, name)
        row = await self._fetchone(sql, args)
        return campaign_row(row) if row else None

    async def list_campaigns(
        self, namespace: str, name_prefix: str, all_versions: bool, page: Page
    ) -> list[CampaignRow]:
        after_name, after_version = (page.after or ("", 0))[:2]
        latest_only = (
            ""
            if all_versions
            else (
                "AND version = (SELECT max(version) FROM campaigns c2 "
                "WHERE c2.namespace=campaigns.namespace AND c2.name=campaigns.name)"
            )
        )
        sql = (
            "SELECT * FROM campaigns WHERE namespace=? AND substr(name, 1, ?)=? "
            f"AND (name > ? OR (name = ? AND version > ?)) {latest_only} "
            "ORDER BY name, version LIMIT ?"
        )
        rows = await self._fetchall(
            sql,
            (
                namespace,
                len(name_prefix),
                name_prefix,
                after_name,
                after_name,
                after_version,
                page.size,
            ),
        )
        return [campaign_row(r) for r in rows]

    async def delete_campaign(self, namespace: str, name: str, version: int = 0) -> int:
        def op(conn: sqlite3.Connection) -> int:
            where = "namespace=? AND campaign=?" + (" AND version=?" if version else "")
            args: tuple[Any, ...] = (namespace, name, version) if version else (namespace, name)
            busy = conn.execute(
                f"SELECT id FROM activations WHERE {where} AND status IN ({_OPEN}) LIMIT 1", args
            ).fetchone()
            if busy:
                raise PreconditionError(
                    f"campaign {name!r} has an open activation ({busy[0]}); "
                    "cancel or terminate it first"
                )
            sql = "DELETE FROM campaigns WHERE namespace=? AND name=?"
            return conn.execute(sql + (" AND version=?" if version else ""), args).rowcount

        deleted: int = await self._write(op)
        return deleted

    # -- activations -------------------------------------------------------------------------

    async def create_activation(self, new: NewActivation) -> ActivationRow:
        write = new.write
        row = write.row

        def op(conn: sqlite3.Connection) -> ActivationRow:
            if write.request_id:
                seen = conn.execute(
                    "SELECT activation_id FROM requests WHERE namespace=? AND request_id=?",
                    (row.namespace, write.request_id),
                ).fetchone()
                if seen:
                    existing = _select_activation(conn, row.namespace, seen[0])
                    if existing is not None:
                        return existing
            if _select_activation(conn, row.namespace, row.id) is not None:
                raise AlreadyExistsError(f"activation {row.id!r} already exists")
            if new.exclusive:
                other = conn.execute(
                    "SELECT id FROM activations WHERE namespace=? AND campaign=? "
                    f"AND status IN ({_OPEN}) LIMIT 1",
                    (row.namespace, row.campaign),
                ).fetchone()
                if other:
                    raise PreconditionError(
                        f"campaign {row.campaign!r} allows no parallel activations and "
                        f"{other[0]!r} is still open"
                    )
            conn.execute(
                f"INSERT INTO activations ({ACTIVATION_COLUMNS}, expire_time) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                (*activation_values(row), write.expire_time),
            )
            _append(conn, write)
            return row

        created: ActivationRow = await self._write(op)
        return created

    async def commit(self, write: ActivationWrite) -> None:
        def op(conn: sqlite3.Connection) -> None:
            row = write.row
            updated = conn.execute(
                "UPDATE activations SET status=?, close_time=?, expire_time=?, last_sequence=?, "
                "snapshot=? WHERE namespace=? AND id=? AND last_sequence=?",
                (
                    row.status,
                    row.close_time,
                    write.expire_time,
                    row.last_sequence,
                    row.snapshot,
                    row.namespace,
                    row.id,
                    write.expected_sequence,
                ),
            ).rowcount
            if updated != 1:
                raise ConflictError(f"activation {row.id!r} changed concurrently")
            _append(conn, write)

        await self._write(op)

    async def continue_as_new(
        self, closing: ActivationWrite, chain_id: str, new: ActivationWrite
    ) -> None:
        def op(conn: sqlite3.Connection) -> None:
            row = closing.row
            updated = conn.execute(
                "UPDATE activations SET id=?, status=?, close_time=?, expire_time=?, "
                "last_sequence=?, snapshot=? WHERE namespace=? AND id=? AND last_sequence=?",
                (
                    row.id,
                    row.status,
                    row.close_time,
                    closing.expire_time,
                    row.last_sequence,
                    row.snapshot,
                    row.namespace,
                    chain_id,
                    closing.expected_sequence,
                ),
            ).rowcount
            if updated != 1:
                raise ConflictError(f"activation {chain_id!r} changed concurrently")
            for table in ("events", "payloads"):
                conn.execute(
                    f"UPDATE {table} SET activation_id=? WHERE namespace=? AND activation_id=?",
                    (row.id, row.namespace, chain_id),
                )
            conn.execute(
                "DELETE FROM timers WHERE namespace=? AND activation_id=?",
                (row.namespace, chain_id),
            )
            _append(
                conn, ActivationWrite(row=row, events=closing.events, payloads=closing.payloads)
            )
            conn.execute(
                f"INSERT INTO activations ({ACTIVATION_COLUMNS}, expire_time) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                (*activation_values(new.row), new.expire_time),
            )
            _append(conn, new)

        await self._write(op)

    async def get_activation(self, namespace: str, activation_id: str) -> ActivationRow | None:
        row = await self._fetchone(
            f"SELECT {ACTIVATION_COLUMNS} FROM activations WHERE namespace=? AND id=?",
            (namespace, activation_id),
        )
        return ActivationRow(*row) if row else None

    async def activation_for_request(self, namespace: str, request_id: str) -> str | None:
        row = await self._fetchone(
            "SELECT activation_id FROM requests WHERE namespace=? AND request_id=?",
            (namespace, request_id),
        )
        return str(row[0]) if row else None

    async def list_activations(self, where: ActivationFilter, page: Page) -> list[ActivationRow]:
        clauses, args = _where(where)
        if page.after is not None:
            clauses.append("(create_time < ? OR (create_time = ? AND id > ?))")
            args.extend([page.after[0], page.after[0], page.after[1]])
        sql = (
            f"SELECT {ACTIVATION_COLUMNS} FROM activations WHERE {' AND '.join(clauses)} "
            "ORDER BY create_time DESC, id LIMIT ?"
        )
        rows = await self._fetchall(sql, (*args, page.size))
        return [ActivationRow(*r) for r in rows]

    async def count_activations(self, where: ActivationFilter) -> int:
        clauses, args = _where(where)
        row = await self._fetchone(
            f"SELECT count(*) FROM activations WHERE {' AND '.join(clauses)}", tuple(args)
        )
        return int(row[0])

    async def history(
        self, namespace: str, activation_id: str, after: int = 0, limit: int = 1000
    ) -> list[EventRow]:
        rows = await self._fetchall(
            "SELECT sequence, time, type, stage, data FROM events "
            "WHERE namespace=? AND activation_id=? AND sequence > ? ORDER BY sequence LIMIT ?",
            (namespace, activation_id, after, limit),
        )
        return [EventRow(*r) for r in rows]

    async def payloads(self, namespace: str, activation_id: str, refs: list[str]) -> dict[str, str]:
        if not refs:
            return {}
        rows = await self._fetchall(
            "SELECT ref, data FROM payloads WHERE namespace=? AND activation_id=? "
            f"AND ref IN ({','.join('?' * len(refs))})",
            (namespace, activation_id, *refs),
        )
        return {ref: data for ref, data in rows}

    async def open_activations(self) -> list[ActivationRow]:
        rows = await self._fetchall(
            f"SELECT {ACTIVATION_COLUMNS} FROM activations WHERE close_time IS NULL", ()
        )
        return [ActivationRow(*r) for r in rows]

    async def timers(self) -> list[TimerRow]:
        rows = await self._fetchall("SELECT * FROM timers ORDER BY due", ())
        return [TimerRow(*r) for r in rows]

    async def sweep(self, now: float, limit: int = 500) -> int:
        def op(conn: sqlite3.Connection) -> int:
            expired = conn.execute(
                "SELECT namespace, id FROM activations WHERE expire_time IS NOT NULL "
                "AND close_time IS NOT NULL AND expire_time < ? LIMIT ?",
                (now, limit),
            ).fetchall()
            for namespace, activation_id in expired:
                for table, column in (
                    ("events", "activation_id"),
                    ("payloads", "activation_id"),
                    ("timers", "activation_id"),
                    ("requests", "activation_id"),
                    ("activations", "id"),
                ):
                    conn.execute(
                        f"DELETE FROM {table} WHERE namespace=? AND {column}=?",
                        (namespace, activation_id),
                    )
            return len(expired)

        swept: int = await self._write(op)
        return swept

    # -- reads -------------------------------------------------------------------------------

    async def _fetchone(self, sql: str, args: tuple[Any, ...]) -> Any:
        rows = await self._fetchall(sql, args)
        return rows[0] if rows else None

    async def _fetchall(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        # One call on the reader's thread runs the query to its end. A statement left open
        # between awaits (execute, then fetch) would keep the connection's read snapshot,
        # and another coroutine's query on the shared connection would read that old
        # snapshot and miss commits that were already acknowledged.
        assert self._reader is not None, "store is not open"
        return list(await self._reader.execute_fetchall(sql, args))


def _statements(script: str) -> list[str]:
    """Split a migration into statements (they hold no semicolons inside literals)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def _select_activation(
    conn: sqlite3.Connection, namespace: str, activation_id: str
) -> ActivationRow | None:
    row = conn.execute(
        f"SELECT {ACTIVATION_COLUMNS} FROM activations WHERE namespace=? AND id=?",
        (namespace, activation_id),
    ).fetchone()
    return ActivationRow(*row) if row else None


def _append(conn: sqlite3.Connection, write: ActivationWrite) -> None:
    row = write.row
    conn.executemany(
        "INSERT INTO events VALUES (?,?,?,?,?,?,?)",
        [
            (row.namespace, row.id, e.sequence, e.time, e.type, e.stage, e.data)
            for e in write.events
        ],
    )
    if write.timers is not None:
        conn.execute(
            "DELETE FROM timers WHERE namespace=? AND activation_id=?", (row.namespace, row.id)
        )
        conn.executemany(
            "INSERT INTO timers VALUES (?,?,?,?)",
            [(row.namespace, row.id, timer_id, due) for timer_id, due in write.timers.items()],
        )
    if write.request_id:
        conn.execute(
            "INSERT OR IGNORE INTO requests VALUES (?,?,?)",
            (row.namespace, write.request_id, row.id),
        )
    if write.payloads:
        conn.executemany(
            "INSERT OR IGNORE INTO payloads VALUES (?,?,?,?)",
            [(row.namespace, row.id, p.ref, p.data) for p in write.payloads],
        )


def _where(where: ActivationFilter) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their arguments) of an activation filter."""
    clauses = ["namespace=?"]
    args: list[Any] = [where.namespace]
    if where.statuses:
        clauses.append(f"status IN ({','.join('?' * len(where.statuses))})")
        args.extend(where.statuses)
    if where.campaign:
        clauses.append("campaign=?")
        args.append(where.campaign)
    if where.created_after is not None:
        clauses.append("create_time >= ?")
        args.append(where.created_after)
    if where.created_before is not None:
        clauses.append("create_time < ?")
        args.append(where.created_before)
    return clauses, args
