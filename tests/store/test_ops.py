"""Operations: bearer tokens per surface, backpressure with Retry-After, price overrides."""

import json
import os
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts

from llmobs_store.app import load_prices
from llmobs_store.settings import StoreSettings
from tests.store.conftest import serve_store, store_settings

PROTO = {"content-type": "application/x-protobuf"}


def big_request(n_spans: int, attr_bytes: int) -> bytes:
    request = ts.ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for _ in range(n_spans):
        span = spans.add(
            trace_id=os.urandom(16),
            span_id=os.urandom(8),
            name="s",
            start_time_unix_nano=time.time_ns(),
            end_time_unix_nano=time.time_ns(),
        )
        span.attributes.add(key="pad").value.string_value = "x" * attr_bytes
    return request.SerializeToString()


def test_ingest_and_query_tokens_are_separate(tmp_path: Path) -> None:
    settings = store_settings(tmp_path, ingest_token="in-secret", query_token="q-secret")
    with serve_store(settings) as store:
        body = big_request(1, 10)
        assert httpx.post(store.url + "/v1/traces", content=body, headers=PROTO).status_code == 401
        wrong = {**PROTO, "authorization": "Bearer q-secret"}
        assert httpx.post(store.url + "/v1/traces", content=body, headers=wrong).status_code == 401
        right = {**PROTO, "authorization": "Bearer in-secret"}
        assert httpx.post(store.url + "/v1/traces", content=body, headers=right).status_code == 200
        assert httpx.get(store.url + "/api/v1/traces").status_code == 401
        auth = {"authorization": "Bearer in-secret"}
        assert httpx.get(store.url + "/api/v1/traces", headers=auth).status_code == 401
        auth = {"authorization": "Bearer q-secret"}
        assert httpx.get(store.url + "/api/v1/traces", headers=auth).status_code == 200
        # Liveness stays open for probes; metrics want the query token (docs/SECURITY.md).
        assert httpx.get(store.url + "/healthz").status_code == 200
        assert httpx.get(store.url + "/metrics").status_code == 401
        assert httpx.get(store.url + "/metrics", headers=auth).status_code == 200


def test_a_full_spool_answers_503_with_retry_after_and_keeps_what_it_has(tmp_path: Path) -> None:
    # ClickHouse unreachable (nothing listens there) and a 1 MiB spool bound.
    settings = store_settings(
        tmp_path, db="http://default:@127.0.0.1:9/llmobs", spool_max_bytes=1024 * 1024
    )
    with serve_store(settings) as store:
        body = big_request(10, 30_000)
        statuses = [
            httpx.post(store.url + "/v1/traces", content=body, headers=PROTO) for _ in range(6)
        ]
        codes = [r.status_code for r in statuses]
        assert codes[:3] == [200, 200, 200]
        assert 503 in codes
        refused = next(r for r in statuses if r.status_code == 503)
        assert refused.headers["retry-after"] == "5"
        depth = httpx.get(store.url + "/readyz").json()["spool_depth_bytes"]
        assert 3 * len(body) <= depth <= 1024 * 1024
        assert (
            'llmobs_store_ingest_requests_total{signal="traces",status="503"}'
            in httpx.get(store.url + "/metrics").text
        )


def test_price_file_overrides_the_shipped_table(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": [{"pattern": "gpt-4o", "input": 1.0, "output": 2.0}]}))
    prices = load_prices(StoreSettings(price_file=path))
    cost = prices.cost("gpt-4o", 1_000_000, 1_000_000)
    assert cost is not None
    assert (cost.input_usd, cost.output_usd) == (1.0, 2.0)
    assert prices.cost("gpt-4o-mini", 1_000_000, 0) is not None
    path.write_text('{"models": [{"pattern": "x"}]}')
    with pytest.raises(ValueError, match="input"):
        load_prices(StoreSettings(price_file=path))
