"""The console in a real browser: Debian's chromium, driven by Playwright, over a real plane.

A plane runs as a subprocess with its console on a free port; a branching campaign runs
activations that complete, fail and wait; the test looks at the pages as a user would: the
graph with every stage, the colors of the path taken, a live update while a stage finishes,
and a cancel from the page reaching the activation. Screenshots are written to
``$PARTITA_TEST_ARTIFACTS/console`` (default: this test's temporary folder) and their folder
is printed.

Chromium is never downloaded: the test uses ``/usr/bin/chromium``, installing Debian's
package first where it can (as root with apt-get); otherwise it is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from tests.api.plane_client import struct
from tests.api.web_campaign import BRANCHING, STAGES
from tests.conftest import assert_eventually, free_port
from tests.e2e.planes import PlaneProcess

CHROMIUM = Path("/usr/bin/chromium")
GREEN, RED, BLUE, AMBER, GREY = (
    "rgb(46, 158, 79)",
    "rgb(214, 69, 69)",
    "rgb(47, 111, 221)",
    "rgb(217, 154, 0)",
    "rgb(185, 190, 199)",
)
"""The stroke of a stage's box: done, failed, running, waiting, not reached (app.css)."""

pytestmark = pytest.mark.timeout(900)


def _chromium() -> str:
    """Why the browser cannot run here, or "" when /usr/bin/chromium is ready."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (it is in the dev extras: make venv)"
    if CHROMIUM.exists():
        return ""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get)"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{CHROMIUM} is missing and `{' '.join(command)}` failed: {exc}"
        if done.returncode != 0:
            return f"{CHROMIUM} is missing and `{' '.join(command)}` failed: {done.stderr[-300:]}"
    return "" if CHROMIUM.exists() else f"{CHROMIUM} is missing after installing chromium"


@pytest.fixture(scope="module")
def chromium() -> str:
    reason = _chromium()
    if reason:
        pytest.skip(f"no browser for the console test: {reason}")
    return str(CHROMIUM)


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    root = os.environ.get("PARTITA_TEST_ARTIFACTS")
    folder = (Path(root) if root else tmp_path) / "console"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"console screenshots: {folder}")
    return folder


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[tuple[PlaneProcess, str]]:
    console = f"127.0.0.1:{free_port()}"
    process = PlaneProcess(tmp_path / "plane.db", "--http-listen", console)
    process.start()
    try:
        yield process, f"http://{console}"
    finally:
        process.stop()
        process.close()


async def _status(stub: AG.ActivationServiceStub, activation_id: str) -> A.Activation:
    return (
        await stub.GetActivation(A.GetActivationRequest(activation_id=activation_id))
    ).activation


async def _until(
    stub: AG.ActivationServiceStub, activation_id: str, check: Callable[[A.Activation], bool]
) -> None:
    async def probe() -> bool:
        return check(await _status(stub, activation_id))

    await assert_eventually(probe, within=30)


def _waiting(found: A.Activation) -> bool:
    return any(r.status == A.STAGE_RUN_STATUS_WAITING for r in found.stage_runs)


def _is(status: int) -> Callable[[A.Activation], bool]:
    return lambda found: found.status == status


async def test_console_shows_campaigns_and_activations_live(
    chromium: str, plane: tuple[PlaneProcess, str], artifacts: Path
) -> None:
    from playwright.async_api import Page, async_playwright

    process, base = plane
    channel = await process.channel()
    campaigns = CG.CampaignServiceStub(channel)
    activations = AG.ActivationServiceStub(channel)
    await campaigns.CreateCampaign(C.CreateCampaignRequest(name="ship", spec=struct(BRANCHING)))
    for route in ("ok", "fail", "wait", "stop"):
        await activations.StartActivation(
            A.StartActivationRequest(
                campaign="ship",
                activation_id=f"a-{route}",
                inputs=struct({"route": "wait" if route == "stop" else route}),
            )
        )
    await _until(activations, "a-ok", _is(common_pb2.ACTIVATION_STATUS_COMPLETED))
    await _until(activations, "a-fail", _is(common_pb2.ACTIVATION_STATUS_FAILED))
    await _until(activations, "a-wait", _waiting)
    await _until(activations, "a-stop", _waiting)

    async def ready(page: Page, path: str) -> None:
        await page.goto(base + path)
        await page.wait_for_selector("body[data-ready=true]")

    async def stages(page: Page) -> dict[str, str]:
        found: dict[str, str] = await page.eval_on_selector_all(
            ".node",
            "nodes => Object.fromEntries(nodes.map(n => [n.dataset.stage, n.dataset.status]))",
        )
        return found

    async def stroke(page: Page, stage: str) -> str:
        value: str = await page.eval_on_selector(
            f'.node[data-stage="{stage}"] rect.box', "r => getComputedStyle(r).stroke"
        )
        return value

    async def taken(page: Page) -> set[tuple[str, str]]:
        pairs: list[list[str]] = await page.eval_on_selector_all(
            'path.edge[data-taken="true"]',
            "es => es.map(e => [e.dataset.source, e.dataset.target])",
        )
        return {(a, b) for a, b in pairs}

    requested: list[str] = []
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda request: requested.append(request.url))
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            # the campaign drawn as a graph: every stage, the selector edges, the marks
            await ready(page, "/campaigns/ship")
            assert sorted(await stages(page)) == STAGES
            edges: list[str] = await page.eval_on_selector_all(
                "path.edge", "es => es.map(e => `${e.dataset.source}>${e.dataset.target}`)"
            )
            assert {"check>call", "check>gate", "check>ship", "ship>unship"} <= set(edges)
            assert await page.get_attribute('.node[data-stage="spread"]', "data-fan-out") == "true"
            assert (
                await page.get_attribute('.node[data-stage="unship"]', "data-compensates") == "ship"
            )
            await page.screenshot(path=artifacts / "campaign.png", full_page=True)

            # the list, and a filter on status
            await ready(page, "/activations")
            ids = await page.eval_on_selector_all(
                "tr[data-activation]", "rs => rs.map(r => r.dataset.activation)"
            )
            assert sorted(ids) == ["a-fail", "a-ok", "a-stop", "a-wait"]
            await page.select_option("[data-testid=filter-status]", "FAILED")
            await page.click("form.filters button")
            await page.wait_for_url("**/activations?*statuses=FAILED*")
            await page.wait_for_selector("body[data-ready=true]")
            ids = await page.eval_on_selector_all(
                "tr[data-activation]", "rs => rs.map(r => r.dataset.activation)"
            )
            assert ids == ["a-fail"]
            await page.screenshot(path=artifacts / "activations-failed.png", full_page=True)

            # a completed activation: its path green, the rest grey, the path drawn
            await ready(page, "/activations/a-ok")
            seen = await stages(page)
            assert {s for s, v in seen.items() if v == "done"} == {
                "check",
                "ship",
                "spread",
                "done",
            }
            assert {s for s, v in seen.items() if v == "not-reached"} == {"gate", "call", "unship"}
            assert await stroke(page, "done") == GREEN and await stroke(page, "call") == GREY
            assert await taken(page) == {("check", "ship"), ("ship", "spread"), ("spread", "done")}
            await page.click('.node[data-stage="spread"]')
            await page.wait_for_selector("[data-testid=stage-details] [data-run]")
            assert await page.locator("[data-testid=stage-details] [data-run]").count() == 3
            assert await page.locator("[data-testid=outcome] td .badge").all_text_contents() == [
                "COMPLETED",
                "COMPLETED",
            ]
            await page.screenshot(path=artifacts / "activation-completed.png", full_page=True)

            # a failed one: the failed stage red, its error shown on selection
            await ready(page, "/activations/a-fail")
            seen = await stages(page)
            assert (seen["check"], seen["call"], seen["ship"]) == ("done", "failed", "not-reached")
            assert await stroke(page, "call") == RED
            assert await taken(page) == {("check", "call")}
            await page.click('.node[data-stage="call"]')
            error = await page.text_content("[data-testid=run-error]")
            assert error and "message" in error
            await page.screenshot(path=artifacts / "activation-failed.png", full_page=True)

            # a waiting one, updated live while its wait stage finishes (no reload)
            await ready(page, "/activations/a-wait")
            assert (await stages(page))["gate"] == "waiting"
            assert await stroke(page, "gate") == AMBER
            await page.wait_for_selector("[data-testid=live].on")
            await page.evaluate("window.__sameDocument = true")
            await page.screenshot(path=artifacts / "activation-waiting.png", full_page=True)
            await activations.SignalActivation(
                A.SignalActivationRequest(activation_id="a-wait", event="go", data=struct({}))
            )
            await page.wait_for_selector(
                '[data-testid=activation-status] [data-status="COMPLETED"]'
            )
            seen = await stages(page)
            assert {s for s, v in seen.items() if v == "done"} == {
                "check",
                "gate",
                "ship",
                "spread",
                "done",
            }
            assert await page.evaluate("window.__sameDocument") is True
            assert (
                await page.locator("[data-testid=history] tr[data-sequence]").count()
                == (await _status(activations, "a-wait")).history_length
            )
            await page.screenshot(path=artifacts / "activation-live-completed.png", full_page=True)

            # cancel from the page, with confirmation, reaches the activation
            await ready(page, "/activations/a-stop")
            await page.get_by_role("button", name="Cancel", exact=True).click()
            await page.fill("[data-field=reason]", "from the console")
            await page.screenshot(path=artifacts / "activation-cancel-dialog.png")
            await page.click("#confirm-ok")
            await _until(activations, "a-stop", _is(common_pb2.ACTIVATION_STATUS_CANCELLED))
            await page.wait_for_selector(
                '[data-testid=activation-status] [data-status="CANCELLED"]'
            )
            await page.screenshot(path=artifacts / "activation-cancelled.png", full_page=True)

            # a site plane is not a hub: the sites page says so
            await ready(page, "/sites")
            assert "is not a hub" in (await page.text_content("[data-testid=not-hub]") or "")
            await page.screenshot(path=artifacts / "sites.png")
        finally:
            await browser.close()
    await channel.close()
    assert errors == []
    assert requested and all(url.startswith(base) for url in requested), [
        u for u in requested if not u.startswith(base)
    ]


async def _ready(page: Any, url: str) -> None:
    await page.goto(url)
    await page.wait_for_selector("body[data-ready=true]")


async def test_console_signals_and_advances_with_confirmation(
    chromium: str, plane: tuple[PlaneProcess, str], artifacts: Path
) -> None:
    from playwright.async_api import async_playwright

    process, base = plane
    channel = await process.channel()
    campaigns = CG.CampaignServiceStub(channel)
    activations = AG.ActivationServiceStub(channel)
    await campaigns.CreateCampaign(C.CreateCampaignRequest(name="ship", spec=struct(BRANCHING)))
    stepped = {
        "firstStage": "one",
        "selfDriving": False,
        "stages": {
            "one": {"provider": "mock", "stageSelector": "two"},
            "two": {"provider": "mock"},
        },
    }
    await campaigns.CreateCampaign(C.CreateCampaignRequest(name="steps", spec=struct(stepped)))
    for activation_id, campaign, inputs in (
        ("sig", "ship", {"route": "wait"}),
        ("st", "steps", {}),
    ):
        await activations.StartActivation(
            A.StartActivationRequest(
                campaign=campaign, activation_id=activation_id, inputs=struct(inputs)
            )
        )
    await _until(activations, "sig", _waiting)
    await _until(activations, "st", _is(common_pb2.ACTIVATION_STATUS_PAUSED))

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            await _ready(page, f"{base}/activations/sig")
            assert await page.get_by_role(
                "button", name="Advance", exact=True
            ).is_disabled()  # self-driving: nothing to advance

            # bad input is refused with the reason, and nothing reaches the activation
            await page.get_by_role("button", name="Signal", exact=True).click()
            await page.fill("[data-field=data]", '{"by": "console"}')
            await page.click("#confirm-ok")
            await page.wait_for_selector("#notice.error")
            assert "event" in (await page.text_content("#notice") or "")
            await page.get_by_role("button", name="Signal", exact=True).click()
            await page.fill("[data-field=event]", "go")
            await page.fill("[data-field=data]", "{not json")
            await page.click("#confirm-ok")
            await page.wait_for_selector("#notice.error >> text=not JSON")
            await page.get_by_role("button", name="Signal", exact=True).click()
            await page.fill("[data-field=event]", "go")
            await page.get_by_role(
                "button", name="Back", exact=True
            ).click()  # no confirmation, no signal
            assert (
                await _status(activations, "sig")
            ).status == common_pb2.ACTIVATION_STATUS_RUNNING

            await page.get_by_role("button", name="Signal", exact=True).click()
            await page.fill("[data-field=event]", "go")
            await page.fill("[data-field=data]", '{"by": "console"}')
            await page.click("#confirm-ok")
            await _until(activations, "sig", _is(common_pb2.ACTIVATION_STATUS_COMPLETED))
            await page.wait_for_selector(
                '[data-testid=activation-status] [data-status="COMPLETED"]'
            )
            history = await activations.GetActivationHistory(
                A.GetActivationHistoryRequest(activation_id="sig")
            )
            signals = [e for e in history.events if e.type == common_pb2.EVENT_TYPE_SIGNAL_RECEIVED]
            assert len(signals) == 1 and dict(signals[0].data)["data"]["by"] == "console"
            await page.screenshot(path=artifacts / "activation-signalled.png", full_page=True)

            # a stepped activation: Advance moves it on, one stage at a time
            await _ready(page, f"{base}/activations/st")
            assert (
                await page.eval_on_selector_all(".node", "ns => ns.map(n => n.dataset.status)")
            ) == ["done", "not-reached"]
            await page.get_by_role("button", name="Advance", exact=True).click()
            await page.click("#confirm-ok")
            await _until(activations, "st", lambda found: found.current_stage == "two")
            await page.wait_for_selector('.node[data-stage="two"][data-status="done"]')
            await page.screenshot(path=artifacts / "activation-advanced.png", full_page=True)
        finally:
            await browser.close()
    await channel.close()
