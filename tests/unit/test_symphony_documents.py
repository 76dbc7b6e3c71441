"""Symphony's documents in both generations: containers, versions and activation references."""

from __future__ import annotations

import pytest

from partita.errors import InvalidInputError
from partita.model.documents import activation_document, load_documents
from partita.model.symphony import object_name, reference_of

V049 = """
apiVersion: workflow.symphony/v1
kind: Campaign
metadata: {name: site-apps}
spec: {}
---
apiVersion: workflow.symphony/v1
kind: CampaignVersion
metadata: {name: site-apps-v-version1}
spec:
  rootResource: site-apps
  firstStage: a
  stages: {a: {name: a, provider: providers.stage.mock}}
---
apiVersion: workflow.symphony/v1
kind: Activation
metadata: {name: go}
spec:
  campaignversion: "site-apps:version1"
  stage: a
  inputs: {foo: 1}
"""

V048 = """
apiVersion: workflow.symphony/v1
kind: CampaignContainer
metadata: {name: counter-campaign}
spec:
---
apiVersion: workflow.symphony/v1
kind: Campaign
metadata: {name: counter-campaign-v-v1}
spec:
  rootResource: counter-campaign
  firstStage: counter
  stages: {counter: {name: counter, provider: providers.stage.counter}}
---
apiVersion: workflow.symphony/v1
kind: Activation
metadata: {name: count}
spec:
  campaign: "counter-campaign:v1"
"""


def test_049_container_version_and_activation() -> None:
    container, version, activation = load_documents(V049)
    assert [d.role for d in (container, version, activation)] == [
        "container",
        "campaign",
        "activation",
    ]
    request = activation_document(activation)
    assert (request.campaign, request.stage, request.inputs) == (
        "site-apps-v-version1",
        "a",
        {"foo": 1},
    )


def test_048_container_campaign_and_activation() -> None:
    container, campaign, activation = load_documents(V048)
    assert (container.role, campaign.role) == ("container", "campaign")
    assert activation_document(activation).campaign == "counter-campaign-v-v1"


def test_a_campaign_version_is_named_after_its_root() -> None:
    bad = V049.replace("metadata: {name: site-apps-v-version1}", "metadata: {name: apps-v1}")
    with pytest.raises(InvalidInputError) as caught:
        load_documents(bad)
    (violation,) = caught.value.violations
    assert violation.field == "document[1].metadata.name"
    assert "<rootResource>-v-<version>" in violation.description


def test_symphony_kinds_are_named_when_wrong() -> None:
    with pytest.raises(InvalidInputError) as caught:
        load_documents("apiVersion: workflow.symphony/v1\nkind: Solution\nmetadata: {name: x}\n")
    assert "Campaign or CampaignVersion or CampaignContainer or Activation" in str(
        caught.value.violations[0].description
    )


@pytest.mark.parametrize(
    ("reference", "name"),
    [("site-apps:version1", "site-apps-v-version1"), ("plain", "plain"), ("x:", "x")],
)
def test_references_and_names(reference: str, name: str) -> None:
    assert object_name(reference) == name
    if ":" in reference and not reference.endswith(":"):
        assert reference_of(name) == reference


def test_the_docs_hello_world_campaign_version_without_a_root_loads() -> None:
    text = """
apiVersion: workflow.symphony/v1
kind: CampaignVersion
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
  campaignversion: "hello-world"
  name: "hello-world-activation"
  inputs:
        foo: "bar"
"""
    version, activation = load_documents(text)
    assert (version.role, version.name) == ("campaign", "hello-world")
    assert activation_document(activation).campaign == "hello-world"
