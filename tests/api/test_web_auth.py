"""The console's JSON API behind the same gate as gRPC: real HTTP, real tokens, one table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from partita.api.server import PlaneServer
from partita.runtime import Plane, PlaneConfig
from partita.runtime.access import RULES
from partita.store import Page
from partita.web import WebServer
from partita.web.auth import ROUTES, VERBS

pytestmark = pytest.mark.timeout(60)

WAIT = {"firstStage": "hold", "stages": {"hold": {"provider": "wait", "config": {"event": "go"}}}}


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[PlaneServer, httpx.AsyncClient]]:
    config = PlaneConfig(db=str(tmp_path / "plane.db"), listen=("127.0.0.1:0",), auth="on")
    core = Plane(config)
    web = WebServer(core, "127.0.0.1:0")
    server = PlaneServer(core, [web])
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=web.url.rstrip("/"), timeout=20) as http:
            yield server, http
    finally:
        await server.shutdown(grace=1.0)


def test_every_console_route_follows_a_rule_of_the_one_table() -> None:
    for rpc in [*ROUTES.values(), *VERBS.values()]:
        assert rpc in RULES, rpc


async def test_the_console_api_refuses_strangers_and_checks_roles(
    console: tuple[PlaneServer, httpx.AsyncClient],
) -> None:
    server, http = console
    plane = server.plane
    await plane.create_campaign("team", "gate", WAIT)
    await plane.start_activation("team", "gate", activation_id="t-1")
    _, reader = await server.access.create_token("rita", "team", "reader")
    _, operator = await server.access.create_token("otto", "team", "operator")

    for headers in ({}, {"Authorization": "Bearer pt_wrong"}):
        response = await http.get("/api/v1/activations/t-1?namespace=team", headers=headers)
        assert response.status_code == 401
        assert "t-1" not in response.text
        response = await http.post(
            "/api/v1/activations/t-1:cancel", json={"namespace": "team"}, headers=headers
        )
        assert response.status_code == 401

    as_reader = {"Authorization": f"Bearer {reader}"}
    response = await http.get("/api/v1/activations/t-1?namespace=team", headers=as_reader)
    assert response.status_code == 200
    assert response.json()["activation"]["id"] == "t-1"
    response = await http.get("/api/v1/activations?namespace=other", headers=as_reader)
    assert response.status_code == 403
    response = await http.post(
        "/api/v1/activations/t-1:cancel", json={"namespace": "team"}, headers=as_reader
    )
    assert response.status_code == 403
    assert "missing permission activations.control" in response.json()["message"]
    # the browser's way: the cookie the page sets
    http.cookies.set("partita_token", operator)
    response = await http.post("/api/v1/activations/t-1:cancel", json={"namespace": "team"})
    assert response.status_code == 200, response.text
    http.cookies.clear()
    # pages hold no data and load for anyone (the page then asks for a token)
    assert (await http.get("/activations/t-1")).status_code == 200

    rows = await plane.store.list_audit("team", Page(size=10))
    seen = {(r.identity, r.rpc.rsplit("/", 1)[1], r.result) for r in rows}
    assert ("token:otto", "CancelActivation", "OK") in seen
    assert ("token:rita", "CancelActivation", "PERMISSION_DENIED") in seen
    assert ("unauthenticated", "CancelActivation", "UNAUTHENTICATED") in seen
