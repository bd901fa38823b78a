"""The proxy path: route, fail over, stream through, record.

Per request: read and check the body, take the limits, start the span (continuing the caller's
``traceparent``), try upstreams until one answers (connect error, timeout, 429 or 5xx before the
first byte move on to the next; bounded attempts, one total deadline, circuit breakers), then pass
the response through. Streamed bytes go to the client as they arrive, relayed from the upstream
connection's data callback (no task wake-up per chunk); the observer watches them on the side. A
client that goes away cancels the request's task (the server does that), which aborts the upstream
request. Once a byte reached the client there is no retry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from llmobs_gateway._content import ContentStream
from llmobs_gateway._limits import RateLimiter
from llmobs_gateway._observer import ResponseObserver
from llmobs_gateway._passthrough import relay_stream, relay_whole
from llmobs_gateway._prometheus import GatewayMetrics
from llmobs_gateway._recording import Outcome, Recorder
from llmobs_gateway._request import BadRequest, IncomingRequest, key_digest, key_identity
from llmobs_gateway._routing import Router, Upstream
from llmobs_gateway._server import Exchange, Request
from llmobs_gateway._upstream_http import (
    UpstreamBrokenError,
    UpstreamConnectError,
    UpstreamResponse,
    UpstreamTooLargeError,
)
from llmobs_gateway.settings import GatewaySettings
from llmobs_semconv import attributes as A
from llmobs_semconv import chunks

log = logging.getLogger("llmobs_gateway")

#: client path -> (upstream path after the base URL, gen_ai.operation.name)
PROXIED: dict[str, tuple[str, str]] = {}
for _sub, _op in (
    ("/chat/completions", A.OP_CHAT),
    ("/completions", A.OP_TEXT_COMPLETION),
    ("/embeddings", A.OP_EMBEDDINGS),
    ("/responses", A.OP_CHAT),
):
    PROXIED["/v1" + _sub] = (_sub, _op)
    PROXIED[_sub] = (_sub, _op)

_PROPAGATOR = TraceContextTextMapPropagator()
_PASS_HEADERS = frozenset({b"x-request-id", b"retry-after", b"openai-processing-ms"})
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_INPUT_FIELDS = ("messages", "prompt", "input", "instructions")
_INCLUDE_USAGE = b'{"stream_options":{"include_usage":true},'  # + the client's object after "{"


@dataclass
class _Attempted:
    response: UpstreamResponse | None
    upstream: Upstream | None
    attempts: int
    error_type: str | None
    error_message: str


class Proxy:
    """Serves the proxied OpenAI endpoints."""

    def __init__(
        self,
        settings: GatewaySettings,
        router: Router,
        limiter: RateLimiter,
        *,
        recorder: Recorder,
        metrics: GatewayMetrics,
        accepted_key_digests: frozenset[str] | None,
    ) -> None:
        self.settings = settings
        self.router = router
        self.limiter = limiter
        self.recorder = recorder
        self.metrics = metrics
        self.accepted = accepted_key_digests
        self.forward_prefixes = tuple(
            p.lower().encode("latin-1") for p in settings.forward_header_prefixes
        )

    async def __call__(
        self, request: Request, exchange: Exchange, sub_path: str, operation: str
    ) -> None:
        started = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self._serve(request, exchange, sub_path, operation, started=started)
        finally:
            self.metrics.in_flight.dec()

    async def _serve(
        self,
        request: Request,
        exchange: Exchange,
        sub_path: str,
        operation: str,
        *,
        started: float,
    ) -> None:
        try:
            req = IncomingRequest.from_headers(request.headers, request.body, self.forward_prefixes)
            model = req.parse()
            key = req.api_key()
            digest = key_digest(key) if key else None
            if self.accepted is not None and digest not in self.accepted:
                raise BadRequest(401, "Invalid or missing API key", code="invalid_api_key")
            route = self.router.route(model)
            if route is None:
                raise BadRequest(
                    404,
                    f"The model `{model}` does not exist or is not served by this gateway",
                    code="model_not_found",
                    param="model",
                )
        except BadRequest as exc:
            exchange.send_error(exc.status, exc.message, code=exc.code, param=exc.param)
            return
        identity = key_identity(digest)
        refused = self.limiter.acquire(identity, model)
        if refused is not None:
            retry_after, which = refused
            self.metrics.rate_limited.labels(self.recorder.model_label(model)).inc()
            exchange.send_error(
                429,
                f"Rate limit reached ({which}); retry after {retry_after} s",
                code="rate_limit_exceeded",
                extra=[(b"retry-after", str(retry_after).encode())],
            )
            return

        doc = req.doc
        stream = doc.get("stream") is True
        body = req.body
        strip_usage = False
        changed = False
        if stream and operation != A.OP_EMBEDDINGS and sub_path != "/responses":
            options = doc.get("stream_options")
            if not (isinstance(options, dict) and options.get("include_usage") is True):
                # Ask for usage so tokens and cost are known; the client never sees that event.
                strip_usage = True
                if "stream_options" not in doc and not route.upstream_model and body[:1] == b"{":
                    # The common case: one member added in front, the client's bytes kept
                    # (cheaper than re-serialising the whole request). Not when the client sent
                    # "stream_options": null: its later duplicate key would win over ours.
                    body = _INCLUDE_USAGE + body[1:]
                else:
                    doc["stream_options"] = {**(options or {}), "include_usage": True}
                    changed = True
        if route.upstream_model:
            doc["model"] = route.upstream_model
            changed = True
        if changed:
            body = json.dumps(doc, separators=(",", ":")).encode()

        span = self.recorder.start_span(
            req, operation, model, stream=stream, identity=identity, start_ns=time.time_ns()
        )
        outcome = Outcome(model=model, operation=operation, stream=stream, identity=identity)
        out_stream: ContentStream | None = None
        if self.recorder.capturing(span):
            self.recorder.capture_input(span, [doc.get(k) for k in _INPUT_FIELDS])
            out_stream = self.recorder.content_stream(span, chunks.ROLE_OUTPUT, chunks.FORMAT_TEXT)
        observer = ResponseObserver(strip_usage=strip_usage, sink=out_stream)
        outcome.observer = observer

        upstream_headers = [
            (b"content-type", b"application/json"),
            (b"accept", b"text/event-stream" if stream else b"application/json"),
        ]
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
        upstream_headers.extend((k.encode(), v.encode()) for k, v in carrier.items())
        if req.baggage:
            upstream_headers.append((b"baggage", req.baggage.encode("latin-1")))
        upstream_headers.extend(req.forwarded)

        try:
            candidates = self.router.candidates(route)
            await self._forward(
                exchange,
                candidates,
                sub_path,
                body=body,
                headers=upstream_headers,
                started=started,
                outcome=outcome,
            )
        except asyncio.CancelledError:
            if not exchange.disconnected:
                raise
            # The client went away: its request is cancelled upstream (the response was closed
            # on the way out of _forward) and recorded as abandoned.
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            outcome.abandoned = True
            if exchange.stalled:
                outcome.error_type = "client_write_stall"
        finally:
            if out_stream is not None:
                out_stream.close()
            self.recorder.finish(span, outcome, started)
            self.limiter.charge_tokens(identity, model, outcome.total_tokens())

    async def _attempt(
        self,
        candidates: list[Upstream],
        sub_path: str,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        started: float,
    ) -> _Attempted:
        """Try upstreams in order until one answers with something to pass on."""
        deadline = started + self.settings.request_deadline_s
        budget = min(len(candidates), self.settings.max_attempts)
        error_type: str | None = None
        message = "no upstream could be reached"
        attempts = 0
        for i, upstream in enumerate(candidates[:budget]):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                error_type, message = "timeout", "the gateway's request deadline passed"
                break
            attempts += 1
            last = i == budget - 1
            call_headers = headers
            if upstream.auth_header is not None:
                call_headers = [*headers, (b"authorization", upstream.auth_header)]
            try:
                async with asyncio.timeout(min(remaining, upstream.config.first_byte_timeout_s)):
                    response = await upstream.pool.request(b"POST", sub_path, call_headers, body)
            except TimeoutError:
                error_type, message = "timeout", f"upstream {upstream.name} timed out"
                self._failed(upstream, "timeout")
                continue
            except UpstreamConnectError as exc:
                error_type = "connect_error"
                message = f"upstream {upstream.name} unreachable: {exc}"
                self._failed(upstream, "connect_error")
                continue
            except UpstreamTooLargeError as exc:
                error_type = "upstream_too_large"
                message = f"upstream {upstream.name} sent too much: {exc}"
                self._failed(upstream, "upstream_too_large")
                continue
            except UpstreamBrokenError as exc:
                error_type = "upstream_broken"
                message = f"upstream {upstream.name} broke the connection: {exc}"
                self._failed(upstream, "upstream_broken")
                continue
            if response.status in _RETRYABLE_STATUS:
                self._failed(upstream, str(response.status))
                if not last:
                    response.close()
                    continue
            else:
                upstream.breaker.record_success()
                self.recorder.child(self.metrics.upstream_up, upstream.name).set(1)
            return _Attempted(response, upstream, attempts, None, "")
        return _Attempted(None, None, attempts, error_type, message)

    def _failed(self, upstream: Upstream, reason: str) -> None:
        upstream.breaker.record_failure(time.monotonic())
        self.metrics.upstream_failures.labels(upstream.name, reason).inc()
        if upstream.breaker.is_open:
            self.metrics.upstream_up.labels(upstream.name).set(0)

    async def _forward(
        self,
        exchange: Exchange,
        candidates: list[Upstream],
        sub_path: str,
        *,
        body: bytes,
        headers: list[tuple[bytes, bytes]],
        started: float,
        outcome: Outcome,
    ) -> None:
        attempted = await self._attempt(candidates, sub_path, body, headers, started)
        outcome.attempts = attempted.attempts
        response, upstream = attempted.response, attempted.upstream
        if response is None or upstream is None:
            status = 504 if attempted.error_type == "timeout" else 502
            outcome.status = status
            outcome.error_type = attempted.error_type or "no_upstream"
            exchange.send_error(status, attempted.error_message, code=outcome.error_type)
            return
        outcome.upstream = upstream
        status = response.status
        outcome.status = status
        if status >= 400:
            outcome.error_type = str(status)
        try:
            content_type = response.header(b"content-type") or b"application/json"
            out_headers = [(b"content-type", content_type)]
            out_headers.extend((n, v) for n, v in response.headers if n in _PASS_HEADERS)
            out_headers.append((b"x-llmobs-upstream", upstream.name_bytes))
            if status < 400 and content_type.startswith(b"text/event-stream"):
                await relay_stream(exchange, response, upstream, out_headers, outcome)
            else:
                async with asyncio.timeout(upstream.config.first_byte_timeout_s):
                    await relay_whole(
                        exchange,
                        response,
                        out_headers,
                        outcome,
                        max_body_bytes=self.settings.max_upstream_body_bytes,
                        max_error_bytes=self.settings.max_upstream_error_bytes,
                    )
        except (TimeoutError, UpstreamBrokenError) as exc:
            if isinstance(exc, TimeoutError):
                outcome.error_type, detail = "timeout", "timeout"
            elif isinstance(exc, UpstreamTooLargeError):
                outcome.error_type, detail = "upstream_too_large", str(exc)
            else:
                outcome.error_type, detail = "upstream_broken", "upstream_broken"
            if not outcome.first_byte_sent:
                outcome.status = 502
                exchange.send_error(
                    502, f"upstream {upstream.name} failed: {detail}", code=outcome.error_type
                )
        finally:
            response.close()
