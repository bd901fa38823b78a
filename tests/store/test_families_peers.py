"""OpenInference, OpenLLMetry, OpenLIT, LoongSuite and PromptFlow spans, shaped as each library
emits them, through the real SDK and OTLP into a real store.

Shapes come from the sources named in ``llmobs_semconv.families`` (each library's semantic
conventions module and the instrumentation code that sets the attributes); each test asserts
what the store's API answers for the trace.
"""

import json
from typing import Any

from opentelemetry.trace import SpanKind

from tests.store.conftest import RunningStore
from tests.store.family_emit import emitter, span_id, stored_trace


def _json(content: dict[str, Any] | None) -> Any:
    assert content is not None, "no content record"
    return json.loads(content["text"])


def test_openinference_embedding_and_streamed_llm(shared_store: RunningStore) -> None:
    # openinference-instrumentation-openai: _response_attributes_extractor.py, _stream.py.
    with emitter(shared_store, "oi-app") as e:
        embed = e.span(
            "CreateEmbeddings",
            {
                "openinference.span.kind": "EMBEDDING",
                "llm.system": "openai",
                "llm.provider": "openai",
                "embedding.model_name": "text-embedding-3-small",
                "embedding.embeddings.0.embedding.text": "hello",
                "llm.token_count.prompt": 1000,
                "llm.token_count.total": 1000,
                "input.value": '{"input": "hello", "model": "text-embedding-3-small"}',
                "input.mime_type": "application/json",
            },
        )
        chat = e.span(
            "ChatCompletion",
            {
                "openinference.span.kind": "LLM",
                "llm.system": "openai",
                "llm.provider": "openai",
                "llm.model_name": "gpt-4o-mini-2024-07-18",
                "llm.input_messages.0.message.role": "system",
                "llm.input_messages.0.message.content": "Be brief.",
                "llm.input_messages.1.message.role": "user",
                "llm.input_messages.1.message.content": "Capital of France?",
                "llm.output_messages.0.message.role": "assistant",
                "llm.output_messages.0.message.content": "Paris.",
                "llm.token_count.prompt": 1000,
                "llm.token_count.completion": 51,
                "llm.token_count.total": 1051,
                "llm.token_count.prompt_details.cache_read": 400,
                "input.value": '{"messages": [], "model": "gpt-4o-mini", "stream": true}',
                "output.value": "Paris.",
            },
            kind=SpanKind.INTERNAL,
            start_ms=100,
            duration_ms=1180,
            parent=embed,
            events=(("First Token Stream Event", 180, {}),),
        )
    spans = stored_trace(shared_store, embed, 2, content=3)
    got = spans[span_id(embed)]
    assert got["kind"] == "EMBEDDING"
    assert (got["request_model"], got["response_model"]) == ("text-embedding-3-small",) * 2
    assert got["input_tokens"] == 1000
    assert abs(got["cost_usd"] - 1000 * 0.02 / 1e6) < 1e-15
    llm = spans[span_id(chat)]
    assert (llm["kind"], llm["response_model"], llm["ttft_ms"]) == (
        "LLM",
        "gpt-4o-mini-2024-07-18",
        180.0,
    )
    assert (llm["input_tokens"], llm["output_tokens"], llm["cached_tokens"]) == (1000, 51, 400)
    # The flattened messages are the prompt shown; the raw request stays an attribute.
    assert _json(llm["content"]["input"]) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert _json(llm["content"]["output"]) == [{"role": "assistant", "content": "Paris."}]
    assert "input.value" in llm["attributes"]
    assert "llm.input_messages.0.message.content" not in llm["attributes"]


def test_openllmetry_streamed_chat_ttft_session_and_user(shared_store: RunningStore) -> None:
    # opentelemetry-instrumentation-openai chat_wrappers.py: one span event per streamed chunk;
    # traceloop-sdk association properties; gen_ai.user from the request's ``user``.
    chunk = "gen_ai.content.completion.chunk"
    with emitter(shared_store, "tl-app") as e:
        chat = e.span(
            "openai.chat",
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.is_streaming": True,
                "gen_ai.user": "end-user-9",
                "traceloop.association.properties.session_id": "tl-session-1",
                "gen_ai.usage.input_tokens": 20,
                "gen_ai.usage.output_tokens": 3,
                "gen_ai.usage.total_tokens": 23,
                "gen_ai.input.messages": json.dumps(
                    [{"role": "user", "parts": [{"content": "hi", "type": "text"}]}]
                ),
            },
            kind=SpanKind.CLIENT,
            duration_ms=400,
            events=((chunk, 250, {}), (chunk, 300, {}), (chunk, 350, {})),
        )
        decorated = e.span(
            "my_workflow.workflow",
            {
                "traceloop.span.kind": "workflow",
                "traceloop.entity.name": "my_workflow",
                "traceloop.association.properties.user_id": "tl-user-2",
                "traceloop.entity.input": json.dumps({"args": ["q"], "kwargs": {}}),
                "traceloop.entity.output": json.dumps("answer"),
            },
            parent=chat,
        )
    spans = stored_trace(shared_store, chat, 2, content=3)
    got = spans[span_id(chat)]
    assert got["ttft_ms"] == 250.0
    assert (got["session_id"], got["user_id"]) == ("tl-session-1", "end-user-9")
    # Two more tokens after the first chunk, over the last 150 ms.
    assert abs(got["tpot_ms"] - 75.0) < 1e-9
    workflow = spans[span_id(decorated)]
    assert (workflow["kind"], workflow["user_id"]) == ("WORKFLOW", "tl-user-2")
    assert _json(workflow["content"]["input"]) == {"args": ["q"], "kwargs": {}}
    assert _json(workflow["content"]["output"]) == "answer"


def test_openllmetry_langchain_kinds_and_task_content(shared_store: RunningStore) -> None:
    # opentelemetry-instrumentation-langchain callback_handler.py (_create_task_span,
    # on_retriever_start): every workflow also says invoke_agent; tasks say execute_task.
    common = {"gen_ai.provider.name": "langchain", "traceloop.workflow.name": "RunnableSequence"}
    with emitter(shared_store, "tl-langchain") as e:
        workflow = e.span(
            "RunnableSequence.workflow",
            {
                **common,
                "traceloop.span.kind": "workflow",
                "traceloop.entity.name": "RunnableSequence",
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": "RunnableSequence",
            },
            duration_ms=3000,
        )
        spans_by_role = {
            "agent": e.span(
                "AgentExecutor.agent",
                {**common, "traceloop.span.kind": "agent", "gen_ai.operation.name": "invoke_agent"},
                parent=workflow,
            ),
            "task": e.span(
                "execute_task ChatPromptTemplate",
                {
                    **common,
                    "traceloop.span.kind": "task",
                    "gen_ai.operation.name": "execute_task",
                    "gen_ai.task.name": "ChatPromptTemplate",
                    "gen_ai.task.input": json.dumps({"question": "why?"}),
                    "gen_ai.task.output": json.dumps({"messages": []}),
                },
                parent=workflow,
            ),
            "retriever": e.span(
                "vector_db_retrieve VectorStoreRetriever",
                {
                    **common,
                    "traceloop.span.kind": "task",
                    "gen_ai.operation.name": "vector_db_retrieve",
                    "traceloop.entity.name": "VectorStoreRetriever",
                },
                kind=SpanKind.CLIENT,
                parent=workflow,
            ),
            "tool": e.span(
                "execute_tool get_weather",
                {
                    **common,
                    "traceloop.span.kind": "tool",
                    "gen_ai.operation.name": "execute_tool",
                    "gen_ai.tool.name": "get_weather",
                },
                parent=workflow,
            ),
            # traceloop-sdk @task without an operation name (decorators/base.py).
            "decorated_task": e.span(
                "clean.task", {"traceloop.span.kind": "task"}, parent=workflow
            ),
            # An older release: only the legacy request type and flattened prompts.
            "legacy_chat": e.span(
                "openai.chat",
                {
                    "llm.request.type": "chat",
                    "gen_ai.system": "openai",
                    "gen_ai.request.model": "gpt-3.5-turbo",
                    "gen_ai.prompt.0.role": "user",
                    "gen_ai.prompt.0.content": "hello",
                    "gen_ai.completion.0.role": "assistant",
                    "gen_ai.completion.0.content": "hi there",
                    "gen_ai.completion.0.finish_reason": "stop",
                },
                kind=SpanKind.CLIENT,
                parent=workflow,
            ),
            "legacy_embedding": e.span(
                "openai.embeddings",
                {"llm.request.type": "embedding", "gen_ai.request.model": "text-embedding-ada-002"},
                kind=SpanKind.CLIENT,
                parent=workflow,
            ),
        }
    spans = stored_trace(shared_store, workflow, 8, content=4)
    assert spans[span_id(workflow)]["kind"] == "WORKFLOW"
    assert {role: spans[span_id(s)]["kind"] for role, s in spans_by_role.items()} == {
        "agent": "AGENT",
        "task": "CHAIN",
        "retriever": "RETRIEVER",
        "tool": "TOOL",
        "decorated_task": "CHAIN",
        "legacy_chat": "LLM",
        "legacy_embedding": "EMBEDDING",
    }
    task = spans[span_id(spans_by_role["task"])]["content"]
    assert _json(task["input"]) == {"question": "why?"}
    legacy = spans[span_id(spans_by_role["legacy_chat"])]["content"]
    assert _json(legacy["input"]) == [{"role": "user", "content": "hello"}]
    assert _json(legacy["output"])[0]["content"] == "hi there"


def test_openlit_streaming_metrics_cost_and_user(shared_store: RunningStore) -> None:
    # openlit __helpers.py common_span_attributes and instrumentation/openai/utils.py.
    with emitter(shared_store, "openlit-app") as e:
        chat = e.span(
            "chat gpt-4o-mini",
            {
                "telemetry.sdk.name": "openlit",
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.request.stream": True,
                "gen_ai.server.time_to_first_token": 0.31,
                "gen_ai.server.time_per_output_token": 0.021,
                "gen_ai.usage.input_tokens": 400,
                "gen_ai.usage.output_tokens": 100,
                "gen_ai.usage.total_tokens": 500,
                "gen_ai.client.token.usage": 500,
                "gen_ai.usage.cost": 0.0123,
                "gen_ai.request.user": "lit-user",
            },
            kind=SpanKind.CLIENT,
            duration_ms=2400,
        )
    got = stored_trace(shared_store, chat, 1)[span_id(chat)]
    assert (got["ttft_ms"], got["tpot_ms"]) == (310.0, 21.0)
    assert got["cost_usd"] == 0.0123
    # OpenLIT's total, split in the price table's input/output proportion.
    price_in, price_out = 400 * 0.15, 100 * 0.60
    assert abs(got["input_cost_usd"] - 0.0123 * price_in / (price_in + price_out)) < 1e-12
    assert got["user_id"] == "lit-user"


def test_loongsuite_kinds_entry_session_and_ttft(shared_store: RunningStore) -> None:
    # loongsuite-util-genai extended_span_utils.py / extended_semconv: gen_ai.span.kind on every
    # span, session and user on the ENTRY span, TTFT in nanoseconds, total tokens.
    with emitter(shared_store, "loongsuite-app") as e:
        entry = e.span(
            "enter_ai_application_system",
            {
                "gen_ai.span.kind": "ENTRY",
                "gen_ai.operation.name": "enter",
                "gen_ai.session.id": "ls-session",
                "gen_ai.user.id": "ls-user",
                "gen_ai.response.time_to_first_token": 640_000_000,
            },
            duration_ms=4000,
        )
        kinds = {
            "AGENT": ("invoke_agent", {}),
            "STEP": ("react", {"gen_ai.react.round": 1}),
            "LLM": (
                "chat",
                {
                    "gen_ai.provider.name": "dashscope",
                    "gen_ai.request.model": "qwen-plus",
                    "gen_ai.usage.input_tokens": 300,
                    "gen_ai.usage.output_tokens": 60,
                    "gen_ai.usage.total_tokens": 360,
                    "gen_ai.response.time_to_first_token": 450_000_000,
                },
            ),
            "EMBEDDING": (
                "embeddings",
                {
                    "gen_ai.request.model": "text-embedding-v3",
                    "gen_ai.usage.input_tokens": 80,
                    "gen_ai.usage.total_tokens": 80,
                },
            ),
            "TOOL": ("execute_tool", {"gen_ai.tool.name": "search"}),
            "RETRIEVER": ("retrieval", {}),
            "RERANKER": ("rerank_documents", {}),
            "MEMORY": ("memory_operation", {"gen_ai.memory.operation": "search"}),
        }
        made = {
            kind: e.span(
                f"{operation} {kind.lower()}",
                {"gen_ai.span.kind": kind, "gen_ai.operation.name": operation, **extra},
                parent=entry,
            )
            for kind, (operation, extra) in kinds.items()
        }
    spans = stored_trace(shared_store, entry, len(kinds) + 1)
    root = spans[span_id(entry)]
    assert (root["kind"], root["session_id"], root["user_id"]) == (
        "WORKFLOW",
        "ls-session",
        "ls-user",
    )
    assert root["ttft_ms"] == 640.0
    assert {kind: spans[span_id(s)]["kind"] for kind, s in made.items()} == {
        "AGENT": "AGENT",
        "STEP": "CHAIN",
        "LLM": "LLM",
        "EMBEDDING": "EMBEDDING",
        "TOOL": "TOOL",
        "RETRIEVER": "RETRIEVER",
        "RERANKER": "RERANKER",
        "MEMORY": "MEMORY",
    }
    llm = spans[span_id(made["LLM"])]
    assert (llm["input_tokens"], llm["output_tokens"], llm["ttft_ms"]) == (300, 60, 450.0)
    assert spans[span_id(made["EMBEDDING"])]["input_tokens"] == 80


def test_promptflow_kinds_model_and_tokens_counted_once(shared_store: RunningStore) -> None:
    # promptflow-tracing _trace.py: enrich_span_with_trace / _input / _llm / _openai_tokens.
    trace_attrs = {"framework": "promptflow"}
    cumulative = {
        "__computed__.cumulative_token_count.prompt": 100,
        "__computed__.cumulative_token_count.completion": 20,
        "__computed__.cumulative_token_count.total": 120,
    }
    with emitter(shared_store, "promptflow-app") as e:
        flow = e.span(
            "my_flow",
            {
                **trace_attrs,
                **cumulative,
                "span_type": "Flow",
                "function": "my_flow",
                "inputs": json.dumps({"question": "why?"}, indent=2),
                "output": json.dumps("because", indent=2),
            },
            duration_ms=2000,
        )
        step = e.span(
            "prepare",
            {**trace_attrs, "span_type": "Function", "function": "prepare"},
            parent=flow,
        )
        chat = e.span(
            "openai_chat",
            {
                **trace_attrs,
                **cumulative,
                "span_type": "LLM",
                "function": "openai.resources.chat.completions.Completions.create",
                "inputs": json.dumps({"model": "gpt-4o-mini", "messages": []}, indent=2),
                "llm.response.model": "gpt-4o-mini",
                "llm.generated_message": json.dumps({"role": "assistant", "content": "because"}),
                "llm.usage.prompt_tokens": 100,
                "llm.usage.completion_tokens": 20,
                "llm.usage.total_tokens": 120,
            },
            parent=step,
        )
        # A span of another library with a generic ``output`` attribute: not PromptFlow's.
        other = e.span("job", {"output": "kept as an attribute"}, parent=flow)
    spans = stored_trace(shared_store, flow, 4)
    root, llm = spans[span_id(flow)], spans[span_id(chat)]
    assert (root["kind"], root["input_tokens"], root["output_tokens"]) == ("WORKFLOW", 0, 0)
    assert spans[span_id(step)]["kind"] == "CHAIN"
    assert (llm["kind"], llm["response_model"]) == ("LLM", "gpt-4o-mini")
    assert (llm["input_tokens"], llm["output_tokens"]) == (100, 20)
    assert abs(llm["cost_usd"] - (100 * 0.15 + 20 * 0.60) / 1e6) < 1e-15
    assert _json(llm["content"]["output"]) == {"role": "assistant", "content": "because"}
    assert _json(root["content"]["input"]) == {"question": "why?"}
    job = spans[span_id(other)]
    assert job["attributes"]["output"] == "kept as an attribute"
    assert job["content"]["output"] is None
