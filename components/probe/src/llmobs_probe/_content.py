"""Content capture: prompts and completions leave as ordered chunk records, flushed as they grow.

A :class:`ContentStream` holds at most ``LLMOBS_CONTENT_BUFFER_BYTES`` of one span's content for
one role; when the buffer reaches the limit it is redacted and sent as OTLP log records (the
``llmobs_semconv.chunks`` contract) while the stream is still running, so a multi-megabyte
completion never sits whole in the app's memory. A short tail is carried into the next piece so a
redaction pattern (an e-mail address, a card number) is never cut in two by a flush.
"""

from __future__ import annotations

import time
from typing import Any, List, Optional

from opentelemetry import trace

from llmobs_probe import _guard
from llmobs_probe._redaction import Redactor
from llmobs_semconv import chunks

_CARRY = 256  # chars kept back at a flush so a redaction match is never split across pieces


class ContentSink:
    """Emits chunk records through the SDK LoggerProvider (one logger for the probe)."""

    def __init__(self, logger_provider: Any, redactor: Redactor, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self.redactor = redactor
        self._logger = logger_provider.get_logger("llmobs_probe.content")
        self._record_cls, self._modern = _log_record_class()

    def open(self, span: Any, role: str, fmt: str = chunks.FORMAT_TEXT) -> ContentStream:
        """A buffer for ``role`` content of ``span``."""
        return ContentStream(self, span, role, fmt)

    def send(self, text: str, span: Any, role: str, fmt: str) -> None:
        """Send a whole text now (a prompt already in memory): redacted, split, all pieces."""
        stream = ContentStream(self, span, role, fmt)
        stream.add(text)
        stream.close()

    def emit(self, record: chunks.ChunkRecord, context: Any, span: Any) -> None:
        attrs = record.attributes()
        now = time.time_ns()
        if self._modern:
            log = self._record_cls(
                timestamp=now,
                observed_timestamp=now,
                context=context,
                body=record.text,
                attributes=attrs,
                event_name=chunks.EVENT_NAME,
            )
        else:  # SDK < 1.35: trace and span ids go in directly
            sc = span.get_span_context()
            log = self._record_cls(
                timestamp=now,
                observed_timestamp=now,
                trace_id=sc.trace_id,
                span_id=sc.span_id,
                trace_flags=sc.trace_flags,
                body=record.text,
                attributes=attrs,
            )
        self._logger.emit(log)


class ContentStream:
    """One (span, role) buffer: ``add`` pieces of text, ``close`` once at the end."""

    __slots__ = ("_ctx", "_parts", "_seq", "_sink", "_size", "_span", "closed", "fmt", "role")

    def __init__(self, sink: ContentSink, span: Any, role: str, fmt: str) -> None:
        self._sink = sink
        self._span = span
        self._ctx: Optional[Any] = None
        self._parts: List[str] = []
        self._size = 0
        self._seq = 0
        self.role = role
        self.fmt = fmt
        self.closed = False

    def add(self, text: str) -> None:
        """Append text; flushes a piece when the buffer reaches the limit (O(1) otherwise)."""
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self._sink.limit:
            self._flush(last=False)

    def close(self) -> None:
        """Send what is buffered as the last piece (an empty last piece if nothing was sent)."""
        if self.closed:
            return
        self.closed = True
        self._flush(last=True)

    def _flush(self, last: bool) -> None:
        try:
            text = "".join(self._parts)
            keep = ""
            if not last and len(text) > _CARRY:
                # Cut at whitespace inside the last _CARRY chars, so a pattern stays whole.
                cut = text.rfind(" ", len(text) - _CARRY)
                cut = cut if cut > 0 else len(text) - _CARRY
                text, keep = text[:cut], text[cut:]
            self._parts = [keep] if keep else []
            self._size = len(keep)
            redacted = 0
            if self._sink.redactor.active:
                text, redacted = self._sink.redactor.apply(text)
            pieces = list(chunks.split_utf8(text, self._sink.limit)) if text else []
            if last and not pieces:
                pieces = [""]
            if self._ctx is None:
                self._ctx = trace.set_span_in_context(self._span)
            sc = self._span.get_span_context()
            trace_id, span_id = format(sc.trace_id, "032x"), format(sc.span_id, "016x")
            for i, piece in enumerate(pieces):
                record = chunks.ChunkRecord(
                    trace_id=trace_id,
                    span_id=span_id,
                    role=self.role,
                    seq=self._seq,
                    last=last and i == len(pieces) - 1,
                    text=piece,
                    format=self.fmt,
                    redacted=redacted if i == 0 else 0,
                )
                self._seq += 1
                self._sink.emit(record, self._ctx, self._span)
        except Exception as exc:
            _guard.record_error("content capture", exc)


def _log_record_class() -> Any:
    """The API LogRecord class and whether it takes ``context=`` and ``event_name=``."""
    import inspect

    try:
        from opentelemetry._logs import LogRecord
    except ImportError:  # pragma: no cover - SDK < 1.28 kept it in the SDK
        from opentelemetry.sdk._logs import LogRecord  # type: ignore[attr-defined,no-redef]
    params = inspect.signature(LogRecord.__init__).parameters
    return LogRecord, ("context" in params and "event_name" in params)
