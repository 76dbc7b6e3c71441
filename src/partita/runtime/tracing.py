"""OpenTelemetry spans of activations, stage runs and dispatches, made from their history.

The plane does not sprinkle span calls through its code: the tracer watches the events each
transition commits (as a watcher does) and turns every closed thing into a span with its real
start and end times. Each activation's spans belong to the trace of the ``traceparent`` it
started with (the plane gives one to an activation started without), and that trace context
travels on to workers' stage tasks and, in dispatches, to sites, so a hub's dispatch and the
site's activation share one trace id.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from partita import __version__
from partita.engine import ActivationState, Event, EventType, RunStatus
from partita.engine.fold import CLOSING_EVENTS

log = logging.getLogger("partita.tracing")

EXPORTERS = ("none", "console", "otlp")
"""What ``--trace-exporter`` accepts. OTLP reads the standard ``OTEL_EXPORTER_OTLP_*``
variables (endpoint, headers, insecure)."""

_PROPAGATOR = TraceContextTextMapPropagator()
_NANOS = 1_000_000_000


def configure(exporter: str, service: str, site_id: str) -> TracerProvider | None:
    """Install the SDK's tracer provider with the chosen exporter; None for ``none``."""
    if exporter == "none":
        return None
    if exporter not in EXPORTERS:
        raise ValueError(f"unknown trace exporter {exporter!r} (choose {', '.join(EXPORTERS)})")
    resource = Resource.create(
        {"service.name": service, "service.version": __version__, "partita.site": site_id}
    )
    provider = TracerProvider(resource=resource)
    chosen: SpanExporter
    if exporter == "console":
        chosen = ConsoleSpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(chosen))
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def new_traceparent() -> str:
    """A W3C ``traceparent`` starting a new trace (sampled)."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


class ActivationTracer:
    """Turns committed events into spans; cheap when no SDK is configured."""

    def __init__(self, site_id: str) -> None:
        self._site_id = site_id
        self._tracer = trace.get_tracer("partita", __version__)

    def observe(self, state: ActivationState, events: list[Event]) -> None:
        """Called after each commit with the state after ``events``."""
        try:
            for event in events:
                self._event(state, event)
        except Exception:  # telemetry must never break the plane
            log.exception("could not record spans for %s", state.id)

    def _event(self, state: ActivationState, event: Event) -> None:
        kind = event.type
        if kind in (EventType.STAGE_COMPLETED, EventType.STAGE_FAILED):
            run = state.run(str(event.data.get("runId", "")))
            if run is None:
                return
            status = "COMPLETED" if kind is EventType.STAGE_COMPLETED else run.status.value
            self._span(
                state,
                f"stage {run.stage}",
                run.start_time,
                event.time,
                {
                    "partita.stage": run.stage,
                    "partita.run_id": run.run_id,
                    "partita.attempt": run.attempt,
                    "partita.provider": run.provider,
                    "partita.stage_run.status": status,
                    **({"partita.site": run.site} if run.site else {}),
                },
                ok=status == RunStatus.COMPLETED.value,
            )
        elif kind is EventType.DISPATCH_RESULT:
            run = state.run(str(event.data.get("runId", "")))
            if run is None:
                return
            status = str(event.data.get("status", ""))
            self._span(
                state,
                f"dispatch {run.stage} to {run.site}",
                run.start_time,
                event.time,
                {
                    "partita.dispatch_id": str(event.data.get("dispatchId", "")),
                    "partita.site": run.site,
                    "partita.stage": run.stage,
                    "partita.dispatch.status": status,
                },
                ok=status == "COMPLETED",
                span_kind=SpanKind.CLIENT,
            )
        elif kind in CLOSING_EVENTS:
            self._span(
                state,
                f"activation {state.campaign}",
                state.create_time,
                event.time,
                {"partita.status": state.status.value, "partita.campaign_version": state.version},
                ok=state.status.value == "COMPLETED",
                span_kind=SpanKind.SERVER,
            )

    def _span(
        self,
        state: ActivationState,
        name: str,
        start: float,
        end: float,
        attributes: dict[str, Any],
        *,
        ok: bool,
        span_kind: SpanKind = SpanKind.INTERNAL,
    ) -> None:
        parent = _PROPAGATOR.extract(state.headers)
        span = self._tracer.start_span(
            name,
            context=parent,
            kind=span_kind,
            start_time=int(start * _NANOS),
            attributes={
                "partita.namespace": state.namespace,
                "partita.activation_id": state.id,
                "partita.campaign": state.campaign,
                "partita.plane_site": self._site_id,
                **attributes,
            },
        )
        span.set_status(StatusCode.OK if ok else StatusCode.ERROR)
        span.end(end_time=int(end * _NANOS))
