"""The gateway's own histogram tables aggregate exactly as the SDK does, and reach OTLP."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from llmobs_gateway._otlp_metrics import HistogramTable, MetricTables
from llmobs_gateway._telemetry import build_telemetry
from llmobs_semconv import metrics as M

from .conftest import OtlpReceiver

BOUNDS = M.SERVER_TTFT_BUCKETS
KEYS = [
    (("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "m1")),
    (("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "m2"), ("error.type", "504")),
]


def _sdk_points(measurements: list[tuple[float, int]]) -> dict[frozenset[object], object]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    histogram = provider.get_meter("t").create_histogram(
        "h", explicit_bucket_boundaries_advisory=list(BOUNDS)
    )
    for value, k in measurements:
        histogram.record(value, dict(KEYS[k]))
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    [metric] = data.resource_metrics[0].scope_metrics[0].metrics
    return {frozenset(p.attributes.items()): p for p in metric.data.data_points}  # type: ignore[union-attr]


@settings(max_examples=50, deadline=None)
@given(
    measurements=st.lists(
        st.tuples(
            st.one_of(st.sampled_from(BOUNDS), st.floats(min_value=0, max_value=200)),
            st.integers(min_value=0, max_value=1),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_points_equal_the_sdk_aggregation(measurements: list[tuple[float, int]]) -> None:
    table = HistogramTable("h", "s", "d", BOUNDS)
    for value, k in measurements:
        table.record(value, KEYS[k])
    metric = table.collect(1, 2)
    assert metric is not None
    ours = {frozenset(p.attributes.items()): p for p in metric.data.data_points}  # type: ignore[union-attr]
    sdk = _sdk_points(measurements)
    assert ours.keys() == sdk.keys()
    for key, point in ours.items():
        expected = sdk[key]
        assert isinstance(point, HistogramDataPoint)
        assert isinstance(expected, HistogramDataPoint)
        assert list(point.bucket_counts) == list(expected.bucket_counts)
        assert list(point.explicit_bounds) == list(expected.explicit_bounds)
        assert (point.count, point.min, point.max) == (expected.count, expected.min, expected.max)
        assert abs(point.sum - expected.sum) <= 1e-9 * max(1.0, abs(expected.sum))


class _Collecting(MetricExporter):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[MetricsData] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object
    ) -> MetricExportResult:
        self.batches.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        pass


def test_tables_export_on_their_timer_and_on_shutdown_with_the_resource() -> None:
    exporter = _Collecting()
    table = HistogramTable("gen_ai.server.time_to_first_token", "s", "d", BOUNDS)
    tables = MetricTables(
        [table],
        resource=Resource.create({"service.name": "gw"}),
        scope=InstrumentationScope("llmobs_gateway", "1"),
        exporter=exporter,
        interval_s=0.05,
    )
    table.record(0.2, KEYS[0])
    for _ in range(100):
        if exporter.batches:
            break
        tables._stop.wait(0.02)
    assert exporter.batches, "the timer never exported"
    table.record(0.4, KEYS[0])
    tables.shutdown()
    last = exporter.batches[-1].resource_metrics[0]
    assert last.resource.attributes["service.name"] == "gw"
    [point] = last.scope_metrics[0].metrics[0].data.data_points  # type: ignore[union-attr]
    assert point.count == 2  # cumulative, and the final flush on shutdown
    assert isinstance(point, HistogramDataPoint)
    assert point.sum == 0.2 + 0.4


def test_series_are_bounded() -> None:
    table = HistogramTable("h", "s", "d", BOUNDS)
    for i in range(2_100):
        table.record(1.0, (("gen_ai.request.model", f"m{i}"),))
    metric = table.collect(1, 2)
    assert metric is not None
    assert len(metric.data.data_points) == 2_000  # type: ignore[union-attr]
    assert table.dropped == 100


def test_the_telemetry_sends_genai_histograms_over_otlp(otlp: OtlpReceiver) -> None:
    telemetry = build_telemetry("gw-test", otlp.url, export_interval_s=60)
    telemetry.time_to_first_token.record(0.05, KEYS[0])
    telemetry.token_usage.record(12, (*KEYS[0], ("gen_ai.token.type", "output")))
    assert telemetry.metrics.flush()
    telemetry.shutdown()
    assert {M.SERVER_TIME_TO_FIRST_TOKEN, M.CLIENT_TOKEN_USAGE} <= otlp.metric_names
