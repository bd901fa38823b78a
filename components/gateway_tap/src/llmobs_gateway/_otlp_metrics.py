"""The gateway's OTLP metrics: GenAI histograms aggregated here, exported on a timer.

Why not the SDK's Histogram instruments: each ``record()`` copies and hashes its attribute dict
under a lock, and a request records five of them. Here the request path adds to a cumulative
bucket array found by a tuple key; a background thread turns the tables into the SDK's own
``MetricsData`` every interval and the SDK's OTLP exporter sends it (same data model, same bytes).
A test checks the points against the SDK's aggregation of the same measurements.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Sequence

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

log = logging.getLogger("llmobs_gateway.export")

#: Attributes of one series, in a fixed order: ((name, value), ...)
Key = tuple[tuple[str, str], ...]
_MAX_SERIES = 2_000  # per histogram; label values come from requests


class _Point:
    __slots__ = ("count", "counts", "max", "min", "sum")

    def __init__(self, buckets: int) -> None:
        self.counts = [0] * buckets
        self.count = 0
        self.sum = 0.0
        self.min = float("inf")
        self.max = float("-inf")


class HistogramTable:
    """Cumulative explicit-bucket histograms of one metric, one per attribute set."""

    def __init__(self, name: str, unit: str, description: str, bounds: Sequence[float]) -> None:
        self.name, self.unit, self.description = name, unit, description
        self.bounds = tuple(float(b) for b in bounds)
        self._points: dict[Key, _Point] = {}
        self._lock = threading.Lock()
        self.dropped = 0

    def record(self, value: float, key: Key) -> None:
        """Add one measurement (bucket i holds bounds[i-1] < value <= bounds[i], as OTel)."""
        with self._lock:
            point = self._points.get(key)
            if point is None:
                if len(self._points) >= _MAX_SERIES:
                    self.dropped += 1
                    return
                point = self._points[key] = _Point(len(self.bounds) + 1)
            point.counts[bisect.bisect_left(self.bounds, value)] += 1
            point.count += 1
            point.sum += value
            point.min = min(point.min, value)
            point.max = max(point.max, value)

    def collect(self, start_ns: int, now_ns: int) -> Metric | None:
        with self._lock:
            points = [
                HistogramDataPoint(
                    attributes=dict(key),
                    start_time_unix_nano=start_ns,
                    time_unix_nano=now_ns,
                    count=p.count,
                    sum=p.sum,
                    bucket_counts=list(p.counts),
                    explicit_bounds=self.bounds,
                    min=p.min,
                    max=p.max,
                )
                for key, p in self._points.items()
            ]
        if not points:
            return None
        return Metric(
            name=self.name,
            description=self.description,
            unit=self.unit,
            data=Histogram(
                data_points=points, aggregation_temporality=AggregationTemporality.CUMULATIVE
            ),
        )


class MetricTables:
    """The gateway's histograms and the thread that exports them every ``interval_s``."""

    def __init__(
        self,
        tables: Sequence[HistogramTable],
        *,
        resource: Resource,
        scope: InstrumentationScope,
        exporter: MetricExporter | None,
        interval_s: float,
    ) -> None:
        self.tables = tables
        self.resource = resource
        self.scope = scope
        self.exporter = exporter
        self.interval_s = interval_s
        self.start_ns = time.time_ns()
        self._stop = threading.Event()
        self._export_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if exporter is not None:
            self._thread = threading.Thread(
                target=self._run, name="llmobs-gateway-metrics", daemon=True
            )
            self._thread.start()

    def collect(self) -> MetricsData:
        now = time.time_ns()
        metrics = [m for t in self.tables if (m := t.collect(self.start_ns, now)) is not None]
        scope_metrics = [ScopeMetrics(scope=self.scope, metrics=metrics, schema_url="")]
        return MetricsData(
            resource_metrics=[
                ResourceMetrics(
                    resource=self.resource,
                    scope_metrics=scope_metrics,
                    schema_url=self.resource.schema_url,
                )
            ]
        )

    def flush(self) -> bool:
        """Export now; False when there is no exporter or the export failed."""
        if self.exporter is None:
            return False
        data = self.collect()
        if not data.resource_metrics[0].scope_metrics[0].metrics:
            return True
        with self._export_lock:
            try:
                return self.exporter.export(data) is MetricExportResult.SUCCESS
            except Exception:  # never let the export thread die
                log.exception("exporting metrics failed")
                return False

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def shutdown(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if self.exporter is not None:
            self.flush()
            self.exporter.shutdown()
