"""The demo's chatbot: one conversation turn, and now and then a research agent that loops.

Every model call goes through the OpenAI SDK to the gateway, so under ``llmobs-instrument`` the
probe records LLM and EMBEDDING spans that join the gateway's spans in one trace. The steps the SDK
cannot see (the turn itself, retrieval, tool execution, the agent) are OpenTelemetry spans made
here with the GenAI names; without the probe they are no-ops.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from llmobs_cli._demo._retrieval import DocumentIndex
from llmobs_semconv import attributes as A
from llmobs_semconv import span_kinds
from llmobs_semconv.pricing import PriceTable

_prices = PriceTable()

PRICE_TOOL = {
    "type": "function",
    "function": {
        "name": "get_model_price",
        "description": "Price of a model in USD per million input and output tokens.",
        "parameters": {
            "type": "object",
            "properties": {"model": {"type": "string", "description": "model name"}},
            "required": ["model"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search_web",
        "description": "Search the web for recent articles.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "search terms"}},
            "required": ["query"],
        },
    },
}
SYSTEM = (
    "You are the llmobs documentation assistant. Answer in two or three sentences from the "
    "context below; say so when the context does not cover the question."
)
#: The research agent gives up after this many steps; its bug makes it use all of them.
AGENT_MAX_STEPS = 5


@dataclass
class Conversation:
    """One session's state: who is talking, to which model, and the turns so far."""

    session_id: str
    user_id: str
    model: str
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        # The probe carries the session as W3C baggage; the explicit gateway headers make the
        # gateway's own spans name it even for clients without the probe.
        return {A.HEADER_SESSION_ID: self.session_id, A.HEADER_USER_ID: self.user_id}


class Chatbot:
    """Retrieval-augmented answers through the gateway, with a tool and a (buggy) agent."""

    def __init__(
        self, client: Any, index: DocumentIndex, tracer: trace.Tracer | None = None
    ) -> None:
        self._client = client
        self._index = index
        # The global tracer (the probe's, under llmobs-instrument) unless a test passes its own.
        self._tracer = tracer or trace.get_tracer("llmobs.demo")

    def turn(self, conv: Conversation, question: str, answer_tokens: int, use_tool: bool) -> str:
        """Answer one user message: retrieve, maybe call the price tool, stream the answer."""
        with self._tracer.start_as_current_span("chat docs-assistant") as span:
            span.set_attribute(A.LLMOBS_SPAN_KIND, span_kinds.CHAIN)
            span.set_attribute(A.GEN_AI_CONVERSATION_ID, conv.session_id)
            docs = self._index.search(question)
            context = "\n".join(f"[{d.id}] {d.title}: {d.text}" for d in docs)
            messages = [
                {"role": "system", "content": f"{SYSTEM}\n\nContext:\n{context}"},
                *conv.history,
                {"role": "user", "content": question},
            ]
            try:
                if use_tool:
                    messages = self._with_tool(conv, messages)
                answer = self._stream(conv, messages, answer_tokens)
            except Exception as exc:  # the demo goes on; the spans already say what failed
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                span.set_attribute(A.ERROR_TYPE, type(exc).__name__)
                raise
            conv.history += [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
            return answer

    def _stream(self, conv: Conversation, messages: list[dict[str, Any]], tokens: int) -> str:
        stream = self._client.chat.completions.create(
            model=conv.model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=tokens + 32,  # room to finish: the answer ends with "stop", not "length"
            # The simulator's length control (the gateway forwards x-sim-* in the demo); a real
            # model server ignores it and max_tokens bounds the answer.
            extra_headers={**conv.headers, "x-sim-output-tokens": str(tokens)},
        )
        parts: list[str] = []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        return "".join(parts)

    def _with_tool(
        self, conv: Conversation, messages: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Let the model ask for the price tool, run it, and return the messages with its result."""
        response = self._client.chat.completions.create(
            model=conv.model,
            messages=messages,
            tools=[PRICE_TOOL],
            max_tokens=32,
            extra_headers=conv.headers,
        )
        message = response.choices[0].message
        if not message.tool_calls:
            return messages
        call = message.tool_calls[0]
        result = run_tool(self._tracer, call.function.name, call.function.arguments, call.id)
        return [
            *messages,
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": result},
        ]

    def research(self, conv: Conversation, question: str) -> int:
        """A research agent with a deliberate bug: it drops each tool result, so the model asks
        for the same search again until the step limit — the loop the UI flags. Returns steps."""
        with self._tracer.start_as_current_span("invoke_agent research-agent") as span:
            span.set_attribute(A.GEN_AI_OPERATION_NAME, A.OP_INVOKE_AGENT)
            span.set_attribute(A.LLMOBS_SPAN_KIND, span_kinds.AGENT)
            span.set_attribute(A.GEN_AI_AGENT_NAME, "research-agent")
            span.set_attribute(A.GEN_AI_CONVERSATION_ID, conv.session_id)
            messages = [
                {"role": "system", "content": "You research questions with the search_web tool."},
                {"role": "user", "content": question},
            ]
            steps = 0
            for steps in range(1, AGENT_MAX_STEPS + 1):  # noqa: B007 - steps is returned
                response = self._client.chat.completions.create(
                    model=conv.model,
                    messages=messages,
                    tools=[SEARCH_TOOL],
                    max_tokens=48,
                    extra_headers=conv.headers,
                )
                message = response.choices[0].message
                if not message.tool_calls:
                    break
                call = message.tool_calls[0]
                result = run_tool(
                    self._tracer, call.function.name, call.function.arguments, call.id
                )
                # The bug: the result goes into a copy, so `messages` never changes and the
                # model, seeing the same prompt, asks for the same call again.
                _ = [*messages, {"role": "tool", "tool_call_id": call.id, "content": result}]
            else:
                span.set_attribute("llmobs.demo.agent.gave_up", True)
            span.set_attribute("llmobs.demo.agent.steps", steps)
            return steps


def run_tool(tracer: trace.Tracer, name: str, arguments: str, call_id: str) -> str:
    """Execute one tool call (recorded as a TOOL span with its arguments and result)."""
    with tracer.start_as_current_span(f"execute_tool {name}") as span:
        span.set_attribute(A.GEN_AI_OPERATION_NAME, A.OP_EXECUTE_TOOL)
        span.set_attribute(A.LLMOBS_SPAN_KIND, span_kinds.TOOL)
        span.set_attribute(A.GEN_AI_TOOL_NAME, name)
        span.set_attribute(A.GEN_AI_TOOL_TYPE, "function")
        span.set_attribute(A.GEN_AI_TOOL_CALL_ID, call_id)
        span.set_attribute(A.GEN_AI_TOOL_CALL_ARGUMENTS, arguments)
        try:
            args = json.loads(arguments or "{}")
        except json.JSONDecodeError:
            args = {}
        if name == "get_model_price":
            price = _prices.price(str(args.get("model", "gpt-4o-mini"))) or _prices.price(
                "gpt-4o-mini"
            )
            result = json.dumps(
                {
                    "model": args.get("model"),
                    "input_per_1m": price.input,
                    "output_per_1m": price.output,
                }
                if price
                else {"error": "unknown model"}
            )
        else:
            result = json.dumps({"results": [], "note": "no recent articles found"})
        span.set_attribute(A.GEN_AI_TOOL_CALL_RESULT, result)
        return result
