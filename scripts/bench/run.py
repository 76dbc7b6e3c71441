#!/usr/bin/env python3
"""``make bench``: Partita's benchmarks against a real ``partita site`` process, one table.

Floors first (gRPC round trips, SQLite commits, fsync), then on one plane: a warm-up, then
``--reps`` rounds of W1, W2 (when the plane has ``contexts``), W3 and W4 (the median of each
figure is reported); then M1 on a plane of its own. Prints the table and writes everything
(every latency sample included) to ``scripts/bench/results/latest.json``. See README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import edge
import federated
import floors
import replicated
from processes import (
    HERE,
    ROOT,
    Plane,
    Profiler,
    WorkerProcess,
    cpu_seconds,
    machine_busy_seconds,
    proc_status,
    self_cpu_seconds,
)
from report import Row, measured, pending, render
from workloads import (
    COMPLETED,
    FANOUT_CAMPAIGN,
    FANOUT_EXPECTED,
    MOCK_CAMPAIGN,
    NOOP_CAMPAIGN,
    QUEUE,
    SEQ_CAMPAIGN,
    SEQ_EXPECTED,
    Api,
    Cpu,
    concurrent,
    fanout_result,
    run_tag,
    seq_result,
    serial,
)

WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "M1", "PG")
FULL = {
    "reps": 3,
    "w1": 200,
    "w2": 50,
    "w3": 30,
    "w4": 1000,
    "m1": 10_000,
    "rtt": 2000,
    "sql": 2000,
}
QUICK = {"reps": 1, "w1": 50, "w2": 10, "w3": 10, "w4": 200, "m1": 1000, "rtt": 500, "sql": 300}
M1_INFLIGHT = 200
"""M1's client keeps this many StartActivation calls in flight."""
DISTURBED = 0.05
"""Share of the machine's CPU used by other processes above which a run is called disturbed."""


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    return info


def brief(r: dict[str, Any]) -> str:
    """One run in a line."""
    parts = []
    if "stage_transitions_per_s" in r:
        parts.append(f"{r['stage_transitions_per_s']:,.0f} stage transitions/s")
    if "throughput" in r:
        parts.append(f"{r['throughput']:,.1f} activations/s")
    parts.append(f"p50 {r['p50_ms']:,.1f} ms, p99 {r['p99_ms']:,.1f} ms")
    parts.append("CPU-s " + ", ".join(f"{k} {v}" for k, v in r["cpu_s"].items()))
    if r.get("watch_retries"):
        parts.append(f"watch retries {r['watch_retries']}")
    return "; ".join(parts)


def source() -> dict[str, Any]:
    """Which Partita is measured (the plane and worker import the same one: they inherit
    PYTHONPATH), and, for this repository's src/, its commit and whether src/ has changes."""
    import partita

    found: dict[str, Any] = {"package": str(Path(partita.__file__).parent)}
    if Path(partita.__file__).is_relative_to(ROOT / "src"):
        git = ["git", "-C", str(ROOT)]
        head = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        )
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "src"], capture_output=True, text=True
        )
        found["commit"] = head.stdout.strip()
        found["src_changed"] = bool(dirty.stdout.strip())
    return found


def median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.sizes = dict(QUICK if args.quick else FULL)
        if args.reps:
            self.sizes["reps"] = args.reps
        self.only = set(args.only.split(",")) if args.only else set(WORKLOADS)
        self.workdir = workdir
        self.fanout = False
        """Whether the plane runs ``contexts`` (W2); known once it is asked."""
        self.result: dict[str, Any] = {
            "date_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "source": source(),
            "config": {
                **self.sizes,
                "only": sorted(self.only),
                "worker": args.worker,
                "worker_concurrency": args.concurrency,
                "worker_pollers": args.pollers,
                "plane": "partita site --synchronous FULL --log-level WARNING, "
                "default --poll-timeout, SQLite file in a temporary directory",
            },
            "floors": {},
            "workloads": {},
        }

    def wants(self, *names: str) -> bool:
        return any(n in self.only for n in names)

    # -- floors ------------------------------------------------------------------------------

    async def measure_floors(self) -> None:
        f = self.result["floors"]
        print("floors: fsync, SQLite commit loop, gRPC round trips ...", flush=True)
        f["fsync_4k"] = floors.fsync_probe(self.workdir)
        f["sqlite"] = floors.sqlite_commits(self.workdir, self.sizes["sql"])
        f["grpc"] = await floors.grpc_round_trips(
            self.workdir, self.sizes["rtt"], self.sizes["rtt"] * 5
        )

    # -- W1, W3, W4 on one plane -------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def worker(self, plane: Plane) -> AsyncIterator[int | None]:
        """Workers for the ``bench`` queue; yields their process's pid (None: in this one)."""
        if self.args.worker == "process":
            proc = WorkerProcess(
                self.workdir, plane.address, QUEUE, self.args.concurrency, self.args.pollers
            )
            try:
                await proc.start()
                yield proc.pid
            finally:
                proc.stop()
            return
        from handlers import HANDLERS

        from partita.worker import Worker

        workers = [
            Worker(
                plane.address,
                QUEUE,
                HANDLERS,
                identity=f"bench-{os.getpid()}-{k}",
                concurrency=self.args.concurrency,
            )
            for k in range(self.args.pollers)
        ]
        async with contextlib.AsyncExitStack() as stack:
            for w in workers:
                await stack.enter_async_context(w)
            yield None  # its CPU is the benchmark process's

    async def run_plane_workloads(self) -> None:
        if not self.wants("W1", "W2", "W3", "W4"):
            return
        plane = Plane(self.workdir, "plane")
        await plane.start()
        api = Api(plane.address)
        try:
            self.fanout = await api.create_campaigns()
            self.result["config"]["fanout_supported"] = self.fanout
            if self.wants("W1", "W2", "W3"):
                async with self.worker(plane) as worker_pid:
                    await self.plane_workloads(plane, api, worker_pid)
            else:
                await self.plane_workloads(plane, api, None)
            self.result["plane_rss_mib_after_w1_w4"] = round(
                proc_status(plane.pid)["VmRSS"] / 1024, 1
            )
        finally:
            await api.close()
            rc = plane.stop()
            if rc not in (0, None):
                print(f"warning: the plane exited {rc}:\n{plane.log_tail()}", file=sys.stderr)

    async def plane_workloads(self, plane: Plane, api: Api, worker_pid: int | None) -> None:
        """Warm-up, then ``reps`` rounds of W1, W3 and W4 (those asked for)."""
        tag = run_tag()

        def cpu() -> Cpu:
            return Cpu(
                lambda: {
                    "plane": cpu_seconds(plane.pid),
                    "worker": cpu_seconds(worker_pid) if worker_pid else 0.0,
                    "bench": self_cpu_seconds(),
                }
            )

        async def seq(activation_id: str) -> None:
            result = seq_result(await api.run(SEQ_CAMPAIGN, f"{activation_id}-{tag}"))
            if result != SEQ_EXPECTED:
                raise AssertionError(f"{activation_id}: {result} != {SEQ_EXPECTED}")

        async def fan(activation_id: str) -> None:
            result = fanout_result(await api.run(FANOUT_CAMPAIGN, f"{activation_id}-{tag}"))
            if result != FANOUT_EXPECTED:
                raise AssertionError(f"{activation_id}: {result} != {FANOUT_EXPECTED}")

        async def mock(activation_id: str) -> None:
            done = await api.run(MOCK_CAMPAIGN, f"{activation_id}-{tag}")
            if done.status != COMPLETED:
                raise AssertionError(f"{activation_id}: not COMPLETED: {done.status_message}")

        async def measure(name: str, rep: int) -> dict[str, Any]:
            seen = api.retries.copy()
            if name == "W1":
                r = await concurrent(seq, self.sizes["w1"], f"w1-r{rep}", cpu)
            elif name == "W2":
                r = await concurrent(fan, self.sizes["w2"], f"w2-r{rep}", cpu)
            elif name == "W3":
                r = await serial(seq, self.sizes["w3"], f"w3-r{rep}", cpu)
            else:
                r = await concurrent(mock, self.sizes["w4"], f"w4-r{rep}", cpu)
                r["stage_transitions_per_s"] = round(3 * r["throughput"], 1)
            r["watch_retries"] = dict(api.retries - seen)
            return r

        print(f"plane {plane.address} (pid {plane.pid}); warm-up ...", flush=True)
        if self.wants("W1", "W3"):
            await concurrent(seq, 20, "warm-w1", cpu)
            await serial(seq, 5, "warm-w3", cpu)
        if self.wants("W2") and self.fanout:
            await concurrent(fan, 5, "warm-w2", cpu)
        if self.wants("W4"):
            await concurrent(mock, 50, "warm-w4", cpu)
        runs: dict[str, list[dict[str, Any]]] = {"W1": [], "W2": [], "W3": [], "W4": []}
        names = [n for n in runs if self.wants(n) and (n != "W2" or self.fanout)]
        profilers = []
        if self.args.profile:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for who, pid in (("plane", plane.pid), ("worker", worker_pid)):
                if pid:
                    profilers.append(Profiler(pid, HERE / "results" / f"profile-{stamp}-{who}.svg"))
        try:
            for rep in range(self.sizes["reps"]):
                for name in names:
                    r = await measure(name, rep)
                    runs[name].append(r)
                    print(f"  rep {rep} {name}: {brief(r)}", flush=True)
        finally:
            for p in profilers:
                p.stop()
                print(f"profile: {p.out}", flush=True)
        for name, found in runs.items():
            if found:
                self.result["workloads"][name] = {
                    "runs": found,
                    "summary": {
                        k: median(found, k)
                        for k in ("throughput", "stage_transitions_per_s", "p50_ms", "p99_ms")
                        if any(k in r for r in found)
                    },
                }

    # -- M1 on a plane of its own ------------------------------------------------------------

    async def run_m1(self) -> None:
        if not self.wants("M1"):
            return
        n = self.sizes["m1"]
        plane = Plane(self.workdir, "plane-m1")
        await plane.start()
        api = Api(plane.address)
        try:
            await api.create_campaigns()
            await asyncio.sleep(0.5)
            idle = proc_status(plane.pid)
            print(f"M1: {n} activations of a 1-stage noop campaign ...", flush=True)
            gate = asyncio.Semaphore(M1_INFLIGHT)
            tag = run_tag()

            async def one(i: int) -> bool:
                async with gate:
                    done = await api.run(NOOP_CAMPAIGN, f"m1-{i}-{tag}")
                    return done.status == COMPLETED

            t0 = time.perf_counter()
            completed = sum(await asyncio.gather(*(one(i) for i in range(n))))
            span = time.perf_counter() - t0
            still_open = await api.count_open()
            if completed != n or still_open:
                raise RuntimeError(f"M1: {completed}/{n} COMPLETED, {still_open} still open")
            await asyncio.sleep(1.0)
            after = proc_status(plane.pid)
            self.result["workloads"]["M1"] = {
                "n": n,
                "inflight": M1_INFLIGHT,
                "start_span_s": round(span, 3),
                "activations_per_s": round(n / span, 1),
                "idle_rss_mib": round(idle["VmRSS"] / 1024, 1),
                "rss_mib": round(after["VmRSS"] / 1024, 1),
                "peak_rss_mib": round(after["VmHWM"] / 1024, 1),
                "db_mib": round(
                    sum(p.stat().st_size for p in self.workdir.glob("plane-m1.db*") if p.is_file())
                    / 2**20,
                    1,
                ),
            }
            m = self.result["workloads"]["M1"]
            print(
                f"  M1: RSS {m['rss_mib']} MiB (idle {m['idle_rss_mib']}, peak "
                f"{m['peak_rss_mib']}), {m['activations_per_s']} activations/s",
                flush=True,
            )
        finally:
            await api.close()
            plane.stop()

    # -- W5 on a hub and its sites ----------------------------------------------------------

    async def run_w5(self) -> None:
        if not self.wants("W5"):
            return
        self.result["workloads"]["W5"] = await federated.run(self.workdir, self.args.quick)

    # -- W1 and W4 on PostgreSQL, one and two replicas ---------------------------------------

    async def run_pg(self) -> None:
        if not self.wants("PG"):
            return
        why = await replicated.available()
        if why:
            print(f"PostgreSQL: skipped ({why})", flush=True)
            self.result["workloads"]["PG"] = {"skipped": why}
            return
        self.result["workloads"]["PG"] = await replicated.run(
            self.workdir, self.sizes, self.args.concurrency
        )

    # -- the table ---------------------------------------------------------------------------

    def rows(self) -> list[Row]:
        f = self.result["floors"]
        w = self.result["workloads"]
        g = f.get("grpc", {})
        gs, gc = g.get("serial", {}), g.get("concurrent", {})
        rows: list[Row] = []
        if "W1" in w:
            s = w["W1"]["summary"]
            rows += [
                measured(
                    "W1",
                    "activations/s",
                    s["throughput"],
                    "/s",
                    (gc["per_s"], "gRPC calls/s, 50 in flight"),
                    (">=", 300),
                ),
                measured(
                    "W1", "p50 latency", s["p50_ms"], "ms", (gc["p50_ms"], "gRPC p50, 50 in flight")
                ),
                measured(
                    "W1",
                    "p99 latency",
                    s["p99_ms"],
                    "ms",
                    (gc["p99_ms"], "gRPC p99, 50 in flight"),
                    ("<=", 1000),
                ),
            ]
        if "W2" in w:
            s = w["W2"]["summary"]
            rows += [
                measured(
                    "W2",
                    "activations/s",
                    s["throughput"],
                    "/s",
                    (gc["per_s"], "gRPC calls/s, 50 in flight"),
                ),
                measured(
                    "W2", "p50 latency", s["p50_ms"], "ms", (gc["p50_ms"], "gRPC p50, 50 in flight")
                ),
                measured(
                    "W2", "p99 latency", s["p99_ms"], "ms", (gc["p99_ms"], "gRPC p99, 50 in flight")
                ),
            ]
        elif "W2" in self.only:
            rows.append(pending("W2", "activations/s, p50, p99", "needs contexts"))
        if "W3" in w:
            rows.append(
                measured(
                    "W3",
                    "p50 latency",
                    w["W3"]["summary"]["p50_ms"],
                    "ms",
                    (gs["p50_ms"], "gRPC serial p50"),
                    ("<=", 8),
                )
            )
        if "W4" in w:
            rows.append(
                measured(
                    "W4",
                    "stage transitions/s",
                    w["W4"]["summary"]["stage_transitions_per_s"],
                    "/s",
                    (f["sqlite"]["per_s"], "SQLite commits/s"),
                    (">=", 3000),
                )
            )
        if "PG" in w:
            rows += replicated.rows(w["PG"], gc, f["sqlite"])
        if "W5" in w:
            rows += federated.rows(w["W5"], gs, gc)
        if "M1" in w:
            m = w["M1"]
            floor = (g["server_rss_mib"], "bare grpc.aio server RSS") if g else None
            label = f"RSS, {m['n']:,} retained"
            rows += [
                measured("M1", label, m["rss_mib"], "MiB", floor, ("<=", 300)),
                measured("M1", "RSS idle (before load)", m["idle_rss_mib"], "MiB", floor),
            ]
        if g:
            rows += [
                measured("floor", "gRPC serial round trip", gs["p50_ms"], "ms"),
                measured("floor", "gRPC serial calls/s", gs["per_s"], "/s"),
                measured("floor", "gRPC 50 in flight calls/s", gc["per_s"], "/s"),
            ]
        if "sqlite" in f:
            rows += [
                measured("floor", "SQLite commits/s (WAL, FULL)", f["sqlite"]["per_s"], "/s"),
                measured("floor", "SQLite commit p50", f["sqlite"]["p50_ms"], "ms"),
                measured("floor", "4 KiB write+fsync p50", f["fsync_4k"]["p50_ms"], "ms"),
            ]
        load = self.result.get("machine_load")
        if load:
            rows.append(
                measured(
                    "machine",
                    "others' CPU during the run",
                    100 * load["others_share"],
                    "%",
                    target=("<=", 100 * DISTURBED),
                    note="other processes' share of all cores; over the target: disturbed",
                )
            )
        rows += edge.rows(w.get(edge.NAME))
        return rows


def own_cpu_seconds() -> float:
    """This process's CPU and that of its children that have been waited for (all of the
    benchmark's, once they are stopped)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


async def run(args: argparse.Namespace) -> Bench:
    workdir = Path(tempfile.mkdtemp(prefix="partita-bench-"))
    bench = Bench(args, workdir)
    busy0, own0, wall0 = machine_busy_seconds(), own_cpu_seconds(), time.perf_counter()
    try:
        await bench.measure_floors()
        await bench.run_plane_workloads()
        await bench.run_m1()
        await bench.run_pg()
        await bench.run_w5()
        if edge.NAME in bench.only:  # W6 (edge scale) lives in edge.py; only when asked
            bench.result["workloads"][edge.NAME] = await edge.run_w6(args)
        wall = time.perf_counter() - wall0
        others = max(0.0, machine_busy_seconds() - busy0 - (own_cpu_seconds() - own0))
        share = others / (wall * (os.cpu_count() or 1))
        bench.result["machine_load"] = {
            "wall_s": round(wall, 1),
            "others_cpu_s": round(others, 1),
            "others_share": round(share, 3),
        }
        if share > DISTURBED:
            print(
                f"warning: other processes used {others:.1f} CPU-s ({share:.0%} of the machine) "
                "during the run: these numbers are disturbed",
                file=sys.stderr,
            )
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return bench


def report(bench: Bench, out: Path) -> None:
    rows = bench.rows()
    bench.result["table"] = [r.as_dict() for r in rows]
    print()
    print(render(rows))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(bench.result, indent=1) + "\n")
    print(f"\nwrote {out}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    ap.add_argument(
        "--only", metavar="W1,W3", help=f"a subset of {','.join(WORKLOADS)} (or W6, edge.py)"
    )
    ap.add_argument("--reps", type=int, default=0, help="repetitions of W1, W3, W4 (3; quick 1)")
    ap.add_argument(
        "--worker",
        choices=("process", "inprocess"),
        default="process",
        help="the SDK worker in a process of its own (default) or in the benchmark process",
    )
    ap.add_argument("--concurrency", type=int, default=64, help="worker tasks at once (64)")
    ap.add_argument(
        "--pollers", type=int, default=1, help="SDK Worker objects, each with one poll (1)"
    )
    ap.add_argument("--out", default=str(HERE / "results" / "latest.json"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="py-spy flame graphs of the plane and worker during the repetitions "
        "(results/profile-*.svg; needs .venv/bin/pip install py-spy)",
    )
    edge.add_arguments(ap)
    args = ap.parse_args()
    if args.only:
        unknown = set(args.only.split(",")) - set(WORKLOADS) - {edge.NAME}
        if unknown:
            ap.error(f"--only: unknown {', '.join(sorted(unknown))}")
    report(asyncio.run(run(args)), Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
