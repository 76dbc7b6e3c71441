"""``providers.stage.script``: a script run with the stage's inputs as a JSON file.

The inputs are written to ``<stagingFolder>/<id>.json``; ``<scriptFolder>/<script>`` runs
with that path as its argument (``bash``, or ``pwsh`` with ``scriptEngine: powershell``);
``<stagingFolder>/<id>-output.json``, which the script writes, holds the outputs (an
``{"status": 403}`` there fails the stage). A non-zero exit fails the stage with the
script's last lines of standard error. Cancelling the stage kills the script.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from partita.providers.base import StageCall, StageError

ENGINES = {"bash": ["bash"], "powershell": ["pwsh", "-File"]}


class SymphonyScriptProvider:
    """Symphony's script stage provider; see the module docstring."""

    name = "symphony.script"
    instant = False

    async def run(self, call: StageCall) -> dict[str, Any]:
        config = call.config
        script = str(config.get("script") or "")
        if not script:
            raise StageError("config.script is required", type="BadConfig", non_retryable=True)
        folder = str(config.get("scriptFolder") or ".")
        if re.match(r"^[a-z]+://", folder):
            raise StageError(
                "a remote scriptFolder is not supported: give a local folder",
                type="BadConfig",
                non_retryable=True,
            )
        engine = ENGINES.get(str(config.get("scriptEngine") or "bash"))
        if engine is None:
            raise StageError(
                f"scriptEngine {config.get('scriptEngine')!r} is not bash or powershell",
                type="BadConfig",
                non_retryable=True,
            )
        stem = re.sub(r"[^\w.-]", "_", f"{call.activation_id}-{call.stage}-{call.attempt}")
        path, staging, inputs_file, outputs_file = await asyncio.to_thread(
            _stage_files,
            Path(folder) / script,
            Path(str(config.get("stagingFolder") or tempfile.gettempdir())),
            f"{stem}-{os.getpid()}",
            json.dumps(call.inputs),
        )
        try:
            process = await asyncio.create_subprocess_exec(
                *engine,
                str(path),
                str(inputs_file),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=str(staging),
            )
            try:
                _, stderr = await process.communicate()
            except asyncio.CancelledError:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
                raise
            if process.returncode != 0:
                tail = stderr.decode(errors="replace").strip().splitlines()[-5:]
                raise StageError(
                    f"script {script} exited with {process.returncode}: {' | '.join(tail)}",
                    type="ScriptExecutionFailed",
                    non_retryable=True,
                )
            outputs = await asyncio.to_thread(_read_outputs, outputs_file)
            return outputs
        finally:
            await asyncio.to_thread(_remove, inputs_file, outputs_file)

    async def aclose(self) -> None:
        return None


def _stage_files(
    script: Path, staging: Path, stem: str, inputs: str
) -> tuple[Path, Path, Path, Path]:
    """Check the script, write the inputs file; the paths of both files."""
    if not script.is_file():
        raise StageError(f"script {str(script)!r} not found", type="BadConfig", non_retryable=True)
    staging.mkdir(parents=True, exist_ok=True)
    inputs_file, outputs_file = staging / f"{stem}.json", staging / f"{stem}-output.json"
    inputs_file.write_text(inputs)
    outputs_file.unlink(missing_ok=True)
    return script, staging, inputs_file, outputs_file


def _read_outputs(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        outputs = json.loads(path.read_text())
    except ValueError as exc:
        raise StageError(
            f"{path.name} is not JSON: {exc}", type="ScriptExecutionFailed", non_retryable=True
        ) from None
    if not isinstance(outputs, dict):
        raise StageError(
            f"{path.name} must hold a JSON object", type="ScriptExecutionFailed", non_retryable=True
        )
    return outputs


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
