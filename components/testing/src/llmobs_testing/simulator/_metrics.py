"""The simulator's Prometheus metrics, named as vLLM names them (``llmobs_semconv.metrics``).

Every app gets its own ``CollectorRegistry`` so several simulators can share a process. Gauges
(running, waiting, KV-cache usage) are read live from the engines at scrape time.
"""

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from llmobs_semconv import metrics as names
from llmobs_testing.simulator._engine import Engine

_LABEL = "model_name"
# vLLM's own bucket boundaries for these two (vllm/v1/metrics/loggers.py).
_E2E_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0)
_QUEUE_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24)


class _EngineGauges(Collector):
    def __init__(self, engines: Mapping[str, Engine]) -> None:
        self._engines = engines

    def collect(self) -> Iterable[Metric]:
        running = GaugeMetricFamily(
            names.VLLM_NUM_REQUESTS_RUNNING, "Requests running on the engine.", labels=[_LABEL]
        )
        waiting = GaugeMetricFamily(
            names.VLLM_NUM_REQUESTS_WAITING, "Requests waiting for a slot.", labels=[_LABEL]
        )
        kv = GaugeMetricFamily(
            names.VLLM_KV_CACHE_USAGE_PERC, "KV-cache usage (1 = full).", labels=[_LABEL]
        )
        for name, engine in self._engines.items():
            running.add_metric([name], engine.running)
            waiting.add_metric([name], engine.waiting)
            kv.add_metric([name], engine.kv_cache_usage)
        return [running, waiting, kv]


class SimMetrics:
    """Histograms and counters of one simulator app, on its own registry."""

    def __init__(self, engines: Mapping[str, Engine]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        reg.register(_EngineGauges(engines))
        self.ttft = Histogram(
            names.VLLM_TIME_TO_FIRST_TOKEN_SECONDS,
            "Time to first token (s).",
            [_LABEL],
            registry=reg,
            buckets=names.SERVER_TTFT_BUCKETS,
        )
        self.itl = Histogram(
            names.VLLM_INTER_TOKEN_LATENCY_SECONDS,
            "Time between consecutive output tokens (s).",
            [_LABEL],
            registry=reg,
            buckets=names.SERVER_TPOT_BUCKETS,
        )
        self.tpot = Histogram(
            # Deprecated in vLLM in favour of inter-token latency, still read by older dashboards.
            names.VLLM_TIME_PER_OUTPUT_TOKEN_SECONDS_DEPRECATED,
            "Mean time per output token after the first, per request (s).",
            [_LABEL],
            registry=reg,
            buckets=names.SERVER_TPOT_BUCKETS,
        )
        self.e2e = Histogram(
            names.VLLM_E2E_REQUEST_LATENCY_SECONDS,
            "End-to-end request latency (s).",
            [_LABEL],
            registry=reg,
            buckets=_E2E_BUCKETS,
        )
        self.queue = Histogram(
            names.VLLM_REQUEST_QUEUE_TIME_SECONDS,
            "Time spent waiting for a slot (s).",
            [_LABEL],
            registry=reg,
            buckets=_QUEUE_BUCKETS,
        )
        self.prefill = Histogram(
            names.VLLM_REQUEST_PREFILL_TIME_SECONDS,
            "Prefill time, admission to first token (s).",
            [_LABEL],
            registry=reg,
            buckets=_E2E_BUCKETS,
        )
        self.decode = Histogram(
            names.VLLM_REQUEST_DECODE_TIME_SECONDS,
            "Decode time, first to last token (s).",
            [_LABEL],
            registry=reg,
            buckets=_E2E_BUCKETS,
        )
        self.prompt_tokens = Counter(
            names.VLLM_PROMPT_TOKENS_TOTAL, "Prompt tokens processed.", [_LABEL], registry=reg
        )
        self.generation_tokens = Counter(
            names.VLLM_GENERATION_TOKENS_TOTAL, "Tokens generated.", [_LABEL], registry=reg
        )
        self.success = Counter(
            names.VLLM_REQUEST_SUCCESS_TOTAL,
            "Finished requests by finish reason (stop, length, abort).",
            [_LABEL, "finished_reason"],
            registry=reg,
        )
        for name in engines:
            # Expose every series from the start, as vLLM does, so a scrape never misses a name.
            for hist in (
                self.ttft,
                self.itl,
                self.tpot,
                self.e2e,
                self.queue,
                self.prefill,
                self.decode,
            ):
                hist.labels(name)
            self.prompt_tokens.labels(name)
            self.generation_tokens.labels(name)
            for reason in ("stop", "length", "abort"):
                self.success.labels(name, reason)
