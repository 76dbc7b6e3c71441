#!/usr/bin/env python3
"""The demo behind ``make run``: a site plane in the foreground, with a campaign run on it.

Starts ``partita site`` on 127.0.0.1:7600 (console on 127.0.0.1:7601) over
``./.partita-demo.db``, waits until it is
SERVING, applies ``deploy/examples/demo.yaml``, runs ``partita activate demo --input
name=world --wait``, then keeps the plane running (its log now shown live) until Ctrl-C or
SIGTERM, when it stops the plane gracefully.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
ADDRESS = "127.0.0.1:7600"
CONSOLE = "127.0.0.1:7601"
DB = "./.partita-demo.db"
CAMPAIGN = ROOT / "deploy" / "examples" / "demo.yaml"
SERVING_WITHIN = 20.0
STOP_WITHIN = 15.0


def _env() -> dict[str, str]:
    env = dict(os.environ, PARTITA_SERVER=ADDRESS)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH", "")) if p
    )
    return env


def _partita() -> list[str]:
    """How to run the CLI: the venv's ``partita`` script, else ``python -m``."""
    script = Path(sys.executable).parent / "partita"
    return [str(script)] if script.exists() else [sys.executable, "-m", "partita.cli.main"]


def _shown() -> str:
    """How the user can type the CLI, relative to the repository when possible."""
    command = _partita()
    if len(command) == 1:
        try:
            return str(Path(command[0]).relative_to(Path.cwd()))
        except ValueError:
            return command[0]
    return shlex.join(command)


def _run(*args: str, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    if not quiet:
        print(f"$ partita {shlex.join(args)}", flush=True)
    return subprocess.run(
        [*_partita(), *args], env=_env(), text=True, capture_output=quiet, check=False
    )


class LogRelay(threading.Thread):
    """Drains the plane's log: kept while the demo sets up, then shown live."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(daemon=True, name="plane-log")
        self.stream = stream
        self.kept: list[bytes] = []
        self.live = False
        self.lock = threading.Lock()

    def run(self) -> None:
        for line in iter(self.stream.readline, b""):
            with self.lock:
                if self.live:
                    sys.stderr.buffer.write(line)
                    sys.stderr.buffer.flush()
                else:
                    self.kept.append(line)

    def go_live(self) -> None:
        """Show what was kept, then every further line as it comes."""
        with self.lock:
            sys.stderr.buffer.write(b"".join(self.kept))
            sys.stderr.buffer.flush()
            self.kept.clear()
            self.live = True

    def dump(self) -> None:
        with self.lock:
            sys.stderr.buffer.write(b"".join(self.kept))
            sys.stderr.buffer.flush()


def _wait_serving(plane: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + SERVING_WITHIN
    while time.monotonic() < deadline:
        if plane.poll() is not None:
            return False
        health = _run("health", quiet=True)
        if health.returncode == 0 and health.stdout.strip() == "SERVING":
            return True
        time.sleep(0.1)
    return False


def _stop(plane: subprocess.Popen[bytes]) -> int:
    if plane.poll() is None:
        plane.send_signal(signal.SIGTERM)
        try:
            plane.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            print(f"the plane did not stop within {STOP_WITHIN:.0f}s; killing it", flush=True)
            plane.kill()
            plane.wait()
    return plane.returncode


def main() -> int:
    if _run("health", quiet=True).returncode == 0:
        print(f"a plane is already serving at {ADDRESS}; stop it first", file=sys.stderr)
        return 1
    print(f"starting a site plane at {ADDRESS} (database {DB})", flush=True)
    plane = subprocess.Popen(
        [*_partita(), "site", "--listen", ADDRESS, "--http-listen", CONSOLE, "--db", DB],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # Ctrl-C reaches the demo only; the demo stops the plane
    )
    assert plane.stderr is not None
    relay = LogRelay(plane.stderr)
    relay.start()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        if not _wait_serving(plane):
            relay.dump()
            print(f"the plane did not become SERVING within {SERVING_WITHIN:.0f}s", file=sys.stderr)
            return 1
        print()
        if _run("apply", "-f", str(CAMPAIGN.relative_to(ROOT))).returncode != 0:
            return 1
        print()
        if _run("activate", "demo", "--input", "name=world", "--wait").returncode != 0:
            return 1
        cli = _shown()
        print(
            f"""
Partita site plane is running at {ADDRESS} (Ctrl-C to stop)
Console (open it in a browser): http://{CONSOLE}/activations
Try, in another terminal:
  {cli} list activations
  {cli} get campaign demo
  {cli} activate demo --input name=you --wait
  {cli} activate demo --id mine --input name=you && {cli} watch mine
  {cli} apply -f deploy/examples/symphony-hello-world.yaml
  {cli} history hello-world-activation
  curl -s http://{CONSOLE}/api/v1/activations
The plane's log follows.
""",
            flush=True,
        )
        relay.go_live()
        while not stop.is_set() and plane.poll() is None:
            stop.wait(0.5)
        if plane.poll() is not None:
            print(f"the plane exited with status {plane.returncode}", file=sys.stderr)
            return 1
        print("\nstopping the plane...", flush=True)
        return 0 if _stop(plane) == 0 else 1
    finally:
        _stop(plane)
        relay.join(timeout=2)


if __name__ == "__main__":
    sys.exit(main())
