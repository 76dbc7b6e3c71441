"""The batches part of the SQLite store (issue 12): batch actions and their progress."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import astuple
from typing import Any

from partita.store.base import BatchRow, Page

_COLUMNS = (
    "namespace, id, request_id, spec, status, cursor, total, done, skipped, failed, "
    "last_error, create_time, update_time, close_time, revision"
)


class SqliteBatches:
    """Batch rows; mixed into ``SqliteStore``, whose writer and reader it uses."""

    async def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        raise NotImplementedError

    async def _fetchone(self, sql: str, args: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    async def _fetchall(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        raise NotImplementedError

    async def create_batch(self, row: BatchRow) -> tuple[BatchRow, bool]:
        def op(conn: sqlite3.Connection) -> tuple[BatchRow, bool]:
            seen = conn.execute(
                f"SELECT {_COLUMNS} FROM batches WHERE namespace=? AND "
                "(id=? OR (request_id != '' AND request_id=?))",
                (row.namespace, row.id, row.request_id),
            ).fetchone()
            if seen:
                return BatchRow(*seen), False
            conn.execute(
                f"INSERT INTO batches ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                astuple(row),
            )
            return row, True

        result: tuple[BatchRow, bool] = await self._write(op)
        return result

    async def get_batch(self, namespace: str, batch_id: str) -> BatchRow | None:
        row = await self._fetchone(
            f"SELECT {_COLUMNS} FROM batches WHERE namespace=? AND id=?", (namespace, batch_id)
        )
        return BatchRow(*row) if row else None

    async def list_batches(self, namespace: str, page: Page) -> list[BatchRow]:
        clauses, args = ["namespace=?"], [namespace]
        if page.after is not None:
            clauses.append("(create_time < ? OR (create_time = ? AND id > ?))")
            args.extend([page.after[0], page.after[0], page.after[1]])  # type: ignore[list-item]
        rows = await self._fetchall(
            f"SELECT {_COLUMNS} FROM batches WHERE {' AND '.join(clauses)} "
            "ORDER BY create_time DESC, id LIMIT ?",
            (*args, page.size),
        )
        return [BatchRow(*r) for r in rows]

    async def save_batch(self, row: BatchRow) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "UPDATE batches SET status=?, cursor=?, total=?, done=?, skipped=?, failed=?, "
                "last_error=?, update_time=?, close_time=?, revision=? "
                "WHERE namespace=? AND id=? AND revision=?",
                (
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
                ),
            )
            return cursor.rowcount == 1

        saved: bool = await self._write(op)
        return saved

    async def open_batches(self) -> list[BatchRow]:
        rows = await self._fetchall(
            f"SELECT {_COLUMNS} FROM batches WHERE status='RUNNING' ORDER BY create_time, id", ()
        )
        return [BatchRow(*r) for r in rows]
