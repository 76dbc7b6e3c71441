"""Schedules on a real ``partita site`` process: a 1-second schedule fires, stops while paused,
and survives SIGKILL (restarts in quick succession included) without doubling or losing a
fire; and the ``partita schedule`` commands."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from google.protobuf import duration_pb2

from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from partita.v1 import schedule_pb2 as S
from partita.v1 import schedule_pb2_grpc as SG
from tests.conftest import assert_eventually
from tests.e2e.planes import PlaneProcess

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: tick}
spec:
  firstStage: a
  stages:
    a: {provider: mock}
"""


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[PlaneProcess]:
    process = PlaneProcess(tmp_path / "schedules.db")
    yield process
    process.close()


async def prepare(plane: PlaneProcess) -> grpc.aio.Channel:
    """Start the plane, create the campaign and a 1-second schedule ``tick``."""
    plane.start()
    channel = await plane.channel()
    await CG.CampaignServiceStub(channel).CreateCampaign(C.CreateCampaignRequest(document=CAMPAIGN))
    body = S.Schedule(
        spec=S.ScheduleSpec(interval=duration_pb2.Duration(seconds=1)),
        action=S.ScheduleAction(campaign="tick"),
    )
    await SG.ScheduleServiceStub(channel).CreateSchedule(
        S.CreateScheduleRequest(schedule_id="tick", schedule=body)
    )
    return channel


def nominal(activation_id: str) -> int:
    moment = datetime.strptime(activation_id.removeprefix("tick-"), "%Y-%m-%dT%H:%M:%SZ")
    return int(moment.replace(tzinfo=UTC).timestamp())


async def fired(channel: grpc.aio.Channel) -> dict[int, int]:
    """Nominal time -> status of every activation the schedule started."""
    page = await AG.ActivationServiceStub(channel).ListActivations(
        A.ListActivationsRequest(campaign="tick", page_size=1000)
    )
    return {nominal(a.id): a.status for a in page.activations}


async def fired_after(channel: grpc.aio.Channel, moment: float, count: int = 1) -> dict[int, int]:
    async def enough() -> dict[int, int] | None:
        found = await fired(channel)
        return found if sum(1 for t in found if t > moment) >= count else None

    result: dict[int, int] = await assert_eventually(enough, within=20, interval=0.1)
    return result


async def test_a_one_second_schedule_fires_and_a_paused_one_does_not(
    plane: PlaneProcess,
) -> None:
    channel = await prepare(plane)
    schedules = SG.ScheduleServiceStub(channel)
    await fired_after(channel, 0, count=2)
    paused = await schedules.PauseSchedule(S.PauseScheduleRequest(schedule_id="tick", note="hush"))
    assert paused.schedule.state.paused
    before = await fired(channel)
    await asyncio.sleep(2.5)  # two and a half intervals of a paused schedule: nothing may start
    assert await fired(channel) == before
    resumed_at = time.time()
    await schedules.ResumeSchedule(S.ResumeScheduleRequest(schedule_id="tick"))
    after = await fired_after(channel, resumed_at)
    # Nothing for the paused seconds: between the last fire before the pause and the first
    # after the resume there is a gap.
    assert min(t for t in after if t not in before) > max(before) + 2
    await channel.close()
    assert plane.stop() == 0


async def test_sigkill_neither_doubles_nor_loses_a_fire(plane: PlaneProcess) -> None:
    channel = await prepare(plane)
    await fired_after(channel, 0, count=2)
    await channel.close()
    plane.kill()
    # Restarts in quick succession, each killed as soon as it serves (mid catch-up).
    for _ in range(2):
        plane.start()
        channel = await plane.channel()
        plane.kill()
        await channel.close()
    plane.start()
    channel = await plane.channel()
    await fired_after(channel, time.time(), count=2)
    schedules = SG.ScheduleServiceStub(channel)
    await schedules.PauseSchedule(S.PauseScheduleRequest(schedule_id="tick"))
    found = await fired(channel)
    info = (await schedules.GetSchedule(S.GetScheduleRequest(schedule_id="tick"))).schedule.info

    # Every second from the first fire to the last has exactly one activation: none was lost
    # in the downtime (all of it within the 1-minute catch-up window), none doubled.
    first, last = min(found), max(found)
    assert sorted(found) == list(range(first, last + 1))
    assert info.action_count == len(found)
    assert info.missed_catchup_window == 0

    async def all_completed() -> bool:
        statuses = await fired(channel)
        return set(statuses.values()) == {common_pb2.ACTIVATION_STATUS_COMPLETED}

    await assert_eventually(all_completed, within=10)
    await channel.close()
    assert plane.stop() == 0


def cli(server: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PARTITA_SERVER"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "partita.cli.main", "--server", server, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_schedule_commands(plane: PlaneProcess, tmp_path: Path) -> None:
    plane.start()
    channel = await plane.channel()
    server = plane.address
    document = tmp_path / "tick.yaml"
    document.write_text(CAMPAIGN)
    assert cli(server, "apply", "-f", str(document)).returncode == 0

    created = cli(
        server,
        "schedule",
        "create",
        "tick",
        "--campaign",
        "tick",
        "--every",
        "1s",
        "--input",
        "n=3",
        "--overlap",
        "buffer-one",
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("schedule/tick created")

    nightly = cli(
        server,
        "schedule",
        "create",
        "nightly",
        "--campaign",
        "tick",
        "--cron",
        "0 3 * * *",
        "--tz",
        "Europe/Berlin",
        "--jitter",
        "30s",
        "--max-actions",
        "5",
    )
    assert nightly.returncode == 0, nightly.stderr

    await fired_after(channel, 0)
    shown = cli(server, "schedule", "get", "tick", "-o", "json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["spec"]["interval"] == "1s"
    assert data["action"]["inputs"] == {"n": 3}
    assert data["policies"]["overlap"] == "OVERLAP_POLICY_BUFFER_ONE"
    assert data["info"]["recentActions"][0]["activationId"].startswith("tick-")

    table = cli(server, "schedule", "get", "nightly")
    assert "cron '0 3 * * *' (Europe/Berlin)" in table.stdout
    assert "remaining actions: 5" in table.stdout

    listed = cli(server, "schedule", "list")
    assert listed.returncode == 0
    rows = listed.stdout.splitlines()
    assert rows[0].split()[:3] == ["NAME", "SPEC", "CAMPAIGN"]
    assert [r.split()[0] for r in rows[1:]] == ["nightly", "tick"]

    paused = cli(server, "schedule", "pause", "tick", "--note", "maintenance")
    assert paused.returncode == 0 and "paused" in paused.stdout
    assert "paused: maintenance" in cli(server, "schedule", "get", "tick").stdout
    triggered = cli(server, "schedule", "trigger", "tick", "--overlap", "allow_all")
    assert triggered.returncode == 0, triggered.stderr
    assert triggered.stdout.startswith("activation/tick-")
    assert cli(server, "schedule", "resume", "tick").returncode == 0

    updated = cli(server, "schedule", "update", "nightly", "--cron", "30 2 * * *")
    assert updated.returncode == 0, updated.stderr
    after = json.loads(cli(server, "schedule", "get", "nightly", "-o", "json").stdout)
    assert after["spec"]["cronExpressions"] == ["30 2 * * *"]
    assert after["spec"]["timeZone"] == "Europe/Berlin"  # options not given are kept
    assert after["spec"]["jitter"] == "30s"

    bad = cli(server, "schedule", "create", "bad", "--campaign", "tick", "--cron", "0 25 * * *")
    assert bad.returncode == 2
    assert "schedule.spec.cron_expressions[0]" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    unknown = cli(server, "schedule", "create", "bad", "--campaign", "nope", "--every", "1m")
    assert unknown.returncode == 2 and "schedule.action.campaign" in unknown.stderr
    missing = cli(server, "schedule", "create", "bad", "--campaign", "tick")
    assert missing.returncode == 2 and "--cron" in missing.stderr
    policy = cli(
        server,
        "schedule",
        "create",
        "bad",
        "--campaign",
        "tick",
        "--every",
        "1s",
        "--overlap",
        "sometimes",
    )
    assert policy.returncode == 2 and "--overlap" in policy.stderr

    assert cli(server, "schedule", "delete", "tick").returncode == 0
    gone = cli(server, "schedule", "get", "tick")
    assert gone.returncode == 2 and "NOT_FOUND" in gone.stderr
    await channel.close()
    assert plane.stop() == 0
