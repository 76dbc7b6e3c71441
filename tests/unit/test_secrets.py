"""Secrets in expressions and the runtime's reveal and redact (AES-GCM from cryptography)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from partita.expr import Template, evaluator_for
from partita.expr.secrets import reference
from partita.model.campaign import PARTITA_API, SYMPHONY_API
from partita.runtime.secrets import Secrets, load_key, new_key
from partita.store import SqliteStore


def test_expressions_yield_references_never_values() -> None:
    cel = Template.compile("Bearer ${{ secrets.token }}", evaluator_for(PARTITA_API))
    assert (
        cel.render({"secrets": {"token": reference("token")}}) == "Bearer \u00absecret:token\u00bb"
    )
    symphony = Template.compile("${{ $secret(creds, password) }}", evaluator_for(SYMPHONY_API))
    assert symphony.render({}) == "\u00absecret:creds/password\u00bb"


def test_secrets_are_sealed_revealed_to_providers_and_redacted(tmp_path: Path) -> None:
    async def scenario() -> None:
        key = load_key_from(tmp_path, new_key())
        store = SqliteStore(tmp_path / "plane.db")
        await store.open()
        secrets = Secrets(store, key, lambda: 1.0)
        await secrets.set("team", "token", "tok-123456")
        await secrets.set("team", "creds", json.dumps({"user": "ops", "password": "pw-98765"}))
        assert secrets.names("team") == ("creds", "token")
        assert secrets.names("other") == ()
        sent = {"h": "Bearer " + reference("token"), "p": [reference("creds", "password")]}
        assert secrets.reveal("team", sent) == {"h": "Bearer tok-123456", "p": ["pw-98765"]}
        assert secrets.reveal("other", sent) == sent  # another namespace's secrets stay shut
        back = {"echo": "got tok-123456 and pw-98765", "n": 1}
        assert secrets.redact(back) == {"echo": "got *** and ***", "n": 1}
        rows = await store.list_secrets("team")
        assert all(b"tok-123456" not in r.sealed and b"pw-98765" not in r.sealed for r in rows)
        await store.close()
        # reopened with the right key: the same values; with another key: refused
        store = SqliteStore(tmp_path / "plane.db")
        await store.open()
        again = Secrets(store, key, lambda: 2.0)
        await again.load()
        assert again.reveal("team", reference("token")) == "tok-123456"
        wrong = Secrets(store, load_key_from(tmp_path, new_key()), lambda: 2.0)
        with pytest.raises(ValueError, match="wrong secret key"):
            await wrong.load()
        await store.close()

    asyncio.run(scenario())


def load_key_from(folder: Path, text: str) -> bytes:
    path = folder / "key"
    path.write_text(text)
    key = load_key(str(path))
    assert key is not None
    return key


def test_a_bad_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text("not base64 of 32 bytes!")
    with pytest.raises(ValueError, match="32 random bytes"):
        load_key(str(path))
