"""A batch cancel over hundreds of activations goes on through a SIGKILL of the plane."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from tests.e2e.planes import PlaneProcess
from tests.e2e.test_cli import cli, eventually

ACTIVATIONS = 300
CAMPAIGN = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: waiter}
spec:
  firstStage: wait
  stages:
    wait: {provider: wait, config: {event: go}}
"""


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[PlaneProcess]:
    process = PlaneProcess(tmp_path / "batch.db")
    yield process
    process.close()


def batch(server: str, batch_id: str) -> dict[str, Any]:
    result = cli("batch", "get", batch_id, "-o", "json", server=server)
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


async def test_batch_cancel_finishes_through_a_sigkill(plane: PlaneProcess) -> None:
    plane.start()
    channel = await plane.channel()
    await CG.CampaignServiceStub(channel).CreateCampaign(C.CreateCampaignRequest(document=CAMPAIGN))
    stub = AG.ActivationServiceStub(channel)
    for chunk in range(0, ACTIVATIONS, 50):
        await asyncio.gather(
            *(
                stub.StartActivation(
                    A.StartActivationRequest(campaign="waiter", activation_id=f"a{n}")
                )
                for n in range(chunk, chunk + 50)
            )
        )
    await channel.close()
    server = plane.address
    started = cli(
        "batch", "cancel", "--campaign", "waiter", "--id", "sweep", "--rate", "60",
        "--reason", "sweep", server=server,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("batch/sweep RUNNING")

    def some_progress_saved() -> dict[str, Any] | None:
        found = batch(server, "sweep")
        return found if int(found.get("done", 0)) >= 50 else None

    before = eventually(some_progress_saved, what="the first page of the batch saved")
    plane.kill()
    assert before["status"] == "BATCH_STATUS_RUNNING"
    assert int(before["done"]) < ACTIVATIONS

    plane.start()
    eventually(lambda: cli("health", server=server).returncode == 0, what="serving again")
    waited = cli("batch", "get", "sweep", "--wait", server=server)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.startswith(f"batch/sweep COMPLETED: {ACTIVATIONS} done, 0 skipped")

    channel = await plane.channel()
    stub = AG.ActivationServiceStub(channel)
    cancelled = 0
    token = ""
    while True:
        page = await stub.ListActivations(
            A.ListActivationsRequest(page_size=500, page_token=token, campaign="waiter")
        )
        cancelled += sum(
            a.status == common_pb2.ACTIVATION_STATUS_CANCELLED for a in page.activations
        )
        token = page.next_page_token
        if not token:
            break
    assert cancelled == ACTIVATIONS
    for n in (0, 150, 299):  # each was cancelled once, even those of the page the kill cut
        history = await stub.GetActivationHistory(
            A.GetActivationHistoryRequest(activation_id=f"a{n}")
        )
        types = [common_pb2.EventType.Name(e.type) for e in history.events]
        assert types.count("EVENT_TYPE_CANCEL_REQUESTED") == 1
    await channel.close()
    listed = cli("batch", "list", server=server)
    assert "sweep" in listed.stdout and "COMPLETED" in listed.stdout
