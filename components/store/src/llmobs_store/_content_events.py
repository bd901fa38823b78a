"""GenAI log events that carry a span's content, as content pieces merged like chunk records.

The OTel GenAI conventions (and OpenLIT, LoongSuite) put prompts and completions on log records
tied to their span: one ``gen_ai.client.inference.operation.details`` record with every message
in its attributes, or (the deprecated generation, still the default) one record per message
(``gen_ai.user.message``, ..., ``gen_ai.choice``). Which event names do so, and how, is data
(``llmobs_semconv.families``, log events). Each becomes pieces of the span's (trace, span, role)
content set in ``content_chunks``, so the merger assembles one content record per role exactly
as it does for our chunk records, whatever order or request they arrive in:

* a details record gives one complete piece per role (seq 0, last);
* a per-message record gives one piece of format :data:`MESSAGE_FORMAT` (one JSON message).
  Such a set has no end marker: the merger orders its pieces by ``seq`` (the record's time,
  which the SDK stamps as the messages are emitted, taken modulo 2**32 and ordered circularly)
  and assembles them into a JSON list once no new piece came for a moment.
"""

import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmobs_semconv import families
from llmobs_semconv.families import LogEvent
from llmobs_semconv.families import _rows as F
from llmobs_store import _families
from llmobs_store._span_content import lead_with_system
from llmobs_store._values import as_text

#: ``content_chunks.format`` of a piece holding one message of an open-ended message set.
MESSAGE_FORMAT = "message"
_SEQ_SPACE = 2**32


@dataclass(frozen=True)
class Piece:
    """One piece of a span's content set, ready for ``content_chunks``."""

    role: str
    seq: int
    last: bool
    format: str
    text: str

    @property
    def open_ended(self) -> bool:
        return self.format == MESSAGE_FORMAT


def content_event(event_name: str, attrs: Mapping[str, Any]) -> LogEvent | None:
    """The table row of a log record's event, when it is one that carries content."""
    return families.LOG_EVENTS.get(event_name or str(attrs.get("event.name", "")))


def pieces(row: LogEvent, attrs: Mapping[str, Any], body: Any, time_ns: int) -> list[Piece]:
    """The content pieces a content event carries (none when capture left it empty)."""
    if row.shape == F.DETAILS:
        return _details(attrs)
    if row.shape == F.MESSAGE:
        message = _message(row.message_role, body)
        role = "input"
    else:
        message = _choice(body)
        role = "output"
    if message is None:
        return []
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)
    seq = time_ns % _SEQ_SPACE if time_ns else zlib.crc32(text.encode("utf-8"))
    return [Piece(role, seq, False, MESSAGE_FORMAT, text)]


def order(seqs: list[int]) -> list[int]:
    """Sequence numbers of one message set in emission order: sorted, then rotated to start
    after the widest gap (the set's records are stamped within moments of each other, so the
    widest gap is where the clock's low 32 bits wrapped, if they did)."""
    ordered = sorted(seqs)
    if len(ordered) < 2:
        return ordered
    gaps = [
        (ordered[(i + 1) % len(ordered)] - ordered[i]) % _SEQ_SPACE for i in range(len(ordered))
    ]
    widest = max(range(len(gaps)), key=gaps.__getitem__)
    start = (widest + 1) % len(ordered)
    return ordered[start:] + ordered[:start]


def _details(attrs: Mapping[str, Any]) -> list[Piece]:
    index = _families.index_for(attrs)
    picked, _ = index.pick(attrs)
    out: list[Piece] = []
    for field, role in ((F.CONTENT_INPUT, "input"), (F.CONTENT_OUTPUT, "output")):
        found = picked.get(field)
        text = "" if found is None else as_text(found[2])
        fmt = _format(index, found[1]) if found is not None else "json"
        if role == "input" and F.CONTENT_SYSTEM in picked:
            led = lead_with_system(text or "[]", picked[F.CONTENT_SYSTEM][2])
            if led is not None and (not text or fmt == "json"):
                text, fmt = led, "json"
        if text:
            out.append(Piece(role, 0, True, fmt, text))
    return out


def _format(index: _families.Index, name: str) -> str:
    row = index.fields.get(name)
    return row.unit if row is not None and row.unit in F.CONTENT_FORMATS else "text"


def _message(role: str, body: Any) -> dict[str, Any] | None:
    """``{"role": ..., **body}`` of a per-message event (a tool message's ``id`` is the id of
    the call it answers); None when capture was off and the body says nothing."""
    if not isinstance(body, dict) or not (body.get("content") or body.get("tool_calls")):
        return None
    message: dict[str, Any] = {"role": role, **body}
    if role == "tool" and "id" in message:
        message["tool_call_id"] = message.pop("id")
    return message


def _choice(body: Any) -> dict[str, Any] | None:
    """The choice's message with its finish reason (and index when there are several)."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        return None
    message = {k: v for k, v in body["message"].items() if v is not None}
    if not (message.get("content") or message.get("tool_calls")):
        return None
    message.setdefault("role", "assistant")
    if body.get("finish_reason"):
        message["finish_reason"] = body["finish_reason"]
    if body.get("index"):
        message["index"] = body["index"]
    return message
