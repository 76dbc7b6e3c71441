"""CampaignService through real gRPC calls: versions, paging, deletion, validation."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from partita.v1 import activation_pb2, campaign_pb2, common_pb2
from tests.api.plane_client import Api, plain, status_name, struct, violations

C = campaign_pb2
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
MOCK = {"firstStage": "echo", "stages": {"echo": {"provider": "mock"}}}
WAIT = {"firstStage": "hold", "stages": {"hold": {"provider": "wait", "config": {"event": "go"}}}}

# Eclipse Symphony's hello world, verbatim (docs: "Defining and running a workflow").
HELLO_WORLD = """\
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
"""  # noqa: W291 (verbatim, trailing spaces included)


async def test_create_from_spec_then_get(api: Api) -> None:
    created = await api.create("echo", MOCK)
    assert created.created
    campaign = created.campaign
    assert (campaign.namespace, campaign.name, campaign.version) == ("default", "echo", 1)
    assert campaign.api_version == "partita/v1"
    assert plain(campaign.spec) == MOCK
    assert len(campaign.digest) == 64
    assert campaign.create_time.seconds > 0

    got = await api.campaigns.GetCampaign(C.GetCampaignRequest(name="echo"))
    assert got.campaign == campaign
    got = await api.campaigns.GetCampaign(C.GetCampaignRequest(name="echo", version=1))
    assert got.campaign == campaign


async def test_same_spec_keeps_its_version_and_a_change_adds_one(api: Api) -> None:
    first = await api.create("echo", MOCK)
    again = await api.create("echo", MOCK)
    assert not again.created
    assert again.campaign == first.campaign

    changed_spec = {**MOCK, "stages": {"echo": {"provider": "mock", "inputs": {"n": 1}}}}
    changed = await api.create("echo", changed_spec)
    assert changed.created
    assert changed.campaign.version == 2
    assert changed.campaign.digest != first.campaign.digest

    latest = await api.campaigns.GetCampaign(C.GetCampaignRequest(name="echo"))
    assert latest.campaign.version == 2
    assert plain(latest.campaign.spec) == {
        "firstStage": "echo",
        "stages": {"echo": {"provider": "mock", "inputs": {"n": 1.0}}},
    }
    v1 = await api.campaigns.GetCampaign(C.GetCampaignRequest(name="echo", version=1))
    assert v1.campaign == first.campaign
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.campaigns.GetCampaign(C.GetCampaignRequest(name="echo", version=3))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_request_id_makes_create_idempotent(api: Api) -> None:
    first = await api.create("echo", MOCK, request_id="req-1")
    retry = await api.create("echo", WAIT, request_id="req-1")
    assert not retry.created
    assert retry.campaign == first.campaign
    assert (await api.snapshot())[0] == [("echo", 1, first.campaign.digest)]


async def test_create_from_symphony_hello_world_document(api: Api) -> None:
    created = await api.campaigns.CreateCampaign(C.CreateCampaignRequest(document=HELLO_WORLD))
    assert created.created
    campaign = created.campaign
    assert (campaign.name, campaign.version) == ("hello-world", 1)
    assert campaign.api_version == "workflow.symphony/v1"
    assert plain(campaign.spec)["stages"]["mock"]["provider"] == "providers.stage.mock"
    again = await api.campaigns.CreateCampaign(C.CreateCampaignRequest(document=HELLO_WORLD))
    assert not again.created and again.campaign.version == 1

    activation = await api.start(
        "hello-world", {"foo": "bar"}, activation_id="hello-world-activation"
    )
    done = await api.wait(activation.id)
    assert status_name(done.status) == "COMPLETED", done.status_message
    outputs = plain(done.outputs)["mock"]
    # As in Symphony's code: activation inputs reach a stage only through $trigger().
    assert "foo" not in outputs
    assert outputs["__activation"] == "hello-world-activation"
    assert outputs["__stage"] == "mock"
    assert outputs["__previousStage"] == "mock"
    assert outputs["__campaign"] == "hello-world"


async def _walk(api: Api, **request: Any) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    token = ""
    for _ in range(20):
        page = await api.campaigns.ListCampaigns(
            C.ListCampaignsRequest(page_size=1, page_token=token, **request)
        )
        assert len(page.campaigns) <= 1
        seen.extend((c.name, c.version) for c in page.campaigns)
        token = page.next_page_token
        if not token:
            return seen
    raise AssertionError("paging did not end")


async def test_list_pages_one_at_a_time_with_a_prefix(api: Api) -> None:
    await api.create("beta", MOCK)
    await api.create("alpha", MOCK)
    await api.create("alpha", WAIT)
    await api.create("alpha-2", MOCK)
    assert await _walk(api) == [("alpha", 2), ("alpha-2", 1), ("beta", 1)]
    assert await _walk(api, all_versions=True) == [
        ("alpha", 1),
        ("alpha", 2),
        ("alpha-2", 1),
        ("beta", 1),
    ]
    assert await _walk(api, name_prefix="alpha") == [("alpha", 2), ("alpha-2", 1)]
    assert await _walk(api, name_prefix="b") == [("beta", 1)]
    assert await _walk(api, name_prefix="gamma") == []
    whole = await api.campaigns.ListCampaigns(C.ListCampaignsRequest())
    assert [c.name for c in whole.campaigns] == ["alpha", "alpha-2", "beta"]
    assert whole.next_page_token == ""


async def test_delete_refused_while_an_activation_is_open(api: Api) -> None:
    await api.create("hold", WAIT)
    await api.create("hold", {**WAIT, "timeout": "1h"})
    await api.create("other", MOCK)
    activation = await api.start("hold", activation_id="h1")
    assert status_name(activation.status) == "RUNNING"

    before = await api.snapshot()
    for version in (0, 2):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await api.campaigns.DeleteCampaign(
                C.DeleteCampaignRequest(name="hold", version=version)
            )
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "h1" in (err.value.details() or "")
    assert await api.snapshot() == before

    # Version 1 has no open activation (h1 runs version 2): it may go alone.
    deleted = await api.campaigns.DeleteCampaign(C.DeleteCampaignRequest(name="hold", version=1))
    assert deleted.deleted_versions == 1

    await api.activations.CancelActivation(
        activation_pb2.CancelActivationRequest(activation_id="h1")
    )
    deleted = await api.campaigns.DeleteCampaign(C.DeleteCampaignRequest(name="hold"))
    assert deleted.deleted_versions == 1
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.campaigns.GetCampaign(C.GetCampaignRequest(name="hold"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:  # h1 started it: gone all the same
        await api.start("hold", activation_id="h2")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.campaigns.DeleteCampaign(C.DeleteCampaignRequest(name="hold"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    assert [name for name, _, _ in (await api.snapshot())[0]] == ["other"]
    # The cancelled activation is still there to read.
    assert (await api.get("h1")).status == common_pb2.ACTIVATION_STATUS_CANCELLED


async def test_validate_reports_violations_and_stores_nothing(api: Api) -> None:
    valid = await api.campaigns.ValidateCampaign(
        C.ValidateCampaignRequest(name="echo", spec=struct(MOCK))
    )
    assert valid.valid and not valid.violations
    valid = await api.campaigns.ValidateCampaign(C.ValidateCampaignRequest(document=HELLO_WORLD))
    assert valid.valid

    bad = {
        "firstStage": "nope",
        "stages": {"a": {"provider": "teleport", "stageSelector": "${{ outputs.( }}"}},
    }
    invalid = await api.campaigns.ValidateCampaign(
        C.ValidateCampaignRequest(name="bad", spec=struct(bad))
    )
    assert not invalid.valid
    assert {v.field for v in invalid.violations} == {"spec.firstStage"}
    fixed_first = {**bad, "firstStage": "a"}
    invalid = await api.campaigns.ValidateCampaign(
        C.ValidateCampaignRequest(name="bad", spec=struct(fixed_first))
    )
    assert {v.field for v in invalid.violations} == {
        "spec.stages.a.provider",
        "spec.stages.a.stageSelector",
    }
    assert all(v.description for v in invalid.violations)
    assert await api.snapshot() == ([], [])


# -- bad campaigns -----------------------------------------------------------------------------


def _spec(stage: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"firstStage": "build", "stages": {"build": stage}, **top}


BAD_CAMPAIGNS: list[tuple[str, dict[str, Any], str]] = [
    (
        "unknown firstStage",
        {"spec": {"firstStage": "nope", "stages": {"build": {"provider": "mock"}}}},
        "spec.firstStage",
    ),
    ("unknown provider", {"spec": _spec({"provider": "teleport"})}, "spec.stages.build.provider"),
    (
        "invalid expression in inputs",
        {"spec": _spec({"provider": "mock", "inputs": {"ref": "${{ inputs.( }}"}})},
        "spec.stages.build.inputs",
    ),
    (
        "unknown variable in inputs",
        {"spec": _spec({"provider": "mock", "inputs": {"ref": "${{ vault.token }}"}})},
        "spec.stages.build.inputs",
    ),
    (
        "invalid expression in stageSelector",
        {"spec": _spec({"provider": "mock", "stageSelector": "${{ outputs.( }}"})},
        "spec.stages.build.stageSelector",
    ),
    (
        "literal selector naming no stage",
        {"spec": _spec({"provider": "mock", "stageSelector": "deploy"})},
        "spec.stages.build.stageSelector",
    ),
    ("bad timeout", {"spec": _spec({"provider": "mock"}, timeout="soon")}, "spec.timeout"),
    (
        "bad delay duration",
        {"spec": _spec({"provider": "delay", "config": {"duration": "forever"}})},
        "spec.stages.build.config.duration",
    ),
    (
        "wait without an event",
        {"spec": _spec({"provider": "wait"})},
        "spec.stages.build.config.event",
    ),
    ("empty stages", {"spec": {"firstStage": "build", "stages": {}}}, "spec.stages"),
    ("unknown field", {"spec": _spec({"provider": "mock"}, colour="blue")}, "spec.colour"),
    (
        "unknown stage field",
        {"spec": _spec({"provider": "mock", "colour": "blue"})},
        "spec.stages.build.colour",
    ),
    (
        "stage name differing from its key",
        {"spec": _spec({"provider": "mock", "name": "other"})},
        "spec.stages.build.name",
    ),
    (
        "malformed YAML document",
        {"document": "apiVersion: partita/v1\nkind: [Campaign"},
        "document",
    ),
    (
        "document of another kind",
        {"document": "apiVersion: partita/v1\nkind: Widget\nmetadata: {name: w}\nspec: {}\n"},
        "document[0].kind",
    ),
    ("neither spec nor document", {"name": "orphan"}, "spec"),
    ("empty name", {"name": "", "spec": MOCK}, "name"),
    ("name with a slash", {"name": "a/b", "spec": MOCK}, "name"),
]


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [pytest.param(fields, field, id=case) for case, fields, field in BAD_CAMPAIGNS],
)
async def test_bad_campaign_is_refused_naming_the_field(
    api: Api, request_fields: dict[str, Any], field: str
) -> None:
    await api.create("existing", MOCK)
    before = await api.snapshot()
    fields = {"name": "build", **request_fields}
    if isinstance(fields.get("spec"), dict):
        fields["spec"] = struct(fields["spec"])

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await api.campaigns.CreateCampaign(C.CreateCampaignRequest(**fields))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    found = violations(err.value)
    assert field in [f for f, _ in found], found
    assert all(description for _, description in found)
    assert field in (err.value.details() or "")

    checked = await api.campaigns.ValidateCampaign(
        C.ValidateCampaignRequest(
            **{k: v for k, v in fields.items() if k in ("name", "spec", "document")}
        )
    )
    assert not checked.valid
    assert field in [v.field for v in checked.violations]
    assert await api.snapshot() == before


async def test_validate_without_name_or_spec_reports_them(api: Api) -> None:
    unnamed = await api.campaigns.ValidateCampaign(C.ValidateCampaignRequest(spec=struct(MOCK)))
    assert not unnamed.valid
    assert [v.field for v in unnamed.violations] == ["name"]
    empty = await api.campaigns.ValidateCampaign(C.ValidateCampaignRequest(name="x"))
    assert not empty.valid
    assert [v.field for v in empty.violations] == ["spec"]
