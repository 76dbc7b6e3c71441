"""Operations end to end: the ``partita`` CLI against a plane process, SIGKILLed on the way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import pg
from tests.conftest import free_port
from tests.e2e.planes import PlaneProcess
from tests.e2e.test_cli import cli, eventually, get_activation, wait_status

CAMPAIGNS = """\
apiVersion: partita/v1
kind: Campaign
metadata: {name: fixable}
spec:
  firstStage: a
  stages:
    a: {provider: mock, stageSelector: b}
    b: {provider: mock, stageSelector: count}
    count: {provider: counter, inputs: {x: "${{ inputs.x }}"}, stageSelector: d}
    d: {provider: mock, inputs: {counted: "${{ outputs.count.x }}"}}
---
apiVersion: partita/v1
kind: Campaign
metadata: {name: napper}
spec:
  firstStage: nap
  stages:
    nap: {provider: delay, config: {duration: 1500ms}, stageSelector: after}
    after: {provider: mock}
---
apiVersion: partita/v1
kind: Campaign
metadata: {name: flaky}
spec:
  firstStage: call
  stages:
    call:
      provider: http
      config: {url: "http://127.0.0.1:%(port)d/"}
      retry: {initialInterval: 1h, maximumAttempts: 5}
"""


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[PlaneProcess]:
    process = PlaneProcess(tmp_path / "ops.db")
    try:
        process.start()
        campaigns = tmp_path / "campaigns.yaml"
        campaigns.write_text(CAMPAIGNS % {"port": free_port()})  # nothing listens there
        eventually(lambda: cli("health", server=process.address).returncode == 0, what="serving")
        applied = cli("apply", "-f", str(campaigns), server=process.address)
        assert applied.returncode == 0, applied.stderr
        yield process
    finally:
        process.close()


def restart(plane: PlaneProcess) -> None:
    plane.kill()
    plane.start()
    eventually(lambda: cli("health", server=plane.address).returncode == 0, what="serving again")


def history(server: str, activation_id: str) -> list[dict[str, Any]]:
    result = cli("history", activation_id, "-o", "json", server=server)
    assert result.returncode == 0, result.stderr
    events: list[dict[str, Any]] = json.loads(result.stdout)["events"]
    return events


def started(server: str, activation_id: str) -> list[str]:
    return [
        e.get("stage", "")
        for e in history(server, activation_id)
        if e["type"] == "EVENT_TYPE_STAGE_STARTED"
    ]


def test_rerun_a_failed_activation_from_its_failed_stage(plane: PlaneProcess) -> None:
    server = plane.address
    failed = cli("activate", "fixable", "--id", "f1", "--input", "x=oops", "--wait", server=server)
    assert failed.returncode == 1
    assert get_activation(server, "f1")["currentStage"] == "count"

    rerun = cli("rerun", "f1", "--input", "x=3", server=server)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith("activation/f1 ")
    done = wait_status(server, "f1", "COMPLETED")
    assert done["outputs"]["d"]["counted"] == 3
    assert started(server, "f1") == ["a", "b", "count", "count", "d"]

    again = cli("rerun", "f1", server=server)
    assert again.returncode == 2
    assert "FAILED_PRECONDITION" in again.stderr and "COMPLETED" in again.stderr
    whole = cli("rerun", "f1", "--from", "a", "--completed", server=server)
    assert whole.returncode == 0, whole.stderr
    wait_status(server, "f1", "COMPLETED")
    assert started(server, "f1") == ["a", "b", "count", "count", "d", "a", "b", "count", "d"]


def test_skip_the_failed_stage_from_the_cli(plane: PlaneProcess) -> None:
    server = plane.address
    cli("activate", "fixable", "--id", "f2", "--input", "x=oops", "--wait", server=server)
    skipped = cli("skip", "f2", "count", "--set", "x=42", server=server)
    assert skipped.returncode == 0, skipped.stderr
    done = wait_status(server, "f2", "COMPLETED")
    assert done["outputs"]["d"]["counted"] == 42
    types = [e["type"] for e in history(server, "f2")]
    assert "EVENT_TYPE_STAGE_SKIPPED" in types
    bad = cli("skip", "f2", "nowhere", server=server)
    assert bad.returncode == 2 and "INVALID_ARGUMENT" in bad.stderr


def test_retry_now_from_the_cli(plane: PlaneProcess) -> None:
    server = plane.address
    assert cli("activate", "flaky", "--id", "r1", server=server).returncode == 0

    def backing_off() -> bool:
        return any(e["type"] == "EVENT_TYPE_STAGE_RETRY_SCHEDULED" for e in history(server, "r1"))

    eventually(backing_off, what="the first attempt failed and waits an hour")
    retried = cli("retry", "r1", "--stage", "call", "--request-id", "once", server=server)
    assert retried.returncode == 0, retried.stderr
    twice = cli("retry", "r1", "--stage", "call", "--request-id", "once", server=server)
    assert twice.returncode == 0, twice.stderr  # the same request: nothing more

    def second_attempt_failed() -> bool:
        events = history(server, "r1")
        return sum(e["type"] == "EVENT_TYPE_STAGE_RETRY_SCHEDULED" for e in events) == 2

    eventually(second_attempt_failed, what="the second attempt ran at once")
    events = history(server, "r1")
    assert sum(e["type"] == "EVENT_TYPE_STAGE_RETRY_REQUESTED" for e in events) == 1
    assert get_activation(server, "r1")["stageRuns"][0]["attempt"] == 2


def test_pause_holds_across_sigkill_and_resume_continues(plane: PlaneProcess) -> None:
    server = plane.address
    assert cli("activate", "napper", "--id", "n1", server=server).returncode == 0
    paused = cli("pause", "n1", "--reason", "change freeze", "-o", "json", server=server)
    assert paused.returncode == 0, paused.stderr
    assert json.loads(paused.stdout)["pausedBy"] == "PAUSE_KIND_REQUEST"

    restart(plane)  # SIGKILL while paused, before the delay's timer is due

    def nap_done_and_held() -> bool:
        activation = get_activation(server, "n1")
        return activation[
            "status"
        ] == "ACTIVATION_STATUS_PAUSED" and "'after' waits for the resume" in activation.get(
            "statusMessage", ""
        )

    eventually(nap_done_and_held, what="the delay's timer fired after the restart, then held")
    restart(plane)  # and SIGKILL again while something is held
    held = get_activation(server, "n1")
    assert held["status"] == "ACTIVATION_STATUS_PAUSED"
    assert [r["stage"] for r in held["stageRuns"]] == ["nap"]
    assert "change freeze" in held["statusMessage"]

    resumed = cli("resume", "n1", server=server)
    assert resumed.returncode == 0, resumed.stderr
    wait_status(server, "n1", "COMPLETED")
    assert started(server, "n1") == ["nap", "after"]
    late = cli("resume", "n1", server=server)
    assert late.returncode == 2 and "FAILED_PRECONDITION" in late.stderr


def test_help_lists_the_operations() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for command in ("rerun", "skip", "retry", "pause", "resume"):
        assert f"    {command} " in result.stdout, command
    rerun = cli("rerun", "--help")
    assert "--from STAGE" in rerun.stdout and "--input K=V" in rerun.stdout


QUEUED = """\
apiVersion: partita/v1
kind: Campaign
metadata: {name: builder}
spec:
  firstStage: build
  stages:
    build:
      provider: worker
      taskQueue: builds
      queue: {key: "${{ inputs.team }}", concurrency: 2, priority: 2}
"""


def test_list_queues_shows_backlog_and_the_rate(tmp_path: Path) -> None:
    process = PlaneProcess(tmp_path / "queues.db", "--queue-rate", "builds=0.5/3")
    try:
        process.start()
        server = process.address
        eventually(lambda: cli("health", server=server).returncode == 0, what="serving")
        document = tmp_path / "builder.yaml"
        document.write_text(QUEUED)
        assert cli("apply", "-f", str(document), server=server).returncode == 0
        for team in ("red", "red", "blue"):
            assert (
                cli("activate", "builder", "--input", f"team={team}", server=server).returncode == 0
            )
        listed = cli("list", "queues", server=server)
        assert listed.returncode == 0, listed.stderr
        header, row = listed.stdout.splitlines()
        assert header.split() == ["QUEUE", "BACKLOG", "OLDEST", "HELD", "KEYS", "RATE"]
        assert row.split()[:2] == ["builds", "3"] and row.split()[3:] == ["0", "2", "0.5/s"]
        as_json = json.loads(cli("list", "queues", "-o", "json", server=server).stdout)
        assert as_json["taskQueues"][0]["backlog"] == "3"
    finally:
        process.close()
    bad = cli("site", "--queue-rate", "builds=fast", "--db", str(tmp_path / "x.db"))
    assert bad.returncode == 2 and "--queue-rate" in bad.stderr


def test_rerun_and_batches_on_postgresql_replicas(tmp_path: Path) -> None:
    schema, url = pg.new_schema()
    planes = [
        PlaneProcess(url, "--replica-id", f"r{i}", log=tmp_path / f"r{i}.log") for i in (0, 1)
    ]
    try:
        for plane in planes:
            plane.start()
        first, second = (p.address for p in planes)
        for address in (first, second):
            eventually(lambda a=address: cli("health", server=a).returncode == 0, 60, "up")
        campaigns = tmp_path / "campaigns.yaml"
        campaigns.write_text(CAMPAIGNS % {"port": free_port()})
        assert cli("apply", "-f", str(campaigns), server=first).returncode == 0
        for n in range(3):
            activated = cli(
                "activate", "fixable", "--id", f"p{n}", "--input", "x=oops", "--wait", server=first
            )
            assert activated.returncode == 1
        # The replica that did not run it reopens it.
        assert cli("rerun", "p0", "--input", "x=1", server=second).returncode == 0
        assert wait_status(second, "p0", "COMPLETED")["outputs"]["d"]["counted"] == 1
        assert started(second, "p0") == ["a", "b", "count", "count", "d"]
        batch = cli(
            "batch", "rerun", "--campaign", "fixable", "--status", "failed",
            "--input", "x=2", "--wait", server=second,
        )  # fmt: skip
        assert batch.returncode == 0, batch.stderr
        assert "2 done, 0 skipped, 0 failed of 2" in batch.stdout
        for n in (1, 2):
            wait_status(first, f"p{n}", "COMPLETED")
    finally:
        for plane in planes:
            plane.close()
        pg.drop_schema(schema)
