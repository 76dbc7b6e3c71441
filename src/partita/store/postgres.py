"""The PostgreSQL store (asyncpg): one writer connection with group commit, readers from a pool.

Several planes (replicas) may share one database. Every write of an activation is guarded by
its version (``last_sequence``) and by its owner, so a replica that lost an activation to
another cannot write it; the replica side (leases, claims, shared task queues) is in
``postgres_replicas``. asyncpg prepares and caches every statement it runs, and a batch of
transitions costs a handful of statements whatever its size: rows travel as arrays
(``unnest``), not one round trip per event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from partita.errors import AlreadyExistsError, ConflictError, PartitaError, PreconditionError
from partita.store.base import (
    ActivationFilter,
    ActivationRow,
    ActivationWrite,
    EventRow,
    NewActivation,
    Page,
    StoreStats,
    TimerRow,
)
from partita.store.postgres_batches import PostgresBatches
from partita.store.postgres_campaigns import PostgresCampaigns
from partita.store.postgres_dispatches import PostgresDispatches
from partita.store.postgres_replicas import (
    ACTIVATIONS_CHANNEL,
    PostgresReplicas,
    insert_tasks,
    notify,
)
from partita.store.postgres_schedules import PostgresSchedules
from partita.store.postgres_security import PostgresSecurity
from partita.store.rows import ACTIVATION_COLUMNS, activation_values, drain, schema
from partita.store.rows import migrations as numbered

log = logging.getLogger("partita.store")

MAX_BATCH = 1024
"""Most operations folded into one transaction by the group commit."""
MIGRATION_LOCK = 7_600_001
"""Advisory lock held while migrating, so replicas starting together migrate once."""

Conn = Any
"""An asyncpg connection (asyncpg ships no type hints)."""


def migrations() -> list[tuple[int, str]]:
    """The numbered PostgreSQL migrations, in order."""
    return numbered("postgres/migrations")


def schema_sql() -> str:
    """The canonical PostgreSQL schema."""
    return schema("postgres")


def is_postgres_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


class _Op:
    __slots__ = ("fn", "future", "write")

    def __init__(
        self,
        fn: Callable[[Conn], Awaitable[Any]] | None,
        future: asyncio.Future[Any],
        write: ActivationWrite | None = None,
    ):
        self.fn = fn
        self.future = future
        self.write = write
        """Set for a plain commit: commits of one batch are written together."""


class PostgresStore(
    PostgresCampaigns,
    PostgresSchedules,
    PostgresDispatches,
    PostgresSecurity,
    PostgresReplicas,
    PostgresBatches,
):
    """A Store on a PostgreSQL database (``postgresql://`` URL), shared by this site's replicas.

    ``replica_id`` names this plane among them: it owns the activations it creates or claims.
    """

    durable_tasks = True
    """Stage tasks are rows, so a worker may poll any replica."""

    def __init__(self, url: str, *, replica_id: str = "plane", pool_size: int = 8) -> None:
        self.url = url
        self.replica_id = replica_id
        self.stats = StoreStats()
        self._pool_size = pool_size
        self._pool: Any = None
        self._writer: Conn = None
        self._listener: Conn = None
        self._queue: asyncio.Queue[_Op | None] = asyncio.Queue()
        self._writer_task: asyncio.Task[None] | None = None
        self._closed = False
        self.channel_prefix = "partita"

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        self._writer = await asyncpg.connect(self.url)
        await self._migrate(self._writer)
        schema = await self._writer.fetchval("SELECT current_schema()")
        # NOTIFY channels are per database: name them after the schema, so that two sites
        # on one database (each in its own schema) do not wake each other.
        self.channel_prefix = f"partita_{schema}"[:40]
        self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self._pool_size)
        self._writer_task = asyncio.create_task(self._write_loop(), name="partita-store-writer")

    @staticmethod
    async def _migrate(conn: Conn) -> None:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (\n    version INTEGER NOT NULL\n)"
            )
            current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
            for number, sql in migrations():
                if number > current:
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(
                            "INSERT INTO schema_version (version) VALUES ($1)", number
                        )
                    log.info("applied PostgreSQL schema migration %04d", number)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._writer_task is not None:
            await self._queue.put(None)
            await self._writer_task
        if self._listener is not None:
            await self._listener.close()
        if self._pool is not None:
            await self._pool.close()
        if self._writer is not None:
            await self._writer.close()

    # -- the writer --------------------------------------------------------------------------

    async def _write(self, fn: Callable[[Conn], Awaitable[Any]]) -> Any:
        return await self._enqueue(_Op(fn, self._future()))

    async def _enqueue(self, op: _Op) -> Any:
        if self._closed:
            raise PartitaError("the store is closed")
        self._queue.put_nowait(op)
        return await op.future

    def _future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    async def _write_loop(self) -> None:
        stop = False
        while not stop:
            op = await self._queue.get()
            if op is None:
                break
            batch, stop = drain(op, self._queue, MAX_BATCH)
            try:
                results = await self._run_batch(batch)
            except Exception as exc:  # the transaction failed: nobody's write is durable
                log.exception("store: commit failed")
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(exc)
                if self._writer.is_closed():
                    self._writer = await asyncpg.connect(self.url)
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

    async def _run_batch(self, batch: list[_Op]) -> list[tuple[bool, Any]]:
        conn = self._writer
        results: dict[int, tuple[bool, Any]] = {}
        async with conn.transaction():
            commits = [(i, op.write) for i, op in enumerate(batch) if op.write is not None]
            if commits:
                outcome = await self._commit_all(conn, [w for _, w in commits])
                for (i, _), error in zip(commits, outcome, strict=True):
                    results[i] = (False, error) if error else (True, None)
            for i, op in enumerate(batch):
                if op.fn is None:
                    continue
                # An operation raises PartitaError only before it writes anything, and
                # writes that may collide with another replica's use ON CONFLICT, so a
                # refused operation needs no savepoint.
                try:
                    results[i] = (True, await op.fn(conn))
                except PartitaError as exc:
                    results[i] = (False, exc)
        return [results[i] for i in range(len(batch))]

    async def _commit_all(
        self, conn: Conn, writes: list[ActivationWrite]
    ) -> list[ConflictError | None]:
        """Apply many transitions with a fixed number of statements; a stale one conflicts."""
        rows = [w.row for w in writes]
        updated = await conn.fetch(
            "UPDATE activations AS a SET status=v.status, close_time=v.close_time, "
            "expire_time=v.expire_time, last_sequence=v.last_sequence, snapshot=v.snapshot "
            "FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], "
            "$6::bigint[], $7::text[], $8::bigint[]) "
            "AS v(namespace, id, status, close_time, expire_time, last_sequence, snapshot, "
            "expected) WHERE a.namespace=v.namespace AND a.id=v.id "
            "AND a.last_sequence=v.expected AND a.owner=$9 RETURNING a.namespace, a.id",
            [r.namespace for r in rows],
            [r.id for r in rows],
            [r.status for r in rows],
            [r.close_time for r in rows],
            [w.expire_time for w in writes],
            [r.last_sequence for r in rows],
            [r.snapshot for r in rows],
            [w.expected_sequence for w in writes],
            self.replica_id,
        )
        done = {(r[0], r[1]) for r in updated}
        landed = [w for w in writes if (w.row.namespace, w.row.id) in done]
        await _append(conn, landed, self.channel_prefix)
        return [
            None
            if (w.row.namespace, w.row.id) in done
            else ConflictError(
                f"activation {w.row.id!r} changed concurrently or is owned by another replica"
            )
            for w in writes
        ]

    # -- activations -------------------------------------------------------------------------

    async def create_activation(self, new: NewActivation) -> ActivationRow:
        write = new.write
        row = write.row

        async def op(conn: Conn) -> ActivationRow:
            if new.exclusive:  # replicas starting the same campaign at once take turns
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext($1))", f"{row.namespace}/{row.campaign}"
                )
            if write.request_id:
                seen = await conn.fetchval(
                    "SELECT activation_id FROM requests WHERE namespace=$1 AND request_id=$2",
                    row.namespace,
                    write.request_id,
                )
                if seen:
                    existing = await _select_activation(conn, row.namespace, seen)
                    if existing is not None:
                        return existing
            if new.exclusive:
                other = await conn.fetchval(
                    "SELECT id FROM activations WHERE namespace=$1 AND campaign=$2 "
                    "AND close_time IS NULL LIMIT 1",
                    row.namespace,
                    row.campaign,
                )
                if other:
                    raise PreconditionError(
                        f"campaign {row.campaign!r} allows no parallel activations and "
                        f"{other!r} is still open"
                    )
            inserted = await conn.fetchval(
                f"INSERT INTO activations ({ACTIVATION_COLUMNS}, expire_time, owner) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) ON CONFLICT DO NOTHING RETURNING 1",
                *activation_values(row),
                write.expire_time,
                self.replica_id,
            )
            if inserted is None:
                raise AlreadyExistsError(f"activation {row.id!r} already exists")
            if write.request_id:
                claimed = await conn.fetchval(
                    "INSERT INTO requests VALUES ($1,$2,$3) ON CONFLICT DO NOTHING RETURNING 1",
                    row.namespace,
                    write.request_id,
                    row.id,
                )
                if claimed is None:  # another replica took this request id just now
                    raise ConflictError(f"request {write.request_id!r} is being applied; retry")
            await _append(conn, [_without_request(write)], self.channel_prefix)
            return row

        created: ActivationRow = await self._write(op)
        return created

    async def commit(self, write: ActivationWrite) -> None:
        await self._enqueue(_Op(None, self._future(), write))

    async def continue_as_new(
        self, closing: ActivationWrite, chain_id: str, new: ActivationWrite
    ) -> None:
        async def op(conn: Conn) -> None:
            row = closing.row
            updated = await conn.fetchval(
                "UPDATE activations SET id=$1, status=$2, close_time=$3, expire_time=$4, "
                "last_sequence=$5, snapshot=$6 WHERE namespace=$7 AND id=$8 "
                "AND last_sequence=$9 AND owner=$10 RETURNING 1",
                row.id,
                row.status,
                row.close_time,
                closing.expire_time,
                row.last_sequence,
                row.snapshot,
                row.namespace,
                chain_id,
                closing.expected_sequence,
                self.replica_id,
            )
            if updated is None:
                raise ConflictError(f"activation {chain_id!r} changed concurrently")
            for table in ("events", "payloads"):
                await conn.execute(
                    f"UPDATE {table} SET activation_id=$1 WHERE namespace=$2 AND activation_id=$3",
                    row.id,
                    row.namespace,
                    chain_id,
                )
            await conn.execute(
                "DELETE FROM timers WHERE namespace=$1 AND activation_id=$2",
                row.namespace,
                chain_id,
            )
            await conn.execute(
                f"INSERT INTO activations ({ACTIVATION_COLUMNS}, expire_time, owner) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)",
                *activation_values(new.row),
                new.expire_time,
                self.replica_id,
            )
            await _append(
                conn,
                [
                    ActivationWrite(
                        row=row,
                        events=closing.events,
                        tasks=closing.tasks,
                        payloads=closing.payloads,
                    ),
                    new,
                ],
                self.channel_prefix,
            )

        await self._write(op)

    async def get_activation(self, namespace: str, activation_id: str) -> ActivationRow | None:
        row = await self._fetchrow(
            f"SELECT {ACTIVATION_COLUMNS} FROM activations WHERE namespace=$1 AND id=$2",
            namespace,
            activation_id,
        )
        return ActivationRow(*row) if row else None

    async def activation_for_request(self, namespace: str, request_id: str) -> str | None:
        found = await self._fetchval(
            "SELECT activation_id FROM requests WHERE namespace=$1 AND request_id=$2",
            namespace,
            request_id,
        )
        return str(found) if found is not None else None

    async def list_activations(self, where: ActivationFilter, page: Page) -> list[ActivationRow]:
        clauses, args = _where(where)

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if page.after is not None:
            t, i = arg(float(page.after[0])), arg(str(page.after[1]))
            clauses.append(f'(create_time < {t} OR (create_time = {t} AND id COLLATE "C" > {i}))')
        rows = await self._fetch(
            f"SELECT {ACTIVATION_COLUMNS} FROM activations WHERE {' AND '.join(clauses)} "
            f'ORDER BY create_time DESC, id COLLATE "C" LIMIT {arg(page.size)}',
            *args,
        )
        return [ActivationRow(*r) for r in rows]

    async def count_activations(self, where: ActivationFilter) -> int:
        clauses, args = _where(where)
        row = await self._fetchrow(
            f"SELECT count(*) FROM activations WHERE {' AND '.join(clauses)}", *args
        )
        return int(row[0])

    async def history(
        self, namespace: str, activation_id: str, after: int = 0, limit: int = 1000
    ) -> list[EventRow]:
        rows = await self._fetch(
            "SELECT sequence, time, type, stage, data FROM events "
            "WHERE namespace=$1 AND activation_id=$2 AND sequence > $3 ORDER BY sequence LIMIT $4",
            namespace,
            activation_id,
            after,
            limit,
        )
        return [EventRow(*r) for r in rows]

    async def payloads(self, namespace: str, activation_id: str, refs: list[str]) -> dict[str, str]:
        if not refs:
            return {}
        rows = await self._fetch(
            "SELECT ref, data FROM payloads WHERE namespace=$1 AND activation_id=$2 "
            "AND ref = ANY($3::text[])",
            namespace,
            activation_id,
            refs,
        )
        return {r[0]: r[1] for r in rows}

    async def open_activations(self) -> list[ActivationRow]:
        rows = await self._fetch(
            f"SELECT {ACTIVATION_COLUMNS} FROM activations WHERE close_time IS NULL"
        )
        return [ActivationRow(*r) for r in rows]

    async def timers(self) -> list[TimerRow]:
        rows = await self._fetch("SELECT * FROM timers ORDER BY due")
        return [TimerRow(*r) for r in rows]

    async def sweep(self, now: float, limit: int = 500) -> int:
        async def op(conn: Conn) -> int:
            expired = await conn.fetch(
                "SELECT namespace, id FROM activations WHERE expire_time IS NOT NULL "
                "AND close_time IS NOT NULL AND expire_time < $1 LIMIT $2 "
                "FOR UPDATE SKIP LOCKED",
                now,
                limit,
            )
            if not expired:
                return 0
            keys = ([r[0] for r in expired], [r[1] for r in expired])
            for table, column in (
                ("events", "activation_id"),
                ("payloads", "activation_id"),
                ("timers", "activation_id"),
                ("requests", "activation_id"),
                ("activations", "id"),
            ):
                await conn.execute(
                    f"DELETE FROM {table} t USING unnest($1::text[], $2::text[]) AS k(ns, id) "
                    f"WHERE t.namespace=k.ns AND t.{column}=k.id",
                    *keys,
                )
            return len(expired)

        swept: int = await self._write(op)
        return swept

    # -- reads -------------------------------------------------------------------------------

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        assert self._pool is not None, "store is not open"
        return list(await self._pool.fetch(sql, *args))

    async def _fetchrow(self, sql: str, *args: Any) -> Any:
        assert self._pool is not None, "store is not open"
        return await self._pool.fetchrow(sql, *args)

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        assert self._pool is not None, "store is not open"
        return await self._pool.fetchval(sql, *args)


async def _select_activation(
    conn: Conn, namespace: str, activation_id: str
) -> ActivationRow | None:
    row = await conn.fetchrow(
        f"SELECT {ACTIVATION_COLUMNS} FROM activations WHERE namespace=$1 AND id=$2",
        namespace,
        activation_id,
    )
    return ActivationRow(*row) if row else None


def _without_request(write: ActivationWrite) -> ActivationWrite:
    return ActivationWrite(
        row=write.row,
        events=write.events,
        timers=write.timers,
        tasks=write.tasks,
        payloads=write.payloads,
    )


async def _append(conn: Conn, writes: list[ActivationWrite], prefix: str) -> None:
    """Events, timers, request ids and stage tasks of landed transitions, a statement each."""
    if not writes:
        return
    events = [(w.row.namespace, w.row.id, e) for w in writes for e in w.events]
    if events:
        await conn.execute(
            "INSERT INTO events SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], "
            "$4::float8[], $5::text[], $6::text[], $7::text[])",
            [n for n, _, _ in events],
            [i for _, i, _ in events],
            [e.sequence for _, _, e in events],
            [e.time for _, _, e in events],
            [e.type for _, _, e in events],
            [e.stage for _, _, e in events],
            [e.data for _, _, e in events],
        )
    retimed = [w for w in writes if w.timers is not None]
    if retimed:
        await conn.execute(
            "DELETE FROM timers t USING unnest($1::text[], $2::text[]) AS k(ns, id) "
            "WHERE t.namespace=k.ns AND t.activation_id=k.id",
            [w.row.namespace for w in retimed],
            [w.row.id for w in retimed],
        )
        timers = [(w.row, k, due) for w in retimed for k, due in (w.timers or {}).items()]
        if timers:
            await conn.execute(
                "INSERT INTO timers SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
                "$4::float8[])",
                [r.namespace for r, _, _ in timers],
                [r.id for r, _, _ in timers],
                [k for _, k, _ in timers],
                [d for _, _, d in timers],
            )
    payloads = [(w.row, p) for w in writes for p in w.payloads]
    if payloads:
        await conn.execute(
            "INSERT INTO payloads SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
            "$4::text[]) ON CONFLICT DO NOTHING",
            [r.namespace for r, _ in payloads],
            [r.id for r, _ in payloads],
            [p.ref for _, p in payloads],
            [p.data for _, p in payloads],
        )
    requested = [w for w in writes if w.request_id]
    if requested:
        await conn.execute(
            "INSERT INTO requests SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) "
            "ON CONFLICT DO NOTHING",
            [w.row.namespace for w in requested],
            [w.request_id for w in requested],
            [w.row.id for w in requested],
        )
    await insert_tasks(conn, [t for w in writes for t in w.tasks], prefix)
    await notify(
        conn, f"{prefix}_{ACTIVATIONS_CHANNEL}", [f"{w.row.namespace}\t{w.row.id}" for w in writes]
    )


def _where(where: ActivationFilter) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their arguments, ``$1`` on) of an activation filter."""
    clauses = ["namespace=$1"]
    args: list[Any] = [where.namespace]

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if where.statuses:
        clauses.append(f"status = ANY({arg(list(where.statuses))}::text[])")
    if where.campaign:
        clauses.append(f"campaign={arg(where.campaign)}")
    if where.created_after is not None:
        clauses.append(f"create_time >= {arg(where.created_after)}")
    if where.created_before is not None:
        clauses.append(f"create_time < {arg(where.created_before)}")
    return clauses, args
