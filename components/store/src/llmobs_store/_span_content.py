"""One span's events and content: the first-token time, the error message, the prompt and the
completion, as the family tables name them (``_families.py``)."""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmobs_semconv.families import _rows as F
from llmobs_store import _families
from llmobs_store._values import _str, as_text, key_values

_ROLES = ((F.CONTENT_INPUT, "input"), (F.CONTENT_OUTPUT, "output"))


@dataclass
class ContentRecord:
    """Prompt or completion text of one span, complete (from an attribute) or merged."""

    trace_id: str
    span_id: str
    role: str
    format: str
    text: str
    complete: bool = True
    chunks: int = 1
    redacted: int = 0


def span_events(
    events: Iterable[Any], index: _families.Index
) -> tuple[list[dict[str, Any]], int | None, str, dict[str, _families.Picked]]:
    """Span events as stored, the first-token time, the exception message, event content."""
    out: list[dict[str, Any]] = []
    first_token_ns: int | None = None
    exception_message = ""
    content: dict[str, _families.Picked] = {}
    meanings = _families.SPAN_EVENTS
    for event in events:
        event_attrs = key_values(event.attributes)
        meaning = meanings.get(event.name)
        if meaning == F.FIRST_TOKEN:
            if first_token_ns is None or event.time_unix_nano < first_token_ns:
                first_token_ns = event.time_unix_nano
        elif meaning == F.EXCEPTION and not exception_message:
            exception_message = _str(event_attrs.get("exception.message")) or _str(
                event_attrs.get("exception.type")
            )
        elif meaning == F.CONTENT:
            for name, found in index.pick(event_attrs)[0].items():
                if name in _families.CONTENT_FIELDS and name not in content:
                    content[name] = found
        out.append(
            {"name": event.name, "time_ms": event.time_unix_nano / 1e6, "attributes": event_attrs}
        )
    return out, first_token_ns, exception_message, content


def span_content(
    trace_id: str,
    span_id: str,
    *,
    picked: Mapping[str, _families.Picked],
    kept: dict[str, str],
    attrs: Mapping[str, Any],
    flat: list[str],
    index: _families.Index,
    from_events: Mapping[str, _families.Picked],
) -> list[ContentRecord]:
    """The span's prompt and completion: the best-ranked content attribute or flattened
    messages per role (moved out of ``kept``), else content carried by a span event."""
    flattened = _families.flattened_content(index, flat, attrs) if flat else {}
    records: list[ContentRecord] = []
    for name, role in _ROLES:
        found = picked.get(name)
        rebuilt = flattened.get(name)
        if rebuilt is not None and (found is None or rebuilt[0] > found[0]):
            for key in rebuilt[2]:
                kept.pop(key, None)
            text, fmt = rebuilt[1], "json"
        elif found is not None and found[1] in kept:
            text, fmt = kept.pop(found[1]), _content_format(found[1], index)
        elif name in from_events:
            event_found = from_events[name]
            text, fmt = as_text(event_found[2]), _content_format(event_found[1], index)
        else:
            continue
        if text:
            records.append(ContentRecord(trace_id, span_id, role, fmt, text))
    system = picked.get(F.CONTENT_SYSTEM)
    if system is not None and system[1] in kept:
        inputs = [r for r in records if r.role == "input"]
        if not inputs or inputs[0].format == "json":
            led = lead_with_system(inputs[0].text if inputs else "[]", kept[system[1]])
        else:
            led = None
        if led is not None:
            kept.pop(system[1])
            if inputs:
                inputs[0].text, inputs[0].format = led, "json"
            else:
                records.append(ContentRecord(trace_id, span_id, "input", "json", led))
    return records


def _content_format(name: str, index: _families.Index) -> str:
    row = index.fields.get(name)
    return row.unit if row is not None and row.unit in F.CONTENT_FORMATS else "text"


def lead_with_system(messages_text: str, system: Any) -> str | None:
    """Input messages (a JSON list) led by the system instructions given beside them, as one
    message list; None when the messages are not a JSON list. ``system``: parts or their JSON."""
    try:
        messages = json.loads(messages_text)
    except ValueError:
        return None
    if not isinstance(messages, list):
        return None
    parts = system
    if isinstance(system, str):
        try:
            parts = json.loads(system)
        except ValueError:
            parts = system
    if not isinstance(parts, list):
        parts = [{"type": "text", "content": str(parts)}]
    lead = {"role": "system", "parts": parts}
    return json.dumps([lead, *messages], ensure_ascii=False, separators=(",", ":"), default=str)
