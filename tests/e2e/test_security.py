"""Security from the outside: real plane processes, the CLI as a subprocess, real tokens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import assert_eventually, free_port
from tests.e2e.planes import PlaneProcess

pytestmark = pytest.mark.timeout(120)


def cli(*args: str, server: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARTITA_")}
    env["PARTITA_SERVER"] = server
    if token:
        env["PARTITA_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "partita.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def serving(plane: PlaneProcess) -> None:
    async def healthy() -> bool:
        assert plane.process is not None and plane.process.poll() is None, (
            plane.log_path.read_text()
        )
        return cli("health", server=plane.address).returncode == 0

    await assert_eventually(healthy, within=30)


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[PlaneProcess]:
    process = PlaneProcess(tmp_path / "plane.db", "--require-auth", "--http-listen", "off")
    try:
        yield process
    finally:
        process.close()


async def test_tokens_roles_and_audit_through_the_cli(plane: PlaneProcess, tmp_path: Path) -> None:
    made = cli(
        "token",
        "create",
        "root",
        "--namespace",
        "*",
        "--role",
        "admin",
        "--db",
        str(plane.db),
        server=plane.address,
    )
    assert made.returncode == 0, made.stderr
    root = made.stdout.strip()
    assert root.startswith("pt_")
    plane.start()
    await serving(plane)
    assert "authentication required" in plane.log_path.read_text()

    for token in (None, "pt_wrong"):
        refused = cli("list", "campaigns", server=plane.address, token=token)
        assert refused.returncode == 2
        assert "UNAUTHENTICATED" in refused.stderr

    made = cli(
        "token",
        "create",
        "ci",
        "--namespace",
        "team",
        "--role",
        "operator",
        "-o",
        "json",
        server=plane.address,
        token=root,
    )
    assert made.returncode == 0, made.stderr
    ci = json.loads(made.stdout)["secret"]
    assert cli("list", "activations", "-n", "team", server=plane.address, token=ci).returncode == 0
    denied = cli(
        "token", "create", "x", "-n", "team", "--role", "admin", server=plane.address, token=ci
    )
    assert denied.returncode == 2
    assert "PERMISSION_DENIED" in denied.stderr and "tokens.write" in denied.stderr
    other = cli("list", "activations", "-n", "elsewhere", server=plane.address, token=ci)
    assert other.returncode == 2 and "PERMISSION_DENIED" in other.stderr

    listed = cli("token", "list", "-n", "team", server=plane.address, token=root)
    assert "ci" in listed.stdout and "operator" in listed.stdout and ci not in listed.stdout
    revoked = cli("token", "revoke", "ci", "-n", "team", server=plane.address, token=root)
    assert revoked.returncode == 0, revoked.stderr
    gone = cli("list", "activations", "-n", "team", server=plane.address, token=ci)
    assert gone.returncode == 2 and "UNAUTHENTICATED" in gone.stderr

    audit = cli("audit", "-n", "team", "-o", "json", server=plane.address, token=root)
    assert audit.returncode == 0, audit.stderr
    records = [
        (r["identity"], r["rpc"].rsplit("/", 1)[1], r["result"]) for r in json.loads(audit.stdout)
    ]
    assert ("token:root", "CreateToken", "OK") in records
    assert ("token:ci", "CreateToken", "PERMISSION_DENIED") in records
    assert ("token:root", "RevokeToken", "OK") in records
    assert cli("audit", "-n", "team", server=plane.address, token=ci).returncode == 2
    plane.stop()
    raw = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("plane.db*")))  # noqa: ASYNC240
    assert root.encode() not in raw and ci.encode() not in raw


async def test_a_loopback_plane_runs_open_and_says_so(tmp_path: Path) -> None:
    plane = PlaneProcess(tmp_path / "plane.db", "--http-listen", "off")
    try:
        plane.start()
        await serving(plane)
        assert cli("list", "campaigns", server=plane.address).returncode == 0
        assert "running OPEN" in plane.log_path.read_text()
    finally:
        plane.close()


async def test_a_plane_on_a_public_address_requires_credentials(tmp_path: Path) -> None:
    public = f"0.0.0.0:{free_port()}"
    plane = PlaneProcess(tmp_path / "plane.db", "--listen", public, "--http-listen", "off")
    try:
        plane.start()
        await serving(plane)
        refused = cli("list", "campaigns", server=plane.address)
        assert refused.returncode == 2 and "UNAUTHENTICATED" in refused.stderr
        assert "authentication required" in plane.log_path.read_text()
    finally:
        plane.close()
    insecure = PlaneProcess(
        tmp_path / "other.db",
        "--listen",
        f"0.0.0.0:{free_port()}",
        "--insecure",
        "--http-listen",
        "off",
        log=tmp_path / "other.log",
    )
    try:
        insecure.start()
        await serving(insecure)
        assert cli("list", "campaigns", server=insecure.address).returncode == 0
        assert "running OPEN" in insecure.log_path.read_text()
        assert "--insecure" in insecure.log_path.read_text()
    finally:
        insecure.close()


async def test_an_approval_survives_a_sigkill_while_it_waits(tmp_path: Path) -> None:
    from partita.v1 import campaign_pb2, campaign_pb2_grpc
    from tests.api.plane_client import struct

    spec = {
        "firstStage": "approve",
        "stages": {
            "approve": {
                "provider": "approval",
                "config": {"fields": {"ticket": {"type": "string", "required": True}}},
                "stageSelector": "deploy",
            },
            "deploy": {"provider": "mock"},
        },
    }
    plane = PlaneProcess(tmp_path / "plane.db", "--http-listen", "off")
    try:
        plane.start()
        channel = await plane.channel()
        await campaign_pb2_grpc.CampaignServiceStub(channel).CreateCampaign(
            campaign_pb2.CreateCampaignRequest(name="rollout", spec=struct(spec))
        )
        await channel.close()
        started = cli("activate", "rollout", "--id", "r1", server=plane.address)
        assert started.returncode == 0, started.stderr
        plane.kill()
        plane.start()
        await serving(plane)
        held = cli("get", "activation", "r1", "-o", "json", server=plane.address)
        assert json.loads(held.stdout)["currentStage"] == "approve"
        missing = cli("approve", "r1", "approve", server=plane.address)
        assert missing.returncode == 2 and "fields.ticket" in missing.stderr
        answered = cli("approve", "r1", "approve", "--field", "ticket=CHG-9", server=plane.address)
        assert answered.returncode == 0, answered.stderr

        async def completed() -> dict[str, object] | None:
            got = cli("get", "activation", "r1", "-o", "json", server=plane.address)
            found: dict[str, object] = json.loads(got.stdout)
            return found if found["status"] == "ACTIVATION_STATUS_COMPLETED" else None

        done = await assert_eventually(completed, within=30)
        assert done["outputs"]["approve"]["fields"] == {"ticket": "CHG-9"}  # type: ignore[index]
        assert done["outputs"]["approve"]["by"] == "anonymous"  # type: ignore[index]
        history = cli("history", "r1", "-o", "json", server=plane.address)
        assert "CHG-9" in history.stdout and "anonymous" in history.stdout
    finally:
        plane.close()
