"""The campaign graph the console draws: which edges a campaign's text shows."""

from __future__ import annotations

from typing import Any

import pytest

from partita.model.campaign import SYMPHONY_API, Campaign, CampaignSpec
from partita.web.graph import campaign_graph, selector_targets

STAGES = {name: {"provider": "mock"} for name in ("build", "deploy", "report", "undo")}


def _campaign(stages: dict[str, Any], api_version: str = "partita/v1") -> Campaign:
    spec = CampaignSpec.model_validate({"firstStage": "build", "stages": stages})
    return Campaign(
        namespace="default",
        name="c",
        version=1,
        api_version=api_version,
        spec=spec,
        digest="",
        create_time=0.0,
    )


@pytest.mark.parametrize(
    ("selector", "targets"),
    [
        ("deploy", ["deploy"]),
        ("", []),
        (None, []),
        ("nowhere", []),  # a literal naming no stage draws nothing
        ("${{ outputs.build.ok ? 'deploy' : 'report' }}", ["deploy", "report"]),
        ('${{ outputs.build.ok ? "deploy" : "" }}', ["deploy"]),
        ("${{ inputs.next }}", []),  # computed from data: no edge before it runs
        ("${{ 'dep' + 'loy' }}", []),
        ("${{ 'deploy' }}${{ 'report' }}", ["deploy", "report"]),
        ("$if($equal($output(build, ok), true), 'deploy', 'report')", []),
        ("${{ x == 'it\\'s' ? 'report' : 'report' }}", ["report"]),
    ],
)
def test_selector_targets(selector: str | None, targets: list[str]) -> None:
    stages = _campaign(STAGES).spec.stages
    assert selector_targets(selector, stages) == targets


def test_graph_marks_fan_out_compensation_and_first_stage() -> None:
    stages = {
        "build": {"provider": "mock", "compensate": "undo", "stageSelector": "deploy"},
        "deploy": {"provider": "mock", "contexts": "${{ [1, 2] }}", "stageSelector": "report"},
        "report": {"provider": "providers.stage.mock"},
        "undo": {"provider": "mock"},
    }
    graph = campaign_graph(_campaign(stages))
    nodes = {n["name"]: n for n in graph["nodes"]}
    assert [n for n, v in nodes.items() if v["fanOut"]] == ["deploy"]
    assert nodes["undo"]["compensates"] == "build"
    assert [n for n, v in nodes.items() if v["first"]] == ["build"]
    assert nodes["report"]["provider"] == "mock"
    assert {(e["source"], e["target"], e["kind"]) for e in graph["edges"]} == {
        ("build", "deploy", "next"),
        ("deploy", "report", "next"),
        ("build", "undo", "compensate"),
    }


def test_parallel_branches_are_edges() -> None:
    stages = {
        "build": {"provider": "parallel", "branches": ["deploy", "report"]},
        "deploy": {"provider": "mock"},
        "report": {"provider": "mock"},
    }
    graph = campaign_graph(_campaign(stages, SYMPHONY_API))
    assert {(e["source"], e["target"], e["kind"]) for e in graph["edges"]} == {
        ("build", "deploy", "branch"),
        ("build", "report", "branch"),
    }
    assert next(n for n in graph["nodes"] if n["name"] == "build")["fanOut"]
