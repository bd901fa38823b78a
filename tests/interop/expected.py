"""The cells of the compatibility matrix known to fail today, and why: the one table to flip.

Each entry is (family, capability) -> what the store is missing. The suite marks these cells
``xfail(strict=True)``: when a fix lands and a cell starts passing, the suite fails until its
entry is removed here (and docs/compatibility.md regenerated with ``python -m
tests.interop.report``), so this table is always the current list of the store's gaps, and the
spec for closing them.
"""

from __future__ import annotations

_OI_TWICE = (
    "Every call made through a framework is recorded twice with the same usage and both are "
    "counted: LlamaIndex's `OpenAI.chat` LLM span over the SDK's `ChatCompletion` LLM span "
    "(nested, one trace), and LangChain's `ChatOpenAI` LLM span beside the SDK's "
    "`ChatCompletion`, which is a separate root trace, because OpenInference's LangChain tracer "
    "never makes its span current (openinference/instrumentation/langchain/_tracer.py, by "
    "design). An LLM span with an LLM descendant must not be counted; and the SDK span that "
    "is a trace of its own must be recognised as the framework span's call (same service, "
    "model and usage, inside the framework span's time) and not counted either."
)
_OI_SESSION = (
    "Follows from the separate SDK traces: each LangChain turn is two traces (`ChatOpenAI`, "
    "and the SDK's `ChatCompletion` under no parent), both carrying the session, so the 3-turn "
    "session lists 6 turns. The SDK trace has to be folded into the turn it belongs to."
)

EXPECTED_FAILURES: dict[tuple[str, str], str] = {
    ("openinference", "session"): _OI_SESSION,
    ("openinference", "counted_once"): _OI_TWICE,
}
