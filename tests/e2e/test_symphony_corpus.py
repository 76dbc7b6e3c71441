"""The Symphony compatibility corpus (tests/e2e/symphony/*.yaml), each applied verbatim with
``partita apply`` to a real plane and followed with ``partita get activation -o symphony``
to the outcome Symphony documents (and, where Symphony is weak, better)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.planes import PlaneProcess

CORPUS = Path(__file__).parent / "symphony"
ROOT = Path(__file__).resolve().parents[2]
DONE, PAUSED, RUNNING, INTERNAL_ERROR = 9996, 9995, 9994, 500
WITHIN = 60.0


class Endpoint(BaseHTTPRequestHandler):
    """The HTTP side of the campaigns: canary metrics, approvals, a failing URL."""

    weights: list[str] = []
    approvals: list[dict[str, Any]] = []
    polls: dict[str, int] = {}
    bad_weight = "75"

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _answer(self, code: int, body: Any = None) -> None:
        data = json.dumps(body if body is not None else {}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/metrics"):
            weight = self.headers.get("X-Weight", "")
            Endpoint.weights.append(weight)
            high = self.headers.get("X-Mode") == "bad" and weight == Endpoint.bad_weight
            self._answer(200, {"errorRate": 0.5 if high else 0.01})
        elif self.path.startswith("/approvals/"):
            ticket = self.path.rsplit("/", 1)[1]
            Endpoint.polls[ticket] = Endpoint.polls.get(ticket, 0) + 1
            if ticket == "pending":
                self._answer(404)
            elif ticket == "refused":
                self._answer(403, {"approved": False})
            elif Endpoint.polls[ticket] < 3:
                self._answer(404)
            else:
                self._answer(200, {"approved": True, "by": "alice"})
        else:
            self._answer(404, {"error": "no such thing"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        Endpoint.approvals.append(json.loads(self.rfile.read(length) or b"{}"))
        self._answer(202, {"queued": True})


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlaneProcess]:
    folder = tmp_path_factory.mktemp("symphony")
    plane = PlaneProcess(folder / "plane.db")
    plane.start()
    try:
        _eventually(lambda: partita(plane, "health").stdout.strip() == "SERVING", "serving")
        yield plane
    finally:
        plane.close()


def partita(plane: PlaneProcess, *args: str, stdin: str | None = None) -> Any:
    env = {k: v for k, v in os.environ.items() if k != "PARTITA_SERVER"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    return subprocess.run(
        [sys.executable, "-m", "partita.cli.main", "--server", plane.address, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _eventually(check: Any, what: str, within: float = WITHIN) -> Any:
    import time

    deadline = time.monotonic() + within
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within}s: {what}")
        time.sleep(0.1)


def apply(plane: PlaneProcess, text: str) -> str:
    result = partita(plane, "apply", "-f", "-", stdin=text)
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


def activation(name: str, reference: str, inputs: dict[str, Any], field: str = "") -> str:
    key = field or "campaignversion"
    text = json.dumps(
        {
            "apiVersion": "workflow.symphony/v1",
            "kind": "Activation",
            "metadata": {"name": name},
            "spec": {key: reference, "inputs": inputs},
        }
    )
    return text + "\n"


def symphony_status(plane: PlaneProcess, name: str) -> dict[str, Any]:
    result = partita(plane, "get", "activation", name, "-o", "symphony")
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def final(plane: PlaneProcess, name: str) -> dict[str, Any]:
    """The Symphony status once the activation has ended (neither running nor paused)."""

    def ended() -> dict[str, Any] | None:
        status = symphony_status(plane, name)["status"]
        return status if status["status"] not in (RUNNING, PAUSED) else None

    found: dict[str, Any] = _eventually(ended, f"activation {name} ends")
    return found


def history(status: dict[str, Any]) -> list[tuple[str, int]]:
    return [(h["stage"], h["status"]) for h in status["stageHistory"]]


def corpus(name: str) -> str:
    return (CORPUS / name).read_text()


def test_canary_shifts_weight_until_finalized(plane: PlaneProcess, endpoint: str) -> None:
    out = apply(
        plane,
        corpus("canary.yaml")
        + "---\n"
        + activation("canary-1", "canary:v1", {"endpoint": endpoint}),
    )
    assert "campaign/canary container" in out
    assert "campaign/canary-v-v1 version 1 created" in out
    status = final(plane, "canary-1")
    assert (status["status"], status["statusMessage"]) == (DONE, "Done")
    stages = [h["stage"] for h in status["stageHistory"]]
    assert stages == ["adjust-weight", "test"] * 4 + ["finalize"]  # the whole history
    assert status["stageHistory"][-1]["outputs"]["weight"] == 100
    assert [w for w in Endpoint.weights if w][:4] == ["25", "50", "75", "100"]
    assert all(h["isActive"] is False for h in status["stageHistory"])


def test_canary_rolls_back_on_a_high_error_rate(plane: PlaneProcess, endpoint: str) -> None:
    text = (
        corpus("canary.yaml")
        .replace("        header.X-Weight:", "        header.X-Mode: bad\n        header.X-Weight:")
        .replace("canary-v-v1", "canary-v-v2")
    )
    apply(plane, text + "---\n" + activation("canary-2", "canary:v2", {"endpoint": endpoint}))
    status = final(plane, "canary-2")
    assert status["status"] == DONE
    assert [h["stage"] for h in status["stageHistory"]][-1] == "roll-back"
    assert status["stageHistory"][-2]["outputs"]["status"] == 200


def test_approval_gate_waits_for_the_approval(plane: PlaneProcess, endpoint: str) -> None:
    apply(
        plane,
        corpus("approval.yaml")
        + "---\n"
        + activation(
            "approve-1", "approval:v1", {"endpoint": endpoint, "ticket": "t1", "change": "app v2"}
        ),
    )
    status = final(plane, "approve-1")
    assert history(status) == [("approval", DONE), ("deploy", DONE)]
    assert status["stageHistory"][1]["outputs"]["approvedBy"] == "alice"
    assert Endpoint.polls["t1"] == 3
    assert {"ticket": "t1", "change": "app v2"} in Endpoint.approvals


def test_a_refused_approval_goes_to_the_error_handler(plane: PlaneProcess, endpoint: str) -> None:
    apply(
        plane,
        corpus("approval.yaml")
        + "---\n"
        + activation("approve-2", "approval:v1", {"endpoint": endpoint, "ticket": "refused"}),
    )
    status = final(plane, "approve-2")
    assert history(status) == [("approval", DONE), ("rejected", DONE)]
    reason = status["stageHistory"][1]["outputs"]["reason"]
    assert "failed to wait for operation: 403" in reason


def test_cancel_stops_an_http_stage_polling_forever(plane: PlaneProcess, endpoint: str) -> None:
    text = (
        corpus("approval.yaml")
        .replace("wait.count: 50", "wait.count: 0")
        .replace("wait.interval: 0", "wait.interval: 1")
        .replace("approval-v-v1", "approval-v-forever")
    )
    inputs = {"endpoint": endpoint, "ticket": "pending"}
    apply(plane, text + "---\n" + activation("approve-3", "approval:forever", inputs))
    _eventually(lambda: Endpoint.polls.get("pending", 0) >= 3, "polling")
    cancelled = partita(plane, "cancel", "approve-3")
    assert cancelled.returncode == 0, cancelled.stderr
    status = final(plane, "approve-3")
    assert status["status"] == INTERNAL_ERROR
    assert history(status) == [("approval", INTERNAL_ERROR)]
    state = json.loads(partita(plane, "get", "activation", "approve-3", "-o", "json").stdout)
    assert state["status"] == "ACTIVATION_STATUS_CANCELLED"


def test_stepped_mode_keeps_outputs_and_state(plane: PlaneProcess) -> None:
    apply(plane, corpus("stepped.yaml") + "---\n" + activation("step-1", "stepped:v1", {"step": 3}))

    def paused_after(count: int) -> dict[str, Any] | None:
        status = symphony_status(plane, "step-1")["status"]
        done = [h for h in status["stageHistory"] if not h["isActive"]]
        return status if status["status"] == PAUSED and len(done) == count else None

    status = _eventually(lambda: paused_after(1), "paused after the first stage")
    assert status["statusMessage"] == "Paused"
    assert status["stageHistory"][0]["nextStage"] == "report"
    for stage, count in (("count", 2), ("count", 3)):  # the driver picks the stage, twice
        assert partita(plane, "advance", "step-1", "--stage", stage).returncode == 0
        status = _eventually(lambda c=count: paused_after(c), "paused again")
    assert status["stageHistory"][-1]["outputs"]["n"] == 9  # __state carried: 3 + 3 + 3
    assert partita(plane, "advance", "step-1").returncode == 0
    status = _eventually(lambda: paused_after(4), "paused after report")
    assert status["stageHistory"][-1]["outputs"]["total"] == 9
    assert partita(plane, "advance", "step-1").returncode == 0
    assert final(plane, "step-1")["status"] == DONE


def test_counter_loop_in_symphony_048_documents(plane: PlaneProcess) -> None:
    apply(
        plane,
        corpus("counter.yaml")
        + "---\n"
        + activation("count-1", "counter-campaign", {"step": 2, "limit": 30}, field="campaign"),
    )
    status = final(plane, "count-1")
    assert status["status"] == DONE
    assert len(status["stageHistory"]) == 15  # 2, 4, ... 30: every loop kept
    assert status["stageHistory"][-1]["outputs"]["val"] == 30
    assert "__state" not in status["stageHistory"][-1]["outputs"]


def test_error_handler_sees_the_failure(plane: PlaneProcess, tmp_path: Path) -> None:
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "check.sh").write_text(corpus("check.sh"))
    apply(
        plane,
        corpus("error-handler.yaml")
        + "---\n"
        + activation("guard-1", "guarded:v1", {"scripts": str(scripts), "wanted": "bad"})
        + "---\n"
        + activation("guard-2", "guarded:v1", {"scripts": str(scripts)}),
    )
    refused = final(plane, "guard-1")
    assert history(refused) == [("check", DONE), ("handle", DONE)]
    handled = refused["stageHistory"][1]["outputs"]
    assert handled["failedWith"] == 403
    assert handled["message"] == "policy refused the change"
    passed = final(plane, "guard-2")
    assert history(passed) == [("check", DONE), ("next", DONE)]
    assert passed["stageHistory"][0]["outputs"]["checked"] is True


def test_parallel_tasks_tolerate_one_failure(plane: PlaneProcess, endpoint: str) -> None:
    apply(
        plane,
        corpus("parallel-tasks.yaml")
        + "---\n"
        + activation("tasks-1", "tasks:v1", {"endpoint": endpoint}),
    )
    status = final(plane, "tasks-1")
    assert history(status) == [("fan", DONE), ("report", DONE)], json.dumps(status)
    fan = status["stageHistory"][0]["outputs"]
    assert fan["east"]["foo"] == 2 and fan["east"]["release"] == "r1"
    assert fan["north"]["n"] == 5
    assert fan["west"]["status"] == 500 and "404" in fan["west"]["error"]
    assert json.loads(status["stageHistory"][1]["outputs"]["east"])["foo"] == 2


def test_multi_site_rollout_keys_outputs_by_site(plane: PlaneProcess) -> None:
    apply(
        plane,
        corpus("multi-site.yaml")
        + "---\n"
        + activation(
            "rollout-1", "site-apps:version1", {"sites": ["site-a", "site-b"], "version": "v7"}
        ),
    )
    status = final(plane, "rollout-1")
    assert history(status) == [("deploy", DONE), ("verify", DONE)]
    deploy = status["stageHistory"][0]["outputs"]
    assert deploy["site-a.site"] == "site-a" and deploy["site-b.version"] == "v7"
    assert status["stageHistory"][1]["outputs"]["seen"] == "site-b"


def test_a_remote_stage_without_federation_fails_clearly(plane: PlaneProcess) -> None:
    inputs = {"sites": ["site-a", "site-b"], "remote": "yes"}
    apply(
        plane,
        corpus("multi-site.yaml") + "---\n" + activation("rollout-2", "site-apps:version1", inputs),
    )
    status = final(plane, "rollout-2")
    assert status["status"] == INTERNAL_ERROR
    assert status["stageHistory"][-1]["stage"] == "remote"
    assert "federation" in status["errorMessage"]


def test_a_scheduled_stage_survives_a_plane_kill(tmp_path: Path) -> None:
    plane = PlaneProcess(tmp_path / "plane.db")
    plane.start()
    try:
        _eventually(lambda: partita(plane, "health").stdout.strip() == "SERVING", "serving")
        soon = (datetime.now(UTC) + timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        text = corpus("scheduled.yaml").replace("SCHEDULE_AT", soon)
        apply(plane, text + "---\n" + activation("sched-1", "scheduled:v1", {"then": "never"}))
        waiting = symphony_status(plane, "sched-1")["status"]
        assert waiting["status"] == RUNNING
        assert waiting["stageHistory"][0]["isActive"] is True
        plane.kill()
        plane.start()
        _eventually(lambda: partita(plane, "health").stdout.strip() == "SERVING", "serving")

        def moved_on() -> dict[str, Any] | None:
            status = symphony_status(plane, "sched-1")["status"]
            return status if len(status["stageHistory"]) == 2 else None

        status = _eventually(moved_on, "the scheduled stage ran after the restart")
        assert status["stageHistory"][0]["outputs"]["when"] == soon
        assert status["stageHistory"][1]["stage"] == "never"
        assert status["stageHistory"][1]["isActive"] is True  # waiting for 2999, durably
        cancel = partita(plane, "cancel", "sched-1")
        assert cancel.returncode == 0, cancel.stderr
        assert final(plane, "sched-1")["errorMessage"]
    finally:
        plane.close()


def test_partita_activate_takes_a_symphony_reference(plane: PlaneProcess) -> None:
    apply(plane, corpus("multi-site.yaml"))
    started = partita(
        plane,
        "activate",
        "site-apps:version1",
        "--id",
        "ref-1",
        "--inputs-json",
        '{"sites": ["site-a", "site-b"]}',
        "--wait",
    )
    assert started.returncode == 0, started.stderr
    status = symphony_status(plane, "ref-1")
    assert status["spec"]["campaignversion"] == "site-apps:version1"
    assert history(status["status"]) == [("deploy", DONE), ("verify", DONE)]
