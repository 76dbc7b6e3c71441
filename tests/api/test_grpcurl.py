"""The plane through the real ``grpcurl`` binary: reflection, JSON requests, JSON answers."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from tests.api.plane_client import Api
from tests.conftest import assert_eventually

GRPCURL = Path(sys.executable).parent / "grpcurl"


async def grpcurl(api: Api, *args: str, data: Any = None, ok: bool = True) -> tuple[int, str]:
    """Run grpcurl against the plane; its exit code and output (stdout, then stderr)."""
    command = [str(GRPCURL), "-plaintext"]
    if data is not None:
        command += ["-d", json.dumps(data)]
    command += [f"127.0.0.1:{api.port}", *args]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(30):
        out, err = await process.communicate()
    assert process.returncode is not None
    if ok:
        assert process.returncode == 0, err.decode()
    return process.returncode, out.decode() + err.decode()


async def test_list_shows_every_service(api: Api) -> None:
    _, out = await grpcurl(api, "list")
    assert set(out.split()) == {
        "partita.v1.CampaignService",
        "partita.v1.ActivationService",
        "partita.v1.WorkerService",
        "partita.v1.ScheduleService",
        "partita.v1.BatchService",
        "partita.v1.ReplicaService",
        "partita.v1.FederationService",
        "partita.v1.SecurityService",
        "partita.v1.ApprovalService",
        "partita.v1.NamespaceService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    }


async def test_describe_activation_service(api: Api) -> None:
    _, out = await grpcurl(api, "describe", "partita.v1.ActivationService")
    assert "partita.v1.ActivationService is a service" in out
    for rpc in (
        "StartActivation",
        "GetActivation",
        "ListActivations",
        "CancelActivation",
        "TerminateActivation",
        "SignalActivation",
        "AdvanceActivation",
        "GetActivationHistory",
    ):
        assert (
            f"rpc {rpc} ( .partita.v1.{rpc}Request ) returns ( .partita.v1.{rpc}Response )" in out
        )
    assert (
        "rpc WatchActivation ( .partita.v1.WatchActivationRequest ) "
        "returns ( stream .partita.v1.WatchActivationResponse )"
    ) in out


async def test_create_start_and_get_with_json(api: Api) -> None:
    spec = {"firstStage": "echo", "stages": {"echo": {"provider": "mock"}}}
    _, out = await grpcurl(
        api, "partita.v1.CampaignService/CreateCampaign", data={"name": "g", "spec": spec}
    )
    created = json.loads(out)
    assert created["created"] is True
    assert created["campaign"]["name"] == "g"
    assert created["campaign"]["version"] == 1
    assert created["campaign"]["spec"] == spec

    _, out = await grpcurl(
        api,
        "partita.v1.ActivationService/StartActivation",
        data={"campaign": "g", "activationId": "a1", "inputs": {"foo": "bar"}},
    )
    started = json.loads(out)
    assert started["started"] is True
    assert started["activation"]["id"] == "a1"
    assert started["activation"]["inputs"] == {"foo": "bar"}

    async def completed() -> dict[str, Any] | None:
        _, out = await grpcurl(
            api, "partita.v1.ActivationService/GetActivation", data={"activationId": "a1"}
        )
        activation: dict[str, Any] = json.loads(out)["activation"]
        return activation if activation["status"] == "ACTIVATION_STATUS_COMPLETED" else None

    activation = await assert_eventually(completed, within=20, interval=0.05)
    echo = activation["outputs"]["echo"]
    assert echo["foo"] == "bar"
    assert echo["__activation"] == "a1"
    assert echo["__campaign"] == "g"
    assert echo["__stage"] == "echo"
    # Reflection serves descriptors with json_name set, so grpcurl prints protobuf's JSON names.
    assert "stage_runs" not in activation and "current_stage" not in activation
    assert activation["currentStage"] == "echo"
    assert [r["status"] for r in activation["stageRuns"]] == ["STAGE_RUN_STATUS_COMPLETED"]


async def test_errors_reach_grpcurl_with_their_code(api: Api) -> None:
    code, out = await grpcurl(
        api,
        "partita.v1.ActivationService/GetActivation",
        data={"activationId": "missing"},
        ok=False,
    )
    assert code != 0
    assert "NotFound" in out
    assert "missing" in out
    code, out = await grpcurl(
        api, "partita.v1.ActivationService/StartActivation", data={"campaign": ""}, ok=False
    )
    assert code != 0
    assert "InvalidArgument" in out
    assert "campaign" in out
