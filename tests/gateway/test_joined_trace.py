"""App (probe) → gateway → model server joined as one trace in the store, each call counted once.

Everything is real and on 127.0.0.1: the store (`llmobs store serve`, embedded chDB) and the gateway
(`llmobs gateway serve`) as their own processes, an unmodified script under `llmobs-instrument`
calling the gateway through the openai SDK, and the model-server simulator behind the gateway.
"""

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from llmobs_semconv import attributes as A
from llmobs_testing.servers import free_port, serve_app
from llmobs_testing.simulator import ModelProfile, SimulatorSettings, create_app

MODEL = "gpt-4o-mini"
BIN = Path(sys.executable).parent

APP = textwrap.dedent(
    """
    import os, sys
    import llmobs_probe
    from openai import OpenAI

    client = OpenAI(base_url=os.environ["GATEWAY"] + "/v1", api_key="sk-test", max_retries=0)
    with llmobs_probe.session(session_id="sess-joined", user_id="user-joined"):
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Where does the trace go?"}],
            stream=True,
        )
        print("".join(c.choices[0].delta.content or "" for c in stream if c.choices))
    """
)


@contextmanager
def process(
    command: list[str], log: Path, env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_ok(url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not ready: {log.read_text()[-2000:]}")


def poll(url: str, ready: Any, timeout_s: float = 60) -> Any:
    deadline, body = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        response = httpx.get(url, timeout=5)
        if response.status_code == 200:
            body = response.json()
            if ready(body):
                return body
        time.sleep(0.3)
    raise AssertionError(f"{url}: condition not met, last answer {body}")


@contextmanager
def stack(
    tmp_path: Path, sim: SimulatorSettings, env: dict[str, str]
) -> Iterator[tuple[str, str, str]]:
    """The simulator, the store and the gateway in front of it, all ready: their URLs
    (store, gateway, simulator)."""
    store_port, gateway_port = free_port(), free_port()
    store_url = f"http://127.0.0.1:{store_port}"
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    store_cmd = [
        str(BIN / "llmobs"), "store", "serve", "--port", str(store_port),
        "--db", f"chdb://{tmp_path / 'data'}", "--spool-dir", str(tmp_path / "spool"),
    ]  # fmt: skip
    with (
        serve_app(create_app(sim)) as sim_url,
        process(store_cmd, tmp_path / "store.log", env) as store,
    ):
        wait_ok(f"{store_url}/readyz", store, tmp_path / "store.log")
        gateway_cmd = [
            str(BIN / "llmobs"), "gateway", "serve", "--port", str(gateway_port),
            "--upstream", f"{MODEL}={sim_url}/v1", "--otlp-endpoint", store_url,
        ]  # fmt: skip
        with process(gateway_cmd, tmp_path / "gateway.log", env) as gateway:
            wait_ok(f"{gateway_url}/readyz", gateway, tmp_path / "gateway.log")
            yield store_url, gateway_url, sim_url


def test_app_gateway_and_model_server_form_one_trace_counted_once(tmp_path: Path) -> None:
    sim = SimulatorSettings(models=[ModelProfile(name=MODEL, ttft_s=0.05, itl_s=0.005)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    with stack(tmp_path, sim, env) as (store_url, gateway_url, sim_url):
        script = tmp_path / "app.py"
        script.write_text(APP)
        app_env = {
            **env,
            "GATEWAY": gateway_url,
            "OTEL_SERVICE_NAME": "joined-app",
            "OTEL_EXPORTER_OTLP_ENDPOINT": store_url,
        }
        run = subprocess.run(
            [str(BIN / "llmobs-instrument"), sys.executable, str(script)],
            env=app_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip(), "the app got an answer through the gateway"

        listing = poll(
            f"{store_url}/api/v1/traces?service=joined-app",
            lambda body: body["items"],
        )
        (summary,) = listing["items"]
        trace_id = summary["trace_id"]
        trace = poll(
            f"{store_url}/api/v1/traces/{trace_id}",
            lambda body: {"app", "gateway"} <= {s["layer"] for s in body["spans"]},
        )
        spans = {s["span_id"]: s for s in trace["spans"]}
        (app_llm,) = [s for s in spans.values() if s["layer"] == "app" and s["kind"] == "LLM"]
        (gw,) = [s for s in spans.values() if s["layer"] == "gateway"]

        # The gateway's span descends from the app's LLM span, in the same trace.
        ancestor, hops = gw["parent_span_id"], 0
        while ancestor and ancestor != app_llm["span_id"] and hops < 10:
            ancestor, hops = spans[ancestor]["parent_span_id"], hops + 1
        assert ancestor == app_llm["span_id"]
        assert gw["attributes"][A.LLMOBS_CALLER_SPAN_ID] == app_llm["span_id"]
        assert gw["session_id"] == app_llm["session_id"] == "sess-joined"

        # The model server received the same trace.
        seen = httpx.get(f"{sim_url}/sim/requests", timeout=5).json()["requests"]
        assert any(trace_id in (r.get("traceparent") or "") for r in seen)

        # Both layers show, but the call is counted once.
        assert app_llm["output_tokens"] > 0
        assert gw["output_tokens"] == app_llm["output_tokens"]
        usage = poll(f"{store_url}/api/v1/usage?group_by=model", lambda body: body["items"])
        (row,) = [r for r in usage["items"] if r["key"] == MODEL]
        assert row["requests"] == 1
        assert row["output_tokens"] == app_llm["output_tokens"]


BUNDLED_APP = textwrap.dedent(
    """
    import asyncio, os
    import llmobs_probe  # importable from the bundle's site-packages, as in a pod
    from openai import AsyncOpenAI, OpenAI

    base_url = os.environ["GATEWAY"] + "/v1"
    messages = [{"role": "user", "content": "Where does the trace go?"}]
    client = OpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
    with llmobs_probe.session(session_id="sess-bundled", user_id="user-bundled"):
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)
        for _ in client.chat.completions.create(
            model="gpt-4o-mini", messages=messages, stream=True
        ):
            pass

        async def turn() -> None:
            aclient = AsyncOpenAI(base_url=base_url, api_key="sk-test", max_retries=0)
            async for _ in await aclient.chat.completions.create(
                model="gpt-4o-mini", messages=messages, stream=True
            ):
                pass

        asyncio.run(turn())
    print("done")
    """
)


def test_through_the_bundle_a_three_turn_session_is_three_joined_traces(tmp_path: Path) -> None:
    """The operator's path: a fresh interpreter with only the bundle's bootstrap and the app's
    packages, the bundled httpx instrumentation on. Each call is one trace (the POST span under
    the LLM span, the gateway's span under that), so the session has three turns, not six."""
    from llmobs_probe.cli import main as instrument

    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    bundle, app_packages = tmp_path / "probe", tmp_path / "app"
    assert instrument(["bundle", str(bundle), "--python-version", version]) == 0
    subprocess.run(
        [
            *(str(BIN / "uv"), "pip", "install", "--quiet", "--target", str(app_packages)),
            "--python-version",
            version,
            "openai>=1.30,<3",  # 3.x sends through httpx2, which has no instrumentation
        ],
        check=True,
        timeout=300,
    )
    sim = SimulatorSettings(models=[ModelProfile(name=MODEL, ttft_s=0.02, itl_s=0.002)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env.pop("VIRTUAL_ENV", None)
    with stack(tmp_path, sim, env) as (store_url, gateway_url, _):
        script = tmp_path / "app.py"
        script.write_text(BUNDLED_APP)
        base = getattr(sys, "_base_executable", sys.executable)
        run = subprocess.run(
            [base, "-s", str(script)],
            env={
                **env,
                "PYTHONPATH": os.pathsep.join([str(bundle / "bootstrap"), str(app_packages)]),
                "GATEWAY": gateway_url,
                "OTEL_SERVICE_NAME": "bundled-app",
                "OTEL_EXPORTER_OTLP_ENDPOINT": store_url,
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert "probe not started" not in run.stderr

        poll(
            f"{store_url}/api/v1/sessions/sess-bundled",
            lambda body: body["totals"]["turns"] >= 3,
        )
        listing = poll(
            f"{store_url}/api/v1/traces?service=bundled-app",
            lambda body: len(body["items"]) >= 3,
        )
        assert len(listing["items"]) == 3, listing["items"]
        for summary in listing["items"]:
            trace = poll(
                f"{store_url}/api/v1/traces/{summary['trace_id']}",
                lambda body: {"app", "gateway"} <= {s["layer"] for s in body["spans"]},
            )
            spans = {s["span_id"]: s for s in trace["spans"]}
            (app_llm,) = [s for s in spans.values() if s["layer"] == "app" and s["kind"] == "LLM"]
            (gw,) = [s for s in spans.values() if s["layer"] == "gateway"]
            ancestor, hops = gw["parent_span_id"], 0
            while ancestor and ancestor != app_llm["span_id"] and hops < 10:
                ancestor, hops = spans[ancestor]["parent_span_id"], hops + 1
            assert ancestor == app_llm["span_id"]  # app -> POST -> gateway, one trace
        # Everything has arrived by now (the app flushed on exit): no extra root traces.
        listing = httpx.get(f"{store_url}/api/v1/traces?service=bundled-app", timeout=5)
        assert len(listing.json()["items"]) == 3
        session = httpx.get(f"{store_url}/api/v1/sessions/sess-bundled", timeout=5).json()
        assert session["totals"]["turns"] == 3
        usage = poll(f"{store_url}/api/v1/usage?group_by=model", lambda body: body["items"])
        (row,) = [r for r in usage["items"] if r["key"] == MODEL]
        assert row["requests"] == 3
