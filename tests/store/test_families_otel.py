"""OTel GenAI (newest and deprecated generation, content as log events), vLLM and MCP spans,
shaped as their libraries emit them, through the real SDK and OTLP into a real store.

Shapes come from the sources named in ``llmobs_semconv.families`` (the semantic-conventions-genai
registry, opentelemetry-util-genai, opentelemetry-instrumentation-openai-v2, vllm/tracing.py,
the mcp 2.x SDK). Each test asserts what the store's API answers for the trace.
"""

import json
from typing import Any

from opentelemetry.trace import SpanKind

from tests.store.conftest import RunningStore
from tests.store.family_emit import emitter, span_id, stored_trace


def _messages(content: dict[str, Any] | None) -> list[Any]:
    assert content is not None, "no content record"
    parsed = json.loads(content["text"])
    assert isinstance(parsed, list)
    return parsed


def test_newest_otel_genai_names_fill_the_model(shared_store: RunningStore) -> None:
    # opentelemetry-util-genai InferenceInvocation._get_attributes (latest experimental mode).
    with emitter(shared_store, "otel-latest") as e:
        chat = e.span(
            "chat gpt-4o",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o",
                "gen_ai.response.model": "gpt-4o-2024-08-06",
                "gen_ai.conversation.id": "conv-latest",
                "gen_ai.request.stream": True,
                "gen_ai.response.time_to_first_chunk": 0.42,
                "gen_ai.usage.input_tokens": 1200,
                "gen_ai.usage.output_tokens": 300,
                "gen_ai.usage.cache_read.input_tokens": 200,
                "gen_ai.usage.cache_creation.input_tokens": 50,
                "gen_ai.usage.reasoning.output_tokens": 64,
                "gen_ai.response.finish_reasons": ("stop",),
            },
            kind=SpanKind.CLIENT,
            duration_ms=2000,
        )
        # util-genai writes the cache-creation count under its own name.
        written = e.span(
            "chat gpt-4o-mini",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 2,
                "gen_ai.usage.cache_write.input_tokens": 30,
            },
            kind=SpanKind.CLIENT,
            parent=chat,
        )
    spans = stored_trace(shared_store, chat, 2)
    got = spans[span_id(chat)]
    assert (got["kind"], got["provider"], got["session_id"]) == ("LLM", "openai", "conv-latest")
    assert (got["request_model"], got["response_model"]) == ("gpt-4o", "gpt-4o-2024-08-06")
    assert got["ttft_ms"] == 420.0
    assert (got["input_tokens"], got["output_tokens"]) == (1200, 300)
    assert (got["cached_tokens"], got["cache_creation_tokens"]) == (200, 50)
    assert got["reasoning_tokens"] == 64
    assert got["finish_reasons"] == ["stop"]
    # gpt-4o list price: 2.50 in, 1.25 cached in, 10.00 out per 1M tokens.
    assert abs(got["cost_usd"] - (1000 * 2.5 + 200 * 1.25 + 300 * 10.0) / 1e6) < 1e-12
    assert spans[span_id(written)]["cache_creation_tokens"] == 30


def test_every_operation_name_has_its_kind(shared_store: RunningStore) -> None:
    with emitter(shared_store, "otel-operations") as e:
        workflow = e.span(
            "invoke_workflow support",
            {"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "support"},
            duration_ms=5000,
        )
        rows = {
            "create_agent": ("create_agent helper", {"gen_ai.agent.name": "helper"}),
            "invoke_agent": ("invoke_agent helper", {"gen_ai.agent.name": "helper"}),
            "execute_tool": (
                "execute_tool get_weather",
                {
                    "gen_ai.tool.name": "get_weather",
                    "gen_ai.tool.type": "function",
                    "gen_ai.tool.call.arguments": '{"city": "Paris"}',
                },
            ),
            "retrieval": (
                "retrieval kb",
                {
                    "gen_ai.data_source.id": "kb",
                    "gen_ai.retrieval.query.text": "weather in Paris",
                    "gen_ai.retrieval.documents": '[{"id": "doc_1", "score": 0.9}]',
                },
            ),
            "embeddings": (
                "embeddings text-embedding-3-small",
                {
                    "gen_ai.request.model": "text-embedding-3-small",
                    "gen_ai.usage.input_tokens": 500,
                },
            ),
            "apply_guardrail": (
                "apply_guardrail Azure AI Content Safety",
                {
                    "gen_ai.guardrail.component.name": "Azure AI Content Safety",
                    "gen_ai.provider.name": "azure.ai.content_safety",
                },
            ),
            "search_memory": ("search_memory prefs", {"gen_ai.memory.query.text": "diet"}),
            "create_memory": ("create_memory prefs", {"gen_ai.memory.store.id": "prefs"}),
            "plan": ("plan helper", {}),
        }
        made = {
            operation: e.span(
                name,
                {"gen_ai.operation.name": operation, **extra},
                kind=SpanKind.CLIENT,
                start_ms=10,
                parent=workflow,
            )
            for operation, (name, extra) in rows.items()
        }
    spans = stored_trace(shared_store, workflow, len(rows) + 1, content=3)
    kinds = {operation: spans[span_id(s)]["kind"] for operation, s in made.items()}
    assert spans[span_id(workflow)]["kind"] == "WORKFLOW"
    assert kinds == {
        "create_agent": "AGENT",
        "invoke_agent": "AGENT",
        "execute_tool": "TOOL",
        "retrieval": "RETRIEVER",
        "embeddings": "EMBEDDING",
        "apply_guardrail": "GUARDRAIL",
        "search_memory": "MEMORY",
        "create_memory": "MEMORY",
        "plan": "CHAIN",
    }
    tool = spans[span_id(made["execute_tool"])]
    assert (tool["tool_name"], tool["tool_arguments"]) == ("get_weather", '{"city": "Paris"}')
    retrieval = spans[span_id(made["retrieval"])]["content"]
    assert retrieval["input"]["text"] == "weather in Paris"
    assert json.loads(retrieval["output"]["text"]) == [{"id": "doc_1", "score": 0.9}]
    assert spans[span_id(made["search_memory"])]["content"]["input"]["text"] == "diet"
    embedding = spans[span_id(made["embeddings"])]
    assert abs(embedding["cost_usd"] - 500 * 0.02 / 1e6) < 1e-15


def test_default_generation_with_per_message_events(shared_store: RunningStore) -> None:
    # opentelemetry-instrumentation-openai-v2 without the opt-in: deprecated gen_ai.system,
    # one log event per prompt message before the call, one gen_ai.choice after it.
    system = {"gen_ai.system": "openai"}
    with emitter(shared_store, "otel-default") as e:
        chat = e.start(
            "chat gpt-4o-mini",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
            },
            kind=SpanKind.CLIENT,
        )
        e.event(
            chat,
            "gen_ai.system.message",
            body={"content": "Answer in one word."},
            attributes=system,
        )
        e.event(
            chat, "gen_ai.user.message", body={"content": "Capital of France?"}, attributes=system
        )
        call = {
            "id": "call_1",
            "type": "function",
            "function": {"name": "lookup", "arguments": "{}"},
        }
        e.event(chat, "gen_ai.assistant.message", body={"tool_calls": [call]}, attributes=system)
        e.event(
            chat,
            "gen_ai.tool.message",
            body={"content": "Paris", "id": "call_1"},
            attributes=system,
        )
        chat.set_attributes(
            {
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.response.finish_reasons": ("stop",),
                "gen_ai.usage.input_tokens": 40,
                "gen_ai.usage.output_tokens": 1,
            }
        )
        choice = {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Paris"},
        }
        e.event(chat, "gen_ai.choice", body=choice, attributes=system)
        e.end(chat)
    got = stored_trace(shared_store, chat, 1, content=2)[span_id(chat)]
    assert (got["kind"], got["provider"], got["input_tokens"]) == ("LLM", "openai", 40)
    prompt = _messages(got["content"]["input"])
    assert [m["role"] for m in prompt] == ["system", "user", "assistant", "tool"]
    assert prompt[1]["content"] == "Capital of France?"
    assert prompt[2]["tool_calls"][0]["function"]["name"] == "lookup"
    assert prompt[3] == {"role": "tool", "content": "Paris", "tool_call_id": "call_1"}
    assert got["content"]["input"]["complete"] is True
    assert _messages(got["content"]["output"]) == [
        {"role": "assistant", "content": "Paris", "finish_reason": "stop"}
    ]


def test_deprecated_names_of_older_instrumentations(shared_store: RunningStore) -> None:
    with emitter(shared_store, "otel-deprecated") as e:
        chat = e.span(
            "chat gpt-4o-mini",
            {
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.prompt_tokens": 70,
                "gen_ai.usage.completion_tokens": 7,
                "gen_ai.prompt": "Say hi",
                "gen_ai.completion": "hi",
            },
            kind=SpanKind.CLIENT,
        )
    got = stored_trace(shared_store, chat, 1, content=2)[span_id(chat)]
    assert (got["provider"], got["input_tokens"], got["output_tokens"]) == ("openai", 70, 7)
    assert (got["content"]["input"]["text"], got["content"]["output"]["text"]) == ("Say hi", "hi")


def test_inference_details_event_carries_the_content(shared_store: RunningStore) -> None:
    # util-genai _maybe_create_event (content mode EVENT_ONLY): messages as structured attributes.
    request = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
    }
    with emitter(shared_store, "otel-events") as e:
        chat = e.start("chat gpt-4o-mini", request, kind=SpanKind.CLIENT)
        e.event(
            chat,
            "gen_ai.client.inference.operation.details",
            attributes={
                **request,
                "gen_ai.input.messages": [
                    {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}
                ],
                "gen_ai.output.messages": [
                    {
                        "role": "assistant",
                        "parts": [{"type": "text", "content": "Rainy, 14°C."}],
                        "finish_reason": "stop",
                    }
                ],
                "gen_ai.system_instructions": [{"type": "text", "content": "Be brief."}],
            },
        )
        e.end(chat)
    got = stored_trace(shared_store, chat, 1, content=2)[span_id(chat)]
    prompt = _messages(got["content"]["input"])
    assert prompt[0] == {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]}
    assert prompt[1]["parts"][0]["content"] == "Weather in Paris?"
    assert _messages(got["content"]["output"])[0]["parts"][0]["content"] == "Rainy, 14°C."


def test_vllm_request_span_is_the_model_server_layer(shared_store: RunningStore) -> None:
    # vllm/tracing.py SpanAttributes on the SERVER span "llm_request" (output_processor).
    with emitter(shared_store, "app") as app, emitter(shared_store, "vllm") as server:
        call = app.span(
            "chat Qwen/Qwen2.5-7B-Instruct",
            {"gen_ai.operation.name": "chat", "gen_ai.request.model": "Qwen/Qwen2.5-7B-Instruct"},
            kind=SpanKind.CLIENT,
            duration_ms=1000,
        )
        engine = server.span(
            "llm_request",
            {
                "gen_ai.response.model": "Qwen/Qwen2.5-7B-Instruct",
                "gen_ai.request.id": "cmpl-1",
                "gen_ai.request.top_p": 0.9,
                "gen_ai.request.max_tokens": 256,
                "gen_ai.usage.prompt_tokens": 900,
                "gen_ai.usage.completion_tokens": 100,
                "gen_ai.latency.time_in_queue": 0.01,
                "gen_ai.latency.time_to_first_token": 0.12,
                "gen_ai.latency.e2e": 0.9,
                "gen_ai.latency.time_in_model_prefill": 0.1,
                "gen_ai.latency.time_in_model_decode": 0.78,
            },
            kind=SpanKind.SERVER,
            start_ms=50,
            duration_ms=900,
            parent=call,
        )
    got = stored_trace(shared_store, call, 2)[span_id(engine)]
    assert (got["kind"], got["layer"]) == ("LLM", "model_server")
    assert got["response_model"] == "Qwen/Qwen2.5-7B-Instruct"
    assert (got["input_tokens"], got["output_tokens"], got["ttft_ms"]) == (900, 100, 120.0)


def test_mcp_client_and_server_spans(shared_store: RunningStore) -> None:
    # mcp 2.x: jsonrpc_dispatcher.py (client) and server/_otel.py (server middleware).
    with emitter(shared_store, "mcp-client") as client, emitter(shared_store, "mcp-server") as srv:
        init = client.span(
            "MCP send initialize",
            {"mcp.method.name": "initialize", "jsonrpc.request.id": "0"},
            kind=SpanKind.CLIENT,
        )
        send = client.span(
            "MCP send tools/call get_weather",
            {"mcp.method.name": "tools/call", "jsonrpc.request.id": "1"},
            kind=SpanKind.CLIENT,
            start_ms=100,
            parent=init,
        )
        handle = srv.span(
            "tools/call get_weather",
            {
                "mcp.method.name": "tools/call",
                "mcp.protocol.version": "2025-11-25",
                "mcp.session.id": "mcp-session-7",
                "jsonrpc.request.id": "1",
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_weather",
            },
            kind=SpanKind.SERVER,
            start_ms=110,
            duration_ms=500,
            parent=send,
        )
    spans = stored_trace(shared_store, init, 3)
    assert spans[span_id(init)]["kind"] == "MCP"
    client_call, server_call = spans[span_id(send)], spans[span_id(handle)]
    assert (client_call["kind"], client_call["tool_name"]) == ("TOOL", "get_weather")
    assert (server_call["kind"], server_call["tool_name"]) == ("TOOL", "get_weather")
    assert server_call["session_id"] == "mcp-session-7"
    assert client_call["attributes"]["mcp.method.name"] == "tools/call"
