"""The demo's chatbot, retrieval and traffic against the real model-server simulator.

Spans go to an in-memory exporter of a private TracerProvider (never the global one), so the tests
see exactly what the probe would export: the retrieval, the tool call, and the research agent's
loop — the same tool with the same arguments, step after step.
"""

import importlib.util
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmobs_cli._demo._chatbot import AGENT_MAX_STEPS, Chatbot, Conversation
from llmobs_cli._demo._retrieval import DocumentIndex, load_corpus
from llmobs_cli._demo._traffic import Traffic
from llmobs_semconv import attributes as A
from llmobs_testing.prereq import require


@pytest.fixture(scope="module")
def simulator() -> Iterator[str]:
    require(
        importlib.util.find_spec("llmobs_testing.simulator") is not None,
        "the model-server simulator (llmobs_testing.simulator)",
        "git merge main once the simulator has landed",
    )
    from llmobs_testing.servers import serve_app
    from llmobs_testing.simulator import ModelProfile, SimulatorSettings, create_app

    settings = SimulatorSettings(
        models=[
            ModelProfile(name="gpt-4o-mini", ttft_s=0.005, itl_s=0.001),
            ModelProfile(name="text-embedding-3-small"),
        ]
    )
    with serve_app(create_app(settings)) as url:
        yield f"{url}/v1"


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def bot(simulator: str, spans: InMemorySpanExporter) -> Iterator[Chatbot]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("test")
    client = openai.OpenAI(base_url=simulator, api_key="k", max_retries=0, timeout=30)
    index = DocumentIndex(client, load_corpus(), tracer)
    yield Chatbot(client, index, tracer)
    client.close()
    provider.shutdown()


def named(exporter: InMemorySpanExporter, prefix: str) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith(prefix)]


def test_the_corpus_is_small_and_complete() -> None:
    docs = load_corpus()
    assert 20 <= len(docs) <= 80
    assert len({d.id for d in docs}) == len(docs)
    assert all(d.title and d.text for d in docs)


def test_a_turn_retrieves_calls_the_tool_and_streams_an_answer(
    bot: Chatbot, spans: InMemorySpanExporter
) -> None:
    conv = Conversation(session_id="s-1", user_id="u-1", model="gpt-4o-mini")
    answer = bot.turn(conv, "How is the cost of a request computed?", 24, use_tool=True)
    assert answer
    assert [m["role"] for m in conv.history] == ["user", "assistant"]
    (retrieval,) = named(spans, "retrieval ")
    assert len(retrieval.attributes["retrieval.document_ids"]) == 3
    (tool,) = named(spans, "execute_tool ")
    assert tool.attributes[A.GEN_AI_TOOL_NAME] == "get_model_price"
    result = json.loads(tool.attributes[A.GEN_AI_TOOL_CALL_RESULT])
    assert result["input_per_1m"] > 0
    (turn,) = named(spans, "chat docs-assistant")
    assert retrieval.parent.span_id == turn.context.span_id
    assert tool.parent.span_id == turn.context.span_id


def test_the_research_agent_loops_on_one_identical_tool_call(
    bot: Chatbot, spans: InMemorySpanExporter
) -> None:
    conv = Conversation(session_id="s-2", user_id="u-2", model="gpt-4o-mini")
    steps = bot.research(conv, "Find recent articles about LLM observability tools.")
    assert steps == AGENT_MAX_STEPS
    tools = named(spans, "execute_tool search_web")
    # The fingerprint loop detectors use: (tool name, arguments) — one value, repeated each step.
    fingerprints = {
        (t.attributes[A.GEN_AI_TOOL_NAME], t.attributes[A.GEN_AI_TOOL_CALL_ARGUMENTS])
        for t in tools
    }
    assert len(tools) == AGENT_MAX_STEPS
    assert len(fingerprints) == 1
    (agent,) = named(spans, "invoke_agent ")
    assert all(t.parent.span_id == agent.context.span_id for t in tools)
    assert agent.attributes["llmobs.demo.agent.gave_up"] is True


def test_traffic_holds_sessions_for_several_users_and_stops_promptly(bot: Chatbot) -> None:
    stop = threading.Event()
    traffic = Traffic(bot, users=3, stop=stop, seed=3, pace=0.05)
    threads = traffic.start()
    deadline = time.monotonic() + 20
    while traffic.counters.turns < 8 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    c = traffic.counters
    assert c.turns >= 8
    assert c.errors == 0
    assert c.sessions >= 3
    assert c.agent_runs >= 1  # the second user's first session runs the agent early
