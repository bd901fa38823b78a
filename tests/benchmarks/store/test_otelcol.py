"""The store benchmark's OpenTelemetry Collector (built by bootstrap from benchmarks/store/otelcol):
the harness starts it, sends it the benchmark's own OTLP requests and counts what it accepted."""

import sys
import time
from pathlib import Path

import httpx

from llmobs_testing import prereq

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks" / "store"))
import _otelcol
import bench
import workload


def _binary() -> Path:
    executable = _otelcol.installed()
    prereq.require(
        executable is not None,
        f"the OpenTelemetry Collector {_otelcol.VERSION} benchmark build",
        "bash scripts/bootstrap-extras.sh, or .venv/bin/python benchmarks/store/_otelcol.py",
    )
    assert executable is not None
    return executable


def test_the_collector_accepts_every_span_of_the_workload_and_counts_them(tmp_path: Path) -> None:
    bodies = list(workload.requests(1200, 400, time.time_ns()))
    with _otelcol.serve(_binary(), tmp_path) as collector:
        assert _otelcol.accepted_spans(collector) == 0
        count = lambda: _otelcol.accepted_spans(collector)  # noqa: E731
        result = bench.ingest(collector.otlp_url + "/v1/traces", bodies, count, 1200, collector.pid)
        assert _otelcol.accepted_spans(collector) == 1200
        assert result["retries"] == 0
        # /proc counts CPU in 10 ms ticks: 1200 spans may take the collector less than one.
        used = result["server_cpu_s"]
        assert used >= 0
        assert result["spans_per_cpu_s"] == (1200 / used if used > 0 else 0.0)


def test_a_malformed_request_is_refused_and_not_counted(tmp_path: Path) -> None:
    with _otelcol.serve(_binary(), tmp_path) as collector:
        response = httpx.post(
            collector.otlp_url + "/v1/traces", content=b"\xff\xff not protobuf", headers=bench.PROTO
        )
        assert response.status_code == 400
        assert _otelcol.accepted_spans(collector) == 0


def test_the_cache_name_carries_the_version_go_mod_pins() -> None:
    go_mod = (_otelcol.SOURCE / "go.mod").read_text()
    assert f"go.opentelemetry.io/collector/otelcol {_otelcol.VERSION}\n" in go_mod
    assert _otelcol.VERSION in _otelcol._target().name
