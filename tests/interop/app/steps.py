"""The interop app's steps: the same calls for every family, each timed in its own window.

Runs inside a family's virtual environment (never the workspace's): only the app libraries
(openai, LangChain, LangGraph, LlamaIndex) and the family's own packages are importable. Each
step's prompts carry a marker (``ixq-<step>``) so the suite can tell whether a library captured
content, and each step records its wall-clock window so the suite can assign the simulator's
requests and the exported spans to it without any help from the family.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

CHAT_MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
API_KEY = "sk-interop-not-a-real-key"
DOCUMENTS = (
    "Time to first token is measured from the request to the first streamed chunk.",
    "A trace is the tree of spans one request causes across every process it touches.",
    "Tokens are priced per million, input and output separately, cached input cheaper.",
    "The store keeps one row per span and counts every model call exactly once.",
)
QUESTIONS = (
    "What is a span?",
    "And how is a span's duration measured?",
    "Summarise both answers in one line.",
)

#: ``turn(session_id, user_id)`` of an adapter: a context manager around one session turn that
#: yields ``(config, kwargs)``, the LangChain run config and call arguments the family's own
#: way of naming a session and a user needs.
Turn = Callable[[str, str], AbstractContextManager[tuple[dict[str, Any], dict[str, Any]]]]


@dataclass
class Steps:
    """Runs the steps against ``base_url`` (the simulator's ``/v1``) and records each one."""

    base_url: str
    turn: Turn
    session_id: str
    user_id: str
    windows: list[dict[str, Any]] = field(default_factory=list)
    answers: dict[str, list[str]] = field(default_factory=dict)

    @contextmanager
    def window(self, name: str) -> Iterator[list[str]]:
        answers: list[str] = []
        start = time.time_ns()
        try:
            yield answers
        finally:
            end = time.time_ns()
            self.windows.append({"step": name, "start_unix_nano": start, "end_unix_nano": end})
            self.answers[name] = answers
            time.sleep(0.02)  # a gap, so no span or request sits on two windows' edge

    def run_all(self) -> None:
        for step in (
            self.chat,
            self.stream,
            self.embeddings,
            self.chain,
            self.agent,
            self.llamaindex,
            self.remote_parent,
            self.session,
        ):
            step()

    # ------------------------------------------------------------------ openai SDK
    def _openai(self) -> Any:
        from openai import OpenAI

        return OpenAI(base_url=self.base_url, api_key=API_KEY, max_retries=0)

    def chat(self) -> None:
        client = self._openai()
        with self.window("chat") as answers:
            reply = client.chat.completions.create(
                model=CHAT_MODEL,
                messages=[{"role": "user", "content": "ixq-chat: what does a span measure?"}],
            )
            answers.append(reply.choices[0].message.content or "")

    def stream(self) -> None:
        client = self._openai()
        with self.window("stream") as answers:
            chunks = client.chat.completions.create(
                model=CHAT_MODEL,
                messages=[{"role": "user", "content": "ixq-stream: stream the answer please"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            answers.append("".join(c.choices[0].delta.content or "" for c in chunks if c.choices))

    def embeddings(self) -> None:
        client = self._openai()
        with self.window("embeddings"):
            client.embeddings.create(
                model=EMBEDDING_MODEL, input=["ixq-embeddings: spans, traces and sessions"]
            )

    # ------------------------------------------------------------------ LangChain
    def _chat_model(self) -> Any:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model=CHAT_MODEL, base_url=self.base_url, api_key=API_KEY, max_retries=0)

    def chain(self) -> None:
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import ChatPromptTemplate

        prompt = ChatPromptTemplate.from_messages(
            [("system", "You answer in one sentence."), ("user", "ixq-chain: {question}")]
        )
        chain = prompt | self._chat_model() | StrOutputParser()
        with self.window("chain") as answers:
            answers.append(chain.invoke({"question": "why do traces have roots?"}))

    def agent(self) -> None:
        """A ReAct agent whose one tool searches documents through a RAG retriever."""
        from langchain_core.tools import tool
        from langchain_core.vectorstores import InMemoryVectorStore
        from langchain_openai import OpenAIEmbeddings
        from langgraph.prebuilt import create_react_agent

        embeddings = OpenAIEmbeddings(
            model=EMBEDDING_MODEL,
            base_url=self.base_url,
            api_key=API_KEY,
            max_retries=0,
            check_embedding_ctx_length=False,  # plain text, no tiktoken download
        )
        with self.window("rag-index"):
            retriever = InMemoryVectorStore.from_texts(list(DOCUMENTS), embeddings).as_retriever(
                search_kwargs={"k": 2}
            )

        @tool
        def search_docs(query: str) -> str:
            """Search the observability handbook for passages about the query."""
            return "\n".join(doc.page_content for doc in retriever.invoke(query))

        agent = create_react_agent(self._chat_model(), [search_docs])
        with self.window("agent") as answers:
            state = agent.invoke(
                {"messages": [("user", "ixq-agent: how is time to first token measured?")]}
            )
            answers.append(str(state["messages"][-1].content))

    # ------------------------------------------------------------------ LlamaIndex
    def llamaindex(self) -> None:
        from llama_index.core import Document, VectorStoreIndex
        from llama_index.embeddings.openai import OpenAIEmbedding
        from llama_index.llms.openai import OpenAI as LlamaOpenAI

        llm = LlamaOpenAI(model=CHAT_MODEL, api_base=self.base_url, api_key=API_KEY, max_retries=0)
        embed = OpenAIEmbedding(
            model=EMBEDDING_MODEL, api_base=self.base_url, api_key=API_KEY, max_retries=0
        )
        with self.window("llamaindex") as answers:
            index = VectorStoreIndex.from_documents(
                [Document(text=text) for text in DOCUMENTS], embed_model=embed
            )
            engine = index.as_query_engine(llm=llm, similarity_top_k=2)
            answers.append(str(engine.query("ixq-llamaindex: what is priced per million?")))

    # ------------------------------------------------------------------ a remote parent
    def remote_parent(self) -> None:
        """A LangChain call made while serving an upstream caller's request: W3C trace context
        came in with it, so the trace's root is the caller's span, exported by the caller (not
        here) and the trace as this app exports it has no root span."""
        import secrets

        from opentelemetry import context
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        incoming = {"traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"}
        model = self._chat_model()
        with self.window("remote-parent") as answers:
            token = context.attach(TraceContextTextMapPropagator().extract(incoming))
            try:
                answers.append(str(model.invoke("ixq-remote-parent: who called me?").content))
            finally:
                context.detach(token)

    # ------------------------------------------------------------------ a session
    def session(self) -> None:
        """Three turns of one conversation, session and user named the family's own way."""
        from langchain_core.messages import BaseMessage, HumanMessage

        model = self._chat_model()
        history: list[BaseMessage] = []
        with self.window("session") as answers:
            for number, question in enumerate(QUESTIONS):
                history.append(HumanMessage(f"ixq-session-{number}: {question}"))
                with self.turn(self.session_id, self.user_id) as (config, kwargs):
                    reply = model.invoke(history, config=config, **kwargs)
                history.append(reply)
                answers.append(str(reply.content))
