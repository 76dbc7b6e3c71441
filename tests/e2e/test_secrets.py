"""Secrets from the outside: a real plane process, the CLI, a real HTTP endpoint; the value
reaches the provider and nothing else (the test greps the database files and the log)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from partita.runtime.secrets import new_key
from partita.v1 import campaign_pb2, campaign_pb2_grpc
from tests.api.plane_client import struct
from tests.conftest import assert_eventually
from tests.e2e.planes import PlaneProcess
from tests.e2e.test_security import cli

pytestmark = pytest.mark.timeout(120)

VALUE = "s3cr3t-Value-7f9e2"


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[str]]]:
    """An HTTP endpoint that records the Authorization header of each request."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            body = json.dumps({"ok": True, "echo": self.headers.get("Authorization", "")})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


async def test_a_secret_reaches_the_provider_and_nothing_else(
    tmp_path: Path, endpoint: tuple[str, list[str]]
) -> None:
    url, seen = endpoint
    key_file = tmp_path / "secret.key"
    key_file.write_text(new_key())
    value_file = tmp_path / "value.txt"
    value_file.write_text(VALUE + "\n")
    spec = {
        "firstStage": "call",
        "stages": {
            "call": {
                "provider": "http",
                "config": {
                    "url": url,
                    "headers": {"Authorization": "Bearer ${{ secrets.api_token }}"},
                },
                "stageSelector": "echo",
            },
            "echo": {
                "provider": "mock",
                "inputs": {"token": "${{ secrets.api_token }}", "n": 1},
                "stageSelector": "leak",
            },
            "leak": {
                "provider": "http",
                "config": {"url": "http://127.0.0.1:1/${{ secrets.api_token }}", "timeout": "2s"},
            },
        },
    }
    plane = PlaneProcess(
        tmp_path / "plane.db", "--http-listen", "off", "--secret-key-file", str(key_file)
    )
    try:
        plane.start()
        channel = await plane.channel()
        made = cli(
            "secret", "set", "api_token", "--from-file", str(value_file), server=plane.address
        )
        assert made.returncode == 0, made.stderr
        listed = cli("secret", "list", server=plane.address)
        assert "api_token" in listed.stdout and VALUE not in listed.stdout
        await campaign_pb2_grpc.CampaignServiceStub(channel).CreateCampaign(
            campaign_pb2.CreateCampaignRequest(name="calls", spec=struct(spec))
        )
        await channel.close()
        started = cli("activate", "calls", "--id", "c1", "--wait", server=plane.address)
        assert started.returncode == 1  # the last stage fails: nothing listens on port 1
        assert seen == [f"Bearer {VALUE}"]  # the provider got the value itself

        got = cli("get", "activation", "c1", "-o", "json", server=plane.address)
        history = cli("history", "c1", "-o", "json", server=plane.address)
        for text in (got.stdout, history.stdout, got.stderr, started.stdout, started.stderr):
            assert VALUE not in text
        assert "***" in got.stdout  # outputs and the failure are redacted
        assert "\u00absecret:api_token\u00bb" in history.stdout  # the history keeps references

        # restarted, the plane opens the sealed secret again and still redacts
        plane.stop()
        plane.start()
        await (await plane.channel()).close()
        again = cli("activate", "calls", "--id", "c2", "--wait", server=plane.address)
        assert again.returncode == 1
        assert seen == [f"Bearer {VALUE}"] * 2
        plane.stop()
        files = sorted(tmp_path.glob("plane.db*"))  # noqa: ASYNC240
        assert files
        for path in [*files, plane.log_path]:
            assert VALUE.encode() not in path.read_bytes(), path
        assert "MOCK STAGE PROVIDER" in plane.log_path.read_text()  # the mock did log its inputs
    finally:
        plane.close()


async def test_a_plane_without_a_key_refuses_to_keep_secrets(tmp_path: Path) -> None:
    value_file = tmp_path / "value.txt"
    value_file.write_text(VALUE)
    plane = PlaneProcess(tmp_path / "plane.db", "--http-listen", "off")
    try:
        plane.start()
        await (await plane.channel()).close()

        async def refused() -> bool:
            made = cli("secret", "set", "x", "--from-file", str(value_file), server=plane.address)
            assert made.returncode == 2, made.stderr
            return "FAILED_PRECONDITION" in made.stderr and "secret key" in made.stderr

        await assert_eventually(refused, within=10)
    finally:
        plane.close()
