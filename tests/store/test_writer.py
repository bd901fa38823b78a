"""The writer inserts one large request in bounded batches: memory stays flat, nothing twice."""

import threading
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as trace_service

from tests.store.otlp_requests import PROTOBUF, kv, span, traces
from tests.store.test_durability import free_port, store_process

SPANS = 600_000


def minimal_spans(count: int) -> bytes:
    """``count`` minimal spans in one request (about 27.5 MiB), built with the real classes."""
    request = trace_service.ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.append(kv("service.name", "big"))
    spans = rs.scope_spans.add().spans
    now = time.time_ns()
    base = 0x7000_0000_0000_0000_0000_0000_0000_0000
    for n in range(1, count + 1):
        spans.add(
            trace_id=(base + n).to_bytes(16, "big"),
            span_id=n.to_bytes(8, "big"),
            name="s",
            start_time_unix_nano=now,
            end_time_unix_nano=now + 1000,
        )
    return bytes(request.SerializeToString())


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_one_huge_request_is_stored_in_bounded_batches_with_bounded_memory(
    tmp_path: Path,
) -> None:
    body = minimal_spans(SPANS)
    assert len(body) < 32 * 1024**2
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with store_process(tmp_path, port) as proc:
        time.sleep(2.0)  # settle after start
        idle = rss_bytes(proc.pid)
        peak = [idle]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_bytes(proc.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        try:
            response = httpx.post(url + "/v1/traces", content=body, headers=PROTOBUF, timeout=120)
            assert response.status_code == 200, response.text
            # A hang guard only (the bound under test is memory): a loaded 2-core box took > 240 s.
            deadline = time.monotonic() + 600
            while httpx.get(url + "/readyz").json()["spool_depth_bytes"] > 0:
                assert time.monotonic() < deadline, "not stored in time"
                time.sleep(0.2)
        finally:
            done.set()
            sampler.join()
        took = time.monotonic() - started
        listed = httpx.get(url + "/api/v1/traces", params={"limit": 1}, timeout=120).json()
        assert listed["total"] == SPANS
        grown = peak[0] - idle
        print(f"idle {idle / 2**20:.0f} MiB, peak +{grown / 2**20:.0f} MiB, {took:.1f} s")
        assert grown < 300 * 2**20, f"RSS grew {grown / 2**20:.0f} MiB for one request"


def test_a_request_is_walked_item_by_item_from_any_index() -> None:
    from llmobs_store.batch import request_items
    from llmobs_store.normaliser import CachedPrices
    from llmobs_store.otlp import KIND_TRACES

    items = [span(f"s{i}") for i in range(5)]
    items[2].attributes.append(kv("gen_ai.response.finish_reasons", "[" * 50000))
    payload = traces(*items)
    walked = list(
        request_items(KIND_TRACES, payload, CachedPrices(), origin="1:0", skip=0, record_limit=512)
    )
    assert [item.index for item in walked] == [0, 1, 2, 3, 4]
    assert [item.dead is not None for item in walked] == [False, False, True, False, False]
    dead = walked[2].dead
    assert dead is not None
    assert dead.reason.startswith("RecursionError")
    assert len(dead.record.encode()) < 600  # bounded, marked as cut
    assert dead.span_id == bytes(items[2].span_id).hex()
    resumed = request_items(KIND_TRACES, payload, CachedPrices(), origin="1:0", skip=3,
                            record_limit=512)  # fmt: skip
    assert [item.index for item in resumed] == [3, 4]
