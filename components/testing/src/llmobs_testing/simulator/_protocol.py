"""OpenAI request shapes the simulator accepts, and the error body it answers with.

Unknown fields are accepted and ignored, as OpenAI-compatible servers do; a wrong type in a field
the simulator reads is a 400 naming the field.
"""

import json
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import JSONResponse

_M = TypeVar("_M", bound=BaseModel)

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class StreamOptions(_Lenient):
    """``stream_options``: only ``include_usage`` matters here."""

    include_usage: bool = False


class Message(_Lenient):
    """One chat message; content may be a string or a list of typed parts."""

    role: str
    content: str | list[Any] | None = None


class _Generation(_Lenient):
    model: str = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    n: int = Field(default=1, ge=1, le=1)
    seed: int | None = None
    # vLLM's extension: generate until max_tokens, never stopping early.
    ignore_eos: bool = False

    @property
    def include_usage(self) -> bool:
        return bool(self.stream and self.stream_options and self.stream_options.include_usage)


class ChatRequest(_Generation):
    """``POST /v1/chat/completions``."""

    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None

    def prompt_text(self) -> str:
        """The text of every message (text parts of multi-part content), one per line."""
        lines: list[str] = []
        for message in self.messages:
            if isinstance(message.content, str):
                lines.append(message.content)
            elif isinstance(message.content, list):
                lines.extend(
                    str(part.get("text", ""))
                    for part in message.content
                    if isinstance(part, dict) and part.get("type") == "text"
                )
        return "\n".join(lines)

    def output_limit(self) -> int | None:
        """``max_completion_tokens`` (the newer name) else ``max_tokens``."""
        return self.max_completion_tokens or self.max_tokens

    def chosen_tool(self) -> dict[str, Any] | None:
        """The function to call, or None when this turn should answer in text.

        A tool is called when tools are given, ``tool_choice`` is not "none" and the last message
        is not a tool result; a named ``tool_choice`` picks that function, else the first.
        """
        if not self.tools or self.tool_choice == "none" or self.messages[-1].role == "tool":
            return None
        functions = [t.get("function") for t in self.tools if isinstance(t.get("function"), dict)]
        if isinstance(self.tool_choice, dict):
            wanted = (self.tool_choice.get("function") or {}).get("name")
            for function in functions:
                if function is not None and function.get("name") == wanted:
                    return dict(function)
        return dict(functions[0]) if functions and functions[0] is not None else None


class CompletionRequest(_Generation):
    """``POST /v1/completions`` (one prompt per request)."""

    prompt: str | list[str] | list[int]

    def prompt_text(self) -> str:
        """The prompt as text; token-id prompts become space-separated ids."""
        if isinstance(self.prompt, str):
            return self.prompt
        if len(self.prompt) == 1 and isinstance(self.prompt[0], str):
            return self.prompt[0]
        if all(isinstance(p, int) for p in self.prompt):
            return " ".join(str(p) for p in self.prompt)
        raise ValueError("prompt: only one prompt per request is supported")

    def output_limit(self) -> int | None:
        """``max_tokens``."""
        return self.max_tokens


class EmbeddingRequest(_Lenient):
    """``POST /v1/embeddings``."""

    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]
    dimensions: int | None = Field(default=None, ge=1, le=65536)
    encoding_format: Literal["float", "base64"] = "float"

    def texts(self) -> list[str]:
        """Each input as text (token-id inputs become space-separated ids)."""
        if isinstance(self.input, str):
            return [self.input]
        if not self.input:
            raise ValueError("input: must not be empty")
        if all(isinstance(i, int) for i in self.input):
            return [" ".join(str(i) for i in self.input)]
        return [i if isinstance(i, str) else " ".join(str(t) for t in i) for i in self.input]  # type: ignore[union-attr]


def error_response(
    status: int, message: str, code: str | None = None, param: str | None = None
) -> JSONResponse:
    """An OpenAI-shaped error: ``{"error": {"message", "type", "param", "code"}}``."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code or kind}}
    return JSONResponse(body, status_code=status)


def parse(model: type[_M], raw: bytes) -> _M | JSONResponse:
    """The request body as ``model``, or a 400 that names the offending field."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        return error_response(400, f"request body is not valid JSON: {exc}")
    if not isinstance(data, dict):
        return error_response(400, "request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return error_response(400, f"{where}: {first['msg']}", param=where)
