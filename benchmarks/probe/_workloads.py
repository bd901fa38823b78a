"""The operations timed by the probe overhead benchmark, one builder per workload.

Runs inside a peer's virtual environment (``_worker.py``), after that peer's instrumentation is
switched on, so every library object is created instrumented. Each builder returns named
operations: a callable doing one unit of the user's work.

* ``openai``: the OpenAI SDK over an in-process ``httpx.MockTransport`` answering canned bodies
  (no network, no server process: the round the earlier figures came from), non-streaming calls
  and streams of ``SHORT`` and ``LONG`` chunks.
* ``langchain``: one invoke of prompt | ChatOpenAI | StrOutputParser.
* ``langgraph``: one step of a prebuilt ReAct agent (one model call that answers without a tool
  call, so the graph ends), with one tool bound.
* ``llamaindex``: one query of a SummaryIndex query engine over three nodes (one model call).

The three framework workloads call the llmobs model-server simulator (``llmobs simulator serve``,
TTFT and ITL 0) in its own process, so its CPU is not the measured process's.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

SHORT, LONG = 10, 210
MODEL = "gpt-4o-mini"
QUESTION = "How calm is the model?"
Ops = dict[str, Callable[[], Any]]


def _completion() -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "the model answers calmly"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        }
    ).encode()


def _sse(chunks: int) -> bytes:
    out = []
    for i in range(chunks):
        body = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": MODEL,
            "choices": [
                {
                    "index": 0,
                    "delta": {"content": "word "},
                    "finish_reason": "stop" if i == chunks - 1 else None,
                }
            ],
        }
        out.append(b"data: " + json.dumps(body).encode() + b"\n\n")
    out.append(b"data: [DONE]\n\n")
    return b"".join(out)


def openai_ops(_sim: str) -> Ops:
    import httpx
    import openai

    completion = _completion()
    streams = {SHORT: _sse(SHORT), LONG: _sse(LONG)}

    def handler(request: Any) -> Any:
        body = json.loads(request.content)
        if body.get("stream"):
            n = int(request.headers.get("x-chunks", SHORT))
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=streams[n]
            )
        return httpx.Response(200, headers={"content-type": "application/json"}, content=completion)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    client = openai.OpenAI(api_key="bench", base_url="http://bench.local/v1", http_client=http)
    messages = [{"role": "user", "content": QUESTION}]

    def call() -> Any:
        return client.chat.completions.create(model=MODEL, messages=messages)

    def stream(chunks: int) -> Callable[[], None]:
        headers = {"x-chunks": str(chunks)}

        def run() -> None:
            for _chunk in client.chat.completions.create(
                model=MODEL, messages=messages, stream=True, extra_headers=headers
            ):
                pass

        return run

    return {"call": call, "stream_short": stream(SHORT), "stream_long": stream(LONG)}


def _chat_model(sim: str) -> Any:
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=MODEL, base_url=sim + "/v1", api_key="bench", max_retries=0)


def langchain_ops(sim: str) -> Ops:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages([("system", "Answer briefly."), ("user", "{q}")])
    chain = prompt | _chat_model(sim) | StrOutputParser()
    return {"invoke": lambda: chain.invoke({"q": QUESTION})}


def langgraph_ops(sim: str) -> Ops:
    from langchain_core.tools import tool

    with warnings.catch_warnings():
        # langgraph 1.x marks create_react_agent deprecated (moved to langchain.agents); it is
        # still the prebuilt agent every peer's LangGraph instrumentation targets.
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

        @tool
        def weather(city: str) -> str:
            """The weather in a city."""
            return f"calm in {city}"

        agent = create_react_agent(_chat_model(sim), [weather])
    messages = {"messages": [("user", QUESTION)]}
    return {"step": lambda: agent.invoke(messages)}


def llamaindex_ops(sim: str) -> Ops:
    from llama_index.core import SummaryIndex
    from llama_index.core.schema import TextNode
    from llama_index.llms.openai import OpenAI

    llm = OpenAI(model=MODEL, api_base=sim + "/v1", api_key="bench", max_retries=0)
    texts = [
        "The model answers calmly.",
        "Calm models keep their latency low.",
        "A simulator stands in for the model server.",
    ]
    index = SummaryIndex([TextNode(text=t) for t in texts])
    engine = index.as_query_engine(llm=llm)
    return {"query": lambda: engine.query(QUESTION)}


BUILDERS: dict[str, Callable[[str], Ops]] = {
    "openai": openai_ops,
    "langchain": langchain_ops,
    "langgraph": langgraph_ops,
    "llamaindex": llamaindex_ops,
}
