"""The benchmark's stage handler: the peers' no-op ``step(n) -> {"i": n}``."""

from __future__ import annotations

from typing import Any


async def step(inputs: dict[str, Any]) -> dict[str, Any]:
    """Async, so it runs on the worker's event loop (a sync handler gets a thread per task)."""
    return {"i": inputs["n"]}


HANDLERS = {"step": step}
