"""What each OpenAI operation contributes: request attributes, response fields, chunk fields.

One handler per API (chat completions, completions, embeddings, responses). Request attributes
are read from the keyword arguments the user passed (never by binding the signature); response
fields are read with plain attribute access, tolerant of fields an OpenAI-compatible server
(DeepSeek, Qwen, vLLM) leaves out.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Mapping, Optional

from llmobs_probe._call import Call
from llmobs_semconv import attributes as A
from llmobs_semconv import chunks


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def request_attributes(kwargs: Mapping[str, Any], attrs: Dict[str, Any]) -> None:
    """Sampling parameters common to the generation APIs, when given as numbers/strings."""
    v = kwargs.get(
        "max_completion_tokens", kwargs.get("max_tokens", kwargs.get("max_output_tokens"))
    )
    if _num(v):
        attrs[A.GEN_AI_REQUEST_MAX_TOKENS] = v
    v = kwargs.get("temperature")
    if _num(v):
        attrs[A.GEN_AI_REQUEST_TEMPERATURE] = v
    v = kwargs.get("top_p")
    if _num(v):
        attrs[A.GEN_AI_REQUEST_TOP_P] = v
    v = kwargs.get("stop")
    if isinstance(v, str):
        attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = (v,)
    elif isinstance(v, (list, tuple)) and all(isinstance(s, str) for s in v):
        attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES] = tuple(v)


def _usage_chat(call: Call, usage: Any) -> None:
    if usage is None:
        return
    call.input_tokens = getattr(usage, "prompt_tokens", None)
    call.output_tokens = getattr(usage, "completion_tokens", None)
    details = getattr(usage, "prompt_tokens_details", None)
    if details is not None and getattr(details, "cached_tokens", None) is not None:
        call.cached_tokens = details.cached_tokens
    details = getattr(usage, "completion_tokens_details", None)
    if details is not None and getattr(details, "reasoning_tokens", None) is not None:
        call.reasoning_tokens = details.reasoning_tokens


def _usage_responses(call: Call, usage: Any) -> None:
    if usage is None:
        return
    call.input_tokens = getattr(usage, "input_tokens", None)
    call.output_tokens = getattr(usage, "output_tokens", None)
    details = getattr(usage, "input_tokens_details", None)
    if details is not None and getattr(details, "cached_tokens", None) is not None:
        call.cached_tokens = details.cached_tokens
    details = getattr(usage, "output_tokens_details", None)
    if details is not None and getattr(details, "reasoning_tokens", None) is not None:
        call.reasoning_tokens = details.reasoning_tokens


def _dump(value: Any) -> str:
    return json.dumps(value, default=_jsonable, ensure_ascii=False)


def _as_text(value: Any) -> Optional[str]:
    """A prompt or input as text: strings as they are, token lists and the like as JSON."""
    return value if isinstance(value, str) else (None if value is None else _dump(value))


def _jsonable(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if dump is not None:
        return dump(exclude_none=True)
    if isinstance(value, (set, frozenset)):
        return list(value)
    try:
        return dict(value)
    except (TypeError, ValueError):
        try:
            return list(value)
        except TypeError:
            return repr(value)


# ------------------------------------------------------------------------- chat completions
class Chat:
    """``chat.completions.create``."""

    operation = A.OP_CHAT

    @staticmethod
    def prompt(kwargs: Mapping[str, Any]) -> Any:
        return kwargs.get("messages")

    @staticmethod
    def input_text(kwargs: Mapping[str, Any]) -> Optional[str]:
        messages = kwargs.get("messages")
        return None if messages is None else _dump(list(messages))

    @staticmethod
    def response(call: Call, result: Any) -> None:
        call.response_id = getattr(result, "id", None)
        call.response_model = getattr(result, "model", None)
        _usage_chat(call, getattr(result, "usage", None))
        choices = getattr(result, "choices", None) or ()
        texts = []
        tool_calls = []
        for choice in choices:
            reason = getattr(choice, "finish_reason", None)
            if reason:
                call.finish_reasons.append(str(reason))
            message = getattr(choice, "message", None)
            if message is not None:
                content = getattr(message, "content", None)
                if content:
                    texts.append(content)
                    call.chars += len(content)
                calls = getattr(message, "tool_calls", None)
                if calls:
                    tool_calls.extend(calls)
        if call.rt.content is not None:
            if tool_calls:
                call.capture_output(
                    _dump({"content": "".join(texts), "tool_calls": tool_calls}), chunks.FORMAT_JSON
                )
            else:
                call.capture_output("".join(texts))

    @staticmethod
    def chunk(call: Call, chunk: Any) -> None:
        # The hot path: a few attribute reads and, for content, one O(1) update.
        choices = chunk.choices
        if choices:
            choice = choices[0]
            delta = choice.delta
            if delta is not None:
                content = delta.content
                if content:
                    if not call.n_content:
                        Chat._ids(call, chunk)
                    call.on_content(content)
                elif delta.tool_calls:
                    if not call.n_content:
                        Chat._ids(call, chunk)
                    call.on_content(_dump(delta.tool_calls) if call.out is not None else None)
            reason = choice.finish_reason
            if reason:
                call.finish_reasons.append(reason)
                for other in choices[1:]:
                    if other.finish_reason:
                        call.finish_reasons.append(other.finish_reason)
                Chat._ids(call, chunk)
                if chunk.usage is not None:  # servers that report usage on the last choice chunk
                    _usage_chat(call, chunk.usage)
        elif chunk.usage is not None:  # the usage chunk (stream_options.include_usage)
            _usage_chat(call, chunk.usage)
            Chat._ids(call, chunk)

    @staticmethod
    def _ids(call: Call, chunk: Any) -> None:
        if call.response_id is None:
            call.response_id = getattr(chunk, "id", None)
            call.response_model = getattr(chunk, "model", None)


# ------------------------------------------------------------------------- completions (legacy)
class TextCompletion:
    """``completions.create``."""

    operation = A.OP_TEXT_COMPLETION

    @staticmethod
    def prompt(kwargs: Mapping[str, Any]) -> Any:
        return kwargs.get("prompt")

    @staticmethod
    def input_text(kwargs: Mapping[str, Any]) -> Optional[str]:
        return _as_text(kwargs.get("prompt"))

    @staticmethod
    def response(call: Call, result: Any) -> None:
        call.response_id = getattr(result, "id", None)
        call.response_model = getattr(result, "model", None)
        _usage_chat(call, getattr(result, "usage", None))
        texts = []
        for choice in getattr(result, "choices", None) or ():
            if getattr(choice, "finish_reason", None):
                call.finish_reasons.append(str(choice.finish_reason))
            text = getattr(choice, "text", None)
            if text:
                texts.append(text)
                call.chars += len(text)
        call.capture_output("".join(texts))

    @staticmethod
    def chunk(call: Call, chunk: Any) -> None:
        Chat._ids(call, chunk)
        choices = chunk.choices
        if choices:
            choice = choices[0]
            if choice.text:
                call.on_content(choice.text)
            if choice.finish_reason:
                call.finish_reasons.append(choice.finish_reason)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            _usage_chat(call, usage)


# ------------------------------------------------------------------------- embeddings
class Embeddings:
    """``embeddings.create``."""

    operation = A.OP_EMBEDDINGS

    @staticmethod
    def prompt(kwargs: Mapping[str, Any]) -> Any:
        return kwargs.get("input")

    @staticmethod
    def input_text(kwargs: Mapping[str, Any]) -> Optional[str]:
        return _as_text(kwargs.get("input"))

    @staticmethod
    def response(call: Call, result: Any) -> None:
        call.response_model = getattr(result, "model", None)
        usage = getattr(result, "usage", None)
        if usage is not None:
            call.input_tokens = getattr(usage, "prompt_tokens", None)
        data = getattr(result, "data", None)
        if data and call.span.is_recording():
            vector = getattr(data[0], "embedding", None)
            if isinstance(vector, list):
                call.span.set_attribute(A.GEN_AI_EMBEDDINGS_DIMENSION_COUNT, len(vector))

    @staticmethod
    def chunk(call: Call, chunk: Any) -> None:  # embeddings never stream
        return None


# ------------------------------------------------------------------------- responses API
class Responses:
    """``responses.create``."""

    operation = A.OP_CHAT

    @staticmethod
    def prompt(kwargs: Mapping[str, Any]) -> Any:
        return [kwargs.get("instructions"), kwargs.get("input")]

    @staticmethod
    def input_text(kwargs: Mapping[str, Any]) -> Optional[str]:
        doc = {"instructions": kwargs.get("instructions"), "input": kwargs.get("input")}
        return _dump({k: v for k, v in doc.items() if v is not None})

    @staticmethod
    def _response_fields(call: Call, response: Any) -> None:
        call.response_id = getattr(response, "id", None)
        call.response_model = getattr(response, "model", None)
        status = getattr(response, "status", None)
        if status:
            details = getattr(response, "incomplete_details", None)
            reason = getattr(details, "reason", None) if details is not None else None
            call.finish_reasons.append(str(reason or status))
        _usage_responses(call, getattr(response, "usage", None))

    @staticmethod
    def response(call: Call, result: Any) -> None:
        Responses._response_fields(call, result)
        text = ""
        try:
            text = result.output_text or ""
        except Exception:  # an OpenAI-compatible server may return an odd output list
            text = ""
        call.chars += len(text)
        if call.rt.content is not None:
            calls = [
                o
                for o in getattr(result, "output", None) or ()
                if getattr(o, "type", "") == "function_call"
            ]
            if calls:
                call.capture_output(
                    _dump({"content": text, "tool_calls": calls}), chunks.FORMAT_JSON
                )
            else:
                call.capture_output(text)

    @staticmethod
    def chunk(call: Call, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "response.output_text.delta":
            call.on_content(event.delta)
        elif kind == "response.function_call_arguments.delta":
            call.on_content(event.delta if call.out is not None else None)
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            Responses._response_fields(call, event.response)
        elif kind == "response.created" and call.response_id is None:
            response = event.response
            call.response_id = getattr(response, "id", None)
            call.response_model = getattr(response, "model", None)
