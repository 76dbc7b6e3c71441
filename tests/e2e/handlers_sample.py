"""Handlers for ``partita worker --handlers tests/e2e/handlers_sample.py`` in the e2e tests.

No HANDLERS dict: every public function defined here is a handler named after it.
"""

from __future__ import annotations

import time
from os.path import exists  # imported, not defined here: not a handler
from pathlib import Path
from typing import Any


def add(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"sum": inputs["a"] + inputs["b"]}


async def greet(inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
    ctx.heartbeat({"greeting": inputs["name"]})
    return {"greeting": f"hello {inputs['name']}", "stage": ctx.task.stage}


def slow(inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
    """Says it started (a file), then runs until told to finish (another file)."""
    _touch(inputs["started"])
    while not exists(inputs["release"]):
        time.sleep(0.05)
    return {"released": True, "cancelled": ctx.cancelled}


def _touch(path: str) -> None:
    Path(path).write_text("started")
