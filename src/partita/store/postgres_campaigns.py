"""The campaigns part of the PostgreSQL store (kept apart to keep each module small)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from partita.errors import ConflictError, PreconditionError
from partita.store.base import CampaignRow, Page
from partita.store.rows import campaign_row

Conn = Any


class PostgresCampaigns:
    """Campaign versions; mixed into ``PostgresStore``, whose writer and pool it uses."""

    async def _write(self, fn: Callable[[Conn], Awaitable[Any]]) -> Any:
        raise NotImplementedError

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def _fetchrow(self, sql: str, *args: Any) -> Any:
        raise NotImplementedError

    async def create_campaign(
        self, row: CampaignRow, request_id: str = ""
    ) -> tuple[CampaignRow, bool]:
        async def op(conn: Conn) -> tuple[CampaignRow, bool]:
            # Replicas creating versions of one campaign at once take turns.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1))", f"{row.namespace}/{row.name}"
            )
            if request_id:
                seen = await conn.fetchrow(
                    "SELECT * FROM campaigns WHERE namespace=$1 AND request_id=$2",
                    row.namespace,
                    request_id,
                )
                if seen:
                    return campaign_row(seen), False
            latest = await conn.fetchrow(
                "SELECT * FROM campaigns WHERE namespace=$1 AND name=$2 "
                "ORDER BY version DESC LIMIT 1",
                row.namespace,
                row.name,
            )
            if (
                latest
                and latest["digest"] == row.digest
                and latest["api_version"] == row.api_version
            ):
                return campaign_row(latest), False
            version = latest["version"] + 1 if latest else 1
            inserted = await conn.fetchval(
                "INSERT INTO campaigns VALUES ($1,$2,$3,$4,$5,$6,$7,$8) "
                "ON CONFLICT DO NOTHING RETURNING version",
                row.namespace,
                row.name,
                version,
                row.api_version,
                row.spec,
                row.digest,
                row.create_time,
                request_id or None,
            )
            if inserted is None:  # the request id was used at the same time
                raise ConflictError(f"campaign {row.name!r} changed concurrently; try again")
            stored = CampaignRow(
                row.namespace,
                row.name,
                version,
                row.api_version,
                row.spec,
                row.digest,
                row.create_time,
            )
            return stored, True

        result: tuple[CampaignRow, bool] = await self._write(op)
        return result

    async def get_campaign(self, namespace: str, name: str, version: int = 0) -> CampaignRow | None:
        if version:
            row = await self._fetchrow(
                "SELECT * FROM campaigns WHERE namespace=$1 AND name=$2 AND version=$3",
                namespace,
                name,
                version,
            )
        else:
            row = await self._fetchrow(
                "SELECT * FROM campaigns WHERE namespace=$1 AND name=$2 "
                "ORDER BY version DESC LIMIT 1",
                namespace,
                name,
            )
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
        rows = await self._fetch(
            "SELECT * FROM campaigns WHERE namespace=$1 AND left(name, $2)=$3 "
            f"AND (name > $4 OR (name = $4 AND version > $5)) {latest_only} "
            'ORDER BY name COLLATE "C", version LIMIT $6',
            namespace,
            len(name_prefix),
            name_prefix,
            str(after_name),
            int(after_version),
            page.size,
        )
        return [campaign_row(r) for r in rows]

    async def delete_campaign(self, namespace: str, name: str, version: int = 0) -> int:
        async def op(conn: Conn) -> int:
            where = "namespace=$1 AND campaign=$2" + (" AND version=$3" if version else "")
            args: tuple[Any, ...] = (namespace, name, version) if version else (namespace, name)
            busy = await conn.fetchval(
                f"SELECT id FROM activations WHERE {where} AND close_time IS NULL LIMIT 1", *args
            )
            if busy:
                raise PreconditionError(
                    f"campaign {name!r} has an open activation ({busy}); "
                    "cancel or terminate it first"
                )
            sql = "DELETE FROM campaigns WHERE namespace=$1 AND name=$2"
            status = await conn.execute(sql + (" AND version=$3" if version else ""), *args)
            return int(status.split()[-1])

        deleted: int = await self._write(op)
        return deleted
