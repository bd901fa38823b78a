"""Running one family: simulator, recording relay, the app in the family's environment, and
everything the store's query API then says about it.

The store is a real ``llmobs store serve`` (embedded chDB in a temporary directory, free port),
one for the whole suite; each family gets its own service name, session and user, its own
simulator (so the simulator's request log and counters are that family's truth) and its own
relay. The app runs as a subprocess in the family's environment and writes its result file; the
run then waits until the store holds every span the family exported and reads back, through
``/api/v1`` only, the trace list, each exported trace, the usage by service and the session.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from llmobs_testing.servers import free_port, serve_app
from llmobs_testing.simulator import ModelProfile, SimulatorSettings, create_app
from tests.interop import venvs
from tests.interop._recorder import Exported, relay
from tests.interop.families import ENDPOINTS, Family

APP = Path(__file__).parent / "app" / "run.py"
BIN = Path(sys.executable).parent
CHAT_MODEL, EMBEDDING_MODEL = "gpt-4o-mini", "text-embedding-3-small"
SIM_TTFT_S = 0.03
APP_TIMEOUT_S = 480


def simulator_settings() -> SimulatorSettings:
    return SimulatorSettings(
        models=[
            ModelProfile(name=CHAT_MODEL, ttft_s=SIM_TTFT_S, itl_s=0.002, default_output_tokens=12),
            ModelProfile(name=EMBEDDING_MODEL, ttft_s=0.0, itl_s=0.0, embedding_dim=64),
        ],
        strict_models=True,
        recent_requests=10_000,
    )


@dataclass
class Store:
    url: str
    log: Path

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.url + path, params=params, timeout=30)
        response.raise_for_status()
        return response.json()

    def find(self, path: str) -> Any | None:
        response = httpx.get(self.url + path, timeout=30)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()


@contextmanager
def store(tmp: Path) -> Iterator[Store]:
    """``llmobs store serve`` on a free port, embedded chDB under ``tmp``, until the block ends."""
    port = free_port()
    log = tmp / "store.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env.update(LLMOBS_STORE_BATCH_WAIT_S="0.05", LLMOBS_STORE_CONTENT_GRACE_S="1")
    command = [
        str(BIN / "llmobs"), "store", "serve", "--port", str(port),
        "--db", f"chdb://{tmp / 'data'}", "--spool-dir", str(tmp / "spool"),
    ]  # fmt: skip
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the store exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the store never got ready: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield Store(url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@dataclass(frozen=True)
class Served:
    """One request the simulator served, assigned to the app step whose window it arrived in."""

    step: str
    kind: str  # "chat" | "embeddings"
    model: str
    input_tokens: int
    output_tokens: int
    stream: bool

    @property
    def call(self) -> str:
        return f"{self.step}:{self.kind}"


@dataclass
class FamilyRun:
    family: Family
    service: str
    session_id: str
    user_id: str
    result: dict[str, Any]
    served: list[Served]
    exported: Exported
    listed: list[dict[str, Any]]
    traces: dict[str, dict[str, Any]]  # every exported trace id -> GET /api/v1/traces/{id}
    usage: dict[str, Any] | None  # this service's row of /api/v1/usage?group_by=service
    session: dict[str, Any] | None  # GET /api/v1/sessions/{session_id}
    timings: dict[str, float] = field(default_factory=dict)

    def step_of(self, start_unix_nano: int, end_unix_nano: int) -> str | None:
        for window in self.result["windows"]:
            if (
                window["start_unix_nano"] <= start_unix_nano
                and end_unix_nano <= (window["end_unix_nano"])
            ):
                return str(window["step"])
        return None

    def seen(self) -> list[Served]:
        """The served requests this family instruments (all of them for most families)."""
        return [s for s in self.served if s.call in self.family.sees]


def _step_at(windows: list[dict[str, Any]], t: int) -> str:
    for window in windows:
        if window["start_unix_nano"] <= t <= window["end_unix_nano"]:
            return str(window["step"])
    raise AssertionError(f"a simulator request at {t} falls in no step window: {windows}")


def _served(sim_url: str, windows: list[dict[str, Any]]) -> list[Served]:
    """The simulator's request log, checked against its own Prometheus counters."""
    log = httpx.get(sim_url + "/sim/requests", timeout=10).json()["requests"]
    served = [
        Served(
            step=_step_at(windows, r["time_unix_nano"]),
            kind=ENDPOINTS[r["path"]],
            model=r["model"],
            input_tokens=r["usage"]["prompt_tokens"],
            output_tokens=r["usage"]["completion_tokens"],
            stream=r["stream"],
        )
        for r in log
    ]
    counters: dict[tuple[str, str], float] = {}
    metrics = httpx.get(sim_url + "/metrics", timeout=10).text
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name in ("vllm:prompt_tokens_total", "vllm:generation_tokens_total"):
                key = (sample.name, sample.labels["model_name"])
                counters[key] = counters.get(key, 0) + sample.value
    for model in (CHAT_MODEL, EMBEDDING_MODEL):
        mine = [s for s in served if s.model == model]
        assert counters.get(("vllm:prompt_tokens_total", model), 0) == sum(
            s.input_tokens for s in mine
        ), "the request log disagrees with the simulator's prompt token counter"
        assert counters.get(("vllm:generation_tokens_total", model), 0) == sum(
            s.output_tokens for s in mine
        ), "the request log disagrees with the simulator's generation token counter"
    return served


def app_environment(family: Family, relay_url: str, bundle: Path | None) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        OTEL_SERVICE_NAME=f"ixq-{family.name}",
        OTEL_EXPORTER_OTLP_ENDPOINT=relay_url,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_BSP_SCHEDULE_DELAY="200",
        OTEL_METRIC_EXPORT_INTERVAL="1000",
        PYTHONUNBUFFERED="1",
    )
    env.update(family.environ)
    if family.injected:
        assert bundle is not None, "the probe's bundle is needed to inject it"
        env["PYTHONPATH"] = str(bundle / "bootstrap")
    return env


_SETTLING = (
    "llmobs_store_spool_depth_bytes",  # acknowledged, not yet in ClickHouse
    "llmobs_store_merge_backlog",  # content chunk sets not yet merged
    "llmobs_store_tree_backlog",  # traces not yet judged by the tree pass (stand-in roots)
)


def _settled(store: Store) -> bool:
    """Whether everything the store acknowledged is in ClickHouse, merged and judged."""
    metrics = httpx.get(store.url + "/metrics", timeout=10).text
    found = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            if sample.name in _SETTLING:
                found[sample.name] = sample.value
    return len(found) == len(_SETTLING) and not any(found.values())


def _wait_stored(store: Store, exported: Exported, timeout_s: float = 60) -> dict[str, Any]:
    """Each exported trace as the store returns it, once it holds every exported span."""
    want: dict[str, int] = {}
    for span in exported.spans:
        want[span.trace_id] = want.get(span.trace_id, 0) + 1
    got: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    while not _settled(store) and time.monotonic() < deadline:
        time.sleep(0.1)  # cheap, where asking for every trace again and again is not
    while True:
        for trace_id, count in want.items():
            if trace_id in got and len(got[trace_id]["spans"]) >= count:
                continue
            found = store.find(f"/api/v1/traces/{trace_id}")
            if found is not None:
                got[trace_id] = found
        missing = [t for t, n in want.items() if t not in got or len(got[t]["spans"]) < n]
        if not missing:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the store holds {len(want) - len(missing)} of {len(want)} exported traces "
                f"completely after {timeout_s} s (missing e.g. {missing[:3]}); "
                f"refused exports: {exported.refused[:3]}"
            )
        time.sleep(0.3)


def _listed(store: Store, service: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = store.get("/api/v1/traces", service=service, limit=1000, offset=len(items))
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            return items


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_family(family: Family, store: Store, work: Path, bundle: Path | None) -> FamilyRun:
    """Run the app with ``family`` and collect what the simulator, relay and store say."""
    python, build_s = venvs.ensure(family.env)
    service = f"ixq-{family.name}"
    session_id, user_id = f"ixq-session-{family.name}", f"ixq-user-{family.name}"
    out = work / f"{family.name}-result.json"
    log = work / f"{family.name}-app.log"
    with (
        serve_app(create_app(simulator_settings())) as sim_url,
        relay(store.url) as (
            relay_url,
            exported,
        ),
    ):
        command = [
            str(python), str(APP), "--family", family.adapter, "--base-url", f"{sim_url}/v1",
            "--otlp", relay_url, "--service", service, "--out", str(out),
            "--session", session_id, "--user", user_id,
        ]  # fmt: skip
        started = time.monotonic()
        cpu = _children_cpu_s()
        with log.open("wb") as sink:
            proc = subprocess.run(
                command,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=app_environment(family, relay_url, bundle),
                cwd=APP.parent,
                timeout=APP_TIMEOUT_S,
            )
        app_s, app_cpu_s = time.monotonic() - started, _children_cpu_s() - cpu
        if proc.returncode != 0 or not out.is_file():
            raise AssertionError(
                f"the {family.name} app failed (exit {proc.returncode}): "
                f"{log.read_text(errors='replace')[-4000:]}"
            )
        result = json.loads(out.read_text())
        served = _served(sim_url, result["windows"])
    started = time.monotonic()
    traces = _wait_stored(store, exported)
    usage = next(
        (
            row
            for row in store.get("/api/v1/usage", group_by="service")["items"]
            if row["key"] == service
        ),
        None,
    )
    return FamilyRun(
        family=family,
        service=service,
        session_id=session_id,
        user_id=user_id,
        result=result,
        served=served,
        exported=exported,
        listed=_listed(store, service),
        traces=traces,
        usage=usage,
        session=store.find(f"/api/v1/sessions/{session_id}"),
        timings={
            "build_s": build_s,
            "app_s": app_s,
            "app_cpu_s": app_cpu_s,  # what the app itself cost, however busy the machine
            "store_s": time.monotonic() - started,
        },
    )
