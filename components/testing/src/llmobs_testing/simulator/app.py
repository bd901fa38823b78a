"""The simulator's ASGI app: OpenAI-compatible routes, test-control headers, vLLM ``/metrics``.

Per-request controls (headers):

- ``x-sim-fail: <status>`` answers that status before the first byte;
- ``x-sim-fail-after: <n>`` cuts a stream abruptly after ``n`` tokens (a non-streaming request
  gets a 500 at that moment instead);
- ``x-sim-output-tokens: <n>`` sets the text output length (EOS ignored; ``max_tokens`` still
  cuts it); vLLM's body field ``ignore_eos: true`` makes the output run to ``max_tokens``.

``traceparent`` is only recorded (``GET /sim/requests`` lists recent requests), never acted on.
Each listed request also carries its arrival time (``time_unix_nano``) and, once planned, the
``usage`` the simulator reports for it, so tests can hold a client's telemetry against what
was really served.
"""

import asyncio
import collections
import json
import logging
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from llmobs_testing.simulator import _text
from llmobs_testing.simulator._engine import Engine
from llmobs_testing.simulator._generation import InjectedStreamFailure, Plan, timed_tokens
from llmobs_testing.simulator._metrics import SimMetrics
from llmobs_testing.simulator._protocol import (
    ChatRequest,
    CompletionRequest,
    EmbeddingRequest,
    error_response,
    parse,
)
from llmobs_testing.simulator.settings import ModelProfile, SimulatorSettings

_REDACTED_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "cookie"})


class _DropInjectedFailures(logging.Filter):
    """Keep uvicorn's log free of the tracebacks of deliberately cut streams."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[0]
        return not isinstance(exc, InjectedStreamFailure)


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropInjectedFailures) for f in logger.filters):
        logger.addFilter(_DropInjectedFailures())


class _Controls:
    """The ``x-sim-*`` headers of one request, validated."""

    def __init__(self, request: Request) -> None:
        self.fail = self._int(request, "x-sim-fail", 400, 599)
        self.fail_after = self._int(request, "x-sim-fail-after", 0, 1_000_000)
        self.output_tokens = self._int(request, "x-sim-output-tokens", 1, 1_000_000)

    @staticmethod
    def _int(request: Request, name: str, low: int, high: int) -> int | None:
        raw = request.headers.get(name)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"header {name}: {raw!r} is not an integer") from None
        if not low <= value <= high:
            raise ValueError(f"header {name}: {value} is outside {low}..{high}")
        return value


class Simulator:
    """State of one simulator app: settings, engines, metrics, seeded randomness."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.engines = {
            m.name: Engine(m.name, settings.max_concurrent, settings.kv_cache_tokens)
            for m in settings.models
        }
        self.metrics = SimMetrics(self.engines)
        self.rng = random.Random(settings.seed)
        self.recent: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=settings.recent_requests
        )

    # ---------------------------------------------------------------- shared checks
    def _record(self, request: Request, model: str, stream: bool) -> dict[str, Any]:
        headers = {
            k: ("<redacted>" if k in _REDACTED_HEADERS else v) for k, v in request.headers.items()
        }
        record: dict[str, Any] = {
            "path": request.url.path,
            "model": model,
            "stream": stream,
            "time_unix_nano": time.time_ns(),
            "traceparent": request.headers.get("traceparent"),
            "headers": headers,
            "usage": None,  # set once the answer is planned; None for a refused request
        }
        self.recent.append(record)
        return record

    def _precheck(
        self, request: Request, model: str, stream: bool
    ) -> tuple[ModelProfile, _Controls, dict[str, Any]] | Response:
        """The profile, controls and log record, or the error to answer before the first byte."""
        record = self._record(request, model, stream)
        try:
            controls = _Controls(request)
        except ValueError as exc:
            return error_response(400, str(exc), code="invalid_sim_header")
        profile = self.settings.profile(model)
        if profile is None:
            return error_response(
                404, f"The model `{model}` does not exist.", code="model_not_found", param="model"
            )
        if controls.fail is not None:
            return error_response(controls.fail, "simulated failure (x-sim-fail)")
        if self.settings.error_rate and self.rng.random() < self.settings.error_rate:
            return error_response(self.settings.error_status, "simulated failure (error_rate)")
        return profile, controls, record

    # ---------------------------------------------------------------- routes
    async def chat(self, request: Request) -> Response:
        """``POST /v1/chat/completions``."""
        body = parse(ChatRequest, await request.body())
        if isinstance(body, Response):
            return body
        return await self._generate(request, body)

    async def completions(self, request: Request) -> Response:
        """``POST /v1/completions``."""
        body = parse(CompletionRequest, await request.body())
        if isinstance(body, Response):
            return body
        return await self._generate(request, body)

    async def _generate(self, request: Request, body: ChatRequest | CompletionRequest) -> Response:
        arrival = asyncio.get_running_loop().time()
        checked = self._precheck(request, body.model, body.stream)
        if isinstance(checked, Response):
            return checked
        profile, controls, record = checked
        try:
            prompt = body.prompt_text()
        except ValueError as exc:
            return error_response(400, str(exc), param="prompt")
        plan = self._plan(body, profile, controls, prompt)
        record["usage"] = plan.usage()
        engine = self.engines[profile.name]
        tokens = timed_tokens(plan, engine, self.metrics, arrival)
        if body.stream:
            return StreamingResponse(
                _sse(plan, tokens),
                media_type="text/event-stream",
                headers={"cache-control": "no-cache"},
            )
        try:
            async for _ in tokens:
                pass
        except InjectedStreamFailure as exc:
            # Nothing has been sent yet, so the nearest thing to a cut is a server error.
            return error_response(500, f"simulated failure: {exc} (x-sim-fail-after)")
        return JSONResponse(plan.response_body())

    def _plan(
        self,
        body: ChatRequest | CompletionRequest,
        profile: ModelProfile,
        controls: _Controls,
        prompt: str,
    ) -> Plan:
        seed = self.settings.seed if body.seed is None else body.seed
        prompt_tokens = _text.count_tokens(prompt)
        tool = body.chosen_tool() if isinstance(body, ChatRequest) else None
        if isinstance(body, ChatRequest) and body.tools:
            prompt_tokens += _text.count_tokens(json.dumps(body.tools))
        if tool is not None:
            name = str(tool.get("name", "tool"))
            args = _text.tool_arguments(seed, name, tool.get("parameters"), prompt)
            pieces = _text.split_pieces(args)
        else:
            name = None
            limit = body.output_limit()
            until_limit = limit if body.ignore_eos else None
            natural = controls.output_tokens or until_limit or profile.default_output_tokens
            pieces = _text.generate_tokens(seed, profile.name, prompt, natural)
        limit = body.output_limit()
        finish = "tool_calls" if tool is not None else "stop"
        if limit is not None and limit <= len(pieces):
            # Reaching max_tokens is "length" even when EOS would have come next (as in vLLM).
            pieces, finish = pieces[:limit], "length"
        fail_after = controls.fail_after
        if (
            fail_after is None
            and body.stream
            and self.settings.mid_stream_failure_rate
            and self.rng.random() < self.settings.mid_stream_failure_rate
        ):
            fail_after = self.rng.randrange(len(pieces))
        return Plan(
            kind="chat" if isinstance(body, ChatRequest) else "completion",
            model=body.model,
            profile=profile,
            prompt_tokens=prompt_tokens,
            pieces=pieces,
            finish_reason=finish,
            include_usage=body.include_usage,
            tool_name=name,
            fail_after=fail_after,
        )

    async def embeddings(self, request: Request) -> Response:
        """``POST /v1/embeddings``: deterministic unit vectors, one per input."""
        arrival = asyncio.get_running_loop().time()
        body = parse(EmbeddingRequest, await request.body())
        if isinstance(body, Response):
            return body
        checked = self._precheck(request, body.model, False)
        if isinstance(checked, Response):
            return checked
        profile, _, record = checked
        try:
            texts = body.texts()
        except ValueError as exc:
            return error_response(400, str(exc), param="input")
        dim = body.dimensions or profile.embedding_dim
        prompt_tokens = sum(_text.count_tokens(t) for t in texts)
        engine = self.engines[profile.name]
        label = engine.model_name
        loop = asyncio.get_running_loop()
        async with engine.admit(prompt_tokens):
            admitted = loop.time()
            self.metrics.queue.labels(label).observe(admitted - arrival)
            delay = profile.ttft_s + profile.prefill_s_per_token * prompt_tokens
            await asyncio.sleep(delay)
        self.metrics.prompt_tokens.labels(label).inc(prompt_tokens)
        self.metrics.success.labels(label, "stop").inc()
        self.metrics.e2e.labels(label).observe(loop.time() - arrival)
        data = []
        for index, text in enumerate(texts):
            vector = _text.embedding(self.settings.seed, profile.name, text, dim)
            encoded: Any = (
                _text.encode_base64(vector) if body.encoding_format == "base64" else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        usage = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
        record["usage"] = {**usage, "completion_tokens": 0}
        return JSONResponse({"object": "list", "data": data, "model": body.model, "usage": usage})

    async def models(self, request: Request) -> Response:
        """``GET /v1/models``."""
        data = [
            {"id": m.name, "object": "model", "created": 0, "owned_by": "llmobs-simulator"}
            for m in self.settings.models
        ]
        return JSONResponse({"object": "list", "data": data})

    async def metrics_endpoint(self, request: Request) -> Response:
        """``GET /metrics``: Prometheus text with vLLM's metric names."""
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def requests_endpoint(self, request: Request) -> Response:
        """``GET /sim/requests``: recent requests (model, arrival, usage, traceparent, headers)."""
        return JSONResponse({"requests": list(self.recent)})

    async def health(self, request: Request) -> Response:
        """``GET /health``: 200 while serving (vLLM's probe path)."""
        return Response(status_code=200)


def _sse_event(data: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


async def _sse(plan: Plan, tokens: AsyncIterator[str]) -> AsyncIterator[bytes]:
    """The SSE body: role chunk, one chunk per token, finish chunk, usage chunk, ``[DONE]``."""
    opening = plan.opening_chunk()
    first = True
    # An InjectedStreamFailure from ``tokens`` propagates: uvicorn then closes the connection
    # without the terminating chunk, which clients see as a broken stream.
    async for piece in tokens:
        if first and opening is not None:
            # Sent with the first token so a client's TTFT is the configured one.
            yield _sse_event(opening)
        first = False
        yield _sse_event(plan.token_chunk(piece))
    yield _sse_event(plan.final_chunk())
    if plan.include_usage:
        yield _sse_event(plan.usage_chunk())
    yield b"data: [DONE]\n\n"


def create_app(settings: SimulatorSettings | None = None) -> Starlette:
    """The simulator app; ``settings`` default to ``SimulatorSettings()`` (environment)."""
    sim = Simulator(settings if settings is not None else SimulatorSettings())
    _install_log_filter()
    routes = [
        Route("/v1/chat/completions", sim.chat, methods=["POST"]),
        Route("/v1/completions", sim.completions, methods=["POST"]),
        Route("/v1/embeddings", sim.embeddings, methods=["POST"]),
        Route("/v1/models", sim.models, methods=["GET"]),
        Route("/metrics", sim.metrics_endpoint, methods=["GET"]),
        Route("/sim/requests", sim.requests_endpoint, methods=["GET"]),
        Route("/health", sim.health, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.simulator = sim
    return app
