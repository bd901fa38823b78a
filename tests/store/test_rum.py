"""Browser (RUM) ingest: CORS on the two OTLP ingest paths for the allowed origins only."""

from pathlib import Path

import httpx
import pydantic
import pytest

from llmobs_store.settings import StoreSettings
from tests.store.conftest import serve_store, store_settings
from tests.store.test_api import Builder, llm

ALLOWED = "https://app.example.com"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type",
}


def spans_body() -> bytes:
    b = Builder()
    b.span("browser", b"\x01" * 16, "fetch /ask", 0, 0.2, llm("gpt-4o-mini", "openai", 1, 1, 0.1))
    return b.request.SerializeToString()


def test_allowed_origins_get_cors_on_ingest_only(tmp_path: Path) -> None:
    settings = store_settings(tmp_path, rum_enabled=True, rum_allowed_origins=[ALLOWED])
    with serve_store(settings) as store, httpx.Client(base_url=store.url, timeout=30) as http:
        for path in ("/v1/traces", "/v1/logs"):
            ok = http.options(path, headers={"origin": ALLOWED, **PREFLIGHT})
            assert ok.status_code == 204
            assert ok.headers["access-control-allow-origin"] == ALLOWED
            assert ok.headers["access-control-allow-methods"] == "POST"
            allowed_headers = {
                h.strip() for h in ok.headers["access-control-allow-headers"].split(",")
            }
            assert allowed_headers == {"content-type", "traceparent", "baggage", "authorization"}
            other = http.options(path, headers={"origin": "https://evil.example", **PREFLIGHT})
            assert other.status_code == 403
            assert "access-control-allow-origin" not in other.headers
        posted = http.post(
            "/v1/traces",
            content=spans_body(),
            headers={"origin": ALLOWED, "content-type": "application/x-protobuf"},
        )
        assert posted.status_code == 200, posted.text
        assert posted.headers["access-control-allow-origin"] == ALLOWED
        assert "Origin" in posted.headers["vary"]
        foreign = http.post(
            "/v1/traces",
            content=spans_body(),
            headers={"origin": "https://evil.example", "content-type": "application/x-protobuf"},
        )
        assert "access-control-allow-origin" not in foreign.headers
        # Nothing else is opened: the query API and metrics stay same-origin.
        for path in ("/api/v1/overview", "/v1/metrics"):
            preflight = http.options(path, headers={"origin": ALLOWED, **PREFLIGHT})
            assert "access-control-allow-origin" not in preflight.headers
        api = http.get("/api/v1/overview", headers={"origin": ALLOWED})
        assert api.status_code == 200
        assert "access-control-allow-origin" not in api.headers
        store.wait_spans(1)


def test_rum_is_off_by_default(tmp_path: Path) -> None:
    settings = store_settings(tmp_path, rum_allowed_origins=[ALLOWED])
    assert StoreSettings.model_fields["rum_enabled"].default is False
    with serve_store(settings) as store, httpx.Client(base_url=store.url, timeout=30) as http:
        preflight = http.options("/v1/traces", headers={"origin": ALLOWED, **PREFLIGHT})
        assert "access-control-allow-origin" not in preflight.headers
        posted = http.post(
            "/v1/traces",
            content=spans_body(),
            headers={"origin": ALLOWED, "content-type": "application/x-protobuf"},
        )
        assert posted.status_code == 200
        assert "access-control-allow-origin" not in posted.headers


def test_origins_come_comma_separated_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLMOBS_STORE_RUM_ENABLED", "true")
    monkeypatch.setenv("LLMOBS_STORE_RUM_ALLOWED_ORIGINS", f"{ALLOWED}, http://localhost:3000/")
    settings = StoreSettings()
    assert settings.rum_enabled
    assert settings.rum_allowed_origins == [ALLOWED, "http://localhost:3000"]
    monkeypatch.setenv("LLMOBS_STORE_RUM_ALLOWED_ORIGINS", "")
    assert StoreSettings().rum_allowed_origins == []
    monkeypatch.setenv("LLMOBS_STORE_RUM_ALLOWED_ORIGINS", "app.example.com")
    with pytest.raises(pydantic.ValidationError, match="rum_allowed_origins"):
        StoreSettings()
