"""W1 and W4 on PostgreSQL: one plane, then two replicas sharing one database.

Each setup gets a fresh schema on the local server (``$PARTITA_BENCH_POSTGRES``, by default
``postgresql://postgres@127.0.0.1:5432/test``, as the tests use) and planes started with
``partita site --db URL?search_path=SCHEMA --replica-id rK``. Each replica gets a worker
process of its own (``worker.py``, as in W1) polling it; the benchmark starts and watches
activation ``i`` on replica ``i mod replicas``. The schema is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from processes import Plane, WorkerProcess, cpu_seconds, self_cpu_seconds
from report import Row, measured, pending
from workloads import (
    COMPLETED,
    MOCK_CAMPAIGN,
    QUEUE,
    SEQ_CAMPAIGN,
    SEQ_EXPECTED,
    Api,
    Cpu,
    concurrent,
    run_tag,
    seq_result,
    serial,
)

REPLICAS = (1, 2)
"""Planes on one database, one setup after the other."""
URL = os.environ.get("PARTITA_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


async def _execute(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def available() -> str:
    """Why PostgreSQL cannot be measured here ("" when it can)."""
    try:
        await _execute("SELECT 1")
    except Exception as exc:  # any failure to connect means: skip, with the reason
        return f"no PostgreSQL server at {URL}: {type(exc).__name__}: {exc}"
    return ""


async def run(workdir: Path, sizes: dict[str, int], concurrency: int) -> dict[str, Any]:
    """W1 and W4 on each number of replicas; one result per count."""
    found: dict[str, Any] = {}
    for count in REPLICAS:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        await _execute(f"CREATE SCHEMA {schema}")
        sep = "&" if "?" in URL else "?"
        url = f"{URL}{sep}search_path={quote(schema)}"
        planes = [
            Plane(workdir, f"pg{count}-r{k}", "--replica-id", f"r{k}", db=url) for k in range(count)
        ]
        workers: list[WorkerProcess] = []
        print(f"PostgreSQL: {count} replica(s), schema {schema} ...", flush=True)
        try:
            for plane in planes:
                await plane.start()
            for k, plane in enumerate(planes):
                worker = WorkerProcess(workdir, plane.address, QUEUE, concurrency, 1)
                worker.log_path = workdir / f"pg{count}-worker{k}.log"
                workers.append(worker)
                await worker.start()
            found[str(count)] = await measure(planes, workers, sizes)
        finally:
            for worker in workers:
                worker.stop()
            for plane in planes:
                plane.stop()
            await _execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return found


async def measure(
    planes: list[Plane], workers: list[WorkerProcess], sizes: dict[str, int]
) -> dict[str, Any]:
    apis = [Api(p.address) for p in planes]
    count = len(planes)
    try:
        await apis[0].create_campaigns()
        tag = run_tag()

        def api_for(activation_id: str) -> Api:
            return apis[int(activation_id.rsplit("-", 1)[1]) % count]

        async def seq(activation_id: str) -> None:
            done = await api_for(activation_id).run(SEQ_CAMPAIGN, f"{activation_id}-{tag}")
            result = seq_result(done)
            if result != SEQ_EXPECTED:
                raise AssertionError(f"{activation_id}: {result} != {SEQ_EXPECTED}")

        async def mock(activation_id: str) -> None:
            done = await api_for(activation_id).run(MOCK_CAMPAIGN, f"{activation_id}-{tag}")
            if done.status != COMPLETED:
                raise AssertionError(f"{activation_id}: not COMPLETED: {done.status_message}")

        def cpu() -> Cpu:
            return Cpu(
                lambda: {
                    "planes": sum(cpu_seconds(p.pid) for p in planes),
                    "workers": sum(cpu_seconds(w.pid) for w in workers),
                    "bench": self_cpu_seconds(),
                }
            )

        await concurrent(seq, 20, "warm-w1", cpu)
        await serial(seq, 5, "warm-w3", cpu)
        await concurrent(mock, 50, "warm-w4", cpu)
        w1 = await concurrent(seq, sizes["w1"], "w1", cpu)
        w4 = await concurrent(mock, sizes["w4"], "w4", cpu)
        w4["stage_transitions_per_s"] = round(3 * w4["throughput"], 1)
    finally:
        for api in apis:
            await api.close()
    print(
        f"  {count} replica(s): W1 {w1['throughput']:,.1f} activations/s, p50 "
        f"{w1['p50_ms']:,.1f} ms, p99 {w1['p99_ms']:,.1f} ms; W4 "
        f"{w4['stage_transitions_per_s']:,.0f} stage transitions/s",
        flush=True,
    )
    return {"replicas": count, "W1": w1, "W4": w4}


def rows(
    found: dict[str, Any], grpc_floor: dict[str, Any], sqlite_floor: dict[str, Any]
) -> list[Row]:
    """The table's rows: W1 and W4 per number of replicas, against the same floors as on
    SQLite (W4's floor stays the SQLite commit loop: there is no PostgreSQL floor)."""
    if "skipped" in found:
        return [pending("W1/W4", "on PostgreSQL", found["skipped"])]
    out: list[Row] = []
    for count, r in found.items():
        where = f"PostgreSQL, {count} replica{'s' if count != '1' else ''}"
        w1, w4 = r["W1"], r["W4"]
        out += [
            measured(
                "W1",
                f"activations/s ({where})",
                w1["throughput"],
                "/s",
                (grpc_floor["per_s"], "gRPC calls/s, 50 in flight"),
                (">=", 300),
            ),
            measured(
                "W1",
                f"p99 latency ({where})",
                w1["p99_ms"],
                "ms",
                (grpc_floor["p99_ms"], "gRPC p99, 50 in flight"),
                ("<=", 1000),
            ),
            measured(
                "W4",
                f"stage transitions/s ({where})",
                w4["stage_transitions_per_s"],
                "/s",
                (sqlite_floor["per_s"], "SQLite commits/s"),
                (">=", 3000),
            ),
        ]
    return out
