"""Large payloads: inputs, outputs and signal data above a threshold live apart from history.

When an event is written, each of its value fields (``inputs``, ``outputs``, ``data``) whose
JSON is longer than the threshold is stored as a payload row in the same transaction, and the
event keeps ``{"$payload": "<sequence>/<field>", "bytes": N}`` in its place, so the history
stays small. Reading the history loads the payloads its events refer to, so clients and the
fold see the values. The activation's snapshot keeps the values themselves.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from partita.engine import Event, EventType
from partita.providers import StageError
from partita.store import EventRow, PayloadRow

MARK = "$payload"
FIELDS: dict[str, tuple[str, ...]] = {
    EventType.ACTIVATION_STARTED.value: ("inputs",),
    EventType.STAGE_STARTED.value: ("inputs",),
    EventType.STAGE_COMPLETED.value: ("outputs",),
    EventType.STAGE_FAILED.value: ("outputs",),
    EventType.STAGE_SKIPPED.value: ("outputs",),
    EventType.SIGNAL_RECEIVED.value: ("data",),
    EventType.ACTIVATION_RERUN.value: ("inputs",),
    EventType.ACTIVATION_COMPLETED.value: ("outputs",),
    EventType.ACTIVATION_CONTINUED_AS_NEW.value: ("inputs",),
}
"""The fields of each event type that may hold a large value."""


def split(events: Sequence[Event], threshold: int) -> tuple[list[EventRow], list[PayloadRow]]:
    """Event rows for ``events``, with values over ``threshold`` bytes moved to payloads."""
    rows, payloads = [], []
    for event in events:
        text = json.dumps(event.data, separators=(",", ":"))
        if len(text) > threshold and event.type.value in FIELDS:
            data = dict(event.data)
            for name in FIELDS[event.type.value]:
                if data.get(name) is None:
                    continue
                value = json.dumps(data[name], separators=(",", ":"))
                if len(value) > threshold:
                    ref = f"{event.sequence}/{name}"
                    payloads.append(PayloadRow(ref, value))
                    data[name] = {MARK: ref, "bytes": len(value)}
            text = json.dumps(data, separators=(",", ":"))
        rows.append(EventRow(event.sequence, event.time, event.type.value, event.stage, text))
    return rows, payloads


Loader = Callable[[list[str]], Awaitable[dict[str, str]]]


async def resolve(events: list[Event], load: Loader) -> list[Event]:
    """``events`` with the payloads they refer to loaded in place of the references."""
    wanted = [
        (index, name, value[MARK])
        for index, event in enumerate(events)
        for name in FIELDS.get(event.type.value, ())
        if isinstance(value := event.data.get(name), dict) and MARK in value
    ]
    if not wanted:
        return events
    found = await load(sorted({ref for _, _, ref in wanted}))
    resolved = list(events)
    for index, name, ref in wanted:
        if ref in found:
            event = resolved[index]
            data: dict[str, Any] = {**event.data, name: json.loads(found[ref])}
            resolved[index] = event.model_copy(update={"data": data})
    return resolved


def check_outputs_size(outputs: dict[str, Any], limit: int) -> None:
    """A built-in provider's outputs over the payload limit fail its stage, for good."""
    size = len(json.dumps(outputs, default=str))
    if size > limit:
        raise StageError(
            f"outputs are {size} bytes, over the {limit}-byte limit",
            type="OutputsTooLarge",
            non_retryable=True,
        )
