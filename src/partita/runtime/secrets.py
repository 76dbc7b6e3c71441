"""Secrets: sealed at rest with AES-GCM, revealed only to providers and workers, redacted
everywhere else.

The key is 32 bytes, base64 in the environment variable ``PARTITA_SECRET_KEY`` or in the file
``--secret-key-file`` names. Expressions yield references (``partita.expr.secrets``); the
runtime swaps them for values in what a provider or a worker receives, and swaps any secret
value back to ``***`` in what comes back (outputs, failures) and in the plane's log lines.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import weakref
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from partita.errors import InvalidInputError, NotFoundError, PreconditionError
from partita.expr.secrets import PATTERN
from partita.store import SecretRow, Store

log = logging.getLogger("partita.secrets")

KEY_ENV = "PARTITA_SECRET_KEY"
MASK = "***"
NONCE_BYTES = 12
MAX_VALUE_BYTES = 64 << 10
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def load_key(key_file: str = "") -> bytes | None:
    """The secret key from ``key_file`` or ``PARTITA_SECRET_KEY`` (base64 of 32 bytes); None
    when neither is set (the plane then refuses to keep secrets)."""
    text = ""
    if key_file:
        try:
            with open(key_file, encoding="ascii") as handle:
                text = handle.read().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the secret key file: {exc}") from None
    else:
        text = os.environ.get(KEY_ENV, "").strip()
    if not text:
        return None
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the secret key must be base64 of 32 random bytes") from None
    if len(key) != 32:
        raise ValueError("the secret key must be base64 of 32 random bytes")
    return key


def new_key() -> str:
    """A fresh key, base64: what ``partita secret key`` prints."""
    return base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()


class Secrets:
    """The plane's secrets: sealed in the store, held open in memory to reveal and redact."""

    def __init__(self, store: Store, key: bytes | None, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self._aead = AESGCM(key) if key else None
        self._values: dict[tuple[str, str], str] = {}
        self._masks: list[str] = []

    async def load(self) -> None:
        """Open every stored secret (a wrong key fails the start: nothing could be revealed)."""
        rows = await self.store.list_secrets("")
        if rows and self._aead is None:
            log.warning(
                "%d secrets are stored but no secret key is set: none can be used", len(rows)
            )
            return
        for row in rows:
            self._values[(row.namespace, row.name)] = self._open(row)
        self._refresh()

    def names(self, namespace: str) -> tuple[str, ...]:
        return tuple(sorted(name for ns, name in self._values if ns == namespace))

    async def set(self, namespace: str, name: str, value: str) -> None:
        if self._aead is None:
            raise PreconditionError(
                f"this plane has no secret key ({KEY_ENV} or --secret-key-file)"
            )
        if not _NAME.match(name):
            raise InvalidInputError.field(
                "name", "must be a letter or _, then letters, digits or _ (at most 128)"
            )
        if not value or len(value.encode()) > MAX_VALUE_BYTES:
            raise InvalidInputError.field("value", f"must be 1 to {MAX_VALUE_BYTES} bytes")
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, value.encode(), _aad(namespace, name))
        await self.store.save_secret(SecretRow(namespace, name, sealed, self.clock()))
        self._values[(namespace, name)] = value
        self._refresh()

    async def delete(self, namespace: str, name: str) -> None:
        if not await self.store.delete_secret(namespace, name):
            raise NotFoundError(f"no secret {name!r} in namespace {namespace!r}")
        self._values.pop((namespace, name), None)
        self._refresh()

    async def list(self, namespace: str) -> list[tuple[str, float]]:
        """(name, update time) of each secret of ``namespace``: never a value."""
        return [(r.name, r.update_time) for r in await self.store.list_secrets(namespace)]

    def reveal(self, namespace: str, value: Any) -> Any:
        """``value`` with every secret reference replaced by the secret's value."""
        if not self._values:
            return value

        def swap(match: re.Match[str]) -> str:
            name, _, key = match.group(1).partition("/")
            found = self._values.get((namespace, name))
            if found is None:
                return match.group(0)
            if not key:
                return found
            try:
                field = json.loads(found)[key]
            except (ValueError, KeyError, TypeError):
                return match.group(0)
            return field if isinstance(field, str) else json.dumps(field)

        return _walk(value, lambda text: PATTERN.sub(swap, text))

    def redact(self, value: Any) -> Any:
        """``value`` with every secret value (of any namespace) replaced by ``***``."""
        if not self._masks:
            return value
        return _walk(value, self.redact_text)

    def redact_text(self, text: str) -> str:
        for secret in self._masks:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def _open(self, row: SecretRow) -> str:
        assert self._aead is not None
        nonce, sealed = row.sealed[:NONCE_BYTES], row.sealed[NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, sealed, _aad(row.namespace, row.name)).decode()
        except InvalidTag:
            raise ValueError(
                f"secret {row.namespace}/{row.name} cannot be opened: wrong secret key"
            ) from None

    def _refresh(self) -> None:
        masks: set[str] = set()
        for value in self._values.values():
            masks.add(value)
            try:
                parsed = json.loads(value)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                masks.update(v for v in parsed.values() if isinstance(v, str) and len(v) >= 4)
        # longest first, so that a value containing another is masked whole
        self._masks = sorted((m for m in masks if m), key=len, reverse=True)
        _install_log_filter(self)


def _aad(namespace: str, name: str) -> bytes:
    """Binds a sealed value to its place: it cannot be moved to another name or namespace."""
    return f"{namespace}/{name}".encode()


def _walk(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {k: _walk(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, change) for v in value]
    return value


class _Redact(logging.Filter):
    """Masks secret values in every log line the process writes."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: weakref.WeakSet[Secrets] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        sources = [s for s in self.sources if s._masks]
        if not sources:
            return True
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        for source in sources:
            message = source.redact_text(message)
        record.msg, record.args = message, ()
        return True


_FILTER = _Redact()


def _install_log_filter(secrets: Secrets) -> None:
    _FILTER.sources.add(secrets)
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
