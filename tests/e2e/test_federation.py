"""A hub and three sites on loopback, as real processes: a multi-site rollout, through kills."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.protobuf import json_format

from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from partita.v1 import federation_pb2 as F
from partita.v1 import worker_pb2 as W
from partita.v1 import worker_pb2_grpc as WG
from tests.conftest import assert_eventually
from tests.e2e.federation import Federation

SITES = ("berlin", "paris", "tokyo")
ROLLOUT = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: rollout}
spec:
  firstStage: deploy
  stages:
    deploy:
      provider: %(provider)s
      config: %(config)s
      contexts: "${{ inputs.sites }}"
      site: "${{ context }}"
      inputs: {version: "${{ inputs.version }}"}
      timeouts: {scheduleToStart: %(schedule_to_start)s}
      stageSelector: report
    report:
      provider: mock
      inputs: {deployed: "${{ outputs.deploy }}", count: "${{ size(outputs.deploy) }}"}
"""


def rollout(provider: str = "mock", config: str = "{}", schedule_to_start: str = "1m") -> str:
    return ROLLOUT % {
        "provider": provider,
        "config": config,
        "schedule_to_start": schedule_to_start,
    }


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Federation]:
    planes = Federation(tmp_path, SITES)
    planes.start()
    yield planes
    planes.close()


async def cli(*args: str, server: str) -> str:
    """Run ``partita ARGS`` as a subprocess; its output (it must succeed)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "partita.cli.main",
        "--server",
        server,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, err.decode()
    return out.decode()


def completed(status: int) -> bool:
    return status == common_pb2.ACTIVATION_STATUS_COMPLETED


async def site_activations(federation: Federation, site: str) -> list[tuple[str, int]]:
    return [(a.id, a.status) for a in await federation.activations(site)]


async def assert_each_site_ran_once(federation: Federation, activation_id: str) -> None:
    """Every site holds exactly one local activation for the rollout, completed, and its
    stage completed once; the hub recorded one result per site."""
    for site in SITES:
        local = [a for a in await federation.activations(site) if a.id.startswith(activation_id)]
        assert len(local) == 1, (site, local)
        assert completed(local[0].status), local[0]
        history = await federation.history(local[0].id, site)
        finished = [e for e in history if e.type == common_pb2.EVENT_TYPE_STAGE_COMPLETED]
        assert len(finished) == 1, (site, history)
    hub_history = await federation.history(activation_id)
    results = [e for e in hub_history if e.type == common_pb2.EVENT_TYPE_DISPATCH_RESULT]
    assert sorted(e.data["site"] for e in results) == sorted(SITES)


async def test_a_rollout_over_three_sites_completes_with_each_sites_outputs(
    federation: Federation,
) -> None:
    await federation.connected(*SITES)
    await federation.apply(rollout())
    activation_id = await federation.start_activation(
        "rollout", {"sites": list(SITES), "version": 7}
    )
    activation = await federation.closed(activation_id)
    assert completed(activation.status), activation.status_message
    outputs = json_format.MessageToDict(activation.outputs)
    deployed = outputs["deploy"]
    assert sorted(deployed) == sorted(SITES)
    for site, result in deployed.items():
        assert result["__site"] == site  # the mock ran on that site's plane
        assert result["version"] == 7
    assert outputs["report"]["count"] == 3
    assert outputs["report"]["deployed"] == deployed
    await assert_each_site_ran_once(federation, activation_id)

    listed = await cli("list", "sites", "-o", "json", server=federation.hub.address)
    sites = json.loads(listed)["sites"]
    assert [s["siteId"] for s in sites] == sorted(SITES)
    assert all(s["state"] == "SITE_STATE_CONNECTED" for s in sites)
    assert all(s.get("dispatchesInFlight", 0) == 0 for s in sites)
    assert all(s["planeVersion"] and s["lastSeenTime"] for s in sites)


async def test_a_site_killed_mid_dispatch_runs_its_stage_once(federation: Federation) -> None:
    await federation.connected(*SITES)
    await federation.apply(rollout(provider="delay", config="{duration: 3s}"))
    activation_id = await federation.start_activation(
        "rollout", {"sites": list(SITES), "version": 1}
    )

    async def paris_running() -> bool:
        return any(
            a[0].startswith(activation_id) for a in await site_activations(federation, "paris")
        )

    await assert_eventually(paris_running, within=30)
    paris = federation.sites["paris"]
    paris.kill()
    federation.forget("paris")
    paris.start()
    activation = await federation.closed(activation_id)
    assert completed(activation.status), activation.status_message
    await assert_each_site_ran_once(federation, activation_id)


async def test_a_hub_killed_mid_rollout_completes_after_restart(federation: Federation) -> None:
    await federation.connected(*SITES)
    await federation.apply(rollout(provider="delay", config="{duration: 2s}"))
    activation_id = await federation.start_activation(
        "rollout", {"sites": list(SITES), "version": 1}
    )

    async def accepted_everywhere() -> bool:
        history = await federation.history(activation_id)
        kinds = [e.type for e in history]
        return kinds.count(common_pb2.EVENT_TYPE_DISPATCH_ACCEPTED) == len(SITES)

    await assert_eventually(accepted_everywhere, within=30)
    federation.hub.kill()
    federation.forget("hub")

    async def sites_done() -> bool:
        for site in SITES:
            local = await site_activations(federation, site)
            if not any(i.startswith(activation_id) and completed(s) for i, s in local):
                return False
        return True

    await assert_eventually(sites_done, within=30)  # their results wait for the hub
    federation.hub.start()
    activation = await federation.closed(activation_id)
    assert completed(activation.status), activation.status_message
    await assert_each_site_ran_once(federation, activation_id)


async def test_a_link_cut_and_restored_loses_nothing(federation: Federation) -> None:
    await federation.connected(*SITES)
    await federation.apply(rollout())
    tokyo = federation.sites["tokyo"]
    assert tokyo.process is not None
    tokyo.process.send_signal(signal.SIGSTOP)
    try:

        async def tokyo_gone() -> bool:
            state = {s.site_id: s.state for s in await federation.list_sites()}
            return state["tokyo"] == F.SITE_STATE_DISCONNECTED

        await assert_eventually(tokyo_gone, within=30)  # keepalives found the dead link
        activation_id = await federation.start_activation(
            "rollout", {"sites": list(SITES), "version": 1}
        )

        async def others_done() -> bool:
            history = await federation.history(activation_id)
            kinds = [e.type for e in history]
            return kinds.count(common_pb2.EVENT_TYPE_DISPATCH_RESULT) == 2

        await assert_eventually(others_done, within=30)
        sites = {s.site_id: s for s in await federation.list_sites()}
        assert sites["tokyo"].dispatches_in_flight == 1
    finally:
        tokyo.process.send_signal(signal.SIGCONT)
    activation = await federation.closed(activation_id)
    assert completed(activation.status), activation.status_message
    await assert_each_site_ran_once(federation, activation_id)


async def test_cancelling_the_hubs_activation_cancels_the_sites(federation: Federation) -> None:
    await federation.connected(*SITES)
    await federation.apply(rollout(provider="delay", config="{duration: 1h}"))
    activation_id = await federation.start_activation(
        "rollout", {"sites": list(SITES), "version": 1}
    )

    async def running_everywhere() -> bool:
        for site in SITES:
            if not any(
                i.startswith(activation_id) for i, _ in await site_activations(federation, site)
            ):
                return False
        return True

    await assert_eventually(running_everywhere, within=30)
    stub = AG.ActivationServiceStub(await federation.channel())
    await stub.CancelActivation(A.CancelActivationRequest(activation_id=activation_id))

    async def cancelled_everywhere() -> bool:
        for site in SITES:
            local = await site_activations(federation, site)
            if not all(s == common_pb2.ACTIVATION_STATUS_CANCELLED for _, s in local):
                return False
        return True

    await assert_eventually(cancelled_everywhere, within=30)

    async def nothing_in_flight() -> bool:
        return all(s.dispatches_in_flight == 0 for s in await federation.list_sites())

    await assert_eventually(nothing_in_flight, within=30)


async def test_a_stage_for_a_site_that_never_connects_times_out(federation: Federation) -> None:
    await federation.connected(*SITES)
    await federation.apply(rollout(schedule_to_start="2s"))
    activation_id = await federation.start_activation(
        "rollout", {"sites": ["berlin", "nowhere"], "version": 1}
    )
    activation = await federation.closed(activation_id)
    assert activation.status == common_pb2.ACTIVATION_STATUS_FAILED
    assert "site 'nowhere' did not accept dispatch" in activation.status_message
    assert "scheduleToStart timeout of 2s" in activation.status_message


async def test_the_hubs_dispatch_and_the_sites_worker_share_one_trace_id(
    federation: Federation,
) -> None:
    await federation.connected("berlin")
    await federation.apply(
        rollout(provider="worker", config="{}").replace(
            "provider: worker", "provider: worker\n      taskQueue: deploys"
        )
    )
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    traceparent = f"00-{trace_id}-00f067aa0ba902b7-01"
    activation_id = await federation.start_activation(
        "rollout", {"sites": ["berlin"], "version": 1}, metadata=(("traceparent", traceparent),)
    )
    worker = WG.WorkerServiceStub(await federation.channel("berlin"))
    polled = await worker.PollStageTask(
        W.PollStageTaskRequest(task_queue="deploys", identity="test-worker"), timeout=60
    )
    task = polled.task
    assert task.activation_id.startswith(activation_id)  # the site's local activation
    assert task.headers["traceparent"].split("-")[1] == trace_id
    await worker.CompleteStageTask(
        W.CompleteStageTaskRequest(task_token=task.task_token, identity="test-worker")
    )
    activation = await federation.closed(activation_id)
    assert completed(activation.status), activation.status_message


async def test_a_campaign_registered_on_a_site_runs_there_for_the_hub(
    federation: Federation,
) -> None:
    await federation.connected("berlin")
    site_campaign = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: local-upgrade}
spec:
  firstStage: drain
  stages:
    drain: {provider: mock, stageSelector: upgrade}
    upgrade: {provider: mock, inputs: {to: "${{ inputs.to }}"}}
"""
    await CG.CampaignServiceStub(await federation.channel("berlin")).CreateCampaign(
        C.CreateCampaignRequest(document=site_campaign)
    )
    await federation.apply("""
apiVersion: partita/v1
kind: Campaign
metadata: {name: upgrade-berlin}
spec:
  firstStage: remote
  stages:
    remote:
      provider: campaign
      site: berlin
      config: {campaign: local-upgrade}
      inputs: {to: "${{ inputs.to }}"}
    missing:
      provider: campaign
      site: berlin
      config: {campaign: no-such-campaign}
""")
    activation_id = await federation.start_activation("upgrade-berlin", {"to": "v2"})
    activation = await federation.closed(activation_id)
    assert completed(activation.status), activation.status_message
    remote = json_format.MessageToDict(activation.outputs)["remote"]
    assert remote["upgrade"]["to"] == "v2" and remote["upgrade"]["__site"] == "berlin"
    assert set(remote) == {"drain", "upgrade"}
    local = [a for a in await federation.activations("berlin") if a.campaign == "local-upgrade"]
    assert [a.id for a in local] == [f"{activation_id}.1.1.1"]

    request = A.StartActivationRequest(campaign="upgrade-berlin", start_stage="missing")
    stub = AG.ActivationServiceStub(await federation.channel())
    failed_id = (await stub.StartActivation(request)).activation.id
    failed = await federation.closed(failed_id)
    assert failed.status == common_pb2.ACTIVATION_STATUS_FAILED
    assert "on site 'berlin'" in failed.status_message
    assert "no-such-campaign" in failed.status_message


SYMPHONY_LIST = """
apiVersion: workflow.symphony/v1
kind: Campaign
metadata: {name: fleet}
spec:
  firstStage: list
  selfDriving: true
  stages:
    list:
      name: list
      provider: providers.stage.list
      inputs: {objectType: sites, namesOnly: true}
"""


async def test_symphonys_list_of_sites_on_a_hub_names_every_linked_site(
    federation: Federation,
) -> None:
    await federation.connected(*SITES)
    await federation.apply(SYMPHONY_LIST)
    activation = await federation.closed(await federation.start_activation("fleet", {}))
    assert completed(activation.status), activation.status_message
    outputs = json_format.MessageToDict(activation.outputs)
    assert sorted(outputs["list"]["items"]) == sorted(SITES)
