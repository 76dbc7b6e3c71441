"""The workloads, as calls to a plane's gRPC API.

W1 and W3 use a 3-stage campaign whose stages run on a worker (the peers' ``step(n) ->
{"i": n}``); W4 a 3-stage ``mock`` campaign; M1 a 1-stage ``noop`` campaign. An activation's
latency runs from just before its StartActivation call to the end of its WatchActivation
stream (the stream ends after the activation's closing event), as the peer harness measures
a workflow from its start call to its result.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format
from processes import machine_busy_seconds

from partita.v1 import activation_pb2 as A
from partita.v1 import activation_pb2_grpc as AG
from partita.v1 import campaign_pb2 as C
from partita.v1 import campaign_pb2_grpc as CG
from partita.v1 import common_pb2

QUEUE = "bench"
SEQ_CAMPAIGN = "bench-seq"
FANOUT_CAMPAIGN = "bench-fanout"
MOCK_CAMPAIGN = "bench-mock"
NOOP_CAMPAIGN = "bench-noop"
SEQ_EXPECTED = {"sum": 6}
FANOUT_EXPECTED = {"sum": 45}
COMPLETED = common_pb2.ACTIVATION_STATUS_COMPLETED
OPEN = (common_pb2.ACTIVATION_STATUS_RUNNING, common_pb2.ACTIVATION_STATUS_PAUSED)
CHANNEL_OPTIONS = (("grpc.max_receive_message_length", 16 << 20),)
WATCH_IDLE = 5.0
"""Seconds a watch may stay silent before GetActivation is asked (see ``Api.finish``)."""
WATCH_REOPEN_IDLE = 3
"""Silent periods after which a watch is opened again."""
WATCH_ATTEMPTS = 50


def _chain(provider: str, names: list[str], **extra: Any) -> dict[str, Any]:
    stages: dict[str, Any] = {}
    for k, name in enumerate(names):
        following = names[k + 1] if k + 1 < len(names) else ""
        stage: dict[str, Any] = {"provider": provider, "inputs": {"n": k + 1}, **extra}
        if following:
            stage["stageSelector"] = following
        stages[name] = stage
    return {"firstStage": names[0], "stages": stages}


CAMPAIGNS: dict[str, dict[str, Any]] = {
    # The peers' W1 workflow: step(1), step(2), step(3) on a worker. startToClose as the
    # Temporal peer's activities have (60 s): a real deployment sets one (see README.md).
    SEQ_CAMPAIGN: _chain(
        "worker",
        ["s1", "s2", "s3"],
        taskQueue=QUEUE,
        taskType="step",
        timeouts={"startToClose": "60s"},
    ),
    MOCK_CAMPAIGN: _chain("mock", ["s1", "s2", "s3"]),
    NOOP_CAMPAIGN: _chain("noop", ["s1"]),
}
FANOUT: dict[str, Any] = {
    # The peers' W2 workflow: step(0..9) at once (``contexts``), then an aggregation: an
    # instant ``mock`` stage, which runs inside the transition of the last item's result.
    "firstStage": "fan",
    "stages": {
        "fan": {
            "provider": "worker",
            "taskQueue": QUEUE,
            "taskType": "step",
            "timeouts": {"startToClose": "60s"},
            "contexts": list(range(10)),
            "inputs": {"n": "${{ context }}"},
            "stageSelector": "total",
        },
        "total": {
            "provider": "mock",
            "inputs": {
                "sum": "${{ " + " + ".join(f"outputs.fan[{k}].i" for k in range(10)) + " }}"
            },
        },
    },
}


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolation percentile (numpy's default; the peer harness's formula)."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    k = (len(s) - 1) * (p / 100.0)
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def outputs_of(activation: A.Activation) -> dict[str, Any]:
    found: dict[str, Any] = json_format.MessageToDict(activation.outputs)
    return found


def _completed(activation: A.Activation) -> dict[str, Any]:
    if activation.status != COMPLETED:
        status = common_pb2.ActivationStatus.Name(activation.status)
        raise RuntimeError(f"{activation.id}: {status} {activation.status_message}")
    return outputs_of(activation)


def fanout_result(activation: A.Activation) -> dict[str, Any]:
    """The W2 workflow's result, ``{"sum": 45}``: the aggregation stage's output."""
    return {"sum": int(_completed(activation)["total"]["sum"])}


def seq_result(activation: A.Activation) -> dict[str, Any]:
    """The W1 workflow's result, ``{"sum": 6}``, from its three stages' outputs.

    A campaign has no workflow code: the caller adds up the stages' outputs, which checks
    that each stage ran on its own input."""
    out = _completed(activation)
    return {"sum": int(sum(out[s]["i"] for s in ("s1", "s2", "s3")))}


class Api:
    """The plane's CampaignService and ActivationService on one channel."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
        self.campaigns = CG.CampaignServiceStub(self.channel)
        self.activations = AG.ActivationServiceStub(self.channel)
        self.retries: Counter[str] = Counter()

    async def close(self) -> None:
        await self.channel.close(None)

    async def create_campaigns(self) -> bool:
        """Create the benchmark's campaigns; whether the plane took the fan-out (``contexts``)
        one too."""
        for name, spec in CAMPAIGNS.items():
            await self._create(name, spec)
        try:
            await self._create(FANOUT_CAMPAIGN, FANOUT)
        except grpc.aio.AioRpcError as error:
            if error.code() is not grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return False
        return True

    async def _create(self, name: str, spec: dict[str, Any]) -> None:
        document = {"apiVersion": "partita/v1", "kind": "Campaign", "metadata": {"name": name}}
        document["spec"] = spec
        await self.campaigns.CreateCampaign(C.CreateCampaignRequest(document=json.dumps(document)))

    async def start(self, campaign: str, activation_id: str = "") -> A.Activation:
        answer = await self.activations.StartActivation(
            A.StartActivationRequest(campaign=campaign, activation_id=activation_id)
        )
        activation: A.Activation = answer.activation
        return activation

    async def finish(self, activation: A.Activation) -> A.Activation:
        """The activation once closed: watched from where its start answer left it.

        Works around stale reads, a plane bug under load fixed in 1abedd4 (README.md, "Watch
        retries"): the watch's first history read could miss events already committed; the
        next live event then failed the stream with INTERNAL, or, when the activation closed
        before the watch began, the stream stayed silent. So a watch that fails with INTERNAL
        or NOT_FOUND is opened again, and one silent for ``WATCH_IDLE`` seconds is checked
        with GetActivation (which answers an open activation from memory) and opened again
        when that says it is closed or not found, or after ``WATCH_REOPEN_IDLE`` such checks.
        Every reopening is counted in ``self.retries``: on a correct plane, none."""
        if activation.status not in OPEN:
            return activation
        after = activation.history_length
        for attempt in range(WATCH_ATTEMPTS):
            if attempt:
                await asyncio.sleep(min(0.002 * 2**attempt, 0.1))
            watch = self.activations.WatchActivation(
                A.WatchActivationRequest(activation_id=activation.id, from_sequence=after)
            )
            reader: asyncio.Future[Any] | None = None
            idle = 0
            try:
                while True:
                    reader = reader or asyncio.ensure_future(watch.read())
                    done, _ = await asyncio.wait({reader}, timeout=WATCH_IDLE)
                    if not done:
                        idle += 1
                        now = await self._check(activation.id)
                        if isinstance(now, A.Activation):
                            self.retries["idle_closed"] += 1
                            return now
                        if now == "gone" or idle >= WATCH_REOPEN_IDLE:
                            self.retries["idle"] += 1
                            break
                        continue
                    item, reader, idle = reader.result(), None, 0
                    if item is grpc.aio.EOF:  # type: ignore[attr-defined]
                        self.retries["ended_open"] += 1
                        break
                    after = item.event.sequence
                    if item.activation.status not in OPEN:
                        found: A.Activation = item.activation
                        return found
            except grpc.aio.AioRpcError as error:
                if error.code() not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.NOT_FOUND):
                    raise
                self.retries[error.code().name.lower()] += 1
            finally:
                watch.cancel()
                if reader is not None and not reader.done():
                    reader.cancel()
        raise RuntimeError(f"{activation.id}: still open after {WATCH_ATTEMPTS} watches")

    async def _check(self, activation_id: str) -> A.Activation | str:
        """The activation when GetActivation says it is closed; else "open", or "gone" when
        it is not found (it was started, so it closed and the read missed it)."""
        try:
            got = await self.activations.GetActivation(
                A.GetActivationRequest(activation_id=activation_id)
            )
        except grpc.aio.AioRpcError as error:
            if error.code() is grpc.StatusCode.NOT_FOUND:
                return "gone"
            raise
        found: A.Activation = got.activation
        return found if found.status not in OPEN else "open"

    async def run(self, campaign: str, activation_id: str = "") -> A.Activation:
        """Start an activation and wait until it closes."""
        return await self.finish(await self.start(campaign, activation_id))

    async def count_open(self) -> int:
        answer = await self.activations.ListActivations(
            A.ListActivationsRequest(statuses=list(OPEN), page_size=1000)
        )
        return len(answer.activations)


@dataclass
class Cpu:
    """CPU seconds of the plane, the worker and this process over one run, and of every
    other process on the machine (``others``: a run with much there was disturbed)."""

    read: Callable[[], dict[str, float]]

    def __post_init__(self) -> None:
        self.before = {**self.read(), "machine": machine_busy_seconds()}

    def spent(self) -> dict[str, float]:
        after = {**self.read(), "machine": machine_busy_seconds()}
        spent = {k: after[k] - self.before[k] for k in after}
        machine = spent.pop("machine")
        spent["others"] = max(0.0, machine - sum(spent.values()))
        return {k: round(v, 3) for k, v in spent.items()}


async def concurrent(
    run_one: Callable[[str], Awaitable[Any]], n: int, prefix: str, cpu: Callable[[], Cpu]
) -> dict[str, Any]:
    """``n`` activations started at once; throughput, latency percentiles, CPU."""

    async def timed(i: int) -> tuple[float, float]:
        t0 = time.perf_counter()
        await run_one(f"{prefix}-{i}")
        return t0, time.perf_counter()

    meter = cpu()
    wall0 = time.perf_counter()
    pairs = await asyncio.gather(*(timed(i) for i in range(n)))
    wall = time.perf_counter() - wall0
    span = max(b for _, b in pairs) - min(a for a, _ in pairs)
    lat = [(b - a) * 1000 for a, b in pairs]
    return {
        "n": n,
        "wall_s": round(wall, 4),
        "span_s": round(span, 4),
        "throughput": round(n / span, 3),
        "p50_ms": round(percentile(lat, 50), 3),
        "p99_ms": round(percentile(lat, 99), 3),
        "max_ms": round(max(lat), 3),
        "cpu_s": meter.spent(),
        "latencies_ms": [round(x, 3) for x in lat],
    }


async def serial(
    run_one: Callable[[str], Awaitable[Any]], n: int, prefix: str, cpu: Callable[[], Cpu]
) -> dict[str, Any]:
    """``n`` activations one after another; latency percentiles."""
    meter = cpu()
    lat = []
    for i in range(n):
        t0 = time.perf_counter()
        await run_one(f"{prefix}-{i}")
        lat.append((time.perf_counter() - t0) * 1000)
    return {
        "n": n,
        "p50_ms": round(percentile(lat, 50), 3),
        "p99_ms": round(percentile(lat, 99), 3),
        "mean_ms": round(statistics.fmean(lat), 3),
        "min_ms": round(min(lat), 3),
        "cpu_s": meter.spent(),
        "latencies_ms": [round(x, 3) for x in lat],
    }


def run_tag() -> str:
    return uuid.uuid4().hex[:8]
