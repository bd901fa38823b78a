"""One generation: what to answer (a plan), when each token is due, and the JSON it is sent as.

Timing sleeps until absolute deadlines (admission + TTFT + prefill, then + k × ITL) rather than
for fixed intervals, so scheduling drift does not accumulate over a long stream.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from llmobs_testing.simulator._engine import Engine
from llmobs_testing.simulator._metrics import SimMetrics
from llmobs_testing.simulator.settings import ModelProfile

SYSTEM_FINGERPRINT = "llmobs-sim"


class InjectedStreamFailure(Exception):
    """Raised inside a stream to cut the connection abruptly (x-sim-fail-after, failure rate)."""


@dataclass
class Plan:
    """Everything decided before the first token: the pieces, the finish reason, the shapes."""

    kind: str  # "chat" or "completion"
    model: str  # the name the client asked for (echoed back)
    profile: ModelProfile
    prompt_tokens: int
    pieces: list[str]
    finish_reason: str
    include_usage: bool = False
    tool_name: str | None = None
    fail_after: int | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def response_id(self) -> str:
        """``chatcmpl-…`` or ``cmpl-…``, like OpenAI."""
        return ("chatcmpl-" if self.kind == "chat" else "cmpl-") + self.id

    def usage(self, completion_tokens: int | None = None) -> dict[str, int]:
        """The usage object (completion tokens default to every planned piece)."""
        done = len(self.pieces) if completion_tokens is None else completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": done,
            "total_tokens": self.prompt_tokens + done,
        }

    # ---------------------------------------------------------------- non-streaming bodies
    def response_body(self) -> dict[str, Any]:
        """The whole ``chat.completion`` or ``text_completion`` object."""
        text = "".join(self.pieces)
        choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": self.finish_reason}
        if self.kind == "chat":
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if self.tool_name is not None:
                message["content"] = None
                message["tool_calls"] = [self._tool_call(text)]
            choice["message"] = message
            obj = "chat.completion"
        else:
            choice["text"] = text
            obj = "text_completion"
        return {**self._envelope(obj), "choices": [choice], "usage": self.usage()}

    # ---------------------------------------------------------------- streaming chunks
    def _envelope(self, obj: str) -> dict[str, Any]:
        return {
            "id": self.response_id,
            "object": obj,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
        }

    def _tool_call(self, arguments: str) -> dict[str, Any]:
        return {
            "id": "call_" + self.id[:24],
            "type": "function",
            "function": {"name": self.tool_name, "arguments": arguments},
        }

    def _chunk(self, choice: dict[str, Any]) -> dict[str, Any]:
        obj = "chat.completion.chunk" if self.kind == "chat" else "text_completion"
        chunk = {**self._envelope(obj), "choices": [{"index": 0, "logprobs": None, **choice}]}
        if self.include_usage:
            chunk["usage"] = None  # OpenAI sends usage: null on every chunk but the last
        return chunk

    def opening_chunk(self) -> dict[str, Any] | None:
        """The role chunk that precedes the first token (chat only)."""
        if self.kind != "chat":
            return None
        delta: dict[str, Any] = {"role": "assistant", "content": ""}
        if self.tool_name is not None:
            delta = {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"index": 0, **self._tool_call("")}],
            }
        return self._chunk({"delta": delta, "finish_reason": None})

    def token_chunk(self, piece: str) -> dict[str, Any]:
        """The chunk carrying one token."""
        if self.kind == "completion":
            return self._chunk({"text": piece, "finish_reason": None})
        if self.tool_name is not None:
            delta: dict[str, Any] = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
        else:
            delta = {"content": piece}
        return self._chunk({"delta": delta, "finish_reason": None})

    def final_chunk(self) -> dict[str, Any]:
        """The chunk carrying the finish reason."""
        if self.kind == "completion":
            return self._chunk({"text": "", "finish_reason": self.finish_reason})
        return self._chunk({"delta": {}, "finish_reason": self.finish_reason})

    def usage_chunk(self) -> dict[str, Any]:
        """``stream_options.include_usage``: empty choices and the usage, as OpenAI/vLLM send."""
        obj = "chat.completion.chunk" if self.kind == "chat" else "text_completion"
        return {**self._envelope(obj), "choices": [], "usage": self.usage()}


async def _sleep_until(deadline: float) -> None:
    loop = asyncio.get_running_loop()
    delay = deadline - loop.time()
    if delay > 0:
        await asyncio.sleep(delay)


async def timed_tokens(
    plan: Plan, engine: Engine, metrics: SimMetrics, arrival: float
) -> AsyncIterator[str]:
    """Yield the plan's pieces at their due times, holding an engine slot; record the metrics.

    ``arrival`` is the loop time the request arrived, so queue time counts in TTFT and e2e
    latency as it does in vLLM. A stream cut short (client gone, injected failure) is recorded
    with finished_reason ``abort``.
    """
    loop = asyncio.get_running_loop()
    profile, label = plan.profile, engine.model_name
    finished = "abort"
    sent = 0
    first_at: float | None = None
    async with engine.admit(plan.prompt_tokens) as seq:
        admitted = loop.time()
        metrics.queue.labels(label).observe(admitted - arrival)
        due = admitted + profile.ttft_s + profile.prefill_s_per_token * plan.prompt_tokens
        try:
            last = 0.0
            for index, piece in enumerate(plan.pieces):
                if plan.fail_after is not None and index >= plan.fail_after:
                    raise InjectedStreamFailure(f"stream cut after {index} tokens")
                await _sleep_until(due + index * profile.itl_s)
                now = loop.time()
                if first_at is None:
                    first_at = now
                    metrics.ttft.labels(label).observe(now - arrival)
                    metrics.prefill.labels(label).observe(now - admitted)
                else:
                    metrics.itl.labels(label).observe(now - last)
                last = now
                seq.generated += 1
                sent += 1
                yield piece
            finished = "length" if plan.finish_reason == "length" else "stop"
        finally:
            end = loop.time()
            metrics.prompt_tokens.labels(label).inc(plan.prompt_tokens)
            metrics.generation_tokens.labels(label).inc(sent)
            metrics.success.labels(label, finished).inc()
            metrics.e2e.labels(label).observe(end - arrival)
            if first_at is not None:
                metrics.decode.labels(label).observe(end - first_at)
                if sent > 1:
                    metrics.tpot.labels(label).observe((last - first_at) / (sent - 1))
