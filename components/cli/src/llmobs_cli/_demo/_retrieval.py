"""Retrieval over the bundled corpus: a usearch vector index built from gateway embeddings."""

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
from opentelemetry import trace
from usearch.index import Index

from llmobs_semconv import attributes as A
from llmobs_semconv import span_kinds

EMBEDDING_MODEL = "text-embedding-3-small"


@dataclass(frozen=True)
class Document:
    """One document of the corpus."""

    id: str
    title: str
    text: str


def load_corpus() -> list[Document]:
    """The documents bundled with the demo (``corpus.json`` next to this module)."""
    raw = resources.files("llmobs_cli._demo").joinpath("corpus.json").read_text(encoding="utf-8")
    return [Document(**doc) for doc in json.loads(raw)]


class DocumentIndex:
    """Cosine-similarity search over the corpus; vectors come from the embeddings endpoint."""

    def __init__(
        self, client: Any, documents: list[Document], tracer: trace.Tracer | None = None
    ) -> None:
        self._client = client
        self._tracer = tracer or trace.get_tracer("llmobs.demo")
        self.documents = documents
        vectors = self._embed([f"{d.title}. {d.text}" for d in documents])
        self._index = Index(ndim=vectors.shape[1], metric="cos")
        self._index.add(np.arange(len(documents)), vectors)

    def _embed(self, texts: list[str]) -> np.ndarray:
        response = self._client.embeddings.create(model=EMBEDDING_MODEL, input=texts)
        return np.asarray([item.embedding for item in response.data], dtype=np.float32)

    def search(self, question: str, k: int = 3) -> list[Document]:
        """Embed the question and return the k nearest documents (a RETRIEVER span)."""
        with self._tracer.start_as_current_span("retrieval demo-docs") as span:
            span.set_attribute(A.GEN_AI_OPERATION_NAME, A.OP_RETRIEVAL)
            span.set_attribute(A.LLMOBS_SPAN_KIND, span_kinds.RETRIEVER)
            span.set_attribute(A.GEN_AI_DATA_SOURCE_ID, "demo-docs")
            vector = self._embed([question])[0]
            matches = self._index.search(vector, k)
            found = [self.documents[int(key)] for key in matches.keys]
            span.set_attribute("retrieval.document_ids", [d.id for d in found])
            return found
