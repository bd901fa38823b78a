"""A recording OTLP/HTTP relay: what a family exports, passed on to the store byte for byte.

The app exports to the relay; each request is forwarded unchanged (body, content type and
encoding) to the store and the store's answer is returned to the app, so the store sees exactly
what the library sent. The relay also decodes the trace and log requests (opentelemetry-proto)
and keeps what the suite needs to judge the store against: every exported span (ids, parent,
name, times, attributes, event names) and every log record, plus the text of every exported
value, which tells whether the library captured a prompt at all.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attrs(pairs: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in pairs}


@dataclass(frozen=True)
class ExportedSpan:
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_unix_nano: int
    end_unix_nano: int
    attributes: dict[str, Any]
    events: tuple[str, ...]
    service: str


@dataclass
class Exported:
    """Everything one family exported, as the relay decoded it."""

    spans: list[ExportedSpan] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # every string value anywhere, for content
    requests: dict[str, int] = field(default_factory=dict)  # path -> count
    refused: list[str] = field(default_factory=list)  # "<path> <status> <body>" of non-2xx
    lock: threading.Lock = field(default_factory=threading.Lock)

    def captured(self, needle: str) -> bool:
        """Whether ``needle`` appears in any value the family exported."""
        with self.lock:
            return any(needle in text for text in self.texts)


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)


def _decode_body(body: bytes, encoding: str) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


class _Relay(BaseHTTPRequestHandler):
    upstream: str
    exported: Exported
    client: httpx.Client

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() in ("content-type", "content-encoding", "authorization")
        }
        answer = self.client.post(self.upstream + self.path, content=body, headers=headers)
        path = self.path.split("?")[0]
        with self.exported.lock:
            self.exported.requests[path] = self.exported.requests.get(path, 0) + 1
            if answer.status_code >= 300:
                self.exported.refused.append(f"{path} {answer.status_code} {answer.text[:300]}")
        if answer.status_code < 300 and "protobuf" in headers.get("content-type", ""):
            self._record(path, _decode_body(body, headers.get("content-encoding", "")))
        self.send_response(answer.status_code)
        for name in ("content-type",):
            if name in answer.headers:
                self.send_header(name, answer.headers[name])
        self.send_header("content-length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    def _record(self, path: str, raw: bytes) -> None:
        spans: list[ExportedSpan] = []
        logs: list[dict[str, Any]] = []
        if path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(raw)
            for resource_spans in request.resource_spans:
                service = str(_attrs(resource_spans.resource.attributes).get("service.name", ""))
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        attributes = _attrs(span.attributes)
                        for event in span.events:
                            attributes.setdefault(f"event:{event.name}", _attrs(event.attributes))
                        spans.append(
                            ExportedSpan(
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                parent_span_id=span.parent_span_id.hex(),
                                name=span.name,
                                start_unix_nano=span.start_time_unix_nano,
                                end_unix_nano=span.end_time_unix_nano,
                                attributes=attributes,
                                events=tuple(event.name for event in span.events),
                                service=service,
                            )
                        )
        elif path == "/v1/logs":
            request_logs = ExportLogsServiceRequest.FromString(raw)
            for resource_logs in request_logs.resource_logs:
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        logs.append(
                            {
                                "trace_id": record.trace_id.hex(),
                                "span_id": record.span_id.hex(),
                                "event_name": getattr(record, "event_name", ""),
                                "body": any_value(record.body),
                                "attributes": _attrs(record.attributes),
                                "time_unix_nano": record.time_unix_nano
                                or record.observed_time_unix_nano,
                            }
                        )
        texts = [t for s in spans for t in _texts(s.attributes)]
        texts += [t for record in logs for t in _texts([record["body"], record["attributes"]])]
        with self.exported.lock:
            self.exported.spans.extend(spans)
            self.exported.logs.extend(logs)
            self.exported.texts.extend(texts)


@contextmanager
def relay(upstream: str) -> Iterator[tuple[str, Exported]]:
    """A relay to ``upstream`` on 127.0.0.1 (free port); yields (its URL, what passed through)."""
    exported = Exported()
    with httpx.Client(timeout=30) as client:
        handler = type(
            "Relay", (_Relay,), {"upstream": upstream, "exported": exported, "client": client}
        )
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}", exported
        finally:
            server.shutdown()
            server.server_close()
            thread.join(5)
