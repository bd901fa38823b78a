"""Side observation of an upstream response: timings, usage, finish reasons, content.

Streamed bytes are passed on unchanged. The observer only cuts the byte stream at SSE event
boundaries (so an event is never sent in halves, and the usage event the gateway asked for can be
dropped whole) and scans each event with a few byte searches; JSON is parsed only for the rare
usage event, or for every event when content capture is on.
"""

from __future__ import annotations

import json
import re
import time
from array import array
from typing import Any, Protocol


class TextSink(Protocol):
    """Where captured output text goes (a content stream), piece by piece."""

    def write(self, text: str) -> None: ...


# An event carries output when one of these fields holds a non-empty string, or a tool call starts.
_CONTENT = re.compile(
    rb'"(?:content|text|delta|reasoning_content|reasoning|arguments)":\s?"[^"]|"tool_calls":\s?\[\{'
)
_FINISH = re.compile(rb'"finish_reason":\s?"([A-Za-z_]+)"')
_ID = re.compile(rb'"id":\s?"([^"]{1,200})"')
_MODEL = re.compile(rb'"model":\s?"([^"]{1,200})"')
_USAGE = re.compile(rb'"usage":\s?\{')
_EVENT_END = re.compile(rb"\r?\n\r?\n")
_EVENT_END_KEPT = re.compile(rb"(\r?\n\r?\n)")
_DECODER = json.JSONDecoder()
_MAX_PENDING = 1 << 20  # an upstream that never ends an event is passed on anyway past 1 MiB


def _usage_numbers(usage: dict[str, Any]) -> tuple[int | None, int | None, int | None, int | None]:
    """(input, output, cached input, reasoning) from either the Chat or the Responses shape."""
    inp = usage.get("prompt_tokens", usage.get("input_tokens"))
    out = usage.get("completion_tokens", usage.get("output_tokens"))
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    out_details = usage.get("completion_tokens_details") or usage.get("output_tokens_details") or {}
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    reasoning = out_details.get("reasoning_tokens") if isinstance(out_details, dict) else None
    return (
        inp if isinstance(inp, int) else None,
        out if isinstance(out, int) else None,
        cached if isinstance(cached, int) else None,
        reasoning if isinstance(reasoning, int) else None,
    )


class ResponseObserver:
    """What one upstream response said and when; fed streamed bytes or a whole JSON body."""

    __slots__ = (
        "_cr",
        "_pending",
        "_strip_usage",
        "cached_tokens",
        "chunks",
        "done",
        "finish_reasons",
        "first_at",
        "gaps",
        "input_tokens",
        "last_at",
        "output_tokens",
        "reasoning_tokens",
        "response_id",
        "response_model",
        "sink",
    )

    def __init__(self, *, strip_usage: bool = False, sink: TextSink | None = None) -> None:
        self._strip_usage = strip_usage
        self.sink = sink
        self._pending: bytes | bytearray = b""  # a partial event (a bytearray past one read)
        self._cr = False  # a CR was seen: events may end with CRLF blank lines
        self.first_at: float | None = None
        self.last_at: float | None = None
        self.chunks = 0
        self.gaps = array("d")
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cached_tokens: int | None = None
        self.reasoning_tokens: int | None = None
        self.finish_reasons: list[str] = []
        self.response_id: str | None = None
        self.response_model: str | None = None
        self.done = False

    # ------------------------------------------------------------------ streaming
    def feed(self, data: bytes) -> bytes:
        """Observe streamed bytes; returns what to send to the client now (complete events).

        Linear in the bytes received, whatever the upstream does: only the new bytes, plus the
        three before them that could start a boundary, are searched for the end of an event,
        and a partial event held over more than one read grows in place in a ``bytearray``
        (never re-joined). An event cut in two reads, the common case, costs one join of bytes.
        """
        pending = self._pending
        if not pending:
            start = 0
            buf: bytes | bytearray = data
        else:
            start = len(pending) - 3 if len(pending) > 3 else 0
            if type(pending) is bytes:
                buf = pending + data
            else:
                pending += data
                buf = pending
        if not self._cr and b"\r" in data:
            self._cr = True  # sticky: once seen, CRLF framing is looked for from here on
        if self._cr:
            last = None
            for last in _EVENT_END.finditer(buf, start):  # noqa: B007 - the last one is wanted
                pass
            end = last.end() if last is not None else -1
        else:
            end = buf.rfind(b"\n\n", start)
            end = end + 2 if end >= 0 else -1
        if end < 0:
            if len(buf) > _MAX_PENDING:
                self._pending = b""
                return bytes(buf)
            if buf is data:
                self._pending = data
            elif type(buf) is bytes:
                self._pending = bytearray(buf)  # a second read without an end: grow in place
            return b""
        if end == len(buf):
            complete = buf if type(buf) is bytes else bytes(buf)
            self._pending = b""
        else:
            complete = bytes(buf[:end])
            # The tail after the last boundary lies inside the new bytes: copying it is linear.
            self._pending = bytes(buf[end:])
        now = time.perf_counter()
        parts = None
        if self._cr:
            parts = _EVENT_END_KEPT.split(complete)  # event, boundary, event, boundary, ..., b""
            events = parts[0::2]
        else:
            events = complete.split(b"\n\n")
        drop: list[bytes] | None = None
        for event in events:
            if event and self._observe_event(event, now) and self._strip_usage:
                drop = drop or []
                drop.append(event)
        if drop:
            return self._without(events, parts, drop)
        return complete

    def flush(self) -> bytes:
        """What is left when the upstream ended without a final blank line."""
        rest, self._pending = bytes(self._pending), b""
        if rest.strip():
            self._observe_event(rest, time.perf_counter())
        return rest

    def _observe_event(self, event: bytes, now: float) -> bool:
        """Record one SSE event; True when it is a usage-only event (droppable when injected)."""
        pos = event.find(b"data:")
        if pos < 0:
            return False
        payload = event[pos + 5 :].strip()
        if payload == b"[DONE]":
            self.done = True
            return False
        if self.response_id is None:
            self._read_id_and_model(payload)
        usage_only = False
        # Plain byte searches first: far cheaper than the regexes on every event.
        if b'"usage"' in payload and _USAGE.search(payload):
            usage_only = self._read_usage_event(payload)
        at = payload.find(b'"content":"')
        named = event.startswith(b"event:")  # Responses API: only *.delta events carry output
        if named:
            is_output = event[: event.find(b"\n")].rstrip().endswith(b".delta")
        else:
            is_output = (at >= 0 and payload[at + 11 : at + 12] != b'"') or (
                at < 0 and _CONTENT.search(payload) is not None
            )
        if is_output:
            if self.first_at is None:
                self.first_at = now
            elif self.last_at is not None:
                self.gaps.append(now - self.last_at)
            self.last_at = now
            self.chunks += 1
            if self.sink is not None:
                self._capture_delta(payload)
        if b'"finish_reason":"' in payload or b'"finish_reason": "' in payload:
            for reason in _FINISH.findall(payload):
                self.finish_reasons.append(reason.decode("ascii"))
        return usage_only

    def _read_usage_event(self, payload: bytes) -> bool:
        try:
            doc = json.loads(payload)
        except ValueError:
            return False
        if not isinstance(doc, dict):
            return False
        usage = doc.get("usage")
        if not isinstance(usage, dict) and isinstance(doc.get("response"), dict):
            usage = doc["response"].get("usage")  # Responses API: response.completed
        if isinstance(usage, dict):
            self._set_usage(usage)
        return doc.get("choices") == [] and isinstance(doc.get("usage"), dict)

    def _capture_delta(self, payload: bytes) -> None:
        sink = self.sink
        assert sink is not None
        try:
            doc = json.loads(payload)
        except ValueError:
            return
        if not isinstance(doc, dict):
            return
        if isinstance(doc.get("delta"), str):  # Responses API text delta
            sink.write(doc["delta"])
            return
        for choice in doc.get("choices") or ():
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content") if isinstance(delta, dict) else None
            if text is None:
                text = choice.get("text")
            if isinstance(text, str):
                sink.write(text)

    @staticmethod
    def _without(events: list[bytes], parts: list[bytes] | None, drop: list[bytes]) -> bytes:
        """The events less the dropped ones (and their boundaries), joined in one pass.

        ``parts`` are the events with their boundaries between them (CRLF framing), else the
        boundary is always one blank line. Dropped events are known by identity: each holds
        ``"usage"``, so none is one of the interpreter's shared one-byte objects.
        """
        dropped = {id(event) for event in drop}
        if parts is not None:
            kept = [
                parts[j] + (parts[j + 1] if j + 1 < len(parts) else b"")
                for j in range(0, len(parts), 2)
                if id(parts[j]) not in dropped
            ]
        else:
            last = len(events) - 1
            kept = [
                event + b"\n\n" if i < last else event
                for i, event in enumerate(events)
                if id(event) not in dropped
            ]
        return b"".join(kept)

    # ------------------------------------------------------------------ whole bodies
    def observe_body(self, body: bytes, now: float) -> None:
        """Observe a non-streamed JSON response (parsed once, off nothing the client waits on)."""
        self.first_at = self.last_at = now
        try:
            doc = json.loads(body)
        except ValueError:
            return
        if not isinstance(doc, dict):
            return
        if isinstance(doc.get("id"), str):
            self.response_id = doc["id"]
        if isinstance(doc.get("model"), str):
            self.response_model = doc["model"]
        if isinstance(doc.get("usage"), dict):
            self._set_usage(doc["usage"])
        sink = self.sink
        for choice in doc.get("choices") or ():
            if isinstance(choice, dict):
                if isinstance(choice.get("finish_reason"), str):
                    self.finish_reasons.append(choice["finish_reason"])
                if sink is not None:
                    msg = choice.get("message")
                    text = msg.get("content") if isinstance(msg, dict) else choice.get("text")
                    if isinstance(text, str):
                        sink.write(text)
        if sink is not None and isinstance(doc.get("output_text"), str):
            sink.write(doc["output_text"])

    def _read_id_and_model(self, data: bytes) -> None:
        found = _ID.search(data)
        if found:
            self.response_id = found.group(1).decode("utf-8", "replace")
        found = _MODEL.search(data)
        if found:
            self.response_model = found.group(1).decode("utf-8", "replace")

    def observe_large_body(self, head: bytes, tail: bytes, now: float) -> None:
        """The numbers of a body too big to parse (a large embeddings reply), from its ends.

        ``json.loads`` of 100 MB holds the event loop (and, in C, the GIL: a thread would not
        help) for seconds, so such a body is passed through as it arrives and only its first and
        last bytes are kept: id and model come first in the OpenAI shapes, finish reasons and
        usage last. Output text of a body this big is not captured.
        """
        self.first_at = self.last_at = now
        self._read_id_and_model(head)
        at = tail.rfind(b'"usage"')
        start = tail.find(b"{", at, at + 64) if at >= 0 else -1
        if start >= 0:
            try:
                usage, _ = _DECODER.raw_decode(tail[start:].decode("utf-8", "replace"))
            except ValueError:
                usage = None
            if isinstance(usage, dict):
                self._set_usage(usage)
        for i, reason in enumerate(_FINISH.finditer(tail)):
            if i >= 16:  # bounded: the body is the upstream's to fill
                break
            self.finish_reasons.append(reason.group(1).decode("ascii"))

    def _set_usage(self, usage: dict[str, Any]) -> None:
        inp, out, cached, reasoning = _usage_numbers(usage)
        self.input_tokens = inp if inp is not None else self.input_tokens
        self.output_tokens = out if out is not None else self.output_tokens
        self.cached_tokens = cached if cached is not None else self.cached_tokens
        self.reasoning_tokens = reasoning if reasoning is not None else self.reasoning_tokens

    # ------------------------------------------------------------------ derived numbers
    def tpot(self) -> float | None:
        """Mean seconds per output token after the first (chunks when usage is unknown)."""
        if self.first_at is None or self.last_at is None:
            return None
        n = self.output_tokens if self.output_tokens is not None else self.chunks
        if n <= 1:
            return None
        return (self.last_at - self.first_at) / (n - 1)

    def gap_stats(self) -> tuple[float, float] | None:
        """(max, p95) of the gaps between output chunks, seconds."""
        if not self.gaps:
            return None
        ordered = sorted(self.gaps)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1) + 0.5))]
        return ordered[-1], p95
