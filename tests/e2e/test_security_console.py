"""The console of a plane that requires authentication, in a real browser: it asks for a
token, then a person with the right role answers an approval gate from the page."""

from __future__ import annotations

import grpc
import pytest

from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2
from tests.api.plane_client import struct
from tests.conftest import assert_eventually, free_port
from tests.e2e.planes import PlaneProcess
from tests.e2e.test_console_browser import chromium  # noqa: F401  (the fixture)
from tests.e2e.test_security import cli, serving

pytestmark = pytest.mark.timeout(180)

GATED = {
    "firstStage": "approve",
    "stages": {
        "approve": {
            "provider": "approval",
            "config": {"fields": {"ticket": {"type": "string", "required": True}}},
            "stageSelector": "deploy",
        },
        "deploy": {"provider": "mock"},
    },
}


async def test_an_approval_gate_is_answered_from_the_console(
    chromium: str,  # noqa: F811
    tmp_path: object,
) -> None:
    from pathlib import Path

    from playwright.async_api import async_playwright

    folder = Path(str(tmp_path))
    console = f"127.0.0.1:{free_port()}"
    plane = PlaneProcess(folder / "plane.db", "--require-auth", "--http-listen", console)
    made = cli(
        "token",
        "create",
        "ops",
        "-n",
        "default",
        "--role",
        "operator",
        "--db",
        str(plane.db),
        server=plane.address,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    metadata = (("authorization", f"Bearer {token}"),)
    plane.start()
    try:
        await serving(plane)
        async with grpc.aio.insecure_channel(plane.address) as channel:
            activations = AG.ActivationServiceStub(channel)
            root = cli(
                "token",
                "create",
                "root",
                "-n",
                "default",
                "--role",
                "admin",
                "--db",
                str(plane.db),
                server=plane.address,
            ).stdout.strip()
            await CG.CampaignServiceStub(channel).CreateCampaign(
                C.CreateCampaignRequest(name="rollout", spec=struct(GATED)),
                metadata=(("authorization", f"Bearer {root}"),),
            )
            await activations.StartActivation(
                A.StartActivationRequest(campaign="rollout", activation_id="r1"),
                metadata=metadata,
            )

            async with async_playwright() as driver:
                browser = await driver.chromium.launch(
                    executable_path=chromium, headless=True, args=["--no-sandbox"]
                )
                page = await browser.new_page()
                asked: list[str] = []

                async def answer(dialog: object) -> None:
                    asked.append(dialog.message)  # type: ignore[attr-defined]
                    await dialog.accept(token)  # type: ignore[attr-defined]

                page.on("dialog", answer)
                try:
                    await page.goto(f"http://{console}/activations/r1")
                    await page.wait_for_selector("body[data-ready=true]")
                    assert asked and "token" in asked[0]
                    approve = page.get_by_role("button", name="Approve", exact=True)
                    assert not await approve.is_disabled()
                    await approve.click()
                    await page.fill("[data-field=fields]", "{}")
                    await page.click("#confirm-ok")
                    await page.wait_for_selector("#notice.error >> text=fields.ticket")
                    await approve.click()
                    await page.fill("[data-field=fields]", '{"ticket": "CHG-7"}')
                    await page.click("#confirm-ok")

                    async def done() -> bool:
                        found = await activations.GetActivation(
                            A.GetActivationRequest(activation_id="r1"), metadata=metadata
                        )
                        return found.activation.status == common_pb2.ACTIVATION_STATUS_COMPLETED

                    await assert_eventually(done, within=30)
                finally:
                    await browser.close()
            history = await activations.GetActivationHistory(
                A.GetActivationHistoryRequest(activation_id="r1"), metadata=metadata
            )
            answered = [
                e for e in history.events if e.type == common_pb2.EVENT_TYPE_SIGNAL_RECEIVED
            ]
            assert dict(answered[0].data)["data"]["by"] == "token:ops"
            assert dict(answered[0].data)["data"]["fields"]["ticket"] == "CHG-7"
    finally:
        plane.close()
