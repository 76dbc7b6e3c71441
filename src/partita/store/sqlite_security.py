"""The security part of the SQLite store: token rows (digests only) and the audit log."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from partita.store.base import AuditRow, NamespaceRow, Page, SecretRow, TokenRow

_TOKEN = "token_id, name, namespace, role, digest, create_time, expire_time, revoke_time"
_AUDIT = "seq, time, identity, namespace, rpc, result"


class SqliteSecurity:
    """Tokens and audit rows; mixed into ``SqliteStore``, whose writer and reader it uses."""

    async def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        raise NotImplementedError

    async def _fetchone(self, sql: str, args: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    async def _fetchall(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        raise NotImplementedError

    async def add_token(self, row: TokenRow) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO tokens ({_TOKEN}) VALUES (?,?,?,?,?,?,?,?)",
                (
                    row.token_id,
                    row.name,
                    row.namespace,
                    row.role,
                    row.digest,
                    row.create_time,
                    row.expire_time,
                    row.revoke_time,
                ),
            )

        await self._write(op)

    async def token_by_digest(self, digest: str) -> TokenRow | None:
        row = await self._fetchone(f"SELECT {_TOKEN} FROM tokens WHERE digest=?", (digest,))
        return TokenRow(*row) if row else None

    async def tokens_named(self, name: str) -> list[TokenRow]:
        rows = await self._fetchall(
            f"SELECT {_TOKEN} FROM tokens WHERE name=? ORDER BY create_time, token_id", (name,)
        )
        return [TokenRow(*r) for r in rows]

    async def list_tokens(self, namespace: str) -> list[TokenRow]:
        rows = await self._fetchall(
            f"SELECT {_TOKEN} FROM tokens WHERE ?='' OR namespace=? "
            "ORDER BY name, create_time, token_id",
            (namespace, namespace),
        )
        return [TokenRow(*r) for r in rows]

    async def revoke_tokens(self, name: str, namespace: str, now: float) -> int:
        def op(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "UPDATE tokens SET revoke_time=? WHERE name=? AND revoke_time=0 "
                "AND (?='' OR namespace=?)",
                (now, name, namespace, namespace),
            )
            return cursor.rowcount

        count: int = await self._write(op)
        return count

    async def add_audit(self, row: AuditRow) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO audit (time, identity, namespace, rpc, result) VALUES (?,?,?,?,?)",
                (row.time, row.identity, row.namespace, row.rpc, row.result),
            )

        await self._write(op)

    async def list_audit(self, namespace: str, page: Page) -> list[AuditRow]:
        before = int(page.after[0]) if page.after else 1 << 62
        rows = await self._fetchall(
            f"SELECT {_AUDIT} FROM audit WHERE seq < ? AND (?='' OR namespace=?) "
            "ORDER BY seq DESC LIMIT ?",
            (before, namespace, namespace, page.size),
        )
        return [AuditRow(*r) for r in rows]

    async def save_secret(self, row: SecretRow) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO secrets (namespace, name, sealed, update_time) "
                "VALUES (?,?,?,?)",
                (row.namespace, row.name, row.sealed, row.update_time),
            )

        await self._write(op)

    async def delete_secret(self, namespace: str, name: str) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "DELETE FROM secrets WHERE namespace=? AND name=?", (namespace, name)
            )
            return cursor.rowcount > 0

        deleted: bool = await self._write(op)
        return deleted

    async def list_secrets(self, namespace: str) -> list[SecretRow]:
        rows = await self._fetchall(
            "SELECT namespace, name, sealed, update_time FROM secrets "
            "WHERE ?='' OR namespace=? ORDER BY namespace, name",
            (namespace, namespace),
        )
        return [SecretRow(r[0], r[1], bytes(r[2]), r[3]) for r in rows]

    async def save_namespace(self, row: NamespaceRow) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO namespaces (name, max_running, max_schedules, "
                "create_time) VALUES (?,?,?,?)",
                (row.name, row.max_running, row.max_schedules, row.create_time),
            )

        await self._write(op)

    async def delete_namespace(self, name: str) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            return conn.execute("DELETE FROM namespaces WHERE name=?", (name,)).rowcount > 0

        deleted: bool = await self._write(op)
        return deleted

    async def list_namespaces(self) -> list[NamespaceRow]:
        rows = await self._fetchall(
            "SELECT name, max_running, max_schedules, create_time FROM namespaces ORDER BY name",
            (),
        )
        return [NamespaceRow(*r) for r in rows]
