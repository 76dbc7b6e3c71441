"""``partita get activation NAME -o symphony``: an activation in Eclipse Symphony's shape.

Symphony's REST API answers ``GET activations/registry/NAME`` with ``{metadata, spec,
status}``; tooling reads ``status.status`` (a state code), ``status.statusMessage`` and
``status.stageHistory``. Codes: 9994 Running, 9995 Paused, 9996 Done, 500 Internal Error.
Unlike Symphony, every stage run is listed (Symphony keeps the last 10 and folds a
stage's loop into one entry), and a cancelled, terminated or timed-out activation is
reported as Internal Error with the reason in ``errorMessage``.
"""

from __future__ import annotations

from typing import Any

from partita.cli.output import timestamp
from partita.cli.views import status_name, struct
from partita.model.symphony import reference_of
from partita.v1 import activation_pb2

RUNNING = (9994, "Running")
PAUSED = (9995, "Paused")
DONE = (9996, "Done")
INTERNAL_ERROR = (500, "Internal Error")
ACTIVATION_STATES = {
    "RUNNING": RUNNING,
    "PAUSED": PAUSED,
    "COMPLETED": DONE,
    "CONTINUED_AS_NEW": DONE,
}
RUN_PREFIX = "STAGE_RUN_STATUS_"


def symphony_activation(activation: Any) -> dict[str, Any]:
    """The Symphony ``ActivationState`` document of an activation."""
    status = status_name(activation.status)
    code, message = ACTIVATION_STATES.get(status, INTERNAL_ERROR)
    runs = [r for r in activation.stage_runs if "." not in r.run_id]
    history = [_stage_status(r, activation) for r in runs]
    state: dict[str, Any] = {
        "activationGeneration": str(activation.run_number or 1),
        "updateTime": timestamp(activation.close_time) or _last_time(runs, activation),
        "status": code,
        "statusMessage": message,
        "stageHistory": history,
    }
    if code == INTERNAL_ERROR[0]:
        state["errorMessage"] = activation.status_message or status.lower()
    return {
        "metadata": {"name": activation.id, "namespace": activation.namespace},
        "spec": {
            "campaignversion": reference_of(activation.campaign),
            "inputs": struct(activation.inputs),
        },
        "status": state,
    }


def _stage_status(run: Any, activation: Any) -> dict[str, Any]:
    run_status = activation_pb2.StageRunStatus.Name(run.status).removeprefix(RUN_PREFIX)
    outputs = _public(struct(run.outputs), drop_headers=True)
    entry: dict[str, Any] = {"stage": run.stage, "nextStage": run.next_stage}
    if run_status in ("RUNNING", "WAITING"):
        code, message = PAUSED if status_name(activation.status) == "PAUSED" else RUNNING
        active = True
    elif run_status == "COMPLETED" or (run_status == "FAILED" and run.next_stage):
        code, message = DONE  # a failure an error handler took over, as in Symphony
        active = False
    else:
        code, message = INTERNAL_ERROR
        active = False
    if run.HasField("error") and run.error.message:
        entry["errorMessage"] = run.error.message
        reported = struct(run.error.details).get("outputs")
        if isinstance(reported, dict):
            outputs = {**_public(reported, drop_headers=True), **outputs}
        outputs.setdefault("error", run.error.message)
        outputs.setdefault("status", code if code != DONE[0] else INTERNAL_ERROR[0])
    entry.update(
        inputs=_public(struct(run.inputs)),
        outputs=outputs,
        status=code,
        statusMessage=message,
        isActive=active,
    )
    return entry


def _public(values: dict[str, Any], *, drop_headers: bool = False) -> dict[str, Any]:
    return {
        k: v
        for k, v in values.items()
        if not k.startswith("__") and not (drop_headers and k.startswith("header."))
    }


def _last_time(runs: list[Any], activation: Any) -> str:
    times = [timestamp(r.end_time) or timestamp(r.start_time) for r in runs]
    return max([t for t in times if t], default=timestamp(activation.create_time))
