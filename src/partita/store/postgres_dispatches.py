"""The federation part of the PostgreSQL store: dispatch outbox and inbox, and known sites."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from partita.store.base import DispatchRow, Page, SiteRow
from partita.store.rows import (
    DISPATCH_COLUMNS,
    check_dispatch_status,
    dispatch_changes,
    dispatch_values,
)

Conn = Any


class PostgresDispatches:
    """Dispatch rows of either role, and site rows; mixed into ``PostgresStore``."""

    async def _write(self, fn: Callable[[Conn], Awaitable[Any]]) -> Any:
        raise NotImplementedError

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def _fetchrow(self, sql: str, *args: Any) -> Any:
        raise NotImplementedError

    async def add_dispatch(self, row: DispatchRow) -> tuple[DispatchRow, bool]:
        async def op(conn: Conn) -> tuple[DispatchRow, bool]:
            inserted = await conn.fetchval(
                f"INSERT INTO dispatches ({DISPATCH_COLUMNS}) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) "
                "ON CONFLICT DO NOTHING RETURNING 1",
                *dispatch_values(row),
            )
            if inserted:
                return row, True
            seen = await conn.fetchrow(
                f"SELECT {DISPATCH_COLUMNS} FROM dispatches WHERE role=$1 AND dispatch_id=$2",
                row.role,
                row.dispatch_id,
            )
            return DispatchRow(*seen), False

        result: tuple[DispatchRow, bool] = await self._write(op)
        return result

    async def get_dispatch(self, role: str, dispatch_id: str) -> DispatchRow | None:
        row = await self._fetchrow(
            f"SELECT {DISPATCH_COLUMNS} FROM dispatches WHERE role=$1 AND dispatch_id=$2",
            role,
            dispatch_id,
        )
        return DispatchRow(*row) if row else None

    async def update_dispatch(
        self,
        role: str,
        dispatch_id: str,
        update_time: float,
        *,
        status: str | None = None,
        cancel: str | None = None,
        result: str | None = None,
    ) -> DispatchRow | None:
        check_dispatch_status(status)

        async def op(conn: Conn) -> DispatchRow | None:
            found = await conn.fetchrow(
                f"SELECT {DISPATCH_COLUMNS} FROM dispatches WHERE role=$1 AND dispatch_id=$2 "
                "FOR UPDATE",
                role,
                dispatch_id,
            )
            if not found:
                return None
            row = DispatchRow(*found)
            changes = dispatch_changes(row, status, cancel, result)
            if not changes:
                return row
            changes["update_time"] = update_time
            assignments = ", ".join(f"{name}=${i}" for i, name in enumerate(changes, 3))
            await conn.execute(
                f"UPDATE dispatches SET {assignments} WHERE role=$1 AND dispatch_id=$2",
                role,
                dispatch_id,
                *changes.values(),
            )
            return DispatchRow(**{**row.__dict__, **changes})

        updated: DispatchRow | None = await self._write(op)
        return updated

    async def open_dispatches(self, role: str, site_id: str = "") -> list[DispatchRow]:
        sql = f"SELECT {DISPATCH_COLUMNS} FROM dispatches WHERE role=$1 AND status != 'DONE'"
        args: tuple[Any, ...] = (role,)
        if site_id:
            sql += " AND site_id=$2"
            args = (role, site_id)
        rows = await self._fetch(sql + " ORDER BY create_time, dispatch_id", *args)
        return [DispatchRow(*r) for r in rows]

    async def sweep_dispatches(self, before: float, limit: int = 500) -> int:
        async def op(conn: Conn) -> int:
            status = await conn.execute(
                "DELETE FROM dispatches WHERE (role, dispatch_id) IN (SELECT role, dispatch_id "
                "FROM dispatches WHERE status='DONE' AND update_time < $1 LIMIT $2)",
                before,
                limit,
            )
            return int(status.split()[-1])

        swept: int = await self._write(op)
        return swept

    async def save_site(self, row: SiteRow) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO sites (site_id, plane_version, last_seen_time) VALUES ($1,$2,$3) "
                "ON CONFLICT (site_id) DO UPDATE SET plane_version=EXCLUDED.plane_version, "
                "last_seen_time=EXCLUDED.last_seen_time",
                row.site_id,
                row.plane_version,
                row.last_seen_time,
            )

        await self._write(op)

    async def list_sites(self, page: Page) -> list[SiteRow]:
        after = str(page.after[0]) if page.after else ""
        rows = await self._fetch(
            "SELECT site_id, plane_version, last_seen_time FROM sites "
            'WHERE site_id COLLATE "C" > $1 ORDER BY site_id COLLATE "C" LIMIT $2',
            after,
            page.size,
        )
        return [SiteRow(*r) for r in rows]
