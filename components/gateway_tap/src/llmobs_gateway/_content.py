"""Opt-in content capture: prompts and completions as ``llmobs_semconv.chunks`` OTLP log records.

Redaction runs here, before anything leaves the process; every piece is at most
``max_chunk_bytes`` and never cut inside a UTF-8 character (``chunks.split_utf8``).
"""

from __future__ import annotations

import re

from opentelemetry import trace
from opentelemetry._logs import Logger

from llmobs_semconv import chunks

# Secrets and personal data that must not leave the gateway. Order matters: keys before generic
# long tokens, so the replacement names what was found.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("api_key", re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_\-]{16,}\b")),
    ("aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("bearer", re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-+/=]{16,}")),
    ("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")),
    ("email", re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")),
    ("card", re.compile(r"\b(?:\d[ \-]?){13,19}\b")),
)


def redact(text: str) -> tuple[str, int]:
    """Replace secrets and PII with ``[REDACTED:<kind>]``; returns (text, replacements)."""
    total = 0
    for kind, pattern in _PATTERNS:
        text, n = pattern.subn(f"[REDACTED:{kind}]", text)
        total += n
    return text, total


class ContentStream:
    """The chunk records of one (span, role), flushed as the content grows.

    At most ``max_chunk_bytes`` of text is held before a piece is emitted, so a long stream never
    sits whole in the gateway. Each piece is redacted on its own (a secret cut across two pieces
    can escape the patterns; pieces are 64 KiB by default, which makes that rare).
    """

    __slots__ = (
        "_buf",
        "_context",
        "_fmt",
        "_ids",
        "_logger",
        "_max",
        "_redact",
        "_role",
        "_seq",
        "_size",
    )

    def __init__(
        self,
        logger: Logger,
        span: trace.Span,
        role: str,
        fmt: str,
        *,
        redact_content: bool,
        max_chunk_bytes: int,
    ) -> None:
        ctx = span.get_span_context()
        self._ids = (format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"))
        self._context = trace.set_span_in_context(span)
        self._logger = logger
        self._role = role
        self._fmt = fmt
        self._redact = redact_content
        self._max = max_chunk_bytes
        self._buf: list[str] = []
        self._size = 0  # bytes held, at most: exact at the last measure + 4 per character since
        self._seq = 0

    @property
    def records(self) -> int:
        return self._seq

    def write(self, text: str) -> None:
        self._buf.append(text)
        # Characters are at most 4 bytes: only measure when the buffer could be over the limit,
        # and then remember the exact size (re-measuring on every write would be quadratic).
        self._size += len(text) * 4
        if self._size >= self._max:
            data = "".join(self._buf)
            pieces = list(chunks.split_utf8(data, self._max))
            if len(pieces) > 1:
                for piece in pieces[:-1]:
                    self._emit(piece, last=False)
                data = pieces[-1]
            self._buf = [data]
            self._size = len(data.encode("utf-8"))

    def close(self) -> None:
        """Emit what is left as the last piece (an empty one when nothing came)."""
        self._emit("".join(self._buf), last=True)
        self._buf = []
        self._size = 0

    def _emit(self, text: str, *, last: bool) -> None:
        redactions = 0
        if self._redact:
            text, redactions = redact(text)
        for i, part in enumerate(pieces := list(chunks.split_utf8(text, self._max)) or [""]):
            record = chunks.ChunkRecord(
                trace_id=self._ids[0],
                span_id=self._ids[1],
                role=self._role,
                seq=self._seq,
                last=last and i == len(pieces) - 1,
                text=part,
                format=self._fmt,
                redacted=redactions if i == 0 else 0,
            )
            self._seq += 1
            self._logger.emit(
                context=self._context,
                body=part,
                attributes=record.attributes(),
                event_name=chunks.EVENT_NAME,
            )
