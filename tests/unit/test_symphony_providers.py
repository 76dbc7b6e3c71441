"""Providers by Symphony's names, called as the plane calls them (real scripts, real HTTP)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from partita.providers import StageCall, StageError, builtin_providers

PROVIDERS = builtin_providers()


def call(inputs: dict[str, Any], config: dict[str, Any] | None = None, **kw: Any) -> StageCall:
    return StageCall(
        "default",
        "c",
        "a1",
        "s",
        1,
        "s",
        kw.get("site", "hq"),
        1,
        inputs,
        config or {},
        kw.get("state"),
    )


async def run(name: str, inputs: dict[str, Any], config: dict[str, Any] | None = None) -> Any:
    return await PROVIDERS[name].run(call(inputs, config))


@pytest.mark.parametrize(
    ("foo", "expected"),
    [(None, 1), ("", 1), (4, 5), (4.0, 5), ("7", 8), ("bar", "bar")],
)
async def test_mock_counts_foo_up_as_symphony_samples_expect(foo: Any, expected: Any) -> None:
    outputs = await run("symphony.mock", {"foo": foo, "__site": "hq"})
    assert outputs == {"foo": expected, "__site": "hq"}


async def test_mock_without_foo_only_echoes() -> None:
    assert await run("symphony.mock", {"x": 1}) == {"x": 1}


async def test_counter_adds_numbers_and_leaves_other_inputs_alone() -> None:
    first = await PROVIDERS["symphony.counter"].run(call({"n": 2, "n.init": 10, "release": "r1"}))
    assert first == {"n": 12, "__state": {"n": 12}}
    again = await PROVIDERS["symphony.counter"].run(call({"n": 2}, state=first["__state"]))
    assert again["n"] == 14


async def test_list_of_sites_needs_a_hub() -> None:
    with pytest.raises(StageError) as caught:
        await run("symphony.list", {"objectType": "sites", "namesOnly": True})
    assert "needs a hub plane" in str(caught.value)

    async def sites() -> list[str]:
        return ["hq", "s1", "s2"]

    hub = builtin_providers(sites=sites)["symphony.list"]
    assert await hub.run(call({"objectType": "sites"})) == {"items": ["s1", "s2"], "status": 200}


async def test_remote_names_federation_until_it_exists() -> None:
    with pytest.raises(StageError) as caught:
        await run("symphony.remote", {"__site": "s1", "operation": "mock"})
    assert "'s1'" in str(caught.value) and "federation" in str(caught.value)
    assert caught.value.non_retryable


def tasks_config(mode: str, tolerated: int = 0, concurrency: int = 1) -> dict[str, Any]:
    return {
        "provider": "",
        "tasks": [
            {"name": "a", "provider": "symphony.mock", "inputs": {"foo": 1}},
            {"name": "b", "provider": "symphony.mock", "inputs": {"status": 500}},
            {"name": "c", "provider": "symphony.mock", "inputs": {"foo": 5}},
        ],
        "taskOption": {
            "concurrency": concurrency,
            "errorAction": {"mode": mode, "maxToleratedFailures": tolerated},
        },
    }


async def test_tasks_stop_on_any_failure_start_no_more() -> None:
    with pytest.raises(StageError) as caught:
        await run("symphony.tasks", {"shared": 1}, tasks_config("stopOnAnyFailure"))
    outputs = caught.value.details["outputs"]
    assert outputs["a"]["foo"] == 2 and outputs["a"]["shared"] == 1
    assert outputs["b"]["status"] == 500
    assert "c" not in outputs  # one at a time: nothing started after the failure


async def test_tasks_tolerate_failures_up_to_the_limit() -> None:
    outputs = await run("symphony.tasks", {}, tasks_config("stopOnNFailures", 1, 3))
    assert outputs["c"]["foo"] == 6 and outputs["b"]["status"] == 500
    with pytest.raises(StageError):
        await run("symphony.tasks", {}, tasks_config("stopOnNFailures", 0, 3))
    quiet = await run("symphony.tasks", {}, tasks_config("silentlyContinue", 0, 0))
    assert set(quiet) == {"a", "b", "c"}


SCRIPT = """#!/usr/bin/env bash
set -eu
out="${1%.json}-output.json"
case "$(cat "$1")" in
  *'"mode": "fail"'*) echo "broken on purpose" >&2; exit 3 ;;
  *'"mode": "refuse"'*) echo '{"status": 403, "error": "refused"}' > "$out" ;;
  *) echo "{\\"seen\\": $(cat "$1")}" > "$out" ;;
esac
"""


@pytest.fixture
def scripts(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "run.sh").write_text(SCRIPT)
    staging = tmp_path / "staging"
    return {"scriptFolder": str(tmp_path), "script": "run.sh", "stagingFolder": str(staging)}


async def test_script_gets_inputs_as_a_file_and_returns_its_output_file(
    scripts: dict[str, Any],
) -> None:
    outputs = await run("symphony.script", {"mode": "ok", "n": 1}, scripts)
    assert outputs == {"seen": {"mode": "ok", "n": 1}}
    assert os.listdir(scripts["stagingFolder"]) == []  # cleaned up
    assert await run("symphony.script", {"mode": "refuse"}, scripts) == {
        "status": 403,
        "error": "refused",
    }
    with pytest.raises(StageError) as caught:
        await run("symphony.script", {"mode": "fail"}, scripts)
    assert "exited with 3: broken on purpose" in str(caught.value)


class _Approvals(BaseHTTPRequestHandler):
    polls = 0
    seen_headers: list[str] = []

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_POST(self) -> None:
        _Approvals.seen_headers.append(self.headers.get("X-Token", ""))
        self.send_response(202)
        self.end_headers()

    def do_GET(self) -> None:
        _Approvals.polls += 1
        ready = _Approvals.polls >= 2
        body = json.dumps({"state": "yes" if ready else "no"}).encode()
        self.send_response(200 if ready or self.path.endswith("slow") else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def approvals() -> Iterator[str]:
    _Approvals.polls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Approvals)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_http_polls_the_wait_url_until_success(approvals: str) -> None:
    config = {
        "url": f"{approvals}/ask",
        "method": "POST",
        "wait.url": f"{approvals}/status",
        "wait.start": [202],
        "wait.success": [200],
        "wait.count": 5,
        "wait.expression": "${{$equal($context(state), yes)}}",
    }
    outputs = await run("symphony.http", {"header.X-Token": "t0k"}, config)
    assert outputs["status"] == 202
    assert json.loads(outputs["waitBody"]) == {"state": "yes"}
    assert outputs["waitResult"] is True
    assert _Approvals.seen_headers[-1] == "t0k"


async def test_http_wait_gives_up_after_wait_count(approvals: str) -> None:
    config = {
        "url": f"{approvals}/ask",
        "method": "POST",
        "wait.url": f"{approvals}/slow",
        "wait.start": [202],
        "wait.success": [200],
        "wait.count": 3,
        "wait.expression": "$.missing",
        "wait.expressionType": "jsonpath",
    }
    with pytest.raises(StageError) as caught:
        await run("symphony.http", {}, config)
    assert "after 3 polls" in str(caught.value)


async def test_http_inputs_override_config(approvals: str) -> None:
    outputs = await run(
        "symphony.http", {"url": f"{approvals}/ask", "method": "POST"}, {"url": "http://x.invalid"}
    )
    assert outputs["status"] == 202
    assert outputs["header.Server"].startswith("BaseHTTP")  # Go's canonical spelling
