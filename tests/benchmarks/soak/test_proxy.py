"""The soak's counting proxy in front of a real store (uvicorn + chDB on 127.0.0.1): what it
counts as acknowledged is exactly what the store acknowledged, once per span, retries included."""

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts

from tests.store.conftest import RunningStore, serve_store, store_settings

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks" / "soak"))
import _proxy
import soak


@contextmanager
def serve_proxy(store_url: str) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(_proxy.Proxy(store_url), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "proxy did not start"
        assert thread.is_alive(), "proxy thread died"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunningStore]:
    with serve_store(store_settings(tmp_path)) as running:
        yield running


def export(url: str, *spans: tuple[bytes, bytes]) -> httpx.Response:
    request = ts.ExportTraceServiceRequest()
    out = request.resource_spans.add().scope_spans.add().spans
    now = time.time_ns()
    for trace_id, span_id in spans:
        out.add(
            trace_id=trace_id,
            span_id=span_id,
            name="soak",
            start_time_unix_nano=now,
            end_time_unix_nano=now,
        )
    return httpx.post(
        url + "/v1/traces",
        content=request.SerializeToString(),
        headers={"content-type": "application/x-protobuf"},
        timeout=30,
    )


def counts(proxy: str) -> dict[str, Any]:
    doc: dict[str, Any] = httpx.get(proxy + "/_soak/counts", timeout=10).json()
    return doc


def test_a_retried_request_is_acknowledged_once_and_rejected_spans_never(
    store: RunningStore,
) -> None:
    good = [(os.urandom(16), os.urandom(8)) for _ in range(2)]
    with serve_proxy(store.url) as proxy:
        assert export(proxy, *good).status_code == 200
        assert export(proxy, *good).status_code == 200  # a client retry of the same spans
        partly_bad = [(os.urandom(16), os.urandom(8)), (b"\x01" * 3, os.urandom(8))]
        answer = export(proxy, *partly_bad)
        assert answer.status_code == 200
        assert (
            ts.ExportTraceServiceResponse.FromString(answer.content).partial_success.rejected_spans
            == 1
        )
        got = counts(proxy)
        ids = set(httpx.get(proxy + "/_soak/acked-span-ids", timeout=10).text.split())
    assert got["sent_spans"] == 4
    assert got["rejected_spans"] == 1
    # Two spans acknowledged by id (once, despite the retry) and one of the partly rejected request.
    assert got["acked_spans"] == 3
    assert ids == {t.hex() + s.hex() for t, s in good}
    store.wait_spans(3)


def test_an_unreachable_store_is_a_503_to_retry_and_nothing_acknowledged() -> None:
    with serve_proxy(f"http://127.0.0.1:{soak.free_port()}") as proxy:
        answer = export(proxy, (os.urandom(16), os.urandom(8)))
        got = counts(proxy)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert got["sent_spans"] == 1
    assert got["acked_spans"] == 0
    assert got["answers"] == {"traces unreachable": 1}


def test_the_fault_schedule_is_bounded_and_ends_before_the_run() -> None:
    faults = soak.schedule(duration=120, period=120, outage=15, poison_every=60)
    kinds = [f.kind for f in faults]
    assert kinds == ["poison", "store-kill", "upstream-down", "upstream-up", "poison"]
    assert all(0 < f.at_s < 120 for f in faults)
    assert [f.number for f in faults if f.kind == "poison"] == [0, 1]
    long = soak.schedule(duration=1800, period=300, outage=15, poison_every=60)
    assert sum(f.kind == "store-kill" for f in long) == 6
    assert sum(f.kind == "poison" for f in long) == 30
