"""The token policy over real HTTP (issue 12, item 6; docs/SECURITY.md)."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.rpc import status_pb2

from tests.store.conftest import RunningStore, serve_store, store_settings

INGEST = "ingest-tøken"
QUERY = "query-token"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    path: Path = tmp_path_factory.mktemp("guarded")
    with serve_store(store_settings(path, ingest_token=INGEST, query_token=QUERY)) as store:
        yield store


def _bearer(token: str | bytes) -> dict[str, bytes]:
    raw = token.encode() if isinstance(token, str) else token
    return {"authorization": b"Bearer " + raw}


@pytest.mark.parametrize("token", ["é", "wrong", "\u00ff" * 40, b"\xe2\x82\xac", b"\xff\xfe"])
def test_a_non_ascii_or_wrong_token_is_a_401_never_a_500(
    guarded: RunningStore, token: str | bytes
) -> None:
    proto = {"content-type": "application/x-protobuf"}
    r = httpx.post(guarded.url + "/v1/traces", content=b"", headers={**proto, **_bearer(token)})
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == "Bearer"
    # Like any OTLP error: a google.rpc.Status in the request's encoding (16: UNAUTHENTICATED).
    assert status_pb2.Status.FromString(r.content).code == 16
    r = httpx.get(guarded.url + "/api/v1/traces", headers=_bearer(token))
    assert r.status_code == 401, r.text


def test_the_right_tokens_open_their_own_paths_only(guarded: RunningStore) -> None:
    proto = {"content-type": "application/x-protobuf"}
    r = httpx.post(guarded.url + "/v1/traces", content=b"", headers={**proto, **_bearer(INGEST)})
    assert r.status_code == 200, r.text
    assert httpx.get(guarded.url + "/api/v1/traces", headers=_bearer(QUERY)).status_code == 200
    # The tokens are not interchangeable.
    r = httpx.post(guarded.url + "/v1/traces", content=b"", headers={**proto, **_bearer(QUERY)})
    assert r.status_code == 401
    assert httpx.get(guarded.url + "/api/v1/traces", headers=_bearer(INGEST)).status_code == 401


def test_metrics_need_the_query_token_and_readyz_hides_its_detail(guarded: RunningStore) -> None:
    assert httpx.get(guarded.url + "/metrics").status_code == 401
    r = httpx.get(guarded.url + "/metrics", headers=_bearer(QUERY))
    assert r.status_code == 200
    assert "llmobs_store" in r.text
    r = httpx.get(guarded.url + "/readyz")
    assert r.status_code == 200
    assert r.json() == {"ready": True}
    r = httpx.get(guarded.url + "/readyz", headers=_bearer(QUERY))
    assert set(r.json()) == {"ready", "storage", "writer", "spool_depth_bytes"}


def test_docs_schema_ui_and_liveness_stay_open(guarded: RunningStore) -> None:
    for path in ("/openapi.json", "/docs", "/healthz", "/", "/ui/js/api.js"):
        assert httpx.get(guarded.url + path).status_code == 200, path
    schemes = httpx.get(guarded.url + "/openapi.json").json()["components"]["securitySchemes"]
    assert set(schemes) == {"ingestToken", "queryToken"}


def test_without_tokens_everything_is_open(store: RunningStore) -> None:
    assert httpx.get(store.url + "/metrics").status_code == 200
    assert "spool_depth_bytes" in httpx.get(store.url + "/readyz").json()
