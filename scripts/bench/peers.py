#!/usr/bin/env python3
"""``make bench-peers``: Partita beside Temporal, DBOS and Prefect, on the peer harness.

The harness lives in the shared peer benchmark (``../shared/bench-peers`` from the repository
root, or ``$PARTITA_BENCH_PEERS``); it is imported from there at run time, never copied.

    peers.py                       # Partita and every peer, then one table
    peers.py --peers "dbos-sqlite" # Partita and a subset
    peers.py --peers none --recorded   # Partita, beside the peers' recorded results
    peers.py --peers none --previous   # Partita, beside the peers' last run here
    peers.py partita --out X.json  # only the Partita peer (what the orchestrator runs)

Each peer runs as its own process (in a private network namespace, loopback only, when
``unshare -n`` is allowed, as the harness's run_all.sh does) and writes its JSON under
``scripts/bench/results/peers/``; nothing is written into the shared folder.

Partita runs through ``harness.run_benchmark`` unchanged when it has ``contexts`` (W2's
fan-out). A Partita without them cannot: ``run_benchmark`` runs W2 in its warm-up, and a peer
whose fan-out fails loses the whole run; so :func:`run_without_fanout` then runs the same
warm-up and repetitions minus W2 with the harness's own measuring functions
(``run_concurrent``, ``run_serial``, ``RssSampler``) and writes the same JSON, W2 marked
"pending (needs contexts)".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import traceback
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any

from processes import HERE, ROOT, Plane, WorkerProcess
from workloads import (
    FANOUT_CAMPAIGN,
    QUEUE,
    SEQ_CAMPAIGN,
    Api,
    fanout_result,
    run_tag,
    seq_result,
)

RESULTS = HERE / "results" / "peers"
WORKDIR = Path(os.environ.get("BENCH_WORKDIR", "/tmp/peers-bench")) / "partita"
PEERS_VENV = Path(os.environ.get("PEERS_VENV", "/tmp/peersvenv"))
PENDING_FANOUT = "pending (needs contexts)"

# The peers of the shared run_all.sh, with their commands (run in this order).
PEER_COMMANDS = {
    "temporal-file": ["bench_temporal.py", "--variant", "file"],
    "temporal-memory": ["bench_temporal.py", "--variant", "memory"],
    "dbos-sqlite": ["bench_dbos.py", "--variant", "sqlite"],
    "prefect-sqlite": ["bench_prefect.py", "--variant", "sqlite"],
    "prefect-sqlite-cap8": ["bench_prefect.py", "--variant", "sqlite-cap8", "--max-inflight", "8"],
}
PEER_TIMEOUT = 3000
"""Seconds one peer's whole run may take (run_all.sh's bound)."""


def peers_dir() -> Path:
    return Path(
        os.environ.get("PARTITA_BENCH_PEERS", ROOT.parent / "shared" / "bench-peers")
    ).resolve()


def import_harness() -> Any:
    """The shared harness module, imported in place (no bytecode written there)."""
    folder = peers_dir()
    if not (folder / "harness.py").is_file():
        raise SystemExit(
            f"the peer benchmark is not at {folder} (set PARTITA_BENCH_PEERS to its folder)"
        )
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(folder))
    import harness  # type: ignore[import-not-found]

    module: ModuleType = harness
    return module


harness: Any = import_harness()


def has_contexts() -> bool:
    """Whether this Partita has ``contexts`` (W2's fan-out)."""
    from partita.model.campaign import StageSpec

    return "contexts" in StageSpec.model_fields


class PartitaPeer(harness.Peer):  # type: ignore[misc]
    """A ``partita site`` process (SQLite file, synchronous=FULL) and a Python SDK worker,
    in this process like the Temporal peer's worker (``worker="process"``: a process of its
    own, counted with the server)."""

    name = "partita"

    def __init__(self, worker: str = "inprocess", concurrency: int = 64) -> None:
        self.variant = "sqlite" if worker == "inprocess" else "sqlite-workerproc"
        self.worker_mode = worker
        self.concurrency = concurrency
        self.tag = run_tag()
        self.plane: Plane | None = None
        self.api: Api | None = None
        self.worker_proc: WorkerProcess | None = None
        self.worker: Any = None
        self.fanout_supported = has_contexts()

    async def start(self) -> None:
        shutil.rmtree(WORKDIR, ignore_errors=True)
        WORKDIR.mkdir(parents=True)
        self.plane = Plane(WORKDIR, "plane")
        await self.plane.start()
        self.api = Api(self.plane.address)
        if not await self.api.create_campaigns() and self.fanout_supported:
            raise RuntimeError("the plane refused the fan-out (contexts) campaign")
        if self.worker_mode == "process":
            self.worker_proc = WorkerProcess(
                WORKDIR, self.plane.address, QUEUE, self.concurrency, 1
            )
            await self.worker_proc.start()
        else:
            from handlers import HANDLERS

            from partita.worker import Worker

            self.worker = Worker(self.plane.address, QUEUE, HANDLERS, concurrency=self.concurrency)
            await self.worker.__aenter__()

    async def stop(self) -> None:
        if self.worker is not None:
            await self.worker.__aexit__(None, None, None)
        if self.worker_proc is not None:
            self.worker_proc.stop()
        if self.api is not None:
            await self.api.close()
        if self.plane is not None:
            self.plane.stop()

    async def run_seq(self, wf_id: str) -> dict[str, Any]:
        assert self.api is not None
        return seq_result(await self.api.run(SEQ_CAMPAIGN, f"{wf_id}-{self.tag}"))

    async def run_fanout(self, wf_id: str) -> dict[str, Any]:
        if not self.fanout_supported:
            raise NotImplementedError(PENDING_FANOUT)
        assert self.api is not None
        return fanout_result(await self.api.run(FANOUT_CAMPAIGN, f"{wf_id}-{self.tag}"))

    def server_pids(self) -> list[int]:
        pids = [p.pid for p in (self.plane, self.worker_proc) if p is not None and p.alive()]
        return pids

    def info(self) -> dict[str, Any]:
        plane = self.plane
        return {
            "versions": {
                "partita": version("partita"),
                "grpcio": version("grpcio"),
                "sqlite_library": sqlite3.sqlite_version,
            },
            "durability": "SQLite file, journal_mode=WAL, synchronous=FULL (--synchronous FULL): "
            "every transition (start, task lease, stage result) is committed and fsync'd before "
            "it is acknowledged or acted on; one writer, group commit",
            "worker": (
                "in-process partita.worker.Worker (Python SDK), async handler, "
                f"concurrency {self.concurrency}, one poll in flight"
                if self.worker_mode == "inprocess"
                else f"partita.worker.Worker in a process of its own (counted with the server), "
                f"async handler, concurrency {self.concurrency}"
            ),
            "concurrency": "all N started at once: asyncio.gather(StartActivation, then "
            "WatchActivation until the closing event); result = the sum of the 3 stages' outputs",
            "fanout": "a worker stage with contexts: [0..9] (10 stage runs at once), then a "
            "mock stage adding up their outputs (runs inside the last item's transition)"
            if self.fanout_supported
            else PENDING_FANOUT,
            "server_cmd": " ".join(Path(a).name if i == 0 else a for i, a in enumerate(plane.argv))
            if plane is not None
            else "",
        }


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n")


async def run_without_fanout(peer: Any, args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    """``harness.run_benchmark`` minus W2 (see the module's docstring); the same JSON."""
    h = harness
    result: dict[str, Any] = {
        "peer": peer.name,
        "variant": peer.variant,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "machine": h.machine_info(),
        "fsync_probe_4k": h.fsync_probe(workdir),
        "config": {
            "reps": args.reps,
            "w1_n": args.w1_n,
            "w2_n": args.w2_n,
            "w3_n": args.w3_n,
            "max_inflight": args.max_inflight or None,
            "timeout_s": args.timeout,
        },
        "status": "error",
        "runs": {"W1": [], "W2": [], "W3": []},
    }
    sampler = h.RssSampler(peer.server_pids)
    started = False
    label = f"[{peer.name}/{peer.variant}]"
    try:
        t0 = time.perf_counter()
        await peer.start()
        started = True
        result["startup_s"] = round(time.perf_counter() - t0, 3)
        result["info"] = peer.info()
        await h.run_concurrent(
            peer.run_seq,
            min(20, args.w1_n),
            "warm-seq",
            h.SEQ_EXPECTED,
            peer.server_pids,
            args.timeout,
            args.max_inflight,
        )
        await h.run_serial(peer.run_seq, 5, "warm-lat", h.SEQ_EXPECTED, args.timeout)
        sampler.sample()
        result["rss_after_warmup_mib"] = {
            "server": round(sampler.peak_server / 2**20, 1) if peer.server_pids() else None,
            "client_process": round(sampler.peak_self / 2**20, 1),
        }
        sampler.start()
        errors = 0
        for rep in range(args.reps):
            try:
                r = await h.run_concurrent(
                    peer.run_seq,
                    args.w1_n,
                    f"w1-r{rep}",
                    h.SEQ_EXPECTED,
                    peer.server_pids,
                    args.timeout,
                    args.max_inflight,
                )
                errors += 1 if r.get("n_failed") else 0
                print(
                    f"{label} rep {rep} W1: {r['throughput_wps']} wf/s p50 {r['p50_ms']} ms "
                    f"p99 {r['p99_ms']} ms failed {r.get('n_failed', 0)}/{r['n']}",
                    flush=True,
                )
            except Exception as e:
                errors += 1
                r = {"error": f"{type(e).__name__}: {e}"}
                print(f"{label} rep {rep} W1: ERROR {r['error']}", flush=True)
            result["runs"]["W1"].append(r)
            result["runs"]["W2"].append({"error": PENDING_FANOUT})
            try:
                r = await h.run_serial(
                    peer.run_seq, args.w3_n, f"w3-r{rep}", h.SEQ_EXPECTED, args.timeout
                )
                print(f"{label} rep {rep} W3: p50 {r['p50_ms']} ms", flush=True)
            except Exception as e:
                errors += 1
                r = {"error": f"{type(e).__name__}: {e}"}
                print(f"{label} rep {rep} W3: ERROR {r['error']}", flush=True)
            result["runs"]["W3"].append(r)
        sampler.stop()
        result["status"] = "ok" if errors == 0 else "partial"
        result["pending"] = {"W2": PENDING_FANOUT}
    except BaseException as e:
        sampler.stop()
        result["error"] = f"{type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc()
        print(result["traceback"], file=sys.stderr, flush=True)
    finally:
        result.setdefault("info", peer.info())
        result["peak_rss_mib"] = {
            "server": round(sampler.peak_server / 2**20, 1) if sampler.peak_server else None,
            "client_process": round(sampler.peak_self / 2**20, 1) if sampler.peak_self else None,
        }
        if started:
            try:
                await asyncio.wait_for(peer.stop(), timeout=60)
            except BaseException as e:
                result["stop_error"] = f"{type(e).__name__}: {e}"
        if getattr(peer, "api", None) is not None:
            result["watch_retries"] = dict(peer.api.retries)
    runs = result["runs"]
    keys = ("throughput_wps", "p50_ms", "p99_ms", "n_failed", "server_cpu_s", "client_cpu_s")
    result["summary"] = {
        "W1": {k: h._median(runs["W1"], k) for k in keys},
        "W2": {k: None for k in keys},
        "W3": {k: h._median(runs["W3"], k) for k in ("p50_ms", "p99_ms", "mean_ms")},
    }
    write_json(Path(args.out), result)
    print(f"wrote {args.out} status={result['status']}", flush=True)
    return result


async def run_partita(argv: list[str]) -> int:
    """One Partita run on the harness (the ``partita`` subcommand)."""
    ap = argparse.ArgumentParser(prog="peers.py partita")
    ap.add_argument("--worker", choices=("inprocess", "process"), default="inprocess")
    ap.add_argument("--concurrency", type=int, default=64)
    own, rest = ap.parse_known_args(argv)
    args = harness.default_args(rest)
    peer = PartitaPeer(own.worker, own.concurrency)
    if args.out is None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        args.out = str(RESULTS / f"{peer.name}-{peer.variant}.json")
    WORKDIR.mkdir(parents=True, exist_ok=True)
    if peer.fanout_supported:
        res = await harness.run_benchmark(peer, args, str(WORKDIR))
        if peer.api is not None:  # the harness's JSON, plus the client's watch retries
            res["watch_retries"] = dict(peer.api.retries)
            write_json(Path(args.out), res)
    else:
        res = await run_without_fanout(peer, args, str(WORKDIR))
    return 0 if res["status"] == "ok" else 1


# -- the orchestrator ------------------------------------------------------------------------


def netns_prefix() -> list[str]:
    """``unshare -n`` with loopback up, when allowed (as run_all.sh does)."""
    try:
        ok = subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        ok = False
    return (
        ["unshare", "-n", "sh", "-c", 'ip link set lo up 2>/dev/null || true; exec "$@"', "sh"]
        if ok
        else []
    )


def run_one(name: str, argv: list[str], log: Path) -> int:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PARTITA_BENCH_PEERS=str(peers_dir()))
    print(
        f"=== {name}: {' '.join(Path(a).name if a.endswith('.py') else a for a in argv[1:])}",
        flush=True,
    )
    with open(log, "wb") as out:
        try:
            rc = subprocess.run(
                [*netns_prefix(), *argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=RESULTS,
                timeout=PEER_TIMEOUT,
            ).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    lines = log.read_text(errors="replace").splitlines()
    for line in [ln for ln in lines if ln.startswith(("[", "wrote"))][-12:]:
        print(f"    {line}")
    print(f"    rc={rc} (log: {log.relative_to(ROOT)})", flush=True)
    return rc


def fmt(v: Any, nd: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{nd}f}"
    return str(v)


def table(results: list[tuple[str, dict[str, Any], str]]) -> str:
    header = [
        "peer / mode",
        "source",
        "status",
        "W1 wf/s",
        "W1 p50 ms",
        "W1 p99 ms",
        "W2 wf/s",
        "W2 p50 ms",
        "W2 p99 ms",
        "W3 p50 ms",
        "server RSS MiB",
        "client RSS MiB",
        "W1 CPU-s srv+cli",
    ]
    rows = []
    for key, d, source in results:
        s = d.get("summary", {})
        w1, w2, w3 = s.get("W1", {}), s.get("W2", {}), s.get("W3", {})
        rss = d.get("peak_rss_mib", {})
        pending = d.get("pending", {}).get("W2")
        if w1.get("client_cpu_s") is None:
            cpu = "—"
        else:
            cpu = f"{fmt(w1.get('server_cpu_s'))}+{fmt(w1.get('client_cpu_s'))}"
        rows.append(
            [
                key,
                source,
                d.get("status", "?"),
                fmt(w1.get("throughput_wps")),
                fmt(w1.get("p50_ms"), 0),
                fmt(w1.get("p99_ms"), 0),
                pending or fmt(w2.get("throughput_wps")),
                "" if pending else fmt(w2.get("p50_ms"), 0),
                "" if pending else fmt(w2.get("p99_ms"), 0),
                fmt(w3.get("p50_ms"), 1),
                fmt(rss.get("server"), 0),
                fmt(rss.get("client_process"), 0),
                cpu,
            ]
        )
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]

    def line(cells: list[str]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), "-+-".join("-" * w for w in widths), *map(line, rows)])


def orchestrate(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--peers",
        default=os.environ.get("PEERS", " ".join(PEER_COMMANDS)),
        help='space-separated subset of the peers, or "none" (default: all; env PEERS)',
    )
    ap.add_argument(
        "--recorded",
        action="store_true",
        help="add the peers' recorded results (the shared results/*.json) to the table",
    )
    ap.add_argument(
        "--previous",
        action="store_true",
        help="add the peers not run now from their last run here (results/peers/*.json)",
    )
    ap.add_argument("--no-partita", action="store_true", help="run only the peers")
    ap.add_argument("--worker", choices=("inprocess", "process"), default="inprocess")
    args, harness_args = ap.parse_known_args(argv)
    chosen = [] if args.peers.strip() == "none" else args.peers.split()
    unknown = [p for p in chosen if p not in PEER_COMMANDS]
    if unknown:
        ap.error(f"unknown peer(s) {unknown}; known: {', '.join(PEER_COMMANDS)}")
    python = PEERS_VENV / "bin" / "python"
    if chosen and not python.exists():
        print(
            f"the peers' venv is missing ({python}): run {peers_dir() / 'setup.sh'} first "
            "(make bench-peers does); it installs the pinned peers from the package index",
            file=sys.stderr,
        )
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    done: list[tuple[str, Path, str]] = []
    failures = 0
    if not args.no_partita:
        out = RESULTS / "partita.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "partita", "--worker", args.worker]
        rc = run_one("partita", [*cmd, *harness_args, "--out", str(out)], RESULTS / "partita.log")
        failures += rc != 0  # Partita's own failed workflows fail the target
        done.append(("partita", out, "this run"))
    for name in chosen:
        out = RESULTS / f"{name}.json"
        out.unlink(missing_ok=True)
        script, *rest = PEER_COMMANDS[name]
        cmd = [str(python), str(peers_dir() / script), *rest, *harness_args, "--out", str(out)]
        run_one(name, cmd, RESULTS / f"{name}.log")
        # A peer's failed workflows are its result (the table's status column says
        # "partial"); only a peer that produced no result at all fails the target.
        failures += not out.exists()
        done.append((name, out, "this run"))
    for name in PEER_COMMANDS:
        if name in chosen:
            continue
        if args.previous and (RESULTS / f"{name}.json").exists():
            done.append((name, RESULTS / f"{name}.json", "previous"))
        elif args.recorded and (peers_dir() / "results" / f"{name}.json").exists():
            done.append((name, peers_dir() / "results" / f"{name}.json", "recorded"))
    loaded = []
    for name, path, source in done:
        if path.exists():
            data = json.loads(path.read_text())
            when = data.get("date_utc", "")[:16].replace("T", " ")
            label = source if source == "this run" else f"{source} {when}"
            loaded.append((name, data, label))
        else:
            loaded.append((name, {"status": "no result"}, source))
    print()
    print(table(loaded))
    summary = {name: data for name, data, _ in loaded}
    write_json(RESULTS / "summary.json", summary)
    print(
        f"\nwrote {(RESULTS / 'summary.json').relative_to(ROOT)} (each run: results/peers/*.json)"
    )
    return 1 if failures else 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "partita":
        return asyncio.run(run_partita(sys.argv[2:]))
    return orchestrate(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
