"""The schedules part of the PostgreSQL store (kept apart to keep each module small)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from partita.errors import AlreadyExistsError, ConflictError
from partita.store.base import KEPT_SCHEDULE_ACTIONS, Page, ScheduleActionRow, ScheduleRow

Conn = Any


class PostgresSchedules:
    """Schedule rows and their recent actions; mixed into ``PostgresStore``, whose writer and
    pool it uses."""

    async def _write(self, fn: Callable[[Conn], Awaitable[Any]]) -> Any:
        raise NotImplementedError

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def _fetchrow(self, sql: str, *args: Any) -> Any:
        raise NotImplementedError

    async def create_schedule(
        self, row: ScheduleRow, request_id: str = ""
    ) -> tuple[ScheduleRow, bool]:
        async def op(conn: Conn) -> tuple[ScheduleRow, bool]:
            if request_id:
                seen = await conn.fetchrow(
                    f"SELECT {_COLUMNS} FROM schedules WHERE namespace=$1 AND request_id=$2",
                    row.namespace,
                    request_id,
                )
                if seen:
                    return _schedule(seen), False
            inserted = await conn.fetchval(
                f"INSERT INTO schedules ({_COLUMNS}, request_id) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) "
                "ON CONFLICT DO NOTHING RETURNING 1",
                *_values(row),
                request_id or None,
            )
            if inserted is None:
                raise AlreadyExistsError(f"schedule {row.id!r} already exists")
            return row, True

        result: tuple[ScheduleRow, bool] = await self._write(op)
        return result

    async def get_schedule(self, namespace: str, schedule_id: str) -> ScheduleRow | None:
        row = await self._fetchrow(
            f"SELECT {_COLUMNS} FROM schedules WHERE namespace=$1 AND id=$2",
            namespace,
            schedule_id,
        )
        return _schedule(row) if row else None

    async def list_schedules(self, namespace: str, page: Page) -> list[ScheduleRow]:
        after = str(page.after[0]) if page.after else ""
        rows = await self._fetch(
            f'SELECT {_COLUMNS} FROM schedules WHERE namespace=$1 AND id COLLATE "C" > $2 '
            'ORDER BY id COLLATE "C" LIMIT $3',
            namespace,
            after,
            page.size,
        )
        return [_schedule(r) for r in rows]

    async def all_schedules(self) -> list[ScheduleRow]:
        rows = await self._fetch(f"SELECT {_COLUMNS} FROM schedules ORDER BY namespace, id")
        return [_schedule(r) for r in rows]

    async def save_schedule(
        self, row: ScheduleRow, expected_revision: int, action: ScheduleActionRow | None = None
    ) -> None:
        async def op(conn: Conn) -> None:
            values = _values(row)
            updated = await conn.fetchval(
                "UPDATE schedules SET definition=$1, paused=$2, note=$3, remaining_actions=$4, "
                "last_time=$5, buffered=$6, action_count=$7, missed_catchup=$8, update_time=$9, "
                "revision=$10 WHERE namespace=$11 AND id=$12 AND revision=$13 RETURNING 1",
                *values[2:10],
                values[11],
                values[12],
                row.namespace,
                row.id,
                expected_revision,
            )
            if updated is None:
                raise ConflictError(f"schedule {row.id!r} changed concurrently")
            if action is None:
                return
            await conn.execute(
                "INSERT INTO schedule_actions VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING",
                row.namespace,
                row.id,
                action.nominal_time,
                action.actual_time,
                action.activation_id,
            )
            # Older actions go, unless their activation is still open (the overlap policy
            # needs to know about it).
            await conn.execute(
                "DELETE FROM schedule_actions WHERE namespace=$1 AND schedule_id=$2 "
                "AND nominal_time < (SELECT min(nominal_time) FROM (SELECT nominal_time "
                "FROM schedule_actions WHERE namespace=$1 AND schedule_id=$2 "
                "ORDER BY nominal_time DESC LIMIT $3) AS kept) "
                "AND activation_id NOT IN (SELECT id FROM activations "
                "WHERE namespace=$1 AND close_time IS NULL)",
                row.namespace,
                row.id,
                KEPT_SCHEDULE_ACTIONS,
            )

        await self._write(op)

    async def delete_schedule(self, namespace: str, schedule_id: str) -> bool:
        async def op(conn: Conn) -> bool:
            await conn.execute(
                "DELETE FROM schedule_actions WHERE namespace=$1 AND schedule_id=$2",
                namespace,
                schedule_id,
            )
            deleted = await conn.fetchval(
                "DELETE FROM schedules WHERE namespace=$1 AND id=$2 RETURNING 1",
                namespace,
                schedule_id,
            )
            return deleted is not None

        found: bool = await self._write(op)
        return found

    async def schedule_actions(self, namespace: str, schedule_id: str) -> list[ScheduleActionRow]:
        rows = await self._fetch(
            "SELECT s.nominal_time, s.actual_time, s.activation_id, coalesce(a.status, '') "
            "FROM schedule_actions s LEFT JOIN activations a "
            "ON a.namespace = s.namespace AND a.id = s.activation_id "
            "WHERE s.namespace=$1 AND s.schedule_id=$2 ORDER BY s.nominal_time",
            namespace,
            schedule_id,
        )
        return [ScheduleActionRow(*r) for r in rows]


_COLUMNS = (
    "namespace, id, definition, paused, note, remaining_actions, last_time, buffered, "
    "action_count, missed_catchup, create_time, update_time, revision"
)


def _values(row: ScheduleRow) -> tuple[Any, ...]:
    return (
        row.namespace,
        row.id,
        row.definition,
        row.paused,
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
    values[7] = tuple(float(t) for t in json.loads(values[7]))
    return ScheduleRow(*values)
