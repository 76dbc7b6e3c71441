"""The examples in deploy/: systemd units and the sidecar run for real; every manifest parses."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml

from partita.cli.main import build_parser
from partita.federation.certs import init_ca, issue_hub, issue_site
from partita.v1 import federation_pb2 as F
from partita.v1 import federation_pb2_grpc as FG
from tests.conftest import assert_eventually, free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BIN = Path(sys.executable).parent


def exec_start(unit: str, instance: str = "", env: dict[str, str] | None = None) -> list[str]:
    """A unit's ExecStart as systemd would run it (``%i`` and ``${VAR}`` expanded)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / unit)
    service = parser["Service"]
    assert service["KillSignal"] == "SIGTERM"
    line = service["ExecStart"].replace("%i", instance)
    line = re.sub(r"\$\{(\w+)\}", lambda m: (env or {})[m.group(1)], line)
    return shlex.split(line)


def relocate(argv: list[str], paths: dict[str, str]) -> list[str]:
    """The command with the unit's install paths and addresses replaced by the test's."""
    out = []
    for arg in argv:
        for old, new in paths.items():
            arg = arg.replace(old, new)
        out.append(arg)
    assert out[0].endswith("/partita")
    return [str(BIN / "partita"), *out[1:]]


def spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(argv, stdout=out, stderr=out)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


async def test_the_systemd_units_of_a_hub_and_a_site_run_and_link(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    certs = tmp_path / "certs"
    init_ca(certs)
    issue_hub(certs, ["127.0.0.1"])
    issue_site(certs, "berlin")
    hub_api, federation, site_api = (f"127.0.0.1:{free_port()}" for _ in range(3))
    state = tmp_path / "state"
    state.mkdir()
    common = {"/etc/partita/certs": str(certs), "/var/lib/partita": str(state)}
    hub = relocate(
        exec_start("partita-hub.service"),
        {**common, "127.0.0.1:7600": hub_api, "0.0.0.0:7700": federation},
    )
    site = relocate(
        exec_start("partita-site@.service", "berlin", {"PARTITA_HUB": federation}),
        {**common, "127.0.0.1:7600": site_api},
    )
    for argv in (hub, site):
        processes.append(spawn(argv, tmp_path / "planes.log"))

    async def berlin_linked() -> bool:
        async with grpc.aio.insecure_channel(hub_api) as channel:
            try:
                found = await FG.FederationServiceStub(channel).ListSites(
                    F.ListSitesRequest(), timeout=2
                )
            except grpc.aio.AioRpcError:
                return False
        return any(s.site_id == "berlin" and s.state == F.SITE_STATE_CONNECTED for s in found.sites)

    await assert_eventually(berlin_linked, within=30)
    assert (state / "hub.db").exists() and (state / "site-berlin.db").exists()
    for process in reversed(processes):  # systemctl stop: SIGTERM, a clean exit
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_the_sidecar_example_runs_an_activation_over_a_unix_socket(tmp_path: Path) -> None:
    env = {**os.environ, "PARTITA": str(BIN / "partita"), "PYTHON": sys.executable}
    done = subprocess.run(
        ["sh", str(DEPLOY / "sidecar" / "run.sh"), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert '"greeting": "hello sidecar"' in done.stdout
    assert (tmp_path / "app.db").exists()


def manifests() -> list[Path]:
    return sorted((DEPLOY / "kubernetes").glob("*.yaml"))


def containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc["spec"]
    pod = spec["template"]["spec"] if "template" in spec else spec
    found: list[dict[str, Any]] = pod.get("containers", [])
    return found


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]
    return spec["template"]["spec"] if "template" in spec else spec


def partita_argv(container: dict[str, Any]) -> list[str] | None:
    """The partita command line a container runs, from ``args`` or an ``sh -c`` command."""
    args = container.get("args")
    if args and args[0] == "partita":
        return list(args)
    script = " ".join(container.get("command", []))
    match = re.search(r"exec (partita .*)$", script)
    return shlex.split(match.group(1)) if match else None


@pytest.mark.parametrize("path", manifests(), ids=lambda p: p.name)
def test_every_manifest_parses_and_runs_real_partita_commands(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert docs
    text = path.read_text()
    for doc in docs:
        assert doc["apiVersion"] and doc["kind"] and doc["metadata"]["name"]
        if doc["kind"] not in ("Deployment", "StatefulSet", "Pod"):
            continue
        pod = pod_spec(doc)
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        claims = {c["metadata"]["name"] for c in doc["spec"].get("volumeClaimTemplates", [])}
        for container in containers(doc):
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in volumes or mount["name"] in claims, mount
            argv = partita_argv(container)
            if argv is None:
                continue
            args = build_parser().parse_args(argv[1:])  # exits 2 on a flag partita lacks
            if getattr(args, "tls_cert", ""):
                mounted = [m["mountPath"] for m in container["volumeMounts"]]
                for flag in ("tls_cert", "tls_key", "tls_ca"):
                    assert any(getattr(args, flag).startswith(p) for p in mounted), flag
        comments = "\n".join(line for line in text.splitlines() if line.startswith("#"))
        for volume in volumes.values():
            secret = volume.get("secret", {}).get("secretName")
            if secret:  # every Secret a pod mounts is one the file says how to make
                assert secret in comments, secret


def test_the_hub_service_exposes_the_federation_port_the_sites_dial() -> None:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes" / "federation.yaml").read_text())]
    service = next(
        d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "partita-hub"
    )
    hub = next(d for d in docs if d["kind"] == "Deployment")
    assert service["spec"]["selector"] == hub["spec"]["template"]["metadata"]["labels"]
    named = {p["name"]: p["containerPort"] for p in containers(hub)[0]["ports"]}
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert named[ports["federation"]["targetPort"]] == 7700
    hub_args = build_parser().parse_args(partita_argv(containers(hub)[0])[1:])  # type: ignore[index]
    assert hub_args.federation_listen.endswith(":7700")
    for doc in docs:
        if doc["kind"] in ("StatefulSet", "Pod"):
            argv = partita_argv(containers(doc)[-1])
            assert argv is not None
            site = build_parser().parse_args(argv[1:])
            assert site.hub == f"partita-hub:{ports['federation']['port']}"
