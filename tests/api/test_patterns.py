"""README's Patterns section, run exactly as written: each example is applied and activated."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from partita.v1 import activation_pb2, campaign_pb2, common_pb2
from tests.api.plane_client import Api, event_type, plain
from tests.conftest import assert_eventually

README = Path(__file__).resolve().parents[2] / "README.md"
S = common_pb2


def examples() -> dict[str, str]:
    """``# pattern: NAME`` YAML blocks of README's Patterns section, by name."""
    text = README.read_text()
    section = text.split("## Patterns", 1)[1].split("\n## ", 1)[0]
    found = {}
    for block in re.findall(r"```yaml\n(.*?)```", section, re.S):
        name = re.match(r"# pattern: (\S+)", block)
        assert name, f"a Patterns example without '# pattern: NAME': {block[:60]}"
        found[name.group(1)] = block
    return found


EXAMPLES = examples()


async def apply(api: Api, name: str) -> None:
    for document in EXAMPLES[name].split("\n---\n"):
        await api.campaigns.CreateCampaign(campaign_pb2.CreateCampaignRequest(document=document))


async def run(api: Api, campaign: str, inputs: dict[str, Any], activation_id: str) -> Any:
    await api.start(campaign, inputs, activation_id=activation_id)
    return await api.wait(activation_id)


def test_every_pattern_has_a_test() -> None:
    tested = {n.removeprefix("test_").replace("_", "-") for n in globals() if n.startswith("test_")}
    assert set(EXAMPLES) <= tested


async def test_map_reduce(api: Api) -> None:
    await apply(api, "map-reduce")
    done = await run(api, "thumbnails", {"images": ["a.png", "b.png", "c.png"]}, "mr1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED
    outputs = plain(done.outputs)
    assert [item["image"] for item in outputs["resize"]] == ["a.png", "b.png", "c.png"]
    assert outputs["report"]["count"] == 3 and outputs["report"]["first"] == "a.png"


async def test_fork_join(api: Api) -> None:
    await apply(api, "fork-join")
    done = await run(api, "checks", {}, "fj1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED
    assert plain(done.outputs)["ship"]["tools"] == ["ruff", "pytest"]


async def test_child_campaign(api: Api) -> None:
    await apply(api, "child-campaign")
    done = await run(api, "rollout", {"site": "berlin"}, "cc1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED, done.status_message
    assert plain(done.outputs)["announce"]["site"] == "berlin"
    children = await api.activations.ListActivations(
        activation_pb2.ListActivationsRequest(campaign="install-site")
    )
    [child] = children.activations
    assert child.parent_activation_id == "cc1" and child.status == S.ACTIVATION_STATUS_COMPLETED
    kinds = [event_type(e.type) for e in await api.history("cc1")]
    assert kinds.count("CHILD_STARTED") == 1 and kinds.count("CHILD_CLOSED") == 1


@pytest.mark.parametrize(
    ("how", "ends"),
    [
        ("cancel", S.ACTIVATION_STATUS_CANCELLED),
        ("terminate", S.ACTIVATION_STATUS_TERMINATED),
    ],
)
async def test_child_campaign_cancel_reaches_the_child(api: Api, how: str, ends: int) -> None:
    await api.create(
        f"slow-child-{how}",
        {"firstStage": "w", "stages": {"w": {"provider": "wait", "config": {"event": "never"}}}},
    )
    await api.create(
        f"parent-{how}",
        {
            "firstStage": "c",
            "stages": {"c": {"provider": "campaign", "config": {"campaign": f"slow-child-{how}"}}},
        },
    )
    await api.start(f"parent-{how}", activation_id=f"p-{how}")

    async def child() -> Any:
        found = await api.activations.ListActivations(
            activation_pb2.ListActivationsRequest(campaign=f"slow-child-{how}")
        )
        return found.activations[0] if found.activations else None

    started = await assert_eventually(child)
    if how == "cancel":
        await api.activations.CancelActivation(
            activation_pb2.CancelActivationRequest(activation_id=f"p-{how}")
        )
    else:
        await api.activations.TerminateActivation(
            activation_pb2.TerminateActivationRequest(activation_id=f"p-{how}")
        )
    closed = await api.wait(started.id)
    assert closed.status == ends
    assert closed.parent_activation_id == f"p-{how}"


async def test_saga(api: Api) -> None:
    await apply(api, "saga")
    failed = await run(api, "order", {"shipWithin": "100ms"}, "saga-timeout")
    assert failed.status == S.ACTIVATION_STATUS_FAILED
    history = await api.history("saga-timeout")
    compensations = [
        (e.stage, plain(e.data)["compensates"])
        for e in history
        if event_type(e.type) == "COMPENSATION_STARTED"
    ]
    assert compensations == [("refund", "charge"), ("release", "reserve")]


async def test_saga_cancelled_in_the_middle(api: Api) -> None:
    await apply(api, "saga")
    await api.start("order", {"shipWithin": "1h"}, activation_id="saga-cancel")
    await api.wait("saga-cancel", S.ACTIVATION_STATUS_RUNNING)

    async def shipping() -> bool:
        return (await api.get("saga-cancel")).current_stage == "ship"

    await assert_eventually(shipping)
    await api.activations.CancelActivation(
        activation_pb2.CancelActivationRequest(activation_id="saga-cancel", reason="changed mind")
    )
    done = await api.wait("saga-cancel")
    assert done.status == S.ACTIVATION_STATUS_CANCELLED
    assert {r.stage for r in done.stage_runs} >= {"refund", "release"}


@pytest.mark.parametrize(("size", "path"), [("small", "quick"), ("large", "thorough")])
async def test_switch(api: Api, size: str, path: str) -> None:
    await apply(api, "switch")
    done = await run(api, "triage", {"size": size}, f"sw-{size}")
    assert plain(done.outputs)[path]["path"] == path


async def test_do_while(api: Api) -> None:
    await apply(api, "do-while")
    done = await run(api, "repeat", {"times": 4}, "dw1")
    assert done.status == S.ACTIVATION_STATUS_COMPLETED
    assert plain(done.outputs)["step"]["n"] == 4
    assert done.generation == 4


async def test_versioning(api: Api) -> None:
    v1 = {
        "firstStage": "gate",
        "stages": {
            "gate": {"provider": "wait", "config": {"event": "go"}, "stageSelector": "old"},
            "old": {"provider": "mock", "inputs": {"graph": "v1"}},
        },
    }
    v2 = {
        "firstStage": "gate",
        "stages": {
            "gate": {"provider": "wait", "config": {"event": "go"}, "stageSelector": "new"},
            "new": {"provider": "mock", "inputs": {"graph": "v2"}},
        },
    }
    assert (await api.create("versioned", v1)).campaign.version == 1
    await api.start("versioned", activation_id="on-v1")
    assert (await api.create("versioned", v2)).campaign.version == 2
    await api.start("versioned", activation_id="on-v2")
    await api.start("versioned", activation_id="pinned-v1", version=1)
    for activation_id in ("on-v1", "on-v2", "pinned-v1"):
        await api.activations.SignalActivation(
            activation_pb2.SignalActivationRequest(activation_id=activation_id, event="go")
        )
    graphs = {}
    for activation_id in ("on-v1", "on-v2", "pinned-v1"):
        done = await api.wait(activation_id)
        assert done.status == S.ACTIVATION_STATUS_COMPLETED
        graphs[activation_id] = (done.version, [r.stage for r in done.stage_runs])
    assert graphs == {
        "on-v1": (1, ["gate", "old"]),
        "on-v2": (2, ["gate", "new"]),
        "pinned-v1": (1, ["gate", "old"]),
    }


async def test_continue_as_new(api: Api) -> None:
    await apply(api, "continue-as-new")
    done = await run(api, "sweep", {"batch": 1, "last": 3}, "cn1")
    # `get` by id shows the latest run; every earlier run is kept under `<id>~<run>`.
    assert done.status == S.ACTIVATION_STATUS_COMPLETED, done.status_message
    assert plain(done.inputs) == {"batch": 3, "last": 3}
    assert done.run_number == 3 and done.continued_from_activation_id == "cn1~2"
    first = await api.get("cn1~1")
    assert first.status == S.ACTIVATION_STATUS_CONTINUED_AS_NEW
    assert plain(first.inputs) == {"batch": 1, "last": 3}
    kinds = [event_type(e.type) for e in await api.history("cn1~1")]
    assert kinds[-1] == "ACTIVATION_CONTINUED_AS_NEW"
    assert len(await api.history("cn1")) < 10  # each run's history stays its own


async def test_map_reduce_cancelled_in_the_middle(api: Api) -> None:
    await api.create(
        "gates",
        {
            "firstStage": "each",
            "stages": {
                "each": {
                    "provider": "wait",
                    "contexts": "${{ inputs.sites }}",
                    "config": {"event": "go"},
                }
            },
        },
    )
    await api.start("gates", {"sites": ["a", "b", "c"]}, activation_id="fan-cancel")
    await api.activations.SignalActivation(
        activation_pb2.SignalActivationRequest(activation_id="fan-cancel", event="go")
    )  # one item finishes; two still wait

    async def one_done() -> bool:
        runs = (await api.get("fan-cancel")).stage_runs
        return sum(r.status == activation_pb2.STAGE_RUN_STATUS_COMPLETED for r in runs) == 1

    await assert_eventually(one_done)
    await api.activations.CancelActivation(
        activation_pb2.CancelActivationRequest(activation_id="fan-cancel")
    )
    done = await api.wait("fan-cancel")
    assert done.status == S.ACTIVATION_STATUS_CANCELLED
    statuses = sorted(activation_pb2.StageRunStatus.Name(r.status) for r in done.stage_runs)
    assert statuses == ["STAGE_RUN_STATUS_CANCELLED"] * 3 + ["STAGE_RUN_STATUS_COMPLETED"]
