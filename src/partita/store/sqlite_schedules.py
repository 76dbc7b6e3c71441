"""The schedules part of the SQLite store (kept apart to keep each module small)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from partita.errors import AlreadyExistsError, ConflictError
from partita.store.base import KEPT_SCHEDULE_ACTIONS, Page, ScheduleActionRow, ScheduleRow


class SqliteSchedules:
    """Schedule rows and their recent actions; mixed into ``SqliteStore``, whose writer and
    reader it uses."""

    async def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        raise NotImplementedError

    async def _fetchone(self, sql: str, args: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    async def _fetchall(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        raise NotImplementedError

    async def create_schedule(
        self, row: ScheduleRow, request_id: str = ""
    ) -> tuple[ScheduleRow, bool]:
        def op(conn: sqlite3.Connection) -> tuple[ScheduleRow, bool]:
            if request_id:
                seen = conn.execute(
                    f"SELECT {_SCHEDULE_COLUMNS} FROM schedules WHERE namespace=? AND request_id=?",
                    (row.namespace, request_id),
                ).fetchone()
                if seen:
                    return _schedule(seen), False
            taken = conn.execute(
                "SELECT 1 FROM schedules WHERE namespace=? AND id=?", (row.namespace, row.id)
            ).fetchone()
            if taken:
                raise AlreadyExistsError(f"schedule {row.id!r} already exists")
            conn.execute(
                f"INSERT INTO schedules ({_SCHEDULE_COLUMNS}, request_id) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*_schedule_values(row), request_id or None),
            )
            return row, True

        result: tuple[ScheduleRow, bool] = await self._write(op)
        return result

    async def get_schedule(self, namespace: str, schedule_id: str) -> ScheduleRow | None:
        row = await self._fetchone(
            f"SELECT {_SCHEDULE_COLUMNS} FROM schedules WHERE namespace=? AND id=?",
            (namespace, schedule_id),
        )
        return _schedule(row) if row else None

    async def list_schedules(self, namespace: str, page: Page) -> list[ScheduleRow]:
        after = str(page.after[0]) if page.after else ""
        rows = await self._fetchall(
            f"SELECT {_SCHEDULE_COLUMNS} FROM schedules WHERE namespace=? AND id > ? "
            "ORDER BY id LIMIT ?",
            (namespace, after, page.size),
        )
        return [_schedule(r) for r in rows]

    async def all_schedules(self) -> list[ScheduleRow]:
        rows = await self._fetchall(
            f"SELECT {_SCHEDULE_COLUMNS} FROM schedules ORDER BY namespace, id", ()
        )
        return [_schedule(r) for r in rows]

    async def save_schedule(
        self, row: ScheduleRow, expected_revision: int, action: ScheduleActionRow | None = None
    ) -> None:
        def op(conn: sqlite3.Connection) -> None:
            values = _schedule_values(row)
            updated = conn.execute(
                "UPDATE schedules SET definition=?, paused=?, note=?, remaining_actions=?, "
                "last_time=?, buffered=?, action_count=?, missed_catchup=?, update_time=?, "
                "revision=? WHERE namespace=? AND id=? AND revision=?",
                (*values[2:10], values[11], values[12], row.namespace, row.id, expected_revision),
            ).rowcount
            if updated != 1:
                raise ConflictError(f"schedule {row.id!r} changed concurrently")
            if action is None:
                return
            conn.execute(
                "INSERT OR IGNORE INTO schedule_actions VALUES (?,?,?,?,?)",
                (
                    row.namespace,
                    row.id,
                    action.nominal_time,
                    action.actual_time,
                    action.activation_id,
                ),
            )
            # Older actions go, unless their activation is still open (the overlap policy
            # needs to know about it).
            conn.execute(
                "DELETE FROM schedule_actions WHERE namespace=:ns AND schedule_id=:id "
                "AND nominal_time < (SELECT min(nominal_time) FROM (SELECT nominal_time "
                "FROM schedule_actions WHERE namespace=:ns AND schedule_id=:id "
                "ORDER BY nominal_time DESC LIMIT :kept)) "
                "AND activation_id NOT IN (SELECT id FROM activations "
                "WHERE namespace=:ns AND close_time IS NULL)",
                {"ns": row.namespace, "id": row.id, "kept": KEPT_SCHEDULE_ACTIONS},
            )

        await self._write(op)

    async def delete_schedule(self, namespace: str, schedule_id: str) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            conn.execute(
                "DELETE FROM schedule_actions WHERE namespace=? AND schedule_id=?",
                (namespace, schedule_id),
            )
            deleted = conn.execute(
                "DELETE FROM schedules WHERE namespace=? AND id=?", (namespace, schedule_id)
            ).rowcount
            return bool(deleted)

        found: bool = await self._write(op)
        return found

    async def schedule_actions(self, namespace: str, schedule_id: str) -> list[ScheduleActionRow]:
        rows = await self._fetchall(
            "SELECT s.nominal_time, s.actual_time, s.activation_id, coalesce(a.status, '') "
            "FROM schedule_actions s LEFT JOIN activations a "
            "ON a.namespace = s.namespace AND a.id = s.activation_id "
            "WHERE s.namespace=? AND s.schedule_id=? ORDER BY s.nominal_time",
            (namespace, schedule_id),
        )
        return [ScheduleActionRow(*r) for r in rows]


_SCHEDULE_COLUMNS = (
    "namespace, id, definition, paused, note, remaining_actions, last_time, buffered, "
    "action_count, missed_catchup, create_time, update_time, revision"
)


def _schedule_values(row: ScheduleRow) -> tuple[Any, ...]:
    return (
        row.namespace,
        row.id,
        row.definition,
        int(row.paused),
        row.note,
        row.remaining_actions,
        row.last_time,
        json.dumps(list(row.buffered)),
        row.action_count,
        row.missed_catchup,
        row.create_time,
        row.update_time,
        row.revision,
    )


def _schedule(row: Any) -> ScheduleRow:
    values = list(row)
    values[3] = bool(values[3])
    values[7] = tuple(float(t) for t in json.loads(values[7]))
    return ScheduleRow(*values)
