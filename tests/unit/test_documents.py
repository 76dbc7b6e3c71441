"""Documents load from YAML/JSON, and validation names the stage and the field."""

from __future__ import annotations

import pytest

from partita.engine import compile_campaign
from partita.errors import InvalidInputError
from partita.expr import CelEvaluator, ExpressionError, Template
from partita.model.documents import activation_document, load_documents, parse_campaign_spec
from partita.model.durations import format_duration, parse_duration

HELLO = """
apiVersion: workflow.symphony/v1
kind: Campaign
metadata:
  name: hello-world
spec:
  firstStage: "mock"
  selfDriving: true
  stages:
    mock:
      name: "mock"
      provider: "providers.stage.mock"
---
apiVersion: workflow.symphony/v1
kind: Activation
metadata:
  name: hello-world-activation
spec:
  campaign: "hello-world"
  name: "hello-world-activation"
  inputs:
        foo: "bar"
"""


def test_symphony_hello_world_loads() -> None:
    campaign, activation = load_documents(HELLO)
    spec = parse_campaign_spec(campaign.spec, campaign.api_version)
    compiled = compile_campaign("hello-world", 1, campaign.api_version, spec, ["symphony.mock"])
    assert compiled.stages["mock"].provider == "symphony.mock"
    request = activation_document(activation)
    assert (request.activation_id, request.campaign, request.inputs) == (
        "hello-world-activation",
        "hello-world",
        {"foo": "bar"},
    )


def violations(spec: dict[str, object]) -> list[str]:
    with pytest.raises(InvalidInputError) as caught:
        parsed = parse_campaign_spec(spec, "partita/v1")
        compile_campaign("c", 1, "partita/v1", parsed, ["mock"])
    return [v.field for v in caught.value.violations]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"firstStage": "x", "stages": {"a": {"provider": "mock"}}}, "spec.firstStage"),
        ({"firstStage": "a", "stages": {"a": {"provider": "ghost"}}}, "spec.stages.a.provider"),
        (
            {
                "firstStage": "a",
                "stages": {"a": {"provider": "mock", "inputs": {"x": "${{ inputs.( }}"}}},
            },
            "spec.stages.a.inputs",
        ),
        (
            {
                "firstStage": "a",
                "stages": {"a": {"provider": "mock", "stageSelector": "${{ nope }}"}},
            },
            "spec.stages.a.stageSelector",
        ),
        (
            {"firstStage": "a", "stages": {"a": {"provider": "mock", "stageSelector": "b"}}},
            "spec.stages.a.stageSelector",
        ),
        (
            {"firstStage": "a", "timeout": "soon", "stages": {"a": {"provider": "mock"}}},
            "spec.timeout",
        ),
        (
            {
                "firstStage": "a",
                "stages": {"a": {"provider": "delay", "config": {"duration": "forever"}}},
            },
            "spec.stages.a.config.duration",
        ),
        ({"firstStage": "a", "stages": {}}, "spec.stages"),
        (
            {"firstStage": "a", "stages": {"a": {"provider": "mock", "colour": "red"}}},
            "spec.stages.a.colour",
        ),
    ],
)
def test_validation_names_the_stage_and_field(spec: dict[str, object], field: str) -> None:
    assert field in violations(spec)


@pytest.mark.parametrize("text", ["{", "- just\n- a list", "apiVersion: v9\nkind: Campaign", ""])
def test_malformed_documents_are_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        load_documents(text)


def test_templates_keep_types_or_join_text() -> None:
    env = {"inputs": {"n": 2, "sites": ["a", "b"]}}
    cel = CelEvaluator()
    assert Template.compile("${{ inputs.sites }}", cel).render(env) == ["a", "b"]
    assert (
        Template.compile("n=${{ inputs.n }} of ${{ size(inputs.sites) }}", cel).render(env)
        == "n=2 of 2"
    )
    assert Template.compile({"x": ["${{ inputs.n * 2 }}"]}, cel).render(env) == {"x": [4]}
    assert Template.compile("${{ '}}' }}", cel).render(env) == "}}"
    assert Template.compile("plain", cel).is_static
    with pytest.raises(ExpressionError):
        Template.compile("${{ inputs.n ", cel)
    with pytest.raises(ExpressionError, match="no such key"):
        Template.compile("${{ inputs.missing }}", cel).render(env)


@pytest.mark.parametrize(
    ("text", "seconds"), [("500ms", 0.5), ("30s", 30), ("1h30m", 5400), ("2d", 172800), (5, 5)]
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds
    assert parse_duration(format_duration(parse_duration(text))).total_seconds() == seconds
