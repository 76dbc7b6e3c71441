"""Floors: what the machine does with no Partita in the way, measured in the same run.

- gRPC: a bare ``grpc.aio`` unary round trip (16 bytes each way, no protobuf) to a trivial
  servicer in a subprocess (``python floors.py serve --port P``), from this process, one call
  at a time and with 50 calls in flight on one channel; and that server process's RSS.
- SQLite: a commit loop of one small INSERT per transaction, WAL and synchronous=FULL, on a
  file in the same temporary directory as the planes' databases.
- Disk: 4 KiB write+fsync, as the peer harness probes it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import grpc
from processes import Child, cpu_seconds, free_port, rss_mib, self_cpu_seconds
from workloads import percentile

THIS = Path(__file__).resolve()
METHOD = "/bench.Echo/Echo"
PAYLOAD = b"x" * 16


def _summary(lat_ms: list[float], span_s: float, n: int) -> dict[str, Any]:
    return {
        "n": n,
        "per_s": round(n / span_s, 1),
        "p50_ms": round(percentile(lat_ms, 50), 4),
        "p99_ms": round(percentile(lat_ms, 99), 4),
    }


def sqlite_commits(directory: Path, n: int) -> dict[str, Any]:
    """``n`` transactions of one small INSERT each, WAL, synchronous=FULL."""
    path = directory / "floor-sqlite.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        lat = []
        t_start = time.perf_counter()
        for i in range(n):
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t (v) VALUES (?)", (f"row-{i}",))
            conn.execute("COMMIT")
            lat.append((time.perf_counter() - t0) * 1000)
        span = time.perf_counter() - t_start
    finally:
        conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return {**_summary(lat, span, n), "pragmas": "journal_mode=WAL, synchronous=FULL"}


def fsync_probe(directory: Path, n: int = 200) -> dict[str, Any]:
    """4 KiB write+fsync of one file, ``n`` times."""
    path = directory / "floor-fsync.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    lat = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
            lat.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return {
        "n": n,
        "p50_ms": round(percentile(lat, 50), 4),
        "p99_ms": round(percentile(lat, 99), 4),
    }


async def grpc_round_trips(
    workdir: Path, serial_n: int, concurrent_n: int, inflight: int = 50
) -> dict[str, Any]:
    """Round trips to a trivial grpc.aio servicer in a subprocess."""
    port = free_port()
    server = Child(
        "grpc-floor",
        [sys.executable, str(THIS), "serve", "--port", str(port)],
        workdir / "grpc-floor.log",
    )
    server.spawn()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
            deadline = time.monotonic() + 20
            while True:
                server.check()
                try:
                    await call(PAYLOAD, timeout=1)
                    break
                except grpc.aio.AioRpcError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
            for _ in range(200):  # warm-up
                await call(PAYLOAD)

            cpu0 = cpu_seconds(server.pid), self_cpu_seconds()
            lat: list[float] = []
            t_start = time.perf_counter()
            for _ in range(serial_n):
                t0 = time.perf_counter()
                await call(PAYLOAD)
                lat.append((time.perf_counter() - t0) * 1000)
            serial = _summary(lat, time.perf_counter() - t_start, serial_n)

            lat = []
            each = max(1, concurrent_n // inflight)

            async def caller() -> None:
                for _ in range(each):
                    t0 = time.perf_counter()
                    await call(PAYLOAD)
                    lat.append((time.perf_counter() - t0) * 1000)

            t_start = time.perf_counter()
            await asyncio.gather(*(caller() for _ in range(inflight)))
            many = _summary(lat, time.perf_counter() - t_start, each * inflight)
            many["inflight"] = inflight
            cpu1 = cpu_seconds(server.pid), self_cpu_seconds()
        return {
            "serial": serial,
            "concurrent": many,
            "server_rss_mib": round(rss_mib(server.pid), 1),
            "cpu_s": {"server": round(cpu1[0] - cpu0[0], 3), "client": round(cpu1[1] - cpu0[1], 3)},
            "where": "servicer in a subprocess (grpc.aio, generic unary handler, bytes), "
            "client in the benchmark process, one channel over 127.0.0.1 TCP",
        }
    finally:
        server.stop()


async def serve(port: int) -> None:
    """The trivial servicer: echoes the request's bytes."""

    async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await server.stop(1)


def main() -> None:
    ap = argparse.ArgumentParser(description="the gRPC floor's trivial servicer")
    ap.add_argument("mode", choices=["serve"])
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()
    asyncio.run(serve(args.port))


if __name__ == "__main__":
    main()
