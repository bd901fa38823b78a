"""One GenAI call in flight: its span, what the response said, and the stream's timing.

Everything per chunk is O(1) and allocation-light (:meth:`Call.on_content`); the span's attributes
are built once, in :meth:`Call.finish`, which runs exactly once whatever ends the call (the last
chunk, an error, ``close()``, a ``break``, a cancelled task, garbage collection).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, List, Optional

from opentelemetry.trace import Span, Status, StatusCode

from llmobs_probe import _guard
from llmobs_probe._runtime import Runtime
from llmobs_semconv import attributes as A
from llmobs_semconv import chunks

_GAP_SAMPLE = 2048  # gaps kept for the p95; past it every other is dropped and the stride doubles
_perf = time.perf_counter


class Call:
    """State of one call; instrumentations fill the fields, :meth:`finish` writes the span."""

    __slots__ = (
        "_gaps",
        "_k",
        "_stride",
        "abandoned",
        "attempts",
        "cached_tokens",
        "chars",
        "done",
        "finish_reasons",
        "first",
        "input_tokens",
        "last",
        "max_gap",
        "model",
        "n_content",
        "operation",
        "out",
        "output_tokens",
        "prompt",
        "provider",
        "reasoning_tokens",
        "response_id",
        "response_model",
        "rt",
        "server",
        "span",
        "stream",
        "t0",
    )

    def __init__(
        self, rt: Runtime, span: Span, operation: str, provider: str, model: Optional[str]
    ) -> None:
        self.rt = rt
        self.span = span
        self.operation = operation
        self.provider = provider
        self.model = model
        self.t0 = _perf()
        self.stream = False
        self.done = False
        self.abandoned = False
        self.attempts = 0
        self.server: Optional[str] = None
        self.prompt: Any = None  # the request's messages/input, kept by reference for estimates
        self.response_id: Optional[str] = None
        self.response_model: Optional[str] = None
        self.finish_reasons: List[str] = []
        self.input_tokens: Optional[int] = None
        self.output_tokens: Optional[int] = None
        self.cached_tokens: Optional[int] = None
        self.reasoning_tokens: Optional[int] = None
        self.first = 0.0
        self.last = 0.0
        self.n_content = 0
        self.chars = 0
        self.max_gap = 0.0
        self._gaps: List[float] = []
        self._stride = 1
        self._k = 0
        self.out: Any = None  # a ContentStream for the output when capture is on

    def on_content(self, text: Optional[str]) -> None:
        """A chunk carrying output (text, or a tool-call delta when ``text`` is empty)."""
        now = _perf()
        if self.n_content:
            gap = now - self.last
            self.max_gap = max(self.max_gap, gap)
            self._k += 1
            if self._k >= self._stride:
                self._k = 0
                gaps = self._gaps
                gaps.append(gap)
                if len(gaps) >= _GAP_SAMPLE:
                    del gaps[::2]
                    self._stride *= 2
        else:
            self.first = now
        self.last = now
        self.n_content += 1
        if text:
            self.chars += len(text)
            out = self.out
            if out is not None:
                out.add(text)

    def finish(self, error: Optional[BaseException] = None, abandoned: bool = False) -> None:
        """Write the span and queue the metrics; safe to call more than once (first one wins)."""
        if self.done:
            return
        self.done = True
        try:
            self._finish(error, abandoned)
        except Exception as exc:
            _guard.record_error("call finish", exc)
            with contextlib.suppress(Exception):  # already counted; the app must not see it
                self.span.end()

    def _finish(self, error: Optional[BaseException], abandoned: bool) -> None:
        end = _perf()
        duration = end - self.t0
        span = self.span
        self.abandoned = self.abandoned or abandoned
        estimated = False
        tin, tout = self.input_tokens, self.output_tokens
        if tout is None and error is None and (self.n_content or self.chars):
            tout = self.n_content if self.stream else max(1, (self.chars + 3) // 4)
            estimated = True
        if tin is None and error is None and self.prompt is not None:
            tin = _estimate_tokens(self.prompt)
            estimated = True
        ttft = (self.first - self.t0) if self.stream and self.n_content else None
        per_chunk = None
        if self.stream and self.n_content > 1:
            per_chunk = (self.last - self.first) / (self.n_content - 1)
        error_type = None if error is None else type(error).__qualname__
        if span.is_recording():
            attrs: dict = {}  # type: ignore[type-arg]
            if self.response_id:
                attrs[A.GEN_AI_RESPONSE_ID] = self.response_id
            if self.response_model:
                attrs[A.GEN_AI_RESPONSE_MODEL] = self.response_model
            if self.finish_reasons:
                attrs[A.GEN_AI_RESPONSE_FINISH_REASONS] = tuple(self.finish_reasons)
            if tin is not None:
                attrs[A.GEN_AI_USAGE_INPUT_TOKENS] = tin
            if tout is not None:
                attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] = tout
            if self.cached_tokens is not None:
                attrs[A.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = self.cached_tokens
            if self.reasoning_tokens is not None:
                attrs[A.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = self.reasoning_tokens
            if estimated:
                attrs[A.LLMOBS_USAGE_ESTIMATED] = True
            if self.attempts > 1:
                attrs[A.LLMOBS_RETRIES] = self.attempts - 1
            if self.stream:
                attrs[A.LLMOBS_CHUNK_COUNT] = self.n_content
                if ttft is not None:
                    attrs[A.LLMOBS_TTFT] = ttft
                    attrs[A.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = ttft
                if tout is not None and tout > 1 and self.n_content > 1:
                    attrs[A.LLMOBS_TPOT] = (self.last - self.first) / (tout - 1)
                if self.n_content > 1:
                    attrs[A.LLMOBS_TBT_MAX] = self.max_gap
                    gaps = sorted(self._gaps)
                    if gaps:
                        attrs[A.LLMOBS_TBT_P95] = gaps[int(0.95 * (len(gaps) - 1))]
                if self.abandoned:
                    attrs[A.LLMOBS_ABANDONED] = True
            if tin is not None or tout is not None:
                cost = self.rt.cost(
                    self.response_model or self.model, tin or 0, tout or 0, self.cached_tokens or 0
                )
                if cost is not None:
                    attrs[A.LLMOBS_COST_INPUT_USD] = cost.input_usd
                    attrs[A.LLMOBS_COST_OUTPUT_USD] = cost.output_usd
                    attrs[A.LLMOBS_COST_USD] = cost.total_usd
            if self.out is not None:
                attrs[A.LLMOBS_CONTENT_CAPTURED] = True
            if error_type is not None:
                attrs[A.ERROR_TYPE] = error_type
                status = getattr(error, "status_code", None)
                if isinstance(status, int):
                    attrs[A.HTTP_RESPONSE_STATUS_CODE] = status
                span.set_status(Status(StatusCode.ERROR, str(error)[:256]))
            span.set_attributes(attrs)
        if self.out is not None:
            self.out.close()
        span.end()
        self.rt.measure(
            (
                self.operation,
                self.provider,
                self.model,
                self.response_model,
                self.server,
                error_type,
                duration,
                tin,
                tout,
                ttft,
                per_chunk,
            )
        )

    def capture_output(self, text: str, fmt: str = chunks.FORMAT_TEXT) -> None:
        """Non-streaming output: send it whole (when capture is on)."""
        sink = self.rt.content
        if sink is not None and text and self.span.is_recording():
            self.out = sink.open(self.span, chunks.ROLE_OUTPUT, fmt)
            self.out.add(text)


def _estimate_tokens(prompt: Any) -> int:
    """About four characters per token, over the text found in messages or input."""
    return max(1, (_text_length(prompt, 0) + 3) // 4)


def _text_length(value: Any, depth: int) -> int:
    if depth > 6:
        return 0
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_text_length(v, depth + 1) for k, v in value.items() if k != "role")
    if isinstance(value, (list, tuple)):
        return sum(_text_length(v, depth + 1) for v in value)
    return 0
