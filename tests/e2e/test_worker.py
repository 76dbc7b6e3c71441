"""The Python worker SDK and ``partita worker`` against a real plane process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format, struct_pb2

from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from partita.worker import NonRetryableError, TaskContext, Worker, WorkerState
from tests.conftest import assert_eventually
from tests.e2e.planes import PlaneProcess

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).with_name("handlers_sample.py")
OPEN = (common_pb2.ACTIVATION_STATUS_RUNNING, common_pb2.ACTIVATION_STATUS_PAUSED)
QUICK_RETRY = {"maximumAttempts": 3, "initialInterval": "100ms"}


@dataclass
class Api:
    address: str
    campaigns: Any
    activations: Any

    async def start(
        self, stages: dict[str, Any], first: str, inputs: dict[str, Any] | None = None
    ) -> str:
        """Create a campaign of ``stages`` and start an activation of it; its id."""
        name = f"c-{uuid.uuid4().hex[:8]}"
        document = {
            "apiVersion": "partita/v1",
            "kind": "Campaign",
            "metadata": {"name": name},
            "spec": {"firstStage": first, "stages": stages},
        }
        await self.campaigns.CreateCampaign(C.CreateCampaignRequest(document=json.dumps(document)))
        struct = struct_pb2.Struct()
        struct.update(inputs or {})
        started = await self.activations.StartActivation(
            A.StartActivationRequest(campaign=name, inputs=struct)
        )
        activation_id: str = started.activation.id
        return activation_id

    async def get(self, activation_id: str) -> Any:
        answer = await self.activations.GetActivation(
            A.GetActivationRequest(activation_id=activation_id)
        )
        return answer.activation

    async def final(self, activation_id: str) -> Any:
        async def closed() -> Any:
            activation = await self.get(activation_id)
            return activation if activation.status not in OPEN else None

        return await assert_eventually(closed, within=30)


def stage(queue: str, task_type: str, **extra: Any) -> dict[str, Any]:
    return {"provider": "worker", "taskQueue": queue, "taskType": task_type, **extra}


def outputs(activation: Any) -> dict[str, Any]:
    found: dict[str, Any] = json_format.MessageToDict(activation.outputs)
    return found


def new_queue() -> str:
    return f"q-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaneProcess]:
    process = PlaneProcess(tmp_path_factory.mktemp("plane") / "plane.db", "--worker-ttl", "2s")
    process.start()
    try:
        yield process
        assert process.stop() == 0
    finally:
        process.close()


@pytest.fixture
async def api(plane: PlaneProcess) -> AsyncIterator[Api]:
    channel = await plane.channel()
    try:
        yield Api(plane.address, CG.CampaignServiceStub(channel), AG.ActivationServiceStub(channel))
    finally:
        await channel.close()


# -- the SDK in process ----------------------------------------------------------------------


async def test_sync_and_async_handlers_complete_stages(api: Api) -> None:
    queue = new_queue()
    threads: list[int] = []

    def add(inputs: dict[str, Any]) -> dict[str, Any]:
        threads.append(threading.get_ident())
        return {"sum": inputs["a"] + inputs["b"]}

    async def describe(inputs: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
        ctx.heartbeat({"working": True})
        task = ctx.task
        return {
            "text": f"sum is {inputs['sum']}",
            "who": [task.activation_id, task.stage, task.task_type, task.attempt, task.task_queue],
            "heartbeatTimeout": task.heartbeat_timeout.total_seconds()
            if task.heartbeat_timeout
            else None,
            "deadline": task.start_to_close_deadline is not None,
            "cancelled": ctx.cancelled,
        }

    stages = {
        "add": stage(queue, "add", inputs={"a": "${{ inputs.a }}", "b": 2}, stageSelector="say"),
        "say": stage(
            queue,
            "describe",
            inputs={"sum": "${{ outputs.add.sum }}"},
            timeouts={"startToClose": "1m", "heartbeat": "30s"},
            stageSelector="scalar",
        ),
        "scalar": stage(queue, "scalar", stageSelector="nothing"),
        "nothing": stage(queue, "nothing"),
    }
    handlers = {"add": add, "describe": describe, "scalar": lambda _: 42, "nothing": lambda _: None}
    worker = Worker(api.address, queue, handlers, identity="sdk-basic")
    assert worker.state is WorkerState.NEW
    async with worker:
        assert worker.state is WorkerState.RUNNING
        activation_id = await api.start(stages, "add", {"a": 3})
        final = await api.final(activation_id)
    assert worker.state is WorkerState.STOPPED
    assert final.status == common_pb2.ACTIVATION_STATUS_COMPLETED, final.status_message
    got = outputs(final)
    assert got["add"] == {"sum": 5}
    assert got["say"] == {
        "text": "sum is 5",
        "who": [activation_id, "say", "describe", 1, queue],
        "heartbeatTimeout": 30,
        "deadline": True,
        "cancelled": False,
    }
    assert got["scalar"] == {"result": 42}
    assert got["nothing"] == {}
    assert threads and threads[0] != threading.get_ident()  # sync handlers run off the loop


async def test_heartbeats_from_a_sync_handler_keep_its_lease(api: Api) -> None:
    queue = new_queue()
    release = threading.Event()
    beats: list[int] = []

    def long(inputs: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
        while not release.wait(0.1):
            ctx.heartbeat({"beat": len(beats)})
            beats.append(len(beats))
        return {"beats": len(beats)}

    # No automatic heartbeat within the test: only the handler's keep the 1s lease alive.
    worker = Worker(api.address, queue, {"long": long}, heartbeat_interval=3600)
    stages = {
        "long": stage(queue, "long", timeouts={"heartbeat": "1s"}, retry={"maximumAttempts": 1})
    }
    async with worker:
        activation_id = await api.start(stages, "long")

        async def beaten_for_3s() -> bool:
            return len(beats) >= 30

        await assert_eventually(beaten_for_3s)
        release.set()
        final = await api.final(activation_id)
    assert final.status == common_pb2.ACTIVATION_STATUS_COMPLETED, final.status_message
    assert [run.attempt for run in final.stage_runs] == [1]


async def test_non_retryable_error_fails_the_activation_at_once(api: Api) -> None:
    queue = new_queue()
    calls: list[int] = []

    async def refuse(inputs: dict[str, Any]) -> None:
        calls.append(1)
        raise NonRetryableError("no such ref", type="BadRef", details={"ref": inputs["ref"]})

    stages = {"build": stage(queue, "build", inputs={"ref": "v9"}, retry=QUICK_RETRY)}
    async with Worker(api.address, queue, {"build": refuse}):
        final = await api.final(await api.start(stages, "build"))
    assert final.status == common_pb2.ACTIVATION_STATUS_FAILED
    assert calls == [1]
    [run] = final.stage_runs
    assert (run.attempt, run.error.type, run.error.message) == (1, "BadRef", "no such ref")
    assert run.error.non_retryable
    assert json_format.MessageToDict(run.error.details) == {"ref": "v9"}


async def test_a_raising_handler_is_retried_then_fails(api: Api) -> None:
    queue = new_queue()
    attempts: list[int] = []

    def flaky(inputs: dict[str, Any], ctx: TaskContext) -> None:
        attempts.append(ctx.task.attempt)
        raise ValueError(f"boom {ctx.task.attempt}")

    stages = {"flaky": stage(queue, "flaky", retry=QUICK_RETRY)}
    async with Worker(api.address, queue, {"flaky": flaky}):
        final = await api.final(await api.start(stages, "flaky"))
    assert final.status == common_pb2.ACTIVATION_STATUS_FAILED
    assert attempts == [1, 2, 3]
    assert final.stage_runs[-1].attempt == 3
    error = final.stage_runs[-1].error
    assert (error.type, error.message, error.non_retryable) == ("ValueError", "boom 3", False)
    assert "ValueError: boom 3" in json_format.MessageToDict(error.details)["traceback"]


async def test_a_task_type_without_handler_fails_for_good(api: Api) -> None:
    queue = new_queue()
    stages = {"odd": stage(queue, "mystery", retry=QUICK_RETRY)}
    async with Worker(api.address, queue, {"known": lambda _: None}):
        final = await api.final(await api.start(stages, "odd"))
    assert final.status == common_pb2.ACTIVATION_STATUS_FAILED
    [run] = final.stage_runs
    assert (run.attempt, run.error.type, run.error.non_retryable) == (1, "UnknownTaskType", True)
    assert "mystery" in run.error.message


async def test_cancel_reaches_running_handlers_through_heartbeats(api: Api) -> None:
    queue = new_queue()
    started: set[str] = set()
    seen: dict[str, bool] = {}

    async def waits(inputs: dict[str, Any], ctx: TaskContext) -> None:
        started.add("async")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen["async"] = ctx.cancelled
            raise

    def spins(inputs: dict[str, Any], ctx: TaskContext) -> dict[str, Any]:
        started.add("sync")
        while not ctx.cancelled:
            time.sleep(0.02)
        seen["sync"] = ctx.cancelled
        return {"ignored": True}

    watched = {"timeouts": {"heartbeat": "1s"}}
    worker = Worker(api.address, queue, {"waits": waits, "spins": spins})
    runner = asyncio.create_task(worker.run())
    try:
        first = await api.start({"w": stage(queue, "waits", **watched)}, "w")
        second = await api.start({"s": stage(queue, "spins", **watched)}, "s")

        async def both_started() -> bool:
            return started == {"async", "sync"}

        await assert_eventually(both_started)
        for activation_id in (first, second):
            await api.activations.CancelActivation(
                A.CancelActivationRequest(activation_id=activation_id, reason="enough")
            )

        async def both_stopped() -> bool:
            return seen == {"async": True, "sync": True}

        await assert_eventually(both_stopped)
        for activation_id in (first, second):
            final = await api.final(activation_id)
            assert final.status == common_pb2.ACTIVATION_STATUS_CANCELLED
            assert "ignored" not in json.dumps(outputs(final))
    finally:
        await worker.shutdown(grace=5)
        await runner
    assert worker.state is WorkerState.STOPPED


async def test_shutdown_cancels_what_outlives_the_grace(api: Api) -> None:
    queue = new_queue()
    started = asyncio.Event()

    async def forever(inputs: dict[str, Any]) -> None:
        started.set()
        await asyncio.Event().wait()

    stages = {"f": stage(queue, "forever", retry={"maximumAttempts": 1})}
    worker = Worker(api.address, queue, {"forever": forever})
    runner = asyncio.create_task(worker.run())
    activation_id = await api.start(stages, "f")
    await asyncio.wait_for(started.wait(), 20)
    await asyncio.gather(worker.shutdown(grace=0.2), worker.shutdown(grace=0.2))
    await runner
    await worker.shutdown()  # idempotent
    assert worker.state is WorkerState.STOPPED
    final = await api.final(activation_id)
    assert final.status == common_pb2.ACTIVATION_STATUS_FAILED
    assert final.stage_runs[0].error.type == "WorkerShutdown"


# -- partita worker and partita list workers -------------------------------------------------


def cli(*args: str, server: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "partita.cli.main", *args, "--server", server],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PARTITA_SERVER"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    return env


def start_worker(log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``partita worker --handlers tests/e2e/handlers_sample.py ARGS``, output to ``log``."""
    handlers = str(SAMPLE.relative_to(ROOT))
    command = [sys.executable, "-m", "partita.cli.main", "worker", "--handlers", handlers, *args]
    with log.open("wb") as sink:
        return subprocess.Popen(
            command, cwd=ROOT, env=_env(), stdout=sink, stderr=subprocess.STDOUT
        )


def listed(server: str, queue: str) -> list[dict[str, Any]]:
    result = cli("list", "workers", "--queue", queue, "-o", "json", server=server)
    assert result.returncode == 0, result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)["workers"]
    return found


async def test_partita_worker_runs_a_module_and_stops_on_sigterm(api: Api, tmp_path: Path) -> None:
    queue = new_queue()
    identity = f"cli-{queue}"
    log = tmp_path / "worker.log"
    process = start_worker(log, "--queue", queue, "--identity", identity, "--server", api.address)
    try:
        stages = {
            "add": stage(queue, "add", inputs={"a": 1, "b": 2}, stageSelector="greet"),
            "greet": stage(queue, "greet", inputs={"name": "${{ string(outputs.add.sum) }}"}),
        }
        final = await api.final(await api.start(stages, "add"))
        assert final.status == common_pb2.ACTIVATION_STATUS_COMPLETED, log.read_text()
        assert outputs(final) == {
            "add": {"sum": 3},
            "greet": {"greeting": "hello 3", "stage": "greet"},
        }

        [shown] = listed(api.address, queue)
        assert shown["identity"] == identity
        assert shown["taskQueues"] == [queue]
        table = cli("list", "workers", "--queue", queue, server=api.address)
        header, row = table.stdout.splitlines()
        assert header.split() == ["IDENTITY", "QUEUES", "LAST", "SEEN", "IN", "FLIGHT"]
        assert row.split()[:2] == [identity, queue]

        started, release = tmp_path / "started", tmp_path / "release"
        inputs = {"started": str(started), "release": str(release)}
        slow_id = await api.start({"slow": stage(queue, "slow", inputs=inputs)}, "slow")

        async def running() -> bool:
            return started.exists()

        await assert_eventually(running)
        process.send_signal(signal.SIGTERM)

        async def draining() -> bool:
            return "SIGTERM: shutting down" in log.read_text()

        await assert_eventually(draining)
        assert process.poll() is None  # still finishing its task
        release.write_text("go")
        assert await asyncio.to_thread(process.wait, 30) == 0, log.read_text()
        final = await api.final(slow_id)
        assert final.status == common_pb2.ACTIVATION_STATUS_COMPLETED
        assert outputs(final)["slow"] == {"released": True, "cancelled": False}

        async def gone() -> bool:
            return not listed(api.address, queue)

        await assert_eventually(gone)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


async def test_a_worker_outlives_a_plane_restart(tmp_path: Path) -> None:
    plane = PlaneProcess(tmp_path / "plane.db")
    plane.start()
    try:
        channel = await plane.channel()
        api = Api(plane.address, CG.CampaignServiceStub(channel), AG.ActivationServiceStub(channel))
        stages = {"add": stage("restarts", "add", inputs={"a": "${{ inputs.a }}", "b": 1})}

        def add(inputs: dict[str, Any]) -> dict[str, Any]:
            return {"sum": inputs["a"] + inputs["b"]}

        async with Worker(plane.address, "restarts", {"add": add}) as worker:
            before = await api.final(await api.start(stages, "add", {"a": 1}))
            await channel.close()
            plane.kill()
            plane.start()
            channel = await plane.channel()
            api = Api(
                plane.address, CG.CampaignServiceStub(channel), AG.ActivationServiceStub(channel)
            )
            after = await api.final(await api.start(stages, "add", {"a": 2}))
            assert worker.state is WorkerState.RUNNING
        await channel.close()
        assert outputs(before) == {"add": {"sum": 2}}
        assert after.status == common_pb2.ACTIVATION_STATUS_COMPLETED, after.status_message
        assert outputs(after) == {"add": {"sum": 3}}
        assert plane.stop() == 0
    finally:
        plane.close()


async def test_a_killed_workers_task_is_completed_once_by_another(api: Api, tmp_path: Path) -> None:
    queue = new_queue()
    started, release = tmp_path / "started", tmp_path / "release"
    doomed = start_worker(
        tmp_path / "doomed.log", "--queue", queue, "--identity", "doomed", "--server", api.address
    )
    rescuer: subprocess.Popen[bytes] | None = None
    try:
        slow = stage(
            queue,
            "slow",
            inputs={"started": str(started), "release": str(release)},
            timeouts={"heartbeat": "1s"},
            retry={"initialInterval": "100ms"},
        )
        activation_id = await api.start({"slow": slow}, "slow")

        async def running() -> bool:
            return started.exists()

        await assert_eventually(running)
        doomed.send_signal(signal.SIGKILL)  # in the middle of its task
        doomed.wait(10)
        release.write_text("go")
        rescuer = start_worker(
            tmp_path / "rescuer.log",
            "--queue",
            queue,
            "--identity",
            "rescuer",
            "--server",
            api.address,
        )
        final = await api.final(activation_id)
        assert final.status == common_pb2.ACTIVATION_STATUS_COMPLETED
        history = await api.activations.GetActivationHistory(
            A.GetActivationHistoryRequest(activation_id=activation_id)
        )
        kinds = [
            common_pb2.EventType.Name(e.type).removeprefix("EVENT_TYPE_") for e in history.events
        ]
        leases = [
            json_format.MessageToDict(e.data)["identity"]
            for e in history.events
            if e.type == common_pb2.EVENT_TYPE_STAGE_TASK_LEASED
        ]
        assert leases == ["doomed", "rescuer"]
        assert kinds.count("STAGE_TIMED_OUT") == 1  # the dead worker's heartbeat stopped
        assert kinds.count("STAGE_COMPLETED") == 1
    finally:
        for process in (doomed, rescuer):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
