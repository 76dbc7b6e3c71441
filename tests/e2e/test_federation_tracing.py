"""OpenTelemetry: a hub's dispatch and the site's activation are spans of one trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as T
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as TG

from tests.conftest import assert_eventually, free_port
from tests.e2e.federation import Federation

CAMPAIGN = """
apiVersion: partita/v1
kind: Campaign
metadata: {name: traced}
spec:
  firstStage: deploy
  stages:
    deploy: {provider: mock, site: berlin, stageSelector: report}
    report: {provider: mock}
"""


class Collector(TG.TraceServiceServicer):
    """An OTLP trace receiver: every span exported to it, with its service's name."""

    def __init__(self) -> None:
        self.spans: list[tuple[str, Any]] = []

    async def Export(
        self, request: T.ExportTraceServiceRequest, context: object
    ) -> T.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.spans.append((attributes.get("service.name", ""), span))
        return T.ExportTraceServiceResponse()

    def named(self, service: str, name: str) -> list[Any]:
        return [span for svc, span in self.spans if svc == service and span.name == name]


@pytest.fixture
async def collector(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Collector]:
    found = Collector()
    server = grpc.aio.server()
    TG.add_TraceServiceServicer_to_server(found, server)
    port = server.add_insecure_port(f"127.0.0.1:{free_port()}")
    await server.start()
    # The planes started below inherit these: OTLP to this collector, exported promptly.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    yield found
    await server.stop(0)


async def test_the_hubs_dispatch_and_the_sites_activation_share_one_trace_id(
    tmp_path: Path, collector: Collector
) -> None:
    federation = Federation(tmp_path, ["berlin"], "--trace-exporter", "otlp")
    federation.start()
    try:
        await federation.connected("berlin")
        await federation.apply(CAMPAIGN)
        trace_id = "0af7651916cd43dd8448eb211c80319c"
        activation_id = await federation.start_activation(
            "traced", {}, metadata=(("traceparent", f"00-{trace_id}-b7ad6b7169203331-01"),)
        )
        await federation.closed(activation_id)

        async def exported() -> bool:
            return bool(
                collector.named("partita-hub", "dispatch deploy to berlin")
                and collector.named("partita-site", "activation dispatch-deploy")
                and collector.named("partita-site", "stage deploy")
                and collector.named("partita-hub", "activation traced")
            )

        await assert_eventually(exported, within=30)
    finally:
        federation.close()
    dispatch = collector.named("partita-hub", "dispatch deploy to berlin")[0]
    remote = collector.named("partita-site", "activation dispatch-deploy")[0]
    hub = collector.named("partita-hub", "activation traced")[0]
    assert dispatch.trace_id.hex() == remote.trace_id.hex() == hub.trace_id.hex() == trace_id
    attributes = {a.key: a.value for a in dispatch.attributes}
    assert attributes["partita.site"].string_value == "berlin"
    assert attributes["partita.dispatch_id"].string_value == remote_id(remote)
    assert dispatch.start_time_unix_nano <= dispatch.end_time_unix_nano


def remote_id(span: Any) -> str:
    return next(a.value.string_value for a in span.attributes if a.key == "partita.activation_id")
