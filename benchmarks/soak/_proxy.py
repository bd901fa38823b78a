"""A counting OTLP/HTTP proxy between every exporter of the soak and the store.

It forwards each export request to the store as it came and counts, per signal, what was sent
and what the store acknowledged: a 200 answer, less the ``partial_success`` rejections in its
body. Span ids (trace id + span id, hex, as the store keeps them) are kept in sets so that a
client retry of an already acknowledged request is not counted twice, and so that the harness
can compare them with what ClickHouse holds at the end. When the store is down the proxy answers
503 with ``Retry-After`` (what the store itself answers when it cannot take more), so exporters
retry as they would against a restarting store.

    python benchmarks/soak/_proxy.py PORT STORE_URL

``GET /_soak/counts`` gives the counters as JSON; ``GET /_soak/acked-span-ids`` the acknowledged
span ids, one per line.
"""

from __future__ import annotations

import json
import sys
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import uvicorn
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as logs_service
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_service

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
_FORWARDED = ("content-type", "content-encoding", "authorization")


class Counts:
    """What went through, by signal: distinct spans sent and acknowledged, log records, answers."""

    def __init__(self) -> None:
        self.sent_spans: set[str] = set()
        self.acked_spans: set[str] = set()
        self.rejected_spans = 0
        self.acked_unnamed_spans = 0
        self.sent_logs = 0
        self.acked_logs = 0
        self.rejected_logs = 0
        self.answers: Counter[str] = Counter()
        self.undecodable = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "sent_spans": len(self.sent_spans),
            "acked_spans": len(self.acked_spans) + self.acked_unnamed_spans,
            "rejected_spans": self.rejected_spans,
            "sent_logs": self.sent_logs,
            "acked_logs": self.acked_logs,
            "rejected_logs": self.rejected_logs,
            "answers": dict(self.answers),
            "undecodable": self.undecodable,
        }


def _inflate(body: bytes, encoding: str) -> bytes:
    if encoding in ("gzip", "deflate"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    return body


def span_ids(body: bytes) -> list[str]:
    """``trace_id + span_id`` (hex) of every span in an ExportTraceServiceRequest."""
    request = trace_service.ExportTraceServiceRequest.FromString(body)
    return [
        span.trace_id.hex() + span.span_id.hex()
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]


def log_count(body: bytes) -> int:
    request = logs_service.ExportLogsServiceRequest.FromString(body)
    return sum(
        len(scope.log_records)
        for resource in request.resource_logs
        for scope in resource.scope_logs
    )


def rejected(signal: str, body: bytes) -> int:
    """The ``partial_success`` rejection count of a 200 answer (protobuf)."""
    if signal == "traces":
        return int(
            trace_service.ExportTraceServiceResponse.FromString(body).partial_success.rejected_spans
        )
    return int(
        logs_service.ExportLogsServiceResponse.FromString(body).partial_success.rejected_log_records
    )


class Proxy:
    """The ASGI app: forwards ``/v1/*`` to the store and counts; serves ``/_soak/*``."""

    def __init__(self, store: str) -> None:
        self.store = store.rstrip("/")
        self.counts = Counts()
        self.client: httpx.AsyncClient | None = None

    async def __call__(
        self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Send
    ) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        path: str = scope["path"]
        if path == "/_soak/counts":
            await _answer(send, 200, json.dumps(self.counts.as_json()).encode(), "application/json")
        elif path == "/_soak/acked-span-ids":
            await _answer(
                send, 200, "\n".join(sorted(self.counts.acked_spans)).encode(), "text/plain"
            )
        elif path.startswith("/v1/"):
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            await self.forward(path, headers, bytes(body), send)
        else:
            await _answer(send, 404, b"not found", "text/plain")

    async def lifespan(self, receive: Callable[[], Awaitable[Message]], send: Send) -> None:
        """One client for the proxy's life, closed at shutdown (no socket outlives the loop)."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client = httpx.AsyncClient(timeout=60)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def forward(self, path: str, headers: dict[str, str], body: bytes, send: Send) -> None:
        assert self.client is not None, "served without its lifespan"
        signal = path.removeprefix("/v1/")
        ids: list[str] = []
        logs = 0
        protobuf = headers.get("content-type", "").startswith("application/x-protobuf")
        if protobuf and signal in ("traces", "logs"):
            try:
                data = _inflate(body, headers.get("content-encoding", ""))
                if signal == "traces":
                    ids = span_ids(data)
                else:
                    logs = log_count(data)
            except (DecodeError, zlib.error):
                self.counts.undecodable += 1
        self.counts.sent_spans.update(ids)
        self.counts.sent_logs += logs
        try:
            answer = await self.client.post(
                self.store + path,
                content=body,
                headers={k: v for k, v in headers.items() if k in _FORWARDED},
            )
        except httpx.HTTPError as exc:
            self.counts.answers[f"{signal} unreachable"] += 1
            await _answer(
                send, 503, f"store unreachable: {exc!r}".encode(), "text/plain", retry=True
            )
            return
        self.counts.answers[f"{signal} {answer.status_code}"] += 1
        if answer.status_code == 200 and signal in ("traces", "logs"):
            refused = rejected(signal, answer.content) if protobuf else 0
            if signal == "traces":
                self.counts.rejected_spans += refused
                # A partial rejection names no span: count none of that request as acknowledged
                # by id (its count is in rejected_spans), so the id sets stay exact.
                if refused:
                    self.counts.acked_unnamed_spans += len(ids) - refused
                else:
                    self.counts.acked_spans.update(ids)
            else:
                self.counts.rejected_logs += refused
                self.counts.acked_logs += logs - refused
        content_type = answer.headers.get("content-type", "application/octet-stream")
        await _answer(
            send,
            answer.status_code,
            answer.content,
            content_type,
            retry=answer.status_code in (429, 503),
        )


async def _answer(
    send: Send, status: int, body: bytes, content_type: str, retry: bool = False
) -> None:
    headers = [(b"content-type", content_type.encode())]
    if retry:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(Proxy(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
