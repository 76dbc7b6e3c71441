"""The security part of the PostgreSQL store: token rows (digests only) and the audit log."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from partita.store.base import AuditRow, NamespaceRow, Page, SecretRow, TokenRow

Conn = Any
_TOKEN = "token_id, name, namespace, role, digest, create_time, expire_time, revoke_time"
_AUDIT = "seq, time, identity, namespace, rpc, result"


class PostgresSecurity:
    """Tokens and audit rows; mixed into ``PostgresStore``."""

    async def _write(self, fn: Callable[[Conn], Awaitable[Any]]) -> Any:
        raise NotImplementedError

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def _fetchrow(self, sql: str, *args: Any) -> Any:
        raise NotImplementedError

    async def add_token(self, row: TokenRow) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute(
                f"INSERT INTO tokens ({_TOKEN}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
                row.token_id,
                row.name,
                row.namespace,
                row.role,
                row.digest,
                row.create_time,
                row.expire_time,
                row.revoke_time,
            )

        await self._write(op)

    async def token_by_digest(self, digest: str) -> TokenRow | None:
        row = await self._fetchrow(f"SELECT {_TOKEN} FROM tokens WHERE digest=$1", digest)
        return TokenRow(*row) if row else None

    async def tokens_named(self, name: str) -> list[TokenRow]:
        rows = await self._fetch(
            f"SELECT {_TOKEN} FROM tokens WHERE name=$1 ORDER BY create_time, token_id", name
        )
        return [TokenRow(*r) for r in rows]

    async def list_tokens(self, namespace: str) -> list[TokenRow]:
        rows = await self._fetch(
            f"SELECT {_TOKEN} FROM tokens WHERE $1='' OR namespace=$1 "
            'ORDER BY name COLLATE "C", create_time, token_id',
            namespace,
        )
        return [TokenRow(*r) for r in rows]

    async def revoke_tokens(self, name: str, namespace: str, now: float) -> int:
        async def op(conn: Conn) -> int:
            status = await conn.execute(
                "UPDATE tokens SET revoke_time=$1 WHERE name=$2 AND revoke_time=0 "
                "AND ($3='' OR namespace=$3)",
                now,
                name,
                namespace,
            )
            return int(str(status).rsplit(" ", 1)[-1])

        count: int = await self._write(op)
        return count

    async def add_audit(self, row: AuditRow) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO audit (time, identity, namespace, rpc, result) "
                "VALUES ($1,$2,$3,$4,$5)",
                row.time,
                row.identity,
                row.namespace,
                row.rpc,
                row.result,
            )

        await self._write(op)

    async def list_audit(self, namespace: str, page: Page) -> list[AuditRow]:
        before = int(page.after[0]) if page.after else 1 << 62
        rows = await self._fetch(
            f"SELECT {_AUDIT} FROM audit WHERE seq < $1 AND ($2='' OR namespace=$2) "
            "ORDER BY seq DESC LIMIT $3",
            before,
            namespace,
            page.size,
        )
        return [AuditRow(*r) for r in rows]

    async def save_secret(self, row: SecretRow) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO secrets (namespace, name, sealed, update_time) "
                "VALUES ($1,$2,$3,$4) ON CONFLICT (namespace, name) "
                "DO UPDATE SET sealed=EXCLUDED.sealed, update_time=EXCLUDED.update_time",
                row.namespace,
                row.name,
                row.sealed,
                row.update_time,
            )

        await self._write(op)

    async def delete_secret(self, namespace: str, name: str) -> bool:
        async def op(conn: Conn) -> bool:
            status = await conn.execute(
                "DELETE FROM secrets WHERE namespace=$1 AND name=$2", namespace, name
            )
            return str(status).endswith(" 1")

        deleted: bool = await self._write(op)
        return deleted

    async def list_secrets(self, namespace: str) -> list[SecretRow]:
        rows = await self._fetch(
            "SELECT namespace, name, sealed, update_time FROM secrets "
            'WHERE $1=\'\' OR namespace=$1 ORDER BY namespace COLLATE "C", name COLLATE "C"',
            namespace,
        )
        return [SecretRow(r[0], r[1], bytes(r[2]), r[3]) for r in rows]

    async def save_namespace(self, row: NamespaceRow) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute(
                "INSERT INTO namespaces (name, max_running, max_schedules, create_time) "
                "VALUES ($1,$2,$3,$4) ON CONFLICT (name) DO UPDATE SET "
                "max_running=EXCLUDED.max_running, max_schedules=EXCLUDED.max_schedules",
                row.name,
                row.max_running,
                row.max_schedules,
                row.create_time,
            )

        await self._write(op)

    async def delete_namespace(self, name: str) -> bool:
        async def op(conn: Conn) -> bool:
            status = await conn.execute("DELETE FROM namespaces WHERE name=$1", name)
            return str(status).endswith(" 1")

        deleted: bool = await self._write(op)
        return deleted

    async def list_namespaces(self) -> list[NamespaceRow]:
        rows = await self._fetch(
            "SELECT name, max_running, max_schedules, create_time FROM namespaces "
            'ORDER BY name COLLATE "C"'
        )
        return [NamespaceRow(*r) for r in rows]
