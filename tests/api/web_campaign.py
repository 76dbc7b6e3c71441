"""A branching campaign for the console's tests: one input picks the path an activation takes.

``route: ok`` runs check -> ship -> spread (fan-out) -> done and completes; ``route: wait``
waits in ``gate`` for the event ``go``, then goes on as ``ok``; ``route: fail`` calls a
closed port in ``call`` and fails. ``ship`` is undone by ``unship`` (compensation).
"""

from __future__ import annotations

from typing import Any

CLOSED_PORT_URL = "http://127.0.0.1:1/"

BRANCHING: dict[str, Any] = {
    "firstStage": "check",
    "stages": {
        "check": {
            "provider": "mock",
            "inputs": {"route": "${{ inputs.route }}"},
            "stageSelector": "${{ outputs.check.route == 'fail' ? 'call' : "
            "(outputs.check.route == 'wait' ? \"gate\" : 'ship') }}",
        },
        "gate": {"provider": "wait", "config": {"event": "go"}, "stageSelector": "ship"},
        "call": {
            "provider": "http",
            "config": {"url": CLOSED_PORT_URL},
            "retry": {"maximumAttempts": 1},
            "stageSelector": "",
        },
        "ship": {"provider": "mock", "compensate": "unship", "stageSelector": "spread"},
        "spread": {"provider": "mock", "contexts": "${{ [1, 2] }}", "stageSelector": "done"},
        "done": {"provider": "mock", "stageSelector": ""},
        "unship": {"provider": "mock"},
    },
}
STAGES = sorted(BRANCHING["stages"])
