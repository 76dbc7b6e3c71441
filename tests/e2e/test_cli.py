"""The ``partita`` command end to end: real CLI processes against a real site plane process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "deploy" / "examples"
HELLO_WORLD = EXAMPLES / "symphony-hello-world.yaml"
DEMO = EXAMPLES / "demo.yaml"
SERVING_WITHIN = 20.0

TEST_CAMPAIGNS = """\
apiVersion: partita/v1
kind: Campaign
metadata: {name: stepped}
spec:
  firstStage: a
  selfDriving: false
  stages:
    a: {provider: mock, stageSelector: b}
    b: {provider: mock}
---
apiVersion: partita/v1
kind: Campaign
metadata: {name: waiter}
spec:
  firstStage: wait
  stages:
    wait: {provider: wait, config: {event: go}, stageSelector: done}
    done: {provider: mock, inputs: {got: "${{ trigger.data.x }}"}}
---
apiVersion: partita/v1
kind: Campaign
metadata: {name: broken}
spec:
  firstStage: count
  stages:
    count: {provider: counter, inputs: {x: not-a-number}}
"""


def _env(server: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PARTITA_SERVER"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    if server is not None:
        env["PARTITA_SERVER"] = server
    return env


def cli(
    *args: str, server: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``partita ARGS`` with PARTITA_SERVER set to ``server`` (when given)."""
    return subprocess.run(
        [sys.executable, "-m", "partita.cli.main", *args],
        env=_env(server),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def eventually(check: Callable[[], Any], within: float = SERVING_WITHIN, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"not within {within}s: {what or check}")
        time.sleep(0.05)


@dataclass
class Site:
    """A ``partita site`` process and the address clients use."""

    process: subprocess.Popen[bytes]
    server: str
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_serving(self) -> None:
        def serving() -> bool:
            if self.process.poll() is not None:
                pytest.fail(f"site exited with {self.process.returncode}:\n{self.log_text()}")
            result = cli("health", server=self.server)
            return result.returncode == 0 and result.stdout.strip() == "SERVING"

        eventually(serving, SERVING_WITHIN, f"site at {self.server} SERVING")

    def stop(self) -> int:
        """SIGTERM, then the exit code (killing it if it does not stop in time)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_site(workdir: Path, *listen: str) -> Site:
    log = workdir / "site.log"
    args = [sys.executable, "-m", "partita.cli.main", "site", "--db", str(workdir / "x.db")]
    for address in listen:
        args += ["--listen", address]
    with log.open("wb") as sink:
        process = subprocess.Popen(args, env=_env(), stdout=sink, stderr=subprocess.STDOUT)
    return Site(process, listen[0], log)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    plane = start_site(tmp_path_factory.mktemp("site"), f"127.0.0.1:{free_port()}")
    try:
        plane.wait_serving()
        yield plane
    finally:
        plane.stop()


@pytest.fixture(scope="module")
def server(site: Site, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The module's plane with the demo and test campaigns applied."""
    campaigns = tmp_path_factory.mktemp("campaigns") / "test-campaigns.yaml"
    campaigns.write_text(TEST_CAMPAIGNS)
    result = cli("apply", "-f", str(DEMO), "-f", str(campaigns), server=site.server)
    assert result.returncode == 0, result.stderr
    return site.server


@pytest.fixture(scope="module")
def hello_world(server: str) -> subprocess.CompletedProcess[str]:
    """``partita apply`` of Symphony's hello world, once the activation COMPLETED."""
    applied = cli("apply", "-f", str(HELLO_WORLD), server=server)
    wait_status(server, "hello-world-activation", "COMPLETED")
    return applied


def get_activation(server: str, activation_id: str) -> dict[str, Any]:
    result = cli("get", "activation", activation_id, "-o", "json", server=server)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def wait_status(server: str, activation_id: str, status: str) -> dict[str, Any]:
    wanted = f"ACTIVATION_STATUS_{status}"

    def reached() -> dict[str, Any] | None:
        activation = get_activation(server, activation_id)
        return activation if activation["status"] == wanted else None

    found: dict[str, Any] = eventually(reached, 30, f"{activation_id} {status}")
    return found


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("partita"), lines[0]
    return lines[0]


# -- apply, get, list --------------------------------------------------------------------------


def test_apply_symphony_hello_world(
    server: str, hello_world: subprocess.CompletedProcess[str]
) -> None:
    assert hello_world.returncode == 0, hello_world.stderr
    assert hello_world.stdout.splitlines() == [
        "campaign/hello-world version 1 created",
        "activation/hello-world-activation started",
    ]
    activation = get_activation(server, "hello-world-activation")
    assert activation["id"] == "hello-world-activation"
    assert activation["campaign"] == "hello-world"
    assert activation["inputs"]["foo"] == "bar"
    # As in Symphony's code, a stage sees activation inputs only through $trigger().
    assert activation["outputs"]["mock"]["__activation"] == "hello-world-activation"

    again = cli("apply", "-f", str(HELLO_WORLD), server=server)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "campaign/hello-world version 1 unchanged",
        "activation/hello-world-activation unchanged",
    ]


def test_apply_a_directory_and_stdin(server: str, tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text(
        "apiVersion: partita/v1\nkind: Activation\nmetadata: {name: from-dir}\n"
        "spec: {campaign: dir-campaign}\n"
    )
    (tmp_path / "a.yml").write_text(
        "apiVersion: partita/v1\nkind: Campaign\nmetadata: {name: dir-campaign}\n"
        "spec: {firstStage: only, stages: {only: {provider: noop}}}\n"
    )
    (tmp_path / "notes.txt").write_text("not a document")
    result = cli("apply", "-f", str(tmp_path), "--wait", server=server)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "campaign/dir-campaign version 1 created",
        "activation/from-dir started",
        "activation/from-dir COMPLETED",
    ]
    piped = cli(
        "apply", "-f", "-", "-o", "json", server=server, stdin=(tmp_path / "a.yml").read_text()
    )
    assert piped.returncode == 0, piped.stderr
    [item] = json.loads(piped.stdout)["items"]
    assert item["created"] is False
    assert item["campaign"]["name"] == "dir-campaign"


def test_get_campaign(server: str) -> None:
    table = cli("get", "campaign", "demo", server=server)
    assert table.returncode == 0, table.stderr
    assert "name:" in table.stdout and "demo" in table.stdout
    assert "firstStage: greet" in table.stdout
    as_json = json.loads(cli("get", "campaign", "demo", "-o", "json", server=server).stdout)
    assert as_json["name"] == "demo"
    assert as_json["version"] == 1
    assert as_json["apiVersion"] == "partita/v1"
    assert set(as_json["spec"]["stages"]) == {"greet", "pause", "finish"}


def test_global_options_after_the_subcommand(hello_world: Any, server: str) -> None:
    after = cli("get", "activation", "hello-world-activation", "-o", "yaml", "--server", server)
    assert after.returncode == 0, after.stderr
    assert yaml.safe_load(after.stdout)["status"] == "ACTIVATION_STATUS_COMPLETED"
    before = cli("--server", server, "-o", "json", "get", "activation", "hello-world-activation")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["id"] == "hello-world-activation"
    elsewhere = cli("get", "activation", "hello-world-activation", "-n", "other", server=server)
    assert elsewhere.returncode == 2
    assert "NOT_FOUND" in one_error_line(elsewhere)


def test_list_activations_by_status(hello_world: Any, server: str) -> None:
    completed = cli("list", "activations", "--status", "completed", "-o", "json", server=server)
    assert completed.returncode == 0, completed.stderr
    items = json.loads(completed.stdout)["activations"]
    assert "hello-world-activation" in {a["id"] for a in items}
    assert {a["status"] for a in items} == {"ACTIVATION_STATUS_COMPLETED"}

    failed = cli("list", "activations", "--status", "FAILED", "-o", "json", server=server)
    assert "hello-world-activation" not in {
        a["id"] for a in json.loads(failed.stdout)["activations"]
    }

    table = cli("list", "activations", "--campaign", "hello-world", "--since", "1h", server=server)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["ID", "CAMPAIGN", "VERSION", "STATUS", "STAGE", "CREATED", "CLOSED"]
    assert rows and rows[0].split()[:4] == [
        "hello-world-activation",
        "hello-world",
        "1",
        "COMPLETED",
    ]

    limited = cli("list", "activations", "--limit", "1", "-o", "json", server=server)
    assert len(json.loads(limited.stdout)["activations"]) == 1
    campaigns = cli("list", "campaigns", "-o", "json", server=server)
    assert {"demo", "hello-world", "stepped"} <= {
        c["name"] for c in json.loads(campaigns.stdout)["campaigns"]
    }


# -- activate, watch, history ------------------------------------------------------------------


def test_activate_wait(server: str) -> None:
    result = cli("activate", "demo", "--input", "name=world", "--wait", "-o", "json", server=server)
    assert result.returncode == 0, result.stderr
    activation = json.loads(result.stdout)
    assert activation["status"] == "ACTIVATION_STATUS_COMPLETED"
    assert activation["inputs"] == {"name": "world"}
    assert activation["outputs"]["greet"]["n"] == 5
    assert activation["outputs"]["finish"]["message"] == "Hello, world! (after a 1s pause)"
    assert [run["stage"] for run in activation["stageRuns"]] == ["greet", "pause", "finish"]

    # An empty name: the selector ends the activation after `greet`.
    table = cli("activate", "demo", "--id", "no-name", "--input", "name=", "--wait", server=server)
    assert table.returncode == 0, table.stderr
    assert "activation/no-name COMPLETED" in table.stdout
    assert "finish" not in table.stdout


def test_activate_inputs_are_yaml_scalars(server: str) -> None:
    result = cli(
        "activate",
        "stepped",
        "--id",
        "typed",
        "--inputs-json",
        '{"n": 1, "keep": "x"}',
        "--input",
        "n=3",
        "--input",
        "flag=true",
        "--input",
        "name=bob",
        "-o",
        "json",
        server=server,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["inputs"] == {"n": 3, "flag": True, "name": "bob", "keep": "x"}
    cli("terminate", "typed", server=server)


def test_failed_activation_exits_1(server: str) -> None:
    result = cli("activate", "broken", "--wait", server=server)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED" in result.stdout
    assert "must be a number" in result.stdout


def test_watch_prints_stage_lines(server: str) -> None:
    assert (
        cli("activate", "demo", "--id", "watched", "--input", "name=ann", server=server).returncode
        == 0
    )
    result = cli("watch", "watched", server=server)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "▶ stage greet started (run 1, attempt 1)" in lines
    assert any(line.startswith("✔ stage greet completed") and '"n": 3' in line for line in lines)
    assert "▶ stage pause started (run 2, attempt 1)" in lines
    assert "▶ stage finish started (run 3, attempt 1)" in lines
    assert lines[-1] == "activation/watched COMPLETED"

    streamed = cli("watch", "watched", "-o", "json", server=server)
    assert streamed.returncode == 0, streamed.stderr
    items = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert [int(i["event"]["sequence"]) for i in items] == list(range(1, len(items) + 1))
    assert items[0]["event"]["type"] == "EVENT_TYPE_ACTIVATION_STARTED"
    assert items[-1]["activation"]["status"] == "ACTIVATION_STATUS_COMPLETED"


def test_history(hello_world: Any, server: str) -> None:
    table = cli("history", "hello-world-activation", server=server)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["SEQ", "TIME", "TYPE", "STAGE", "DATA"]
    assert [row.split()[2] for row in rows] == [
        "ACTIVATION_STARTED",
        "STAGE_STARTED",
        "STAGE_COMPLETED",
        "ACTIVATION_COMPLETED",
    ]
    assert [row.split()[0] for row in rows] == ["1", "2", "3", "4"]
    events = json.loads(
        cli("history", "hello-world-activation", "-o", "json", server=server).stdout
    )
    assert events["events"][2]["data"]["outputs"]["__stage"] == "mock"


# -- control -----------------------------------------------------------------------------------


def test_stepped_mode_advance(server: str) -> None:
    assert cli("activate", "stepped", "--id", "step", server=server).returncode == 0
    paused = wait_status(server, "step", "PAUSED")
    assert paused["currentStage"] == "a"
    advanced = cli("advance", "step", server=server)
    assert advanced.returncode == 0, advanced.stderr
    assert advanced.stdout.startswith("activation/step ")
    eventually(
        lambda: (
            get_activation(server, "step")["currentStage"] == "b"
            and get_activation(server, "step")["status"] == "ACTIVATION_STATUS_PAUSED"
        ),
        what="paused after b",
    )
    assert cli("advance", "step", server=server).returncode == 0
    wait_status(server, "step", "COMPLETED")
    late = cli("advance", "step", server=server)
    assert late.returncode == 2
    assert "FAILED_PRECONDITION" in one_error_line(late)


def test_signal_wakes_a_wait_stage(server: str) -> None:
    assert cli("activate", "waiter", "--id", "sig", server=server).returncode == 0
    signalled = cli("signal", "sig", "go", "--data", "x=7", server=server)
    assert signalled.returncode == 0, signalled.stderr
    assert signalled.stdout.startswith("activation/sig ")
    done = wait_status(server, "sig", "COMPLETED")
    assert done["outputs"]["done"]["got"] == 7


def test_cancel(server: str) -> None:
    assert cli("activate", "waiter", "--id", "doomed", server=server).returncode == 0
    cancelled = cli("cancel", "doomed", "--reason", "not needed", server=server)
    assert cancelled.returncode == 0, cancelled.stderr
    activation = wait_status(server, "doomed", "CANCELLED")
    assert "not needed" in activation.get("statusMessage", "")
    watched = cli("watch", "doomed", server=server)
    assert watched.returncode == 1
    assert watched.stdout.splitlines()[-1].startswith("activation/doomed CANCELLED")


def test_terminate(server: str) -> None:
    assert cli("activate", "waiter", "--id", "stopped", server=server).returncode == 0
    result = cli("terminate", "stopped", "--reason", "enough", "-o", "json", server=server)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "ACTIVATION_STATUS_TERMINATED"


# -- errors and usage --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("kind: Campaign\nspec: [unclosed\n", "bad.yaml: not valid YAML or JSON: line 3, column 1"),
        ("apiVersion: partita/v1\nkind: Campaign\nmetadata: {name: x}\nspec: 3\n", "spec"),
        (
            "apiVersion: partita/v1\nkind: Campaign\nmetadata: {name: bad-provider}\n"
            "spec: {firstStage: s, stages: {s: {provider: nope}}}\n",
            "INVALID_ARGUMENT: spec.stages.s.provider",
        ),
        (
            "apiVersion: partita/v1\nkind: Activation\nmetadata: {name: orphan}\n"
            "spec: {campaign: no-such-campaign}\n",
            "NOT_FOUND",
        ),
    ],
    ids=["malformed-yaml", "bad-spec", "invalid-campaign", "unknown-campaign"],
)
def test_apply_bad_input_exits_2(server: str, tmp_path: Path, document: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(document)
    result = cli("apply", "-f", str(path), server=server)
    assert result.returncode == 2, result.stdout + result.stderr
    line = one_error_line(result)
    assert line.startswith("partita: error: ")
    assert expected in line


@pytest.mark.parametrize(
    "args",
    [
        ["activate", "no-such-campaign"],
        ["get", "activation", "no-such-activation"],
        ["activate", "demo", "--input", "novalue"],
        ["list", "activations", "--status", "sleeping"],
        ["apply", "-f", "/no/such/file.yaml"],
        ["get"],
        ["frobnicate"],
    ],
)
def test_bad_usage_or_input_exits_2(server: str, args: list[str]) -> None:
    result = cli(*args, server=server)
    assert result.returncode == 2, result.stdout + result.stderr
    one_error_line(result)


def test_health_of_nothing_exits_2() -> None:
    address = f"127.0.0.1:{free_port()}"
    result = cli("health", server=address)
    assert result.returncode == 2
    assert one_error_line(result) == f"partita: error: cannot reach plane at {address}"


def test_help_lists_every_command() -> None:
    result = cli("--help")
    assert result.returncode == 0
    for command in (
        "site",
        "health",
        "apply",
        "activate",
        "get",
        "list",
        "watch",
        "history",
        "cancel",
        "terminate",
        "signal",
        "advance",
    ):
        assert f"    {command} " in result.stdout, command
    sub = cli("get", "activation", "--help")
    assert sub.returncode == 0
    assert "--server" in sub.stdout and "--output" in sub.stdout


# -- the site process --------------------------------------------------------------------------


def test_site_on_a_unix_socket_stops_on_sigterm() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="partita-"))  # short: socket paths are limited
    try:
        socket_server = f"unix:{workdir / 'plane.sock'}"
        plane = start_site(workdir, socket_server)
        try:
            plane.wait_serving()
            applied = cli("apply", "-f", str(HELLO_WORLD), server=socket_server)
            assert applied.returncode == 0, applied.stderr
            via_option = cli(
                "--server", socket_server, "get", "activation", "hello-world-activation"
            )
            assert via_option.returncode == 0, via_option.stderr
            wait_status(socket_server, "hello-world-activation", "COMPLETED")
        finally:
            code = plane.stop()
        assert code == 0, plane.log_text()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
