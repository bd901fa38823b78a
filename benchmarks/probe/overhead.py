"""Overhead of OpenAI SDK instrumentations: added time per call and per stream chunk.

Side by side in one run: no instrumentation (baseline), the llmobs probe, the official
``opentelemetry-instrumentation-openai-v2``, OpenLLMetry's ``opentelemetry-instrumentation-openai``,
``openinference-instrumentation-openai`` and ``openlit``. Every mode runs the same openai SDK over
the same in-process HTTP transport (``httpx.MockTransport`` answering canned bodies), with the same
OpenTelemetry SDK pipeline (batching span processor, exporters that drop), so only the
instrumentation differs. Each mode runs in its own subprocess (instrumentations patch the SDK
globally), rounds are interleaved, and the best round of each mode is kept.

Per call: mean time of a non-streaming ``chat.completions.create``. Per chunk: the slope between
streams of 10 and 210 chunks, so per-call costs cancel out.

The peers are installed into a throwaway virtual environment (``.bench/probe-peers``), never into
the workspace lock. Run: ``nice uv run --frozen python benchmarks/probe/overhead.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".bench" / "probe-peers"
PEERS = [
    "openai<3",
    "opentelemetry-sdk",
    "opentelemetry-exporter-otlp-proto-http",
    "wrapt",
    "opentelemetry-instrumentation-openai-v2",
    "opentelemetry-util-genai<1.1",  # 1.1+ renamed the module openai-v2 2.4b0 imports
    "opentelemetry-instrumentation-openai",
    "openinference-instrumentation-openai",
    "openlit",
]
MODES = ["baseline", "llmobs", "otel-v2", "openllmetry", "openinference", "openlit"]
EXTRA_MODES = ["llmobs+content"]
N_CALLS = 1500
N_STREAMS = 40
SHORT, LONG = 10, 210
REPS = 3


# ------------------------------------------------------------------ the in-process server
def _completion() -> dict[str, Any]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "the model answers calmly"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
    }


def _sse(chunks: int) -> bytes:
    out = []
    for i in range(chunks):
        body = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini",
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


def _client() -> Any:
    import httpx
    import openai

    completion = json.dumps(_completion()).encode()
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
    return openai.OpenAI(api_key="bench", base_url="http://bench.local/v1", http_client=http)


# ------------------------------------------------------------------ instrumentation modes
class _Drop:
    """An exporter that counts and drops (spans, logs or metrics)."""

    def __init__(self) -> None:
        self.items = 0
        self._preferred_temporality: dict[Any, Any] = {}
        self._preferred_aggregation: dict[Any, Any] = {}

    def export(self, batch: Any, *args: Any, **kwargs: Any) -> Any:
        from opentelemetry.sdk.trace.export import SpanExportResult

        try:
            self.items += len(batch)
        except TypeError:
            self.items += 1
        return SpanExportResult.SUCCESS

    def shutdown(self, *args: Any, **kwargs: Any) -> None:
        return None

    def force_flush(self, *args: Any, **kwargs: Any) -> bool:
        return True


def _sdk() -> tuple[Any, Any, _Drop]:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    drop = _Drop()
    tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(drop))  # type: ignore[arg-type]
    mp = MeterProvider(metric_readers=[InMemoryMetricReader()])
    trace.set_tracer_provider(tp)
    metrics.set_meter_provider(mp)
    return tp, mp, drop


def _setup(mode: str) -> Any:
    """Instrument for ``mode``; returns a callable giving the number of spans exported."""
    if mode == "baseline":
        return lambda: 0
    if mode.startswith("llmobs"):
        sys.path[:0] = [str(ROOT / "components/probe/src"), str(ROOT / "components/semconv/src")]
        from llmobs_probe import _distro
        from llmobs_probe._settings import ProbeSettings

        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
        env["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] = "requests,httpx"
        if mode == "llmobs+content":
            env["LLMOBS_CAPTURE_CONTENT"] = "true"
        probe = _distro._build(ProbeSettings.from_env(env), install_globals=True)
        globals()["PROBE"] = probe
        drop = _Drop()
        probe.pipeline.worker._span_exporter = drop
        probe.pipeline.worker._log_exporter = _Drop()
        for reader in probe.pipeline._readers:
            reader._exporter = _Drop()
        import openai  # noqa: F401  # fires the post-import hook

        return lambda: drop.items
    tp, mp, drop = _sdk()
    if mode == "otel-v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
    elif mode == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as Traceloop

        Traceloop().instrument(tracer_provider=tp, meter_provider=mp)
    elif mode == "openinference":
        from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInference

        OpenInference().instrument(tracer_provider=tp)
    elif mode == "openlit":
        import openlit

        openlit.init(disabled_instrumentors=[], collect_gpu_stats=False)
    else:
        raise SystemExit(f"unknown mode {mode}")

    def exported() -> int:
        tp.force_flush()
        return drop.items

    return exported


def _measure(mode: str) -> dict[str, Any]:
    exported = _setup(mode)
    client = _client()
    messages = [{"role": "user", "content": "How calm is the model?"}]

    def calls(n: int) -> float:
        t0 = time.thread_time()
        for _ in range(n):
            client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        return (time.thread_time() - t0) / n

    def streams(n: int, chunks: int) -> float:
        headers = {"x-chunks": str(chunks)}
        t0 = time.thread_time()
        for _ in range(n):
            for _chunk in client.chat.completions.create(
                model="gpt-4o-mini", messages=messages, stream=True, extra_headers=headers
            ):
                pass
        return (time.thread_time() - t0) / n

    calls(100)
    streams(5, LONG)
    best: dict[str, float] = {}
    for _ in range(REPS):
        sample = {
            "call_s": calls(N_CALLS),
            "short_s": streams(N_STREAMS, SHORT),
            "long_s": streams(N_STREAMS, LONG),
        }
        for key, value in sample.items():
            best[key] = min(best.get(key, value), value)
    time.sleep(0.5)  # let the batch processors hand over what they hold
    return {"mode": mode, **best, "spans": exported()}


# ------------------------------------------------------------------ driver
def _ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["uv", "venv", "--quiet", "--python", "3.11", str(VENV)], check=True)
        subprocess.run(
            ["uv", "pip", "install", "--quiet", "--python", str(python), *PEERS], check=True
        )
    return python


def _versions(python: Path) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json;"
        "names=['openai','opentelemetry-sdk','opentelemetry-instrumentation-openai-v2',"
        "'opentelemetry-instrumentation-openai','openinference-instrumentation-openai','openlit'];"
        "print(json.dumps({n: m.version(n) for n in names}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "probe-overhead.json")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_measure(args.worker)))
        return
    python = _ensure_venv()
    modes = MODES + EXTRA_MODES
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
    for round_no in range(args.rounds):
        order = modes[:]
        random.shuffle(order)
        for mode in order:
            proc = subprocess.run(
                [str(python), __file__, "--worker", mode],
                capture_output=True,
                text=True,
                env=env,
                timeout=600,
            )
            if proc.returncode != 0:
                raise SystemExit(f"{mode} failed:\n{proc.stderr[-3000:]}")
            row = json.loads(proc.stdout.strip().splitlines()[-1])
            results[mode].append(row)
            print(f"round {round_no + 1} {mode:15s} {row}", file=sys.stderr)
    best = {
        m: {k: min(r[k] for r in rows) for k in ("call_s", "short_s", "long_s")}
        for m, rows in results.items()
    }
    base = best["baseline"]
    base_chunk = (base["long_s"] - base["short_s"]) / (LONG - SHORT)
    table = {}
    for mode, b in best.items():
        per_chunk = (b["long_s"] - b["short_s"]) / (LONG - SHORT)
        table[mode] = {
            "call_us": b["call_s"] * 1e6,
            "added_call_us": (b["call_s"] - base["call_s"]) * 1e6,
            "chunk_us": per_chunk * 1e6,
            "added_chunk_us": (per_chunk - base_chunk) * 1e6,
            "spans": min(r["spans"] for r in results[mode]),
        }
    report = {"versions": _versions(python), "modes": table, "rounds": args.rounds}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    official = table["otel-v2"]["added_call_us"]
    print(f"{'mode':16s} {'per call us':>12s} {'added':>9s} {'per chunk us':>13s} {'added':>8s}")
    for mode, row in table.items():
        print(
            f"{mode:16s} {row['call_us']:12.1f} {row['added_call_us']:9.1f} "
            f"{row['chunk_us']:13.2f} {row['added_chunk_us']:8.2f}"
        )
    ratio = table["llmobs"]["added_call_us"] / official if official > 0 else float("nan")
    print(f"llmobs / official added time per call: {ratio:.2f}x")


if __name__ == "__main__":
    main()
