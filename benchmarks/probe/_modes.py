"""Switch on one instrumentation (a mode) for one workload, in the current process.

Runs inside the mode's peer environment (``_worker.py``). Every peer gets the same OpenTelemetry
SDK pipeline: a batching span processor into an exporter that counts and drops, and an in-memory
metric reader, so only the instrumentation differs. The llmobs probe keeps its own pipeline (its
export worker) with its exporters swapped for the same counting ones. Each peer runs with its
defaults, content capture included (on by default in OpenLLMetry and OpenInference, off in ours
and in the official OpenAI instrumentation; ``llmobs+content`` is ours with it on).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL = "gpt-4o-mini"
OPENLIT_PRICE = {"promptPrice": 0.00015, "completionPrice": 0.0006}  # USD per 1k tokens


@dataclass
class Instrumented:
    """The switched-on mode: ``flush`` hands every finished span to the exporter (blocking),
    ``spans`` says how many the exporter has received."""

    flush: Callable[[], Any]
    spans: Callable[[], int]


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


def _sdk() -> tuple[Any, Any, Callable[[], Any], _Drop]:
    """Global tracer, meter and logger providers; the loggers' too, or OpenLIT would print its
    events to stdout (its default without a logger provider) and pay for that."""
    from opentelemetry import _logs, metrics, trace
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    drop = _Drop()
    tp = TracerProvider()
    tp.add_span_processor(BatchSpanProcessor(drop))  # type: ignore[arg-type]
    mp = MeterProvider(metric_readers=[InMemoryMetricReader()])
    lp = LoggerProvider()
    lp.add_log_record_processor(BatchLogRecordProcessor(_Drop()))  # type: ignore[arg-type]
    trace.set_tracer_provider(tp)
    metrics.set_meter_provider(mp)
    _logs.set_logger_provider(lp)

    def flush() -> None:
        tp.force_flush()
        lp.force_flush()

    return tp, mp, flush, drop


def _llmobs(content: bool) -> Instrumented:
    """The probe as ``llmobs-instrument`` starts it: every instrumentation it registers (the
    OpenAI SDK's today; LangChain's and LlamaIndex's once they land) hooks its library's import."""
    from llmobs_probe import _distro
    from llmobs_probe._settings import ProbeSettings

    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
        "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "requests,httpx",
    }
    if content:
        env["LLMOBS_CAPTURE_CONTENT"] = "true"
    probe = _distro._build(ProbeSettings.from_env(env), install_globals=True)
    drop = _Drop()
    # Swap the probe's OTLP exporters for the counting ones (private attributes: a benchmark of
    # this checkout's own pipeline, not an API).
    probe.pipeline.worker._span_exporter = drop
    probe.pipeline.worker._log_exporter = _Drop()
    for reader in probe.pipeline._readers:
        reader._exporter = _Drop()
    return Instrumented(flush=probe.flush, spans=lambda: drop.items)


def _instrument(mode: str, workload: str, tp: Any, mp: Any) -> None:
    framework = workload in ("langchain", "langgraph")
    if mode == "otel-v2" and workload == "openai":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
    elif mode == "openlit" and workload == "openai":
        import openlit

        # Its default price list is fetched from the network at init (unreachable here): give
        # it a local file of the same shape, so its cost lookup runs as it does for a user.
        prices = Path(tempfile.mkdtemp(prefix="openlit-")) / "pricing.json"
        prices.write_text(json.dumps({"chat": {MODEL: OPENLIT_PRICE}}))
        openlit.init(disabled_instrumentors=[], collect_gpu_stats=False, pricing_json=str(prices))
    elif mode == "openllmetry" and workload == "openai":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor as Traceloop

        Traceloop().instrument(tracer_provider=tp, meter_provider=mp)
    elif mode == "openllmetry" and framework:
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor

        LangchainInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
    elif mode == "openllmetry" and workload == "llamaindex":
        from opentelemetry.instrumentation.llamaindex import LlamaIndexInstrumentor as TlIndex

        TlIndex().instrument(tracer_provider=tp, meter_provider=mp)
    elif mode == "openinference" and workload == "openai":
        from openinference.instrumentation.openai import OpenAIInstrumentor as OiOpenAI

        OiOpenAI().instrument(tracer_provider=tp)
    elif mode == "openinference" and framework:  # LangGraph runs on LangChain's callbacks
        from openinference.instrumentation.langchain import LangChainInstrumentor as OiChain

        OiChain().instrument(tracer_provider=tp)
    elif mode == "openinference" and workload == "llamaindex":
        from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

        LlamaIndexInstrumentor().instrument(tracer_provider=tp)
    elif mode == "loongsuite" and framework:
        from opentelemetry.instrumentation.langchain import LangChainInstrumentor as LsChain

        LsChain().instrument(tracer_provider=tp, meter_provider=mp)
        if workload == "langgraph":  # adds the agent's own spans on top of LangChain's
            from opentelemetry.instrumentation.langgraph import LangGraphInstrumentor

            LangGraphInstrumentor().instrument(tracer_provider=tp, meter_provider=mp)
    else:
        raise SystemExit(f"no instrumentation of {workload!r} for mode {mode!r}")


def setup(mode: str, workload: str) -> Instrumented:
    """Switch on ``mode`` before the workload's library objects are built."""
    if mode == "baseline":
        return Instrumented(flush=lambda: None, spans=lambda: 0)
    if mode in ("llmobs", "llmobs+content"):
        return _llmobs(content=mode == "llmobs+content")
    tp, mp, flush, drop = _sdk()
    _instrument(mode, workload, tp, mp)

    def spans() -> int:
        flush()
        return drop.items

    return Instrumented(flush=flush, spans=spans)
