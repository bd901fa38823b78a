"""OTLP/HTTP receivers over real HTTP, with the official OpenTelemetry exporters as clients."""

import gzip
import json
import os
import time
from typing import Any

import httpx
from google.rpc import status_pb2
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from llmobs_semconv import attributes as A
from tests.store.conftest import RunningStore

RESOURCE = {
    A.SERVICE_NAME: "chat-app",
    A.K8S_NAMESPACE_NAME: "prod",
    A.K8S_POD_NAME: "chat-app-7d9f",
    A.K8S_NODE_NAME: "node-a",
    A.K8S_DEPLOYMENT_NAME: "chat-app",
    A.K8S_CONTAINER_NAME: "app",
}
MESSAGES = '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]'


def tracer(store: RunningStore, **exporter_kw: Any) -> tuple[Any, TracerProvider]:
    provider = TracerProvider(resource=Resource.create(RESOURCE))
    exporter = OTLPSpanExporter(endpoint=store.url + "/v1/traces", **exporter_kw)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), provider


def test_every_field_round_trips_through_the_official_exporter(shared_store: RunningStore) -> None:
    tr, provider = tracer(shared_store)
    with tr.start_as_current_span("agent run") as root:
        root.set_attribute(A.SESSION_ID, "sess-rt")
        root.set_attribute(A.USER_ID, "user-rt")
        with tr.start_as_current_span("chat gpt-4o") as llm:
            llm.set_attributes(
                {
                    A.GEN_AI_OPERATION_NAME: "chat",
                    A.GEN_AI_PROVIDER_NAME: "openai",
                    A.GEN_AI_REQUEST_MODEL: "gpt-4o",
                    A.GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06",
                    A.GEN_AI_USAGE_INPUT_TOKENS: 1000,
                    A.GEN_AI_USAGE_OUTPUT_TOKENS: 200,
                    A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 100,
                    A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 20,
                    A.LLMOBS_TTFT: 0.3,
                    A.LLMOBS_TPOT: 0.02,
                    A.LLMOBS_TBT_MAX: 0.25,
                    A.LLMOBS_TBT_P95: 0.05,
                    A.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
                    A.LLMOBS_LAYER: "app",
                    A.SESSION_ID: "sess-rt",
                    A.USER_ID: "user-rt",
                    A.GEN_AI_INPUT_MESSAGES: MESSAGES,
                    "custom.flag": True,
                }
            )
            llm.set_status(Status(StatusCode.ERROR, "rate limited"))
            llm.set_attribute(A.HTTP_RESPONSE_STATUS_CODE, 429)
            trace_id = format(llm.get_span_context().trace_id, "032x")
            span_id = format(llm.get_span_context().span_id, "016x")
    provider.shutdown()
    shared_store.wait_for(
        lambda: httpx.get(f"{shared_store.url}/api/v1/traces/{trace_id}").status_code == 200
    )
    spans = shared_store.get(f"/api/v1/traces/{trace_id}")["spans"]
    assert len(spans) == 2
    span = next(s for s in spans if s["span_id"] == span_id)
    expected = {
        "name": "chat gpt-4o",
        "kind": "LLM",
        "otel_kind": "INTERNAL",
        "service": "chat-app",
        "status": "ERROR",
        "error": "rate limited",
        "status_code": 429,
        "provider": "openai",
        "request_model": "gpt-4o",
        "response_model": "gpt-4o-2024-08-06",
        "input_tokens": 1000,
        "output_tokens": 200,
        "cached_tokens": 100,
        "reasoning_tokens": 20,
        "ttft_ms": 300.0,
        "tpot_ms": 20.0,
        "tbt_max_ms": 250.0,
        "tbt_p95_ms": 50.0,
        "finish_reasons": ["stop"],
        "session_id": "sess-rt",
        "user_id": "user-rt",
        "layer": "app",
        "k8s": {
            "namespace": "prod",
            "pod": "chat-app-7d9f",
            "node": "node-a",
            "workload": "chat-app",
            "container": "app",
        },
    }
    for key, value in expected.items():
        assert span[key] == value, key
    assert span["parent_span_id"] == next(s for s in spans if s["name"] == "agent run")["span_id"]
    assert span["attributes"]["custom.flag"] == "true"
    assert span["resource_attributes"][A.K8S_POD_NAME] == "chat-app-7d9f"
    assert span["content"]["input"]["text"].startswith('[{"role":"user"')
    assert span["content"]["input"]["complete"] is True
    assert span["content"]["output"] is None
    # gpt-4o prices: 2.50 in / 1.25 cached / 10.00 out per 1M tokens.
    assert abs(span["input_cost_usd"] - (900 * 2.5 + 100 * 1.25) / 1e6) < 1e-12
    assert abs(span["output_cost_usd"] - 200 * 10.0 / 1e6) < 1e-12
    assert span["end_ms"] >= span["start_ms"]
    assert span["duration_ms"] >= 0


def test_gzip_protobuf_and_json_encodings_are_accepted(shared_store: RunningStore) -> None:
    from opentelemetry.exporter.otlp.proto.http import Compression

    tr, provider = tracer(shared_store, compression=Compression.Gzip)
    with tr.start_as_current_span("gzipped") as span:
        gz_trace = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    trace_id, span_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    now_ns = time.time_ns()
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "name": "json span",
                                "kind": 3,
                                "startTimeUnixNano": str(now_ns),
                                "endTimeUnixNano": str(now_ns + 10**9),
                                "attributes": [
                                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "7"}}
                                ],
                                "status": {"code": 2, "message": "boom"},
                            }
                        ]
                    }
                ],
            }
        ]
    }
    response = httpx.post(
        shared_store.url + "/v1/traces",
        content=gzip.compress(json.dumps(body).encode()),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "partialSuccess" not in response.json()
    shared_store.wait_for(
        lambda: httpx.get(f"{shared_store.url}/api/v1/traces/{trace_id}").status_code == 200
    )
    span = shared_store.get(f"/api/v1/traces/{trace_id}")["spans"][0]
    assert (span["span_id"], span["service"], span["input_tokens"], span["error"]) == (
        span_id,
        "json-svc",
        7,
        "boom",
    )
    assert span["otel_kind"] == "CLIENT"
    assert span["duration_ms"] == 1000.0
    shared_store.wait_for(
        lambda: httpx.get(f"{shared_store.url}/api/v1/traces/{gz_trace}").status_code == 200
    )


def test_invalid_spans_are_reported_in_partial_success(shared_store: RunningStore) -> None:
    request = ts.ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    good = spans.add(
        trace_id=os.urandom(16),
        span_id=os.urandom(8),
        name="good",
        start_time_unix_nano=time.time_ns(),
        end_time_unix_nano=time.time_ns(),
    )
    spans.add(trace_id=b"\x01" * 3, span_id=os.urandom(8), name="bad id")
    response = httpx.post(
        shared_store.url + "/v1/traces",
        content=request.SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
    )
    assert response.status_code == 200
    parsed = ts.ExportTraceServiceResponse.FromString(response.content)
    assert parsed.partial_success.rejected_spans == 1
    assert "trace_id" in parsed.partial_success.error_message
    shared_store.wait_for(
        lambda: (
            httpx.get(f"{shared_store.url}/api/v1/traces/{good.trace_id.hex()}").status_code == 200
        )
    )


def test_bad_input_gets_a_clear_4xx_and_never_a_500(shared_store: RunningStore) -> None:
    url = shared_store.url
    proto = {"content-type": "application/x-protobuf"}
    r = httpx.post(url + "/v1/traces", content=b"\xff\xff\xff\xff garbage", headers=proto)
    assert r.status_code == 400
    assert "malformed protobuf" in status_pb2.Status.FromString(r.content).message
    r = httpx.post(
        url + "/v1/logs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert "malformed JSON" in r.json()["message"]
    r = httpx.post(
        url + "/v1/traces",
        content=b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert "traceId" in r.json()["message"]
    r = httpx.post(url + "/v1/traces", content=b"x", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert "text/plain" in r.json()["message"]
    r = httpx.post(url + "/v1/traces", content=b"x", headers={**proto, "content-encoding": "br"})
    assert r.status_code == 415
    r = httpx.post(
        url + "/v1/traces", content=b"not gzip", headers={**proto, "content-encoding": "gzip"}
    )
    assert r.status_code == 400
    limit = shared_store.settings.max_request_bytes
    r = httpx.post(url + "/v1/traces", content=b"\x00" * (limit + 1), headers=proto)
    assert r.status_code == 413
    bomb = gzip.compress(b"\x00" * (limit + 10))
    r = httpx.post(url + "/v1/traces", content=bomb, headers={**proto, "content-encoding": "gzip"})
    assert r.status_code == 413
    for path, param in (
        ("/api/v1/traces?limit=0", "limit"),
        ("/api/v1/traces?kind=BOGUS", "kind"),
        ("/api/v1/usage?group_by=planet", "group_by"),
        ("/api/v1/models?bucket_s=x", "bucket_s"),
        ("/api/v1/traces/not-a-trace-id", "trace_id"),
    ):
        r = httpx.get(url + path)
        assert r.status_code == 422, path
        assert param in json.dumps(r.json()["detail"]), path
    assert httpx.get(url + "/api/v1/traces/" + "0" * 32).status_code == 404
    assert httpx.get(url + "/api/v1/sessions/nobody").status_code == 404
    # The store is still healthy and serving after all of that.
    assert httpx.get(url + "/healthz").json() == {"status": "ok"}


def test_logs_and_metrics_from_the_official_exporters(shared_store: RunningStore) -> None:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    logs = LoggerProvider(resource=Resource.create({A.SERVICE_NAME: "log-svc"}))
    logs.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=shared_store.url + "/v1/logs"))
    )
    logs.get_logger("t").emit(body="plain log line", severity_text="WARN", attributes={"k": "v"})
    logs.shutdown()
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=shared_store.url + "/v1/metrics"), export_interval_millis=60_000
    )
    meters = MeterProvider(
        metric_readers=[reader], resource=Resource.create({A.SERVICE_NAME: "m-svc"})
    )
    histogram = meters.get_meter("t").create_histogram("gen_ai.client.operation.duration", unit="s")
    histogram.record(0.5, {"gen_ai.request.model": "m"})
    histogram.record(1.5, {"gen_ai.request.model": "m"})
    meters.shutdown()
    storage = shared_store.app.state.store.storage

    def stored() -> bool:
        logs_rows = storage.query(
            f"SELECT body, severity FROM {storage.database}.logs WHERE service = 'log-svc'"
        )
        points = storage.query(
            f"SELECT count, sum, type FROM {storage.database}.metric_points WHERE service = 'm-svc'"
        )
        return bool(logs_rows) and bool(points)

    shared_store.wait_for(stored)
    assert storage.query(
        f"SELECT body, severity FROM {storage.database}.logs WHERE service = 'log-svc'"
    )[0] == {"body": "plain log line", "severity": "WARN"}
    point = storage.query(
        f"SELECT count, sum, type FROM {storage.database}.metric_points WHERE service = 'm-svc'"
    )[0]
    assert point == {"count": 2, "sum": 2.0, "type": "histogram"}


def test_ops_endpoints_and_openapi(shared_store: RunningStore) -> None:
    url = shared_store.url
    assert httpx.get(url + "/readyz").json()["ready"] is True
    metrics = httpx.get(url + "/metrics").text
    for name in (
        "llmobs_store_items_accepted_total",
        "llmobs_store_spool_depth_bytes",
        "llmobs_store_insert_seconds_bucket",
        "llmobs_store_merge_backlog",
    ):
        assert name in metrics
    paths = httpx.get(url + "/openapi.json").json()["paths"]
    for path in (
        "/v1/traces",
        "/api/v1/traces",
        "/api/v1/traces/{trace_id}",
        "/api/v1/sessions",
        "/api/v1/models",
        "/api/v1/usage",
        "/api/v1/errors",
        "/api/v1/loops",
        "/api/v1/overview",
    ):
        assert path in paths
    assert "llmobs" in httpx.get(url + "/").text
    assert httpx.get(url + "/ui/").status_code == 200
