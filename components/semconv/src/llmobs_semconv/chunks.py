"""The streamed-content chunk contract.

A prompt or completion leaves the probe or the gateway as a sequence of OTLP *log records*, so that
multi-megabyte content never has to sit whole in the producer's memory and never bloats a span.
Each record is tied to its span by the log record's ``trace_id`` and ``span_id`` and carries:

* ``body`` — the text piece (a string; UTF-8, never split inside a character);
* ``event_name`` (and attribute ``event.name``) — :data:`EVENT_NAME`;
* :data:`ROLE` — ``"input"`` (the prompt) or ``"output"`` (the completion);
* :data:`SEQ` — 0-based sequence number within (span, role);
* :data:`LAST` — true on the final piece of (span, role); the set is complete when pieces
  ``0..seq_of_last`` are all present;
* :data:`FORMAT` — ``"text"`` or ``"json"`` (the pieces concatenate to a JSON document, such as the
  list of chat messages);
* :data:`REDACTED` (optional) — how many redactions were applied to this piece.

Pieces may arrive in any order, duplicated, in several export requests, before or after their span.
The store reassembles one content record per (trace, span, role); a set still missing pieces after a
grace period is stored with what arrived and flagged incomplete.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

EVENT_NAME: Final = "llmobs.content.chunk"
EVENT_NAME_ATTRIBUTE: Final = "event.name"
ROLE: Final = "llmobs.chunk.role"
SEQ: Final = "llmobs.chunk.seq"
LAST: Final = "llmobs.chunk.last"
FORMAT: Final = "llmobs.chunk.format"
REDACTED: Final = "llmobs.chunk.redacted"

ROLE_INPUT: Final = "input"
ROLE_OUTPUT: Final = "output"
ROLES: Final[tuple[str, ...]] = (ROLE_INPUT, ROLE_OUTPUT)
FORMAT_TEXT: Final = "text"
FORMAT_JSON: Final = "json"
FORMATS: Final[tuple[str, ...]] = (FORMAT_TEXT, FORMAT_JSON)

#: Default upper bound of one piece, and of what a producer buffers per span before flushing.
DEFAULT_MAX_CHUNK_BYTES: Final = 64 * 1024


@dataclass(frozen=True)
class ChunkRecord:
    """One piece of streamed content, as carried by one OTLP log record."""

    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits
    role: str
    seq: int
    last: bool
    text: str
    format: str = FORMAT_TEXT
    redacted: int = 0

    def __post_init__(self) -> None:
        if len(self.trace_id) != 32 or not _is_hex(self.trace_id):
            raise ValueError(f"chunk trace_id must be 32 hex digits, got {self.trace_id!r}")
        if len(self.span_id) != 16 or not _is_hex(self.span_id):
            raise ValueError(f"chunk span_id must be 16 hex digits, got {self.span_id!r}")
        if self.role not in ROLES:
            raise ValueError(f"chunk {ROLE} must be one of {ROLES}, got {self.role!r}")
        if self.format not in FORMATS:
            raise ValueError(f"chunk {FORMAT} must be one of {FORMATS}, got {self.format!r}")
        if self.seq < 0:
            raise ValueError(f"chunk {SEQ} must be >= 0, got {self.seq}")

    def attributes(self) -> "dict[str, Any]":
        """The log record attributes for this piece (the text travels as the body)."""
        attrs: dict[str, Any] = {
            EVENT_NAME_ATTRIBUTE: EVENT_NAME,
            ROLE: self.role,
            SEQ: self.seq,
            LAST: self.last,
            FORMAT: self.format,
        }
        if self.redacted:
            attrs[REDACTED] = self.redacted
        return attrs

    @classmethod
    def from_log(
        cls, trace_id: str, span_id: str, attributes: Mapping[str, Any], body: Any
    ) -> "ChunkRecord":
        """Parse a received log record; raises ValueError naming the field that is wrong."""
        try:
            seq = int(attributes[SEQ])
        except KeyError:
            raise ValueError(f"chunk record lacks {SEQ}") from None
        except (TypeError, ValueError):
            raise ValueError(f"chunk {SEQ} is not an integer: {attributes[SEQ]!r}") from None
        if ROLE not in attributes:
            raise ValueError(f"chunk record lacks {ROLE}")
        if not isinstance(body, str):
            raise ValueError("chunk record body must be a string")
        return cls(
            trace_id=trace_id.lower(),
            span_id=span_id.lower(),
            role=str(attributes[ROLE]),
            seq=seq,
            last=_as_bool(attributes.get(LAST, False)),
            text=body,
            format=str(attributes.get(FORMAT, FORMAT_TEXT)),
            redacted=int(attributes.get(REDACTED, 0) or 0),
        )


def is_chunk(attributes: Mapping[str, Any], event_name: str = "") -> bool:
    """True when a log record is a content chunk (by event name or attribute)."""
    return event_name == EVENT_NAME or attributes.get(EVENT_NAME_ATTRIBUTE) == EVENT_NAME


def split_utf8(text: str, max_bytes: int = DEFAULT_MAX_CHUNK_BYTES) -> Iterator[str]:
    """Split text into pieces of at most ``max_bytes`` UTF-8 bytes, never inside a character."""
    if max_bytes < 4:
        raise ValueError("max_bytes must be at least 4 (one UTF-8 character)")
    data = text.encode("utf-8")
    start = 0
    while start < len(data):
        end = min(start + max_bytes, len(data))
        # Step back over continuation bytes (0b10xxxxxx) so a character is never cut.
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        yield data[start:end].decode("utf-8")
        start = end


def _is_hex(value: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in value)


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)
