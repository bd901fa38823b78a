"""Scraping model servers and GPU exporters: two real simulators, a store reading the targets file.

The GPU exporter is a fake (no GPU here): a real HTTP server answering DCGM's exposition text.
"""

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from llmobs_semconv import attributes as A
from llmobs_semconv import metrics as M
from llmobs_store.model_servers import quantile
from llmobs_store.scrape import ScrapeTarget, exposition_rows, parse_targets
from llmobs_testing.servers import serve_app
from llmobs_testing.simulator import ModelProfile, SimulatorSettings, create_app
from tests.store.conftest import RunningStore, serve_store, store_settings

DCGM_TEXT = f"""# HELP {M.DCGM_GPU_UTIL} GPU utilization (in %).
# TYPE {M.DCGM_GPU_UTIL} gauge
{M.DCGM_GPU_UTIL}{{gpu="0",modelName="NVIDIA H100"}} 80
{M.DCGM_GPU_UTIL}{{gpu="1",modelName="NVIDIA H100"}} 40
# HELP {M.DCGM_FB_USED} Framebuffer memory used (in MiB).
# TYPE {M.DCGM_FB_USED} gauge
{M.DCGM_FB_USED}{{gpu="0",modelName="NVIDIA H100"}} 1000
{M.DCGM_FB_USED}{{gpu="1",modelName="NVIDIA H100"}} 500
"""


def fake_dcgm_exporter() -> FastAPI:
    app = FastAPI()

    @app.get("/metrics")
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(DCGM_TEXT)

    return app


def simulator(model: str, ttft_s: float, max_concurrent: int) -> FastAPI:
    profile = ModelProfile(name=model, ttft_s=ttft_s, itl_s=0.005, default_output_tokens=8)
    return create_app(SimulatorSettings(models=[profile], max_concurrent=max_concurrent))


def write_targets(path: Path, targets: list[dict[str, Any]]) -> None:
    path.with_suffix(".tmp").write_text(json.dumps({"interval_s": 0.2, "targets": targets}))
    path.with_suffix(".tmp").replace(path)


def chat(base: str, model: str) -> None:
    response = httpx.post(
        f"{base}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "hello there"}]},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def servers(store: RunningStore) -> dict[str, dict[str, Any]]:
    now = int(time.time() * 1000)
    body = store.get("/api/v1/model-servers", start=now - 600_000, end=now + 60_000, bucket_s=1)
    return {f"{i['target']}/{i['model']}": i | {"series": body["series"]} for i in body["items"]}


def wait_until(store: RunningStore, check: Any, timeout_s: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    found: dict[str, Any] = {}
    while time.monotonic() < deadline:
        found = servers(store)
        if check(found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"not reported in time: {found}")


@pytest.fixture
def fleet() -> Iterator[tuple[str, str, str]]:
    with (
        serve_app(simulator("alpha", ttft_s=1.5, max_concurrent=1)) as alpha,
        serve_app(simulator("beta", ttft_s=0.01, max_concurrent=4)) as beta,
        serve_app(fake_dcgm_exporter()) as gpu,
    ):
        yield alpha, beta, gpu


def test_the_store_scrapes_simulators_and_a_gpu_exporter(
    fleet: tuple[str, str, str], tmp_path: Path
) -> None:
    alpha, beta, gpu = fleet
    targets_file = tmp_path / "targets.json"
    pod_labels = {A.K8S_POD_NAME: "alpha-0", A.K8S_NAMESPACE_NAME: "llm", "model_server": "vllm"}
    write_targets(
        targets_file, [{"url": f"{alpha}/metrics", "kind": "model-server", "labels": pod_labels}]
    )
    settings = store_settings(tmp_path, scrape_targets_file=targets_file, scrape_timeout_s=2)
    with serve_store(settings) as store:
        # Three requests on a one-slot engine: one runs, two wait (TTFT 1.5 s keeps them there).
        callers = [threading.Thread(target=chat, args=(alpha, "alpha")) for _ in range(3)]
        for caller in callers:
            caller.start()
        busy = wait_until(
            store,
            lambda s: (
                "alpha-0/alpha" in s
                and (s["alpha-0/alpha"]["requests_running"], s["alpha-0/alpha"]["requests_waiting"])
                == (1, 2)
            ),
        )
        # The series has the busy period too (a bucket's mean, so only "some were waiting").
        assert any(
            p["target"] == "alpha-0" and (p["requests_waiting"] or 0) > 0 and p["requests_running"]
            for p in busy["alpha-0/alpha"]["series"]
        )
        assert busy["alpha-0/alpha"]["kind"] == "model-server"
        for caller in callers:
            caller.join(timeout=30)
        done = wait_until(
            store,
            lambda s: (
                s["alpha-0/alpha"]["requests_running"] == 0
                and (s["alpha-0/alpha"]["generation_tokens_per_s"] or 0) > 0
            ),
        )["alpha-0/alpha"]
        assert done["requests_waiting"] == 0
        assert done["kv_cache_usage"] == 0
        assert done["requests_per_s"] > 0
        # TTFTs of 1.5 s at least (3 and 4.5 s where vLLM counts the queue), in vLLM's buckets.
        assert 1000 <= done["ttft_p95_ms"] <= 7500
        assert done["last_seen_ms"] > time.time() * 1000 - 30_000

        # The file is re-read: targets added later are scraped without a restart.
        write_targets(
            targets_file,
            [
                {"url": f"{alpha}/metrics", "kind": "model-server", "labels": pod_labels},
                {"url": f"{beta}/metrics", "kind": "model-server", "labels": {}},
                {"url": f"{gpu}/metrics", "kind": "gpu", "labels": {A.K8S_NODE_NAME: "n1"}},
            ],
        )
        beta_name = beta.removeprefix("http://")
        gpu_name = gpu.removeprefix("http://")
        for _ in range(2):
            chat(beta, "beta")
        found = wait_until(
            store,
            lambda s: (
                f"{beta_name}/beta" in s
                and s[f"{beta_name}/beta"]["ttft_p95_ms"] is not None
                and f"{gpu_name}/NVIDIA H100" in s
            ),
        )
        gpu_item = found[f"{gpu_name}/NVIDIA H100"]
        assert (gpu_item["kind"], gpu_item["gpu_util"], gpu_item["gpu_memory_used_mib"]) == (
            "gpu",
            60,
            1500,
        )
        assert found[f"{beta_name}/beta"]["ttft_p95_ms"] < 1000
        # Each item carries its target's own labels from the targets file (for naming it).
        assert found[f"{gpu_name}/NVIDIA H100"]["labels"] == {A.K8S_NODE_NAME: "n1"}
        assert found[f"{beta_name}/beta"]["labels"] == {}
        alpha_items = [v for k, v in found.items() if k.startswith("alpha-0/")]
        assert alpha_items
        assert all(item["labels"] == pod_labels for item in alpha_items)
        stored = store.app.state.store.storage.query(
            f"SELECT resource_attributes AS r FROM {settings.database}.metric_points "
            "WHERE service = 'alpha-0' LIMIT 1"
        )[0]["r"]
        assert stored[A.K8S_NAMESPACE_NAME] == "llm"
        assert stored[A.LLMOBS_SCRAPE_URL] == f"{alpha}/metrics"


def test_a_down_target_or_a_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    targets_file = tmp_path / "targets.json"
    with serve_app(fake_dcgm_exporter()) as gpu:
        write_targets(
            targets_file,
            [
                {"url": "http://127.0.0.1:9/metrics", "kind": "gpu", "labels": {}},
                {"url": f"{gpu}/metrics", "kind": "gpu", "labels": {A.K8S_POD_NAME: "dcgm-a"}},
            ],
        )
        settings = store_settings(tmp_path, scrape_targets_file=targets_file, scrape_timeout_s=1)
        with serve_store(settings) as store:
            wait_until(store, lambda s: "dcgm-a/NVIDIA H100" in s)
            scraper = store.app.state.scraper
            assert "127.0.0.1:9" in next(iter(scraper.last_errors))
            targets_file.write_text("{not json")
            rounds = scraper.rounds
            store.wait_for(lambda: scraper.rounds >= rounds + 2)
            assert len(scraper.targets) == 2  # the last good targets are kept


def test_parse_targets_names_what_is_wrong() -> None:
    assert parse_targets('{"targets": []}', 15) == (15, [])
    for text, message in (
        ("[]", "JSON object"),
        ('{"interval_s": 0}', "interval_s"),
        ('{"targets": [{"url": "ftp://x", "kind": "gpu"}]}', r"targets\[0\].url"),
        ('{"targets": [{"url": "http://x", "kind": "tpu"}]}', r"targets\[0\].kind"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_targets(text, 15)


def test_histograms_become_per_bucket_points_and_counters_sums() -> None:
    text = (
        "# TYPE vllm:time_to_first_token_seconds histogram\n"
        'vllm:time_to_first_token_seconds_bucket{le="0.1",model_name="m"} 2\n'
        'vllm:time_to_first_token_seconds_bucket{le="1.0",model_name="m"} 5\n'
        'vllm:time_to_first_token_seconds_bucket{le="+Inf",model_name="m"} 6\n'
        'vllm:time_to_first_token_seconds_count{model_name="m"} 6\n'
        'vllm:time_to_first_token_seconds_sum{model_name="m"} 4.5\n'
        "# TYPE vllm:generation_tokens_total counter\n"
        'vllm:generation_tokens_total{model_name="m"} 42\n'
    )
    rows = [
        json.loads(r) for r in exposition_rows(text, ScrapeTarget("http://h:1/m", "gpu"), "1.0")
    ]
    by_name = {r["name"]: r for r in rows}
    hist = by_name[M.VLLM_TIME_TO_FIRST_TOKEN_SECONDS]
    assert (hist["type"], hist["count"], hist["sum"]) == ("histogram", 6, 4.5)
    assert (hist["bucket_bounds"], hist["bucket_counts"]) == ([0.1, 1.0], [2, 3, 1])
    counter = by_name[M.VLLM_GENERATION_TOKENS_TOTAL]
    assert (counter["type"], counter["value"], counter["service"]) == ("sum", 42, "h:1")
    assert quantile(0.5, [0.1, 1.0], [2, 3, 1]) == pytest.approx(0.1 + 0.9 * (1 / 3))
    assert quantile(0.99, [0.1, 1.0], [2, 3, 1]) == 1.0
    assert quantile(0.5, [0.1], [0, 0]) is None
