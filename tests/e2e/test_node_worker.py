"""Any language, proven: a Node.js worker (grpc-js on our protos, unmodified) works a task queue."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from tests.conftest import assert_eventually
from tests.e2e.planes import PlaneProcess

ROOT = Path(__file__).resolve().parents[2]
PROTOS = ROOT / "protos"
NODE_WORKER = Path(__file__).with_name("node_worker")
NODE = shutil.which("node")
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None,
    reason="the Node.js worker test needs `node` and `npm` on PATH; "
    f"not found: {', '.join(n for n, p in (('node', NODE), ('npm', NPM)) if p is None)}",
)

QUEUE = "polyglot"
CAMPAIGN = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: polyglot}
spec:
  firstStage: add
  stages:
    add:
      provider: worker
      taskQueue: polyglot
      taskType: add
      inputs: {a: "${{ inputs.a }}", b: "${{ inputs.b }}"}
      stageSelector: "${{ inputs.explode ? 'explode' : '' }}"
    explode: {provider: worker, taskQueue: polyglot, taskType: explode}
"""
# Activation id -> (a, b, explode). Default retry policy: unlimited attempts, so only the
# worker's `nonRetryable` keeps `explode` from being retried.
ACTIVATIONS = {
    "small": (1, 2, False),
    "answer": (20, 22, False),
    "fraction": (-5, 0.5, False),
    "boom": (3, 4, True),
}
TASKS = sum(2 if explode else 1 for _, _, explode in ACTIVATIONS.values())


def _installed_matches_lock() -> bool:
    """Whether node_modules holds exactly what package-lock.json pins (npm's hidden lockfile)."""
    hidden = NODE_WORKER / "node_modules" / ".package-lock.json"
    if not hidden.exists():
        return False

    def pins(lockfile: Path) -> dict[str, tuple[str, str]]:
        packages = json.loads(lockfile.read_text())["packages"]
        return {
            name: (spec.get("version", ""), spec.get("integrity", ""))
            for name, spec in packages.items()
            if name
        }

    return pins(hidden) == pins(NODE_WORKER / "package-lock.json")


@pytest.fixture(scope="session")
def node_worker() -> Path:
    """worker.js, with its node_modules installed from the lockfile (once per session)."""
    if not _installed_matches_lock():
        assert NPM is not None
        result = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_WORKER,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    return NODE_WORKER / "worker.js"


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[PlaneProcess]:
    process = PlaneProcess(tmp_path / "plane.db", "--poll-timeout", "1s")
    process.start()
    yield process
    process.close()


def _plain(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message)


async def _history(channel: grpc.aio.Channel, activation_id: str) -> list[common_pb2.Event]:
    answer = await AG.ActivationServiceStub(channel).GetActivationHistory(
        A.GetActivationHistoryRequest(activation_id=activation_id)
    )
    return list(answer.events)


@pytest.mark.timeout(300)  # npm ci on a cold cache; the test itself takes a few seconds
async def test_a_node_worker_polls_and_completes_stage_tasks(
    node_worker: Path, plane: PlaneProcess, tmp_path: Path
) -> None:
    channel = await plane.channel()
    await CG.CampaignServiceStub(channel).CreateCampaign(C.CreateCampaignRequest(document=CAMPAIGN))
    log_path = tmp_path / "node.log"
    assert NODE is not None
    with log_path.open("wb") as log:
        node = await asyncio.create_subprocess_exec(
            *(NODE, str(node_worker), "--server", plane.address, "--protos", str(PROTOS)),
            *("--queue", QUEUE, "--tasks", str(TASKS)),
            cwd=NODE_WORKER,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def node_log() -> str:
        return log_path.read_text(errors="replace")

    try:
        activations = AG.ActivationServiceStub(channel)
        for activation_id, (a, b, explode) in ACTIVATIONS.items():
            inputs = json_format.ParseDict(
                {"a": a, "b": b, "explode": explode}, A.StartActivationRequest().inputs
            )
            await activations.StartActivation(
                A.StartActivationRequest(
                    campaign="polyglot", activation_id=activation_id, inputs=inputs
                )
            )

        async def all_closed() -> dict[str, A.Activation] | None:
            if node.returncode:
                raise AssertionError(f"the node worker failed:\n{node_log()}")
            found = {}
            for activation_id in ACTIVATIONS:
                answer = await activations.GetActivation(
                    A.GetActivationRequest(activation_id=activation_id)
                )
                if answer.activation.status == common_pb2.ACTIVATION_STATUS_RUNNING:
                    return None
                found[activation_id] = answer.activation
            return found

        try:
            closed = await assert_eventually(all_closed, within=30)
        except AssertionError as error:
            raise AssertionError(f"{error}\nnode worker output:\n{node_log()}") from None

        for activation_id, (a, b, explode) in ACTIVATIONS.items():
            activation = closed[activation_id]
            assert _plain(activation.outputs)["add"] == {"sum": a + b, "worker": "node"}
            history = await _history(channel, activation_id)
            leased = [e for e in history if e.type == common_pb2.EVENT_TYPE_STAGE_TASK_LEASED]
            assert all(_plain(e.data)["identity"].startswith("node:") for e in leased)
            if not explode:
                assert activation.status == common_pb2.ACTIVATION_STATUS_COMPLETED, node_log()
                continue
            # Non-retryable: the first failure ends the stage run and the activation.
            assert activation.status == common_pb2.ACTIVATION_STATUS_FAILED, node_log()
            kinds = [common_pb2.EventType.Name(e.type).removeprefix("EVENT_TYPE_") for e in history]
            assert "STAGE_RETRY_SCHEDULED" not in kinds
            [failed] = [e for e in history if e.type == common_pb2.EVENT_TYPE_STAGE_FAILED]
            assert failed.stage == "explode"
            data = _plain(failed.data)
            assert data["attempt"] == 1
            assert data["failure"]["type"] == "Explode"
            assert data["failure"]["nonRetryable"] is True
            assert "the explode task always explodes" in activation.status_message

        # The worker stops by itself after its tasks, and cleanly.
        assert await asyncio.wait_for(node.wait(), 15) == 0, node_log()
        assert f"done after {TASKS} task(s)" in node_log()
    finally:
        if node.returncode is None:
            node.kill()
            await asyncio.wait_for(node.wait(), 10)
        await channel.close()
    assert plane.stop() == 0
