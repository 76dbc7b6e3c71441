"""Store contract: token rows (digests only) and the audit log, on every backend."""

from __future__ import annotations

from partita.store import AuditRow, NamespaceRow, Page, SecretRow, Store, TokenRow
from tests.contract.conftest import StoreFactory


def token(token_id: str, name: str, namespace: str, role: str = "reader") -> TokenRow:
    return TokenRow(token_id, name, namespace, role, f"digest-{token_id}", 10.0, 0.0, 0.0)


async def test_tokens_are_found_by_digest_and_by_name(store: Store) -> None:
    await store.add_token(token("t1", "alice", "a", "admin"))
    await store.add_token(token("t2", "alice", "b"))
    await store.add_token(token("t3", "bob", "a", "operator"))
    found = await store.token_by_digest("digest-t3")
    assert found == token("t3", "bob", "a", "operator")
    assert await store.token_by_digest("digest-none") is None
    assert [t.token_id for t in await store.tokens_named("alice")] == ["t1", "t2"]
    assert [t.token_id for t in await store.list_tokens("a")] == ["t1", "t3"]
    assert [t.token_id for t in await store.list_tokens("")] == ["t1", "t2", "t3"]


async def test_revoking_marks_only_the_live_tokens_of_the_name_and_namespace(
    store: Store,
) -> None:
    await store.add_token(token("t1", "alice", "a"))
    await store.add_token(token("t2", "alice", "b"))
    assert await store.revoke_tokens("alice", "a", 50.0) == 1
    assert await store.revoke_tokens("alice", "a", 60.0) == 0
    rows = {t.token_id: t.revoke_time for t in await store.tokens_named("alice")}
    assert rows == {"t1": 50.0, "t2": 0.0}
    assert await store.revoke_tokens("alice", "", 70.0) == 1


async def test_audit_rows_are_kept_newest_first_by_namespace(
    make_store: StoreFactory,
) -> None:
    store = make_store()
    await store.open()
    for i in range(5):
        namespace = "a" if i % 2 == 0 else "b"
        await store.add_audit(AuditRow(0, float(i), f"token:u{i}", namespace, "/x/Y", "OK"))
    await store.close()
    store = make_store()  # durable: read back after a reopen
    await store.open()
    try:
        first = await store.list_audit("a", Page(size=2))
        assert [r.identity for r in first] == ["token:u4", "token:u2"]
        rest = await store.list_audit("a", Page(size=2, after=(first[-1].seq,)))
        assert [r.identity for r in rest] == ["token:u0"]
        assert len(await store.list_audit("", Page(size=10))) == 5
        assert first[0].seq > first[1].seq > 0
        assert (first[0].namespace, first[0].rpc, first[0].result) == ("a", "/x/Y", "OK")
    finally:
        await store.close()


async def test_secrets_are_kept_sealed_replaced_listed_and_deleted(store: Store) -> None:
    await store.save_secret(SecretRow("a", "token", b"\x00sealed-1", 1.0))
    await store.save_secret(SecretRow("a", "token", b"\x00sealed-2", 2.0))
    await store.save_secret(SecretRow("b", "other", b"\x01x", 3.0))
    assert await store.list_secrets("a") == [SecretRow("a", "token", b"\x00sealed-2", 2.0)]
    assert [(r.namespace, r.name) for r in await store.list_secrets("")] == [
        ("a", "token"),
        ("b", "other"),
    ]
    assert await store.delete_secret("a", "token") is True
    assert await store.delete_secret("a", "token") is False
    assert await store.list_secrets("a") == []


async def test_namespaces_are_saved_listed_and_deleted(store: Store) -> None:
    await store.save_namespace(NamespaceRow("team", 5, 0, 1.0))
    await store.save_namespace(NamespaceRow("alpha", 0, 2, 2.0))
    await store.save_namespace(NamespaceRow("team", 7, 1, 1.0))  # new quotas
    assert await store.list_namespaces() == [
        NamespaceRow("alpha", 0, 2, 2.0),
        NamespaceRow("team", 7, 1, 1.0),
    ]
    assert await store.delete_namespace("alpha") is True
    assert await store.delete_namespace("alpha") is False
    assert [n.name for n in await store.list_namespaces()] == ["team"]
