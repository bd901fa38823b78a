"""One poison record, sent once at the start of the demo, so the UI's Dead letters view has an
entry: an OTLP span the store acknowledges but cannot turn into rows (its
``gen_ai.response.finish_reasons`` is 50,000 nested brackets, which the normaliser's JSON
parser gives up on), so the store dead-letters it and stores everything else as usual.

The span is a child of a real span of the app (``demo poison record``, exported by the probe),
so the dead letter's trace link opens a trace that exists. It is posted as OTLP protobuf built
with the opentelemetry-proto classes, straight to the store's ``/v1/traces``.
"""

import os
import time

import httpx
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

from llmobs_semconv import attributes as A

#: The span's name, as it shows in the dead letter's record.
POISON_SPAN_NAME = "demo poison span"
#: The attribute value the normaliser cannot parse (nesting far past any recursion limit).
POISON_FINISH_REASONS = "[" * 50_000


def poison_request(trace_id: int, parent_span_id: int, span_id: int) -> bytes:
    """An ``ExportTraceServiceRequest`` with the one poison span, serialised."""
    request = trace_service_pb2.ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(
        common_pb2.KeyValue(
            key="service.name", value=common_pb2.AnyValue(string_value="demo-chatbot")
        )
    )
    now = time.time_ns()
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id = trace_id.to_bytes(16, "big")
    span.span_id = span_id.to_bytes(8, "big")
    span.parent_span_id = parent_span_id.to_bytes(8, "big")
    span.name = POISON_SPAN_NAME
    span.start_time_unix_nano = now - 1_000_000
    span.end_time_unix_nano = now
    span.attributes.append(
        common_pb2.KeyValue(
            key=A.GEN_AI_RESPONSE_FINISH_REASONS,
            value=common_pb2.AnyValue(string_value=POISON_FINISH_REASONS),
        )
    )
    return bytes(request.SerializeToString())


def send_poison(store_url: str, tracer: trace.Tracer | None = None) -> str:
    """Post the poison span to the store; return its trace id (hex). Raises httpx.HTTPError
    when the store does not take it (the demo goes on without it)."""
    tracer = tracer or trace.get_tracer("llmobs.demo")
    with tracer.start_as_current_span("demo poison record") as parent:
        context = parent.get_span_context()
        # Without a recording parent (no probe), the poison span still needs ids of its own.
        trace_id = context.trace_id or int.from_bytes(os.urandom(16), "big")
        parent_id = context.span_id or int.from_bytes(os.urandom(8), "big")
        span_id = int.from_bytes(os.urandom(8), "big") or 1
        parent.set_attribute("llmobs.demo.poison.span_id", f"{span_id:016x}")
        response = httpx.post(
            f"{store_url.rstrip('/')}/v1/traces",
            content=poison_request(trace_id, parent_id, span_id),
            headers={"content-type": "application/x-protobuf"},
            timeout=10,
        )
        response.raise_for_status()
    return f"{trace_id:032x}"
