"""The replica part of the PostgreSQL store: leases, claims of activations, shared task queues.

Each replica renews a lease on its row in ``replicas``; an open activation belongs to the
replica named in its ``owner`` column, and one whose owner is gone (lease past, on the
database's clock) is claimed by another with ``FOR UPDATE SKIP LOCKED``. Stage tasks are rows
that any replica's poll may claim the same way. ``NOTIFY`` wakes the other replicas: on
``<prefix>_tasks`` when tasks arrive, on ``<prefix>_activations`` when activations change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from partita.store.base import ActivationRow, ReplicaRow, TaskRow

log = logging.getLogger("partita.store")

Conn = Any
TASKS_CHANNEL = "tasks"
ACTIVATIONS_CHANNEL = "activations"
NOTIFY_BYTES = 7000
"""NOTIFY payloads stay under PostgreSQL's 8000-byte limit."""
_NOW = "extract(epoch FROM clock_timestamp())"
_ACTIVATION_COLUMNS = (
    "a.namespace, a.id, a.campaign, a.version, a.status, a.create_time, a.close_time, "
    "a.last_sequence, a.snapshot"
)


class PostgresReplicas:
    """Mixed into ``PostgresStore``."""

    replica_id: str
    url: str
    channel_prefix: str
    _pool: Any
    _listener: Conn

    async def register_replica(self, address: str, lease_seconds: float) -> None:
        """Join (or rejoin) the site's replicas with a fresh lease."""
        await self._pool.execute(
            "INSERT INTO replicas VALUES ($1, $2, extract(epoch FROM clock_timestamp()), "
            f"{_NOW} + $3) ON CONFLICT (id) DO UPDATE SET address=$2, "
            "start_time=EXCLUDED.start_time, lease_until=EXCLUDED.lease_until",
            self.replica_id,
            address,
            lease_seconds,
        )

    async def renew_replica(self, lease_seconds: float) -> bool:
        """Extend this replica's lease; False when it had run out (others may own its
        activations now: the caller must drop them and rejoin)."""
        renewed = await self._pool.fetchval(
            f"UPDATE replicas SET lease_until = {_NOW} + $2 "
            f"WHERE id=$1 AND lease_until >= {_NOW} RETURNING 1",
            self.replica_id,
            lease_seconds,
        )
        return renewed is not None

    async def leave(self) -> None:
        """Give up this replica's open activations and lease, so that others take them now."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE activations SET owner='' WHERE owner=$1 AND close_time IS NULL",
                self.replica_id,
            )
            await conn.execute("DELETE FROM replicas WHERE id=$1", self.replica_id)

    async def release_all(self) -> None:
        """Disown every open activation of this replica (its lease ran out)."""
        await self._pool.execute(
            "UPDATE activations SET owner='' WHERE owner=$1 AND close_time IS NULL",
            self.replica_id,
        )

    async def claim_activations(self, limit: int) -> list[ActivationRow]:
        """Take up to ``limit`` open activations that nobody alive owns."""
        rows = await self._pool.fetch(
            "WITH c AS (SELECT a.namespace, a.id FROM activations a "
            "LEFT JOIN replicas r ON r.id = a.owner "
            "WHERE a.close_time IS NULL AND a.owner <> $1 "
            f"AND (r.id IS NULL OR r.lease_until < {_NOW}) "
            "LIMIT $2 FOR UPDATE OF a SKIP LOCKED) "
            "UPDATE activations a SET owner=$1 FROM c WHERE a.namespace=c.namespace AND a.id=c.id "
            f"RETURNING {_ACTIVATION_COLUMNS}",
            self.replica_id,
            limit,
        )
        return [ActivationRow(*r) for r in rows]

    async def claim_activation(self, namespace: str, activation_id: str) -> ActivationRow | None:
        """Take one open activation if nobody alive owns it (or this replica does)."""
        row = await self._pool.fetchrow(
            "WITH c AS (SELECT a.namespace, a.id FROM activations a "
            "LEFT JOIN replicas r ON r.id = a.owner WHERE a.namespace=$2 AND a.id=$3 "
            "AND a.close_time IS NULL "
            f"AND (a.owner = $1 OR r.id IS NULL OR r.lease_until < {_NOW}) "
            "FOR UPDATE OF a SKIP LOCKED) "
            "UPDATE activations a SET owner=$1 FROM c WHERE a.namespace=c.namespace AND a.id=c.id "
            f"RETURNING {_ACTIVATION_COLUMNS}",
            self.replica_id,
            namespace,
            activation_id,
        )
        return ActivationRow(*row) if row else None

    async def claim_closed_activation(self, namespace: str, activation_id: str) -> bool:
        """Take a closed activation, to reopen it (a rerun); False when it is open or gone."""
        row = await self._pool.fetchrow(
            "UPDATE activations SET owner=$1 WHERE namespace=$2 AND id=$3 "
            "AND close_time IS NOT NULL RETURNING 1",
            self.replica_id,
            namespace,
            activation_id,
        )
        return row is not None

    async def owner_of(self, namespace: str, activation_id: str) -> ReplicaRow | None:
        """The live replica that owns an open activation; None when none does."""
        row = await self._pool.fetchrow(
            f"SELECT r.id, r.address, r.start_time, r.lease_until, {_NOW} "
            "FROM activations a JOIN replicas r ON r.id = a.owner "
            "WHERE a.namespace=$1 AND a.id=$2 AND a.close_time IS NULL "
            f"AND r.lease_until >= {_NOW}",
            namespace,
            activation_id,
        )
        if row is None:
            return None
        return ReplicaRow(row[0], row[1], row[2], row[3], alive=True, owned=0, now=row[4])

    async def replicas(self) -> list[ReplicaRow]:
        """Every replica with a row, alive or not, and how many open activations it owns."""
        rows = await self._pool.fetch(
            f"SELECT r.id, r.address, r.start_time, r.lease_until, {_NOW}, "
            "(SELECT count(*) FROM activations a WHERE a.owner = r.id AND a.close_time IS NULL) "
            "FROM replicas r ORDER BY r.id"
        )
        return [
            ReplicaRow(r[0], r[1], r[2], r[3], alive=r[3] >= r[4], owned=r[5], now=r[4])
            for r in rows
        ]

    # -- stage tasks -------------------------------------------------------------------------

    async def push_tasks(self, tasks: list[TaskRow]) -> None:
        """Queue tasks (a task already queued stays as it is)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await insert_tasks(conn, tasks, self.channel_prefix)

    async def claim_task(
        self, namespace: str, task_queue: str, hold_seconds: float
    ) -> TaskRow | None:
        """The oldest unclaimed task of a queue, held for this poll for ``hold_seconds``: if
        the poll does not delete it by then, it is claimable again."""
        row = await self._pool.fetchrow(
            "WITH c AS (SELECT namespace, activation_id, run_id, attempt FROM tasks "
            f"WHERE namespace=$1 AND task_queue=$2 AND claimed_until < {_NOW} "
            "ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) "
            f"UPDATE tasks t SET claimed_until = {_NOW} + $3 FROM c "
            "WHERE t.namespace=c.namespace AND t.activation_id=c.activation_id "
            "AND t.run_id=c.run_id AND t.attempt=c.attempt "
            "RETURNING t.namespace, t.task_queue, t.activation_id, t.run_id, t.attempt, t.payload",
            namespace,
            task_queue,
            hold_seconds,
        )
        return TaskRow(*row) if row else None

    async def delete_task(self, task: TaskRow) -> None:
        await self._pool.execute(
            "DELETE FROM tasks WHERE namespace=$1 AND activation_id=$2 AND run_id=$3 "
            "AND attempt=$4",
            task.namespace,
            task.activation_id,
            task.run_id,
            task.attempt,
        )

    async def unclaim_task(self, task: TaskRow) -> None:
        """Give a claimed task back at once (its poll went away)."""
        await self._pool.execute(
            "UPDATE tasks SET claimed_until = 0 WHERE namespace=$1 AND activation_id=$2 "
            "AND run_id=$3 AND attempt=$4",
            task.namespace,
            task.activation_id,
            task.run_id,
            task.attempt,
        )
        await self._pool.execute(
            "SELECT pg_notify($1, $2)",
            f"{self.channel_prefix}_{TASKS_CHANNEL}",
            f"{task.namespace}\t{task.task_queue}",
        )

    async def task_backlog(self, namespace: str, task_queue: str) -> int:
        found = await self._pool.fetchval(
            "SELECT count(*) FROM tasks WHERE namespace=$1 AND task_queue=$2",
            namespace,
            task_queue,
        )
        return int(found)

    # -- notifications -----------------------------------------------------------------------

    async def listen(
        self,
        on_tasks: Callable[[str, str], None],
        on_activation: Callable[[str, str], None],
    ) -> None:
        """Call ``on_tasks(namespace, queue)`` when tasks arrive and ``on_activation(namespace,
        id)`` when an activation changes, from any replica (this one included)."""
        import asyncpg

        self._listener = await asyncpg.connect(self.url)

        def callback(pairs: Callable[[str, str], None]) -> Callable[..., None]:
            def heard(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
                for line in payload.splitlines():
                    first, _, second = line.partition("\t")
                    pairs(first, second)

            return heard

        await self._listener.add_listener(
            f"{self.channel_prefix}_{TASKS_CHANNEL}", callback(on_tasks)
        )
        await self._listener.add_listener(
            f"{self.channel_prefix}_{ACTIVATIONS_CHANNEL}", callback(on_activation)
        )


async def insert_tasks(conn: Conn, tasks: list[TaskRow], prefix: str) -> None:
    """Queue tasks inside the caller's transaction and wake the polls of their queues."""
    if not tasks:
        return
    await conn.execute(
        "INSERT INTO tasks (namespace, task_queue, activation_id, run_id, attempt, payload) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], "
        "$6::text[]) ON CONFLICT DO NOTHING",
        [t.namespace for t in tasks],
        [t.task_queue for t in tasks],
        [t.activation_id for t in tasks],
        [t.run_id for t in tasks],
        [t.attempt for t in tasks],
        [t.payload for t in tasks],
    )
    queues = sorted({f"{t.namespace}\t{t.task_queue}" for t in tasks})
    await notify(conn, f"{prefix}_{TASKS_CHANNEL}", queues)


async def notify(conn: Conn, channel: str, lines: list[str]) -> None:
    """NOTIFY ``lines`` on ``channel`` in as few payloads as fit (delivered at commit)."""
    payloads: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + len(line) + 1 > NOTIFY_BYTES:
            payloads.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        payloads.append(current)
    if payloads:
        await conn.execute(
            "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", channel, payloads
        )
