"""The gateway's own OTLP span encoding equals the SDK's, and its exporter delivers and retries."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from llmobs_gateway._otlp_spans import OtlpSpanExporter, SpanEncoder
from llmobs_gateway._telemetry import build_telemetry
from llmobs_testing.servers import serve_app

REMOTE = SpanContext(
    0x0AF7651916CD43DD8448EB211C80319C,
    0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(1),
    trace_state=TraceState([("vendor", "v1"), ("other", "x")]),
)


def _decoded(data: bytes) -> ExportTraceServiceRequest:
    msg = ExportTraceServiceRequest()
    msg.ParseFromString(data)
    return msg


def _assert_same_as_sdk(spans: list[ReadableSpan]) -> None:
    ours = _decoded(SpanEncoder().request(spans))
    sdk = _decoded(encode_spans(spans).SerializePartialToString())
    assert ours == sdk


def _spans(build: Any) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    providers = [
        TracerProvider(resource=Resource.create({"service.name": name, "n": i}))
        for i, name in enumerate(("gw", "other"))
    ]
    for provider in providers:
        provider.add_span_processor(SimpleSpanProcessor(memory))
    build(
        [p.get_tracer("scope-a", "1.0") for p in providers]
        + [providers[0].get_tracer("scope-b", schema_url="https://opentelemetry.io/schemas/1.30.0")]
    )
    for provider in providers:
        provider.shutdown()
    return list(memory.get_finished_spans())


def test_every_span_feature_encodes_exactly_as_the_sdk_does() -> None:
    def build(tracers: list[Any]) -> None:
        gw, other, schema = tracers
        attrs = {
            "s": "model",
            "empty": "",
            "unicode": "héllo ✓",
            "t": True,
            "f": False,
            "zero": 0,
            "neg": -42,
            "big": 2**62,
            "x": 0.25,
            "nan_free": -1.5e300,
            "reasons": ["stop", "length"],
            "ints": [1, -2, 3],
            "floats": [0.5],
            "bools": [True, False],
        }
        remote_parent = set_span_in_context(NonRecordingSpan(REMOTE))
        with gw.start_as_current_span(
            "chat m", kind=SpanKind.SERVER, attributes=attrs, context=remote_parent
        ) as span:
            span.add_event("first", {"k": 1}, timestamp=1_700_000_000_000_000_000)
            span.add_event("no-attrs")
            span.set_status(Status(StatusCode.ERROR, "boom"))
            with gw.start_as_current_span("child", kind=SpanKind.CLIENT) as child:
                child.set_status(Status(StatusCode.OK))
        with other.start_as_current_span(
            "linked", kind=SpanKind.PRODUCER, links=[Link(REMOTE, {"why": "batch"})]
        ):
            pass
        with schema.start_as_current_span("", kind=SpanKind.CONSUMER):
            pass
        for kind in (SpanKind.INTERNAL, SpanKind.SERVER):
            with gw.start_as_current_span("plain", kind=kind, attributes={"s": "model"}):
                pass

    spans = _spans(build)
    assert len(spans) == 6
    _assert_same_as_sdk(spans)


def test_a_pair_shared_by_span_resource_and_event_keeps_each_ones_field_tag() -> None:
    # The gateway's resource and spans both carry llmobs.layer=gateway: the encoded pair is
    # cached, but a cached span attribute (field 9) must not be reused as a resource attribute
    # (field 1) or an event attribute (field 3), where it would be skipped or misread.
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"llmobs.layer": "gateway"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("scope", "1.0")
    with tracer.start_as_current_span("s", attributes={"llmobs.layer": "gateway"}) as span:
        span.add_event("e", {"llmobs.layer": "gateway"})
    provider.shutdown()
    spans = list(memory.get_finished_spans())
    encoder = SpanEncoder()
    assert _decoded(encoder.request(spans)) == _decoded(
        encode_spans(spans).SerializePartialToString()
    )
    assert _decoded(encoder.request(spans)) == _decoded(
        encode_spans(spans).SerializePartialToString()
    )


_values = st.one_of(
    st.text(max_size=40),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.lists(st.text(max_size=8), max_size=4),
    st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), max_size=4),
    st.lists(st.floats(allow_nan=False), max_size=4),
)


@settings(max_examples=60, deadline=None)
@given(attributes=st.dictionaries(st.text(min_size=1, max_size=20), _values, max_size=12))
def test_any_attribute_values_encode_as_the_sdk_does(attributes: dict[str, Any]) -> None:
    def build(tracers: list[Any]) -> None:
        with tracers[0].start_as_current_span("s", attributes=attributes):
            pass

    spans = _spans(build)
    encoder = SpanEncoder()
    sdk = _decoded(encode_spans(spans).SerializePartialToString())
    # Twice through one encoder: the second time from the cache of repeated pairs.
    assert _decoded(encoder.request(spans)) == sdk
    assert _decoded(encoder.request(spans)) == sdk


class FlakyReceiver:
    """Answers the first ``failures`` exports with ``status``, then 200; records headers."""

    def __init__(self, failures: int, status: int, retry_after: str | None = None) -> None:
        self.failures, self.status, self.retry_after = failures, status, retry_after
        self.calls = 0
        self.accepted: list[ExportTraceServiceRequest] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def app(self) -> Starlette:
        async def traces(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.calls += 1
                self.headers.append(dict(request.headers))
                if self.calls <= self.failures:
                    extra = {"retry-after": self.retry_after} if self.retry_after else {}
                    return Response(b"busy", status_code=self.status, headers=extra)
                self.accepted.append(_decoded(body))
            return Response(b"", media_type="application/x-protobuf")

        return Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])


@pytest.fixture
def two_spans() -> list[ReadableSpan]:
    def build(tracers: list[Any]) -> None:
        for name in ("a", "b"):
            with tracers[0].start_as_current_span(name):
                pass

    return _spans(build)


def test_the_exporter_retries_unavailable_and_honours_retry_after(
    two_spans: list[ReadableSpan],
) -> None:
    receiver = FlakyReceiver(failures=2, status=503, retry_after="0")
    with serve_app(receiver.app()) as url:
        exporter = OtlpSpanExporter(url + "/v1/traces", headers={"authorization": "Bearer t"})
        assert exporter.export(two_spans) is SpanExportResult.SUCCESS
        exporter.shutdown()
    assert receiver.calls == 3
    [accepted] = receiver.accepted
    assert [s.name for s in accepted.resource_spans[0].scope_spans[0].spans] == ["a", "b"]
    assert all(h["authorization"] == "Bearer t" for h in receiver.headers)
    assert receiver.headers[0]["content-type"] == "application/x-protobuf"


def test_a_refused_batch_is_dropped_without_retrying(two_spans: list[ReadableSpan]) -> None:
    receiver = FlakyReceiver(failures=1, status=400)
    with serve_app(receiver.app()) as url:
        exporter = OtlpSpanExporter(url + "/v1/traces")
        assert exporter.export(two_spans) is SpanExportResult.FAILURE
        exporter.shutdown()
    assert receiver.calls == 1


def test_an_unreachable_receiver_gives_up_within_the_retry_budget(
    two_spans: list[ReadableSpan],
) -> None:
    exporter = OtlpSpanExporter("http://127.0.0.1:9/v1/traces", max_retry_s=1.0, timeout_s=0.5)
    assert exporter.export(two_spans) is SpanExportResult.FAILURE
    exporter.shutdown()
    assert exporter.export(two_spans) is SpanExportResult.FAILURE  # after shutdown: nothing sent


def test_the_gateway_exports_with_the_standard_header_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver = FlakyReceiver(failures=0, status=200)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20ingest-token")
    with serve_app(receiver.app()) as url:
        telemetry = build_telemetry("gw-test", url)
        with telemetry.tracer.start_as_current_span("one"):
            pass
        telemetry.shutdown()
    assert receiver.accepted
    assert receiver.headers[0]["authorization"] == "Bearer ingest-token"
