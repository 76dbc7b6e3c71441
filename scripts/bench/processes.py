"""Processes the benchmarks start: a `partita site` plane, a worker, and what they cost.

A plane is the venv's real ``partita site`` command on a free 127.0.0.1 port, over a SQLite
file in a temporary directory, with ``--synchronous FULL`` and ``--log-level WARNING``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from partita.v1 import worker_pb2, worker_pb2_grpc

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
READY_WITHIN = 30.0
STOP_WITHIN = 20.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def partita_command() -> list[str]:
    """The venv's ``partita`` script (next to this interpreter), else ``python -m``."""
    script = Path(sys.executable).parent / "partita"
    return [str(script)] if script.exists() else [sys.executable, "-m", "partita.cli.main"]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB (from /proc/PID/status)."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    return found


def rss_mib(pid: int) -> float:
    return proc_status(pid)["VmRSS"] / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def self_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def machine_busy_seconds() -> float:
    """CPU seconds all processes on the machine have used (from /proc/stat), to tell how
    much of a run's CPU went to processes other than the benchmark's."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


class Child:
    """A subprocess whose output goes to a log file, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} is not started"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(HERE), os.environ.get("PYTHONPATH", "")) if p
        )
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.argv, stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=HERE
        )

    def check(self) -> None:
        """Raise when the process has exited, with the end of its log."""
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.proc.returncode}:\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_WITHIN)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.proc.returncode


class Plane(Child):
    """A ``partita site`` process on a fresh SQLite file in ``workdir`` (or on ``db``, e.g. a
    PostgreSQL URL); ``command="hub"`` starts a hub plane instead."""

    def __init__(
        self,
        workdir: Path,
        name: str = "plane",
        *extra: str,
        command: str = "site",
        db: str = "",
    ) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.db = db or str(workdir / f"{name}.db")
        argv = [
            *partita_command(),
            command,
            "--listen",
            self.address,
            "--db",
            self.db,
            "--log-level",
            "WARNING",
            "--synchronous",
            "FULL",
            "--http-listen",
            "off",
            *extra,
        ]
        super().__init__(name, argv, workdir / f"{name}.log")

    async def start(self, within: float = READY_WITHIN) -> None:
        """Spawn the plane and wait until its health check answers SERVING."""
        self.spawn()
        deadline = time.monotonic() + within
        async with grpc.aio.insecure_channel(self.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                self.check()
                with contextlib.suppress(grpc.aio.AioRpcError):
                    answer = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if answer.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name} not SERVING within {within}s:\n{self.log_tail()}")


class WorkerProcess(Child):
    """``worker.py``: Python SDK workers (``partita.worker.Worker``) in a process of their own."""

    def __init__(
        self, workdir: Path, address: str, queue: str, concurrency: int, pollers: int
    ) -> None:
        argv = [
            sys.executable,
            str(HERE / "worker.py"),
            "--server",
            address,
            "--queue",
            queue,
            "--concurrency",
            str(concurrency),
            "--pollers",
            str(pollers),
        ]
        super().__init__("worker", argv, workdir / "worker.log")
        self.address = address
        self.queue = queue
        self.pollers = pollers

    async def start(self) -> None:
        """Spawn the worker and wait until the plane lists it as polling the queue."""
        self.spawn()
        await wait_for_workers(self.address, self.queue, self.pollers, check=self.check)


async def wait_for_workers(address: str, queue: str, count: int, check: object = None) -> None:
    """Wait until ``count`` workers poll ``queue`` on the plane at ``address``."""
    deadline = time.monotonic() + READY_WITHIN
    async with grpc.aio.insecure_channel(address) as channel:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        while time.monotonic() < deadline:
            if callable(check):
                check()
            answer = await stub.ListWorkers(worker_pb2.ListWorkersRequest(task_queue=queue))
            if len(answer.workers) >= count:
                return
            await asyncio.sleep(0.05)
    raise RuntimeError(f"no {count} worker(s) polling {queue!r} within {READY_WITHIN}s")


class Profiler:
    """py-spy sampling a process into a flame graph (SVG) until stopped."""

    def __init__(self, pid: int, out: Path) -> None:
        binary = Path(sys.executable).parent / "py-spy"
        if not binary.exists():
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
        self.out = out
        self.proc = subprocess.Popen(
            [str(binary), "record", "--nonblocking", "-r", "200", "-o", str(out), "-p", str(pid)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=STOP_WITHIN)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
