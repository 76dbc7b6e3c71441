"""The batches part of the PostgreSQL store (issue 12): batch actions and their progress."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import astuple
from typing import Any

from partita.store.base import BatchRow, Page

Conn = Any
_COLUMNS = (
    "namespace, id, request_id, spec, status, cursor, total, done, skipped, failed, "
    "last_error, create_time, update_time, close_time, revision"
)


class PostgresBatches:
    """Batch rows; mixed into ``PostgresStore``."""

    async def _write(self, fn: Callable[[Conn], Awaitable[Any]]) -> Any:
        raise NotImplementedError

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def _fetchrow(self, sql: str, *args: Any) -> Any:
        raise NotImplementedError

    async def create_batch(self, row: BatchRow) -> tuple[BatchRow, bool]:
        async def op(conn: Conn) -> tuple[BatchRow, bool]:
            seen = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM batches WHERE namespace=$1 AND "
                "(id=$2 OR (request_id != '' AND request_id=$3))",
                row.namespace,
                row.id,
                row.request_id,
            )
            if seen:
                return BatchRow(*seen), False
            inserted = await conn.fetchval(
                f"INSERT INTO batches ({_COLUMNS}) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) "
                "ON CONFLICT DO NOTHING RETURNING 1",
                *astuple(row),
            )
            if inserted:
                return row, True
            again = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM batches WHERE namespace=$1 AND id=$2",
                row.namespace,
                row.id,
            )
            return BatchRow(*again), False

        result: tuple[BatchRow, bool] = await self._write(op)
        return result

    async def get_batch(self, namespace: str, batch_id: str) -> BatchRow | None:
        row = await self._fetchrow(
            f"SELECT {_COLUMNS} FROM batches WHERE namespace=$1 AND id=$2", namespace, batch_id
        )
        return BatchRow(*row) if row else None

    async def list_batches(self, namespace: str, page: Page) -> list[BatchRow]:
        if page.after is None:
            rows = await self._fetch(
                f"SELECT {_COLUMNS} FROM batches WHERE namespace=$1 "
                'ORDER BY create_time DESC, id COLLATE "C" LIMIT $2',
                namespace,
                page.size,
            )
        else:
            rows = await self._fetch(
                f"SELECT {_COLUMNS} FROM batches WHERE namespace=$1 AND "
                '(create_time < $2 OR (create_time = $2 AND id COLLATE "C" > $3)) '
                'ORDER BY create_time DESC, id COLLATE "C" LIMIT $4',
                namespace,
                float(page.after[0]),
                str(page.after[1]),
                page.size,
            )
        return [BatchRow(*r) for r in rows]

    async def save_batch(self, row: BatchRow) -> bool:
        async def op(conn: Conn) -> bool:
            found = await conn.fetchval(
                "UPDATE batches SET status=$1, cursor=$2, total=$3, done=$4, skipped=$5, "
                "failed=$6, last_error=$7, update_time=$8, close_time=$9, revision=$10 "
                "WHERE namespace=$11 AND id=$12 AND revision=$13 RETURNING 1",
                row.status,
                row.cursor,
                row.total,
                row.done,
                row.skipped,
                row.failed,
                row.last_error,
                row.update_time,
                row.close_time,
                row.revision,
                row.namespace,
                row.id,
                row.revision - 1,
            )
            return bool(found)

        saved: bool = await self._write(op)
        return saved

    async def open_batches(self) -> list[BatchRow]:
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM batches WHERE status='RUNNING' "
            'ORDER BY create_time, id COLLATE "C"'
        )
        return [BatchRow(*r) for r in rows]
