"""The federation part of the SQLite store: dispatch outbox and inbox, and known sites."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from partita.store.base import DispatchRow, Page, SiteRow
from partita.store.rows import (
    DISPATCH_COLUMNS,
    check_dispatch_status,
    dispatch_changes,
    dispatch_values,
)


class SqliteDispatches:
    """Dispatch rows of either role, and site rows; mixed into ``SqliteStore``, whose writer
    and reader it uses."""

    async def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        raise NotImplementedError

    async def _fetchone(self, sql: str, args: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    async def _fetchall(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        raise NotImplementedError

    async def add_dispatch(self, row: DispatchRow) -> tuple[DispatchRow, bool]:
        def op(conn: sqlite3.Connection) -> tuple[DispatchRow, bool]:
            seen = conn.execute(
                f"SELECT {DISPATCH_COLUMNS} FROM dispatches WHERE role=? AND dispatch_id=?",
                (row.role, row.dispatch_id),
            ).fetchone()
            if seen:
                return DispatchRow(*seen), False
            conn.execute(
                f"INSERT INTO dispatches ({DISPATCH_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                dispatch_values(row),
            )
            return row, True

        result: tuple[DispatchRow, bool] = await self._write(op)
        return result

    async def get_dispatch(self, role: str, dispatch_id: str) -> DispatchRow | None:
        row = await self._fetchone(
            f"SELECT {DISPATCH_COLUMNS} FROM dispatches WHERE role=? AND dispatch_id=?",
            (role, dispatch_id),
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

        def op(conn: sqlite3.Connection) -> DispatchRow | None:
            found = conn.execute(
                f"SELECT {DISPATCH_COLUMNS} FROM dispatches WHERE role=? AND dispatch_id=?",
                (role, dispatch_id),
            ).fetchone()
            if not found:
                return None
            row = DispatchRow(*found)
            changes = dispatch_changes(row, status, cancel, result)
            if not changes:
                return row
            changes["update_time"] = update_time
            assignments = ", ".join(f"{name}=?" for name in changes)
            conn.execute(
                f"UPDATE dispatches SET {assignments} WHERE role=? AND dispatch_id=?",
                (*changes.values(), role, dispatch_id),
            )
            values = {**row.__dict__, **changes}
            return DispatchRow(**values)

        updated: DispatchRow | None = await self._write(op)
        return updated

    async def open_dispatches(self, role: str, site_id: str = "") -> list[DispatchRow]:
        sql = f"SELECT {DISPATCH_COLUMNS} FROM dispatches WHERE role=? AND status != 'DONE'"
        args: tuple[Any, ...] = (role,)
        if site_id:
            sql += " AND site_id=?"
            args = (role, site_id)
        rows = await self._fetchall(sql + " ORDER BY create_time, dispatch_id", args)
        return [DispatchRow(*r) for r in rows]

    async def sweep_dispatches(self, before: float, limit: int = 500) -> int:
        def op(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "DELETE FROM dispatches WHERE (role, dispatch_id) IN (SELECT role, dispatch_id "
                "FROM dispatches WHERE status='DONE' AND update_time < ? LIMIT ?)",
                (before, limit),
            )
            return cursor.rowcount

        swept: int = await self._write(op)
        return swept

    async def save_site(self, row: SiteRow) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO sites (site_id, plane_version, last_seen_time) VALUES (?,?,?) "
                "ON CONFLICT (site_id) DO UPDATE SET plane_version=excluded.plane_version, "
                "last_seen_time=excluded.last_seen_time",
                (row.site_id, row.plane_version, row.last_seen_time),
            )

        await self._write(op)

    async def list_sites(self, page: Page) -> list[SiteRow]:
        after = str(page.after[0]) if page.after else ""
        rows = await self._fetchall(
            "SELECT site_id, plane_version, last_seen_time FROM sites WHERE site_id > ? "
            "ORDER BY site_id LIMIT ?",
            (after, page.size),
        )
        return [SiteRow(*r) for r in rows]
