"""The console's JSON API over a real plane: a real HTTP server beside a real gRPC server.

The JSON API must answer with the gRPC API's messages in protobuf's JSON mapping and with
its errors (the HTTP status of the gRPC code, the same message, the field named).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format

from partita.api.server import PlaneServer
from partita.runtime import Plane, PlaneConfig
from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc, campaign_pb2_grpc, common_pb2
from partita.v1 import campaign_pb2 as C
from partita.web import WebServer
from tests.api.plane_client import Api, struct
from tests.api.web_campaign import BRANCHING, STAGES
from tests.conftest import assert_eventually

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[tuple[Api, httpx.AsyncClient]]:
    """A plane serving gRPC and the console (port 0), a gRPC client and an HTTP client."""
    config = PlaneConfig(db=str(tmp_path / "plane.db"), listen=("127.0.0.1:0",))
    core = Plane(config)
    web = WebServer(core, "127.0.0.1:0")
    server = PlaneServer(core, [web])
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.ports[0]}")
    api = Api(
        server=server,
        channel=channel,
        campaigns=campaign_pb2_grpc.CampaignServiceStub(channel),
        activations=activation_pb2_grpc.ActivationServiceStub(channel),
        workers=None,  # type: ignore[arg-type]
        schedules=None,  # type: ignore[arg-type]
        health=None,  # type: ignore[arg-type]
    )
    try:
        async with httpx.AsyncClient(base_url=web.url.rstrip("/"), timeout=20) as http:
            yield api, http
    finally:
        await channel.close()
        await server.shutdown(grace=1.0)


async def _setup(api: Api) -> dict[str, str]:
    """The branching campaign and one activation per route; each route's activation id."""
    await api.create("ship", BRANCHING)
    ids = {}
    for route in ("ok", "fail", "wait"):
        ids[route] = (await api.start("ship", {"route": route}, activation_id=f"a-{route}")).id
    await api.wait(ids["ok"], common_pb2.ACTIVATION_STATUS_COMPLETED)
    await api.wait(ids["fail"], common_pb2.ACTIVATION_STATUS_FAILED)
    await _waiting(api, ids["wait"])
    return ids


async def _waiting(api: Api, activation_id: str) -> None:
    """Until the activation waits in ``gate`` for its event."""

    async def gate() -> bool:
        found = await api.get(activation_id)
        return any(r.status == A.STAGE_RUN_STATUS_WAITING for r in found.stage_runs)

    await assert_eventually(gate, within=10)


def _error(response: httpx.Response) -> tuple[int, int, str, list[str]]:
    """HTTP status, gRPC code, message and the fields the BadRequest details name."""
    body = response.json()
    fields = [
        v["field"] for detail in body.get("details", []) for v in detail.get("fieldViolations", [])
    ]
    return response.status_code, body["code"], body["message"], fields


async def test_activation_is_the_grpc_message_in_json(plane: tuple[Api, httpx.AsyncClient]) -> None:
    api, http = plane
    ids = await _setup(api)
    response = await http.get(f"/api/v1/activations/{ids['ok']}")
    assert response.status_code == 200
    by_grpc = await api.activations.GetActivation(A.GetActivationRequest(activation_id=ids["ok"]))
    assert response.json() == json_format.MessageToDict(by_grpc)
    activation = response.json()["activation"]
    assert activation["status"] == "ACTIVATION_STATUS_COMPLETED"
    stages = list(dict.fromkeys(r["stage"] for r in activation["stageRuns"]))
    assert stages == ["check", "ship", "spread", "done"]


async def test_campaign_and_list_match_grpc(plane: tuple[Api, httpx.AsyncClient]) -> None:
    api, http = plane
    await api.create("ship", BRANCHING)
    got = (await http.get("/api/v1/campaigns/ship", params={"version": 1})).json()
    by_grpc = await api.campaigns.GetCampaign(C.GetCampaignRequest(name="ship", version=1))
    assert got == json_format.MessageToDict(by_grpc)
    listed = (await http.get("/api/v1/campaigns")).json()
    assert [c["name"] for c in listed["campaigns"]] == ["ship"]


async def test_unknown_activation_is_404_with_the_grpc_message(
    plane: tuple[Api, httpx.AsyncClient],
) -> None:
    api, http = plane
    for path in ("/api/v1/activations/ghost", "/api/v1/activations/ghost/history"):
        status, code, message, _ = _error(await http.get(path))
        assert (status, code) == (404, grpc.StatusCode.NOT_FOUND.value[0])
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await api.activations.GetActivation(A.GetActivationRequest(activation_id="ghost"))
        assert message == caught.value.details()
    status, code, message, _ = _error(await http.post("/api/v1/activations/ghost:cancel"))
    assert (status, code) == (404, 5) and "ghost" in message
    status, _, message, _ = _error(await http.get("/api/v1/campaigns/ghost"))
    assert status == 404 and "ghost" in message


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ({"statuses": "DONE"}, "statuses", "is not one of"),
        ({"statuses": "ACTIVATION_STATUS_UNSPECIFIED"}, "statuses", "is not a status"),
        ({"pageSize": "ten"}, "pageSize", "whole number"),
        ({"pageSize": "-1"}, "page_size", ""),
        ({"startTimeAfter": "yesterday"}, "startTimeAfter", ""),
        ({"pageToken": "garbage"}, "page_token", ""),
        ({"colour": "blue"}, "colour", "not a parameter"),
    ],
)
async def test_bad_filter_is_400_naming_the_field(
    plane: tuple[Api, httpx.AsyncClient], query: dict[str, str], field: str, reason: str
) -> None:
    _, http = plane
    status, code, message, fields = _error(await http.get("/api/v1/activations", params=query))
    assert (status, code) == (400, grpc.StatusCode.INVALID_ARGUMENT.value[0])
    assert fields == [field], message
    assert reason in message


async def test_filters_and_paging(plane: tuple[Api, httpx.AsyncClient]) -> None:
    api, http = plane
    ids = await _setup(api)
    failed = (await http.get("/api/v1/activations", params={"statuses": "FAILED"})).json()
    assert [a["id"] for a in failed["activations"]] == [ids["fail"]]
    both = (
        await http.get(
            "/api/v1/activations",
            params=[("statuses", "COMPLETED"), ("statuses", "ACTIVATION_STATUS_RUNNING")],
        )
    ).json()
    assert sorted(a["id"] for a in both["activations"]) == sorted([ids["ok"], ids["wait"]])
    none = (await http.get("/api/v1/activations", params={"campaign": "other"})).json()
    assert none.get("activations", []) == []
    future = (
        await http.get("/api/v1/activations", params={"startTimeAfter": "2999-01-01T00:00:00Z"})
    ).json()
    assert future.get("activations", []) == []
    seen: list[str] = []
    token = ""
    while True:
        params = {"pageSize": "1", **({"pageToken": token} if token else {})}
        page = (await http.get("/api/v1/activations", params=params)).json()
        seen += [a["id"] for a in page.get("activations", [])]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert sorted(seen) == sorted(ids.values())


async def test_actions_reach_the_activation(plane: tuple[Api, httpx.AsyncClient]) -> None:
    api, http = plane
    await api.create("ship", BRANCHING)
    waiting = (await api.start("ship", {"route": "wait"})).id
    await _waiting(api, waiting)
    response = await http.post(
        f"/api/v1/activations/{waiting}:signal", json={"event": "go", "data": {"by": "web"}}
    )
    assert response.status_code == 200, response.text
    done = await api.wait(waiting, common_pb2.ACTIVATION_STATUS_COMPLETED)
    assert [r.stage for r in done.stage_runs][:3] == ["check", "gate", "ship"]

    second = (await api.start("ship", {"route": "wait"})).id
    await _waiting(api, second)
    response = await http.post(f"/api/v1/activations/{second}:cancel", json={"reason": "web"})
    assert response.json()["activation"]["id"] == second
    await api.wait(second, common_pb2.ACTIVATION_STATUS_CANCELLED)
    status, code, message, _ = _error(await http.post(f"/api/v1/activations/{second}:cancel"))
    assert status == 400 and code == grpc.StatusCode.FAILED_PRECONDITION.value[0], message


async def test_bad_action_bodies(plane: tuple[Api, httpx.AsyncClient]) -> None:
    api, http = plane
    await api.create("ship", BRANCHING)
    waiting = (await api.start("ship", {"route": "wait"})).id
    cases: list[tuple[str, Any, int, list[str], str]] = [
        (":signal", {}, 400, ["event"], "required"),
        (":signal", {"event": "go", "colour": 1}, 400, ["body"], "colour"),
        (":signal", "not json", 400, ["body"], ""),
        (":explode", {}, 404, [], "no such action"),
    ]
    for suffix, body, http_status, fields, reason in cases:
        content = body if isinstance(body, str) else json.dumps(body)
        response = await http.post(f"/api/v1/activations/{waiting}{suffix}", content=content)
        status, _, message, named = _error(response)
        assert (status, named) == (http_status, fields), message
        assert reason in message
    status, _, message, _ = _error(await http.get("/api/v1/nothing"))
    assert status == 404 and "no such API call" in message


async def test_watch_streams_events_until_the_end(plane: tuple[Api, httpx.AsyncClient]) -> None:
    api, http = plane
    await api.create("ship", BRANCHING)
    waiting = (await api.start("ship", {"route": "wait"})).id
    await _waiting(api, waiting)
    items: list[dict[str, Any]] = []
    ended = False
    async with http.stream("GET", f"/api/v1/activations/{waiting}/watch") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        signalled = False
        name = "message"
        async for line in stream.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name == "message":
                items.append(json.loads(line.removeprefix("data: ")))
                runs = items[-1]["activation"].get("stageRuns", [])
                if not signalled and any(r["status"].endswith("WAITING") for r in runs):
                    signalled = True  # the stream is live: finish the wait stage over gRPC
                    await api.activations.SignalActivation(
                        A.SignalActivationRequest(
                            activation_id=waiting, event="go", data=struct({})
                        )
                    )
            elif line.startswith("data: ") and name == "end":
                ended = True
            elif not line:
                name = "message"
    assert ended
    sequences = [int(i["event"]["sequence"]) for i in items]
    assert sequences == list(range(1, len(sequences) + 1))
    assert items[-1]["activation"]["status"] == "ACTIVATION_STATUS_COMPLETED"
    assert "EVENT_TYPE_SIGNAL_RECEIVED" in [i["event"]["type"] for i in items]

    resumed = await http.get(
        f"/api/v1/activations/{waiting}/watch", headers={"Last-Event-ID": str(sequences[-2])}
    )
    data = [line for line in resumed.text.splitlines() if line.startswith("id: ")]
    assert data == [f"id: {sequences[-1]}"]
    status, _, _, fields = _error(
        await http.get(f"/api/v1/activations/{waiting}/watch", params={"fromSequence": "-1"})
    )
    assert (status, fields) == (400, ["fromSequence"])
    status, _, _, _ = _error(await http.get("/api/v1/activations/ghost/watch"))
    assert status == 404


async def test_graph_has_every_stage_and_the_selector_edges(
    plane: tuple[Api, httpx.AsyncClient],
) -> None:
    api, http = plane
    await api.create("ship", BRANCHING)
    graph = (await http.get("/api/v1/campaigns/ship/graph")).json()
    assert sorted(n["name"] for n in graph["nodes"]) == STAGES
    edges = {(e["source"], e["target"], e["kind"]) for e in graph["edges"]}
    assert edges == {
        ("check", "call", "next"),  # string literals in the selector expression
        ("check", "gate", "next"),
        ("check", "ship", "next"),
        ("gate", "ship", "next"),  # literal selectors
        ("ship", "spread", "next"),
        ("spread", "done", "next"),
        ("ship", "unship", "compensate"),
    }
    nodes = {n["name"]: n for n in graph["nodes"]}
    assert nodes["spread"]["fanOut"] and not nodes["ship"]["fanOut"]
    assert nodes["unship"]["compensates"] == "ship"
    assert nodes["check"]["first"]


async def test_plane_is_not_a_hub(plane: tuple[Api, httpx.AsyncClient]) -> None:
    _, http = plane
    assert (await http.get("/api/v1/plane")).json()["hub"] is False
    status, code, message, _ = _error(await http.get("/api/v1/sites"))
    assert (status, code) == (400, grpc.StatusCode.FAILED_PRECONDITION.value[0])
    assert "not a hub" in message


async def test_pages_and_assets_need_no_internet(plane: tuple[Api, httpx.AsyncClient]) -> None:
    _, http = plane
    for path in ("/", "/campaigns", "/campaigns/x", "/activations", "/activations/y", "/sites"):
        page = await http.get(path)
        assert page.status_code == 200 and "<title>Partita console</title>" in page.text
    page = (await http.get("/")).text
    assert "http://" not in page and "https://" not in page
    for asset in ("app.js", "app.css", "vendor/dagre.min.js", "vendor/dagre.LICENSE"):
        response = await http.get(f"/static/{asset}")
        assert response.status_code == 200 and response.content, asset
    script = (await http.get("/static/app.js")).text
    assert 'fetch("http' not in script and "https://" not in script


def test_a_bad_http_listen_is_refused(tmp_path: Path) -> None:
    site = [sys.executable, "-m", "partita.cli.main", "site", "--db", str(tmp_path / "x.db")]
    run = subprocess.run(
        [*site, "--listen", "127.0.0.1:0", "--http-listen", "nowhere"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert run.returncode == 2
    assert "--http-listen" in run.stderr and "host:port" in run.stderr


async def test_start_advance_and_terminate(plane: tuple[Api, httpx.AsyncClient]) -> None:
    api, http = plane
    stepped = {
        "firstStage": "one",
        "selfDriving": False,
        "stages": {
            "one": {"provider": "mock", "stageSelector": "two"},
            "two": {"provider": "mock", "stageSelector": "three"},
            "three": {"provider": "mock"},
        },
    }
    await api.create("steps", stepped)
    started = await http.post(
        "/api/v1/activations",
        json={"campaign": "steps", "activationId": "s1", "inputs": {"n": 1}},
    )
    assert started.status_code == 200, started.text
    assert started.json()["started"] is True
    again = await http.post("/api/v1/activations", json={"campaign": "steps", "activationId": "s1"})
    status, code, _, _ = _error(again)
    assert (status, code) == (409, grpc.StatusCode.ALREADY_EXISTS.value[0])
    await api.wait("s1", common_pb2.ACTIVATION_STATUS_PAUSED)
    advanced = await http.post("/api/v1/activations/s1:advance", json={})
    assert advanced.status_code == 200, advanced.text

    async def at_two() -> bool:
        found = await api.get("s1")
        return found.status == common_pb2.ACTIVATION_STATUS_PAUSED and found.current_stage == "two"

    await assert_eventually(at_two, within=10)
    terminated = await http.post("/api/v1/activations/s1:terminate", json={"reason": "enough"})
    assert terminated.status_code == 200, terminated.text
    found = await api.wait("s1", common_pb2.ACTIVATION_STATUS_TERMINATED)
    assert "enough" in found.status_message
    status, _, message, _ = _error(
        await http.post("/api/v1/activations", json={"campaign": "nope"})
    )
    assert status == 404 and "nope" in message


def test_a_taken_console_port_stops_the_plane_with_the_reason(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        site = [sys.executable, "-m", "partita.cli.main", "site", "--db", str(tmp_path / "x.db")]
        run = subprocess.run(
            [*site, "--listen", "127.0.0.1:0", "--http-listen", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1
    assert f"console cannot listen on 127.0.0.1:{port}" in run.stderr


async def test_shutdown_ends_open_watch_streams(plane: tuple[Api, httpx.AsyncClient]) -> None:
    api, http = plane
    await api.create("ship", BRANCHING)
    waiting = (await api.start("ship", {"route": "wait"})).id
    await _waiting(api, waiting)
    lines: list[str] = []
    async with http.stream("GET", f"/api/v1/activations/{waiting}/watch") as stream:
        async for line in stream.aiter_lines():
            lines.append(line)
            if line.startswith("id: ") and int(line[4:]) == (await api.get(waiting)).history_length:
                await api.server.shutdown(grace=1.0)  # while the stream waits for more
    assert "event: abort" in lines
    aborted = json.loads(lines[lines.index("event: abort") + 1].removeprefix("data: "))
    assert aborted["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    assert "shutting down" in aborted["message"]


async def test_namespace_is_a_parameter_like_in_grpc(plane: tuple[Api, httpx.AsyncClient]) -> None:
    api, http = plane
    await api.create("ship", BRANCHING, namespace="team")
    await api.start("ship", {"route": "ok"}, namespace="team", activation_id="t1")
    status, _, message, _ = _error(await http.get("/api/v1/activations/t1"))
    assert status == 404 and "default" in message
    found = await http.get("/api/v1/activations/t1", params={"namespace": "team"})
    assert found.status_code == 200 and found.json()["activation"]["namespace"] == "team"
    listed = (await http.get("/api/v1/campaigns", params={"namespace": "team"})).json()
    assert [c["name"] for c in listed["campaigns"]] == ["ship"]
    assert (await http.get("/api/v1/campaigns")).json().get("campaigns", []) == []
