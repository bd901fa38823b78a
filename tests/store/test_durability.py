"""Durable ingest: ``kill -9`` during ingest loses no acknowledged span; the spool replays."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.store import otlp_requests as otlp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def store_process(
    tmp: Path, port: int, fault: str = "", **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``llmobs store serve`` as a real process (``fault``: see faulty_store.py); once ready."""
    environ = {**os.environ, "LLMOBS_STORE_CONTENT_GRACE_S": "1", **env}
    if fault:
        environ["LLMOBS_TEST_FAULT"] = fault
    launcher = (
        [str(Path(__file__).with_name("faulty_store.py"))] if fault else ["-m", "llmobs_cli.main"]
    )
    log = open(tmp / f"store-{port}-{time.monotonic_ns()}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            *launcher,
            "store",
            "serve",
            "--port",
            str(port),
            "--db",
            f"chdb://{tmp / 'data'}",
            "--spool-dir",
            str(tmp / "spool"),
            "--log-level",
            "warning",
        ],
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp / log.name).read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "store did not start"
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def make_spans(traces: int, per_trace: int) -> list[list[ReadableSpan]]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "durable"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    batches = []
    for _ in range(traces):
        with tracer.start_as_current_span("root"):
            for i in range(per_trace - 1):
                with tracer.start_as_current_span(f"child {i}") as span:
                    span.set_attribute("gen_ai.operation.name", "chat")
                    span.set_attribute("gen_ai.usage.input_tokens", i)
        batches.append(list(memory.get_finished_spans()))
        memory.clear()
    provider.shutdown()
    return batches


def stored_span_ids(url: str, trace_ids: set[str]) -> set[str]:
    found: set[str] = set()
    for trace_id in trace_ids:
        response = httpx.get(f"{url}/api/v1/traces/{trace_id}", timeout=10)
        if response.status_code == 200:
            found |= {s["span_id"] for s in response.json()["spans"]}
    return found


@pytest.mark.slow
def test_kill_9_during_ingest_loses_no_acknowledged_span(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    batches = make_spans(traces=60, per_trace=50)
    acknowledged: set[str] = set()
    traces: set[str] = set()
    # A long batch wait keeps acknowledged data in the spool, not yet in ClickHouse, at the kill.
    with store_process(tmp_path, port, LLMOBS_STORE_BATCH_WAIT_S="3") as proc:
        exporter = OTLPSpanExporter(endpoint=url + "/v1/traces", timeout=2)
        acked_batches = threading.Semaphore(0)

        def kill_mid_ingest() -> None:
            # Wait for 20 acknowledged exports, then kill -9 while the next ones are in flight.
            for _ in range(20):
                acked_batches.acquire(timeout=60)
            os.kill(proc.pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_mid_ingest)
        killer.start()
        for batch in batches:
            if exporter.export(batch) is SpanExportResult.SUCCESS:
                acknowledged |= {format(s.context.span_id, "016x") for s in batch}
                traces.add(format(batch[0].context.trace_id, "032x"))
                acked_batches.release()
            if proc.poll() is not None:
                break
        killer.join()
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        exporter.shutdown()
    assert 0 < len(acknowledged) < 60 * 50, "the kill must land during ingest"
    assert any((tmp_path / "spool").glob("*.wal"))
    with store_process(tmp_path, port):
        deadline = time.monotonic() + 60
        while (stored := stored_span_ids(url, traces)) < acknowledged:
            assert time.monotonic() < deadline, f"missing {len(acknowledged - stored)} spans"
            time.sleep(0.3)
        # Replayed data is not double-counted: one row per span.
        totals = httpx.get(f"{url}/api/v1/traces", params={"limit": 1000}).json()
        per_trace = {t["trace_id"]: t["span_count"] for t in totals["items"]}
        assert all(per_trace[t] == 50 for t in traces)
        # Aggregates read without FINAL: a replayed batch must not have been stored twice.
        overview = httpx.get(f"{url}/api/v1/overview").json()["totals"]
        assert overview["requests"] == 49 * totals["total"]
        assert httpx.get(f"{url}/readyz").json()["spool_depth_bytes"] == 0


@contextmanager
def clickhouse_over_http(tmp: Path, port: int) -> Iterator[None]:
    """The real engine behind a ClickHouse HTTP interface (see clickhouse_http_shim.py)."""
    shim = Path(__file__).with_name("clickhouse_http_shim.py")
    proc = subprocess.Popen(
        [sys.executable, str(shim), str(port), str(tmp / "clickhouse")], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        yield
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.slow
def test_unreachable_clickhouse_then_recovered_loses_nothing(tmp_path: Path) -> None:
    from tests.store.conftest import serve_store, store_settings

    ch_port = free_port()
    settings = store_settings(
        tmp_path, db=f"http://default:@127.0.0.1:{ch_port}/llmobs?compress=false"
    )
    batches = make_spans(traces=5, per_trace=20)
    with serve_store(settings) as store:
        ready = httpx.get(store.url + "/readyz")
        assert ready.status_code == 503
        assert ready.json()["ready"] is False
        exporter = OTLPSpanExporter(endpoint=store.url + "/v1/traces", timeout=5)
        for batch in batches:
            assert exporter.export(batch) is SpanExportResult.SUCCESS
        exporter.shutdown()
        assert httpx.get(store.url + "/readyz").json()["spool_depth_bytes"] > 0
        assert httpx.get(store.url + "/api/v1/traces").status_code == 503  # a clear "not now"
        with clickhouse_over_http(tmp_path, ch_port):
            store.wait_for(lambda: httpx.get(store.url + "/readyz").status_code == 200, 30)
            store.wait_for(
                lambda: httpx.get(store.url + "/readyz").json()["spool_depth_bytes"] == 0, 30
            )
            listed = store.get("/api/v1/traces", limit=100)
            assert listed["total"] == 5
            assert sorted(t["span_count"] for t in listed["items"]) == [20] * 5
            # The http:// path serves the whole API, merged content included.
            trace_id = listed["items"][0]["trace_id"]
            assert len(store.get(f"/api/v1/traces/{trace_id}")["spans"]) == 20


def traced_request(spans: int, poison: str = "") -> tuple[bytes, set[str], str]:
    """One export of ``spans`` chat spans in one trace (one named ``poison`` when given)."""
    items = [
        otlp.span(f"s{i}", gen_ai__operation__name="chat", gen_ai__prompt=f"prompt {i}")
        for i in range(spans)
    ]
    trace_id = bytes(items[0].trace_id)
    for item in items:
        item.trace_id = trace_id
    if poison:
        items[len(items) // 2].name = poison
        items[len(items) // 2].attributes.append(
            otlp.kv("gen_ai.response.finish_reasons", "[" * 50000)
        )
    keys = {bytes(i.span_id).hex() for i in items}
    return otlp.traces(*items), keys, trace_id.hex()


def dead_lettered_spans(url: str) -> set[str]:
    listed = httpx.get(f"{url}/api/v1/dead-letters", params={"limit": 1000}, timeout=10).json()
    return {i["span_id"] for i in listed["items"] if i["signal"] == "traces" and i["items"]}


FAULTS = [
    "kill_after_insert:3",  # mid-request: rows in ClickHouse, checkpoint not moved
    "kill_before_commit:3",
    "kill_after_commit:3",  # the checkpoint is inside the large request
    "kill_after_dead_letter:1",  # dead letter stored, checkpoint not moved
    "raise_in_insert:3",  # a writer bug, transient
    "raise_in_merge",
    "raise_in_normalise:victim",
    "unavailable_in_insert_of:content",  # fail the content insert once, spans already in
    "raise_in_insert_of:content:3",  # a later table's insert fails (a writer bug)
    "raise_in_spool_read:2",  # the spool read raises once, a batch half-built
    "corrupt_spool_record:4",  # acknowledged, then fails its CRC: quarantined, not a halt
]


@pytest.mark.slow
@pytest.mark.parametrize("fault", FAULTS)
def test_no_acknowledged_span_is_lost_or_stored_twice_whatever_fails(
    tmp_path: Path, fault: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # A large request first (several batches of batch_rows), then small ones, some poisoned.
    plan = [traced_request(200)] + [
        traced_request(10, poison="poison" if n % 5 == 2 else "victim" if n % 5 == 4 else "")
        for n in range(15)
    ]
    acknowledged: set[str] = set()
    traces: set[str] = set()
    # The corrupt record's spans are lost (counted as spool_corrupt); nothing else may be.
    corrupt = fault.removeprefix("corrupt_spool_record:") if fault.startswith("corrupt") else ""
    posted = 1
    env = {"LLMOBS_STORE_BATCH_ROWS": "40", "LLMOBS_STORE_BATCH_WAIT_S": "0.05"}
    with store_process(tmp_path, port, fault=fault, **env) as proc:
        for body, keys, trace_id in plan:
            try:
                response = otlp.post(url, "traces", body)
            except httpx.TransportError:
                break
            if response.status_code == 200 and not (corrupt and posted == int(corrupt)):
                acknowledged |= keys
                traces.add(trace_id)
            posted += 1
            if proc.poll() is not None:
                break
        if fault.startswith("kill"):
            proc.wait(timeout=60)
            assert proc.returncode == -signal.SIGKILL, "the fault must have fired"
        else:
            deadline = time.monotonic() + 60
            while httpx.get(f"{url}/readyz").json()["spool_depth_bytes"] > 0:
                assert time.monotonic() < deadline, "the writer stopped"
                time.sleep(0.2)
    assert acknowledged
    with store_process(tmp_path, port, **env):
        deadline = time.monotonic() + 90
        while True:
            stored, dead = stored_span_ids(url, traces), dead_lettered_spans(url)
            if acknowledged <= stored | dead:
                break
            assert time.monotonic() < deadline, f"lost {len(acknowledged - stored - dead)}"
            time.sleep(0.3)
        assert not stored & dead
        # Aggregates read without FINAL: every span stored exactly once.
        overview = httpx.get(f"{url}/api/v1/overview").json()["totals"]
        listed = httpx.get(f"{url}/api/v1/traces", params={"limit": 1000}).json()["items"]
        counts = {t["trace_id"]: t["span_count"] for t in listed}
        assert overview["requests"] == len(stored), (
            counts,
            (tmp_path / "spool").iterdir() and [p.name for p in tmp_path.glob("*.log")],
        )
        assert len(dead) == len(dead_lettered_spans(url))
        if corrupt:
            letters = httpx.get(f"{url}/api/v1/dead-letters", params={"limit": 1000}).json()
            assert [i["category"] for i in letters["items"]].count("spool_corrupt") == 1
        if fault == "raise_in_normalise:victim":
            assert len(dead) >= 3  # the poison spans and the victims (the store stays real)
