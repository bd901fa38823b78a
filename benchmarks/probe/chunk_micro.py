"""The probe's own cost per stream chunk, isolated from the SDK's SSE parsing.

The end-to-end benchmark (``overhead.py``) measures added time per chunk as a difference of two
large numbers (the SDK spends tens of microseconds parsing each chunk), so on a busy machine its
noise is larger than the probe's cost. Here the same proxy and chunk handler the probe uses run
over real ``ChatCompletionChunk`` objects already parsed, against the bare iteration; CPU time of
the calling thread, best of 5. Run with the benchmark venv:
``.bench/probe-peers/bin/python benchmarks/probe/chunk_micro.py`` (after ``overhead.py``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "components/probe/src"), str(ROOT / "components/semconv/src")]

N = 200_000


def measure(capture: bool) -> float:
    """Added nanoseconds per chunk, with content capture on or off."""
    from openai.types.chat import ChatCompletionChunk

    from llmobs_probe import _distro
    from llmobs_probe._call import Call
    from llmobs_probe._settings import ProbeSettings
    from llmobs_probe.instrumentation.openai._handlers import Chat
    from llmobs_probe.instrumentation.openai._streams import SyncStream

    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "requests,httpx",
        "LLMOBS_CAPTURE_CONTENT": "true" if capture else "false",
    }
    probe = _distro._build(ProbeSettings.from_env(env), install_globals=False)
    rt = probe.runtime
    chunk = ChatCompletionChunk.model_validate(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "word "}, "finish_reason": None}],
        }
    )
    chunks = [chunk] * N

    class Source:
        def __init__(self) -> None:
            self._iterator = iter(chunks)

        def __next__(self) -> Any:
            return self._iterator.__next__()

        def __iter__(self) -> Source:
            return self

    def bare() -> float:
        t0 = time.thread_time()
        for _ in Source():
            pass
        return time.thread_time() - t0

    def instrumented() -> float:
        span = rt.tracer.start_span("chat m")
        call = Call(rt, span, "chat", "openai", "m")
        call.stream = True
        if rt.content is not None:
            call.out = rt.content.open(span, "output")
        t0 = time.thread_time()
        for _ in SyncStream(Source(), call, Chat.chunk):
            pass
        return time.thread_time() - t0

    b = min(bare() for _ in range(5))
    w = min(instrumented() for _ in range(5))
    probe.shutdown()
    return (w - b) / N * 1e9


def main() -> None:
    results = {"default": measure(False), "capture": measure(True)}
    print(json.dumps({"added_ns_per_chunk": results}))


if __name__ == "__main__":
    main()
