"""eventlet: a Flask app served by ``eventlet.wsgi`` after ``eventlet.monkey_patch()``.

The probe starts in the bootstrap, before the app patches; its export worker is created lazily, on
the first span, so it is a green thread of the patched process. Every concurrent request must
stay fast and every request's server span, HTTP call and LLM call must arrive as one trace.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from llmobs_semconv import attributes as A
from llmobs_testing.servers import free_port
from tests.probe.conftest import wait_serving

APPS = Path(__file__).parent / "apps"
INSTRUMENT = Path(sys.executable).parent / "llmobs-instrument"
REQUEST_TIMEOUT_S = 10  # a request slower than this fails the test: the probe never stalls it
REQUESTS = 48


def _get(url: str) -> dict[str, Any]:
    req = urllib.request.Request(url, headers={"baggage": "session.id=green-session"})
    with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as resp:
        return dict(json.loads(resp.read()))


def test_eventlet_server_requests_stay_fast_and_deliver_joined_traces(
    sim_url: str, receiver: Any, tmp_path: Path
) -> None:
    endpoint, received = receiver
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env.update(
        PYTHONPATH=str(APPS),
        PORT=str(port),
        SIM_URL=sim_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_SERVICE_NAME="eventlet-app",
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    log = tmp_path / "eventlet.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(INSTRUMENT), sys.executable, str(APPS / "eventlet_app.py")],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/chat"
    try:
        wait_serving(lambda: _get(base), proc, log)
        with ThreadPoolExecutor(12) as pool:
            results = list(pool.map(lambda _: _get(base), range(REQUESTS)))
        pids = {r["pid"] for r in results}
        assert pids == {proc.pid}  # llmobs-instrument execs: the server is this process

        def delivered(r: Any) -> bool:
            return sum(1 for s in r.spans if "test.pid" in s["attributes"]) >= REQUESTS + 1

        received.wait(delivered, timeout=20)
        assert "llmobs_probe" not in log.read_text(), log.read_text()[-3000:]
    finally:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with received.lock:
        for span in received.spans:
            by_trace[span["trace_id"]].append(span)
    joined = 0
    for spans in by_trace.values():
        server = [s for s in spans if "test.pid" in s["attributes"]]
        llm = [s for s in spans if A.GEN_AI_OPERATION_NAME in s["attributes"]]
        http = [
            s for s in spans if s["kind"] == 3 and A.GEN_AI_OPERATION_NAME not in s["attributes"]
        ]
        if server and llm and http:
            assert llm[0]["parent_span_id"] == server[0]["span_id"]
            assert llm[0]["attributes"][A.SESSION_ID] == "green-session"
            joined += 1
    assert joined == REQUESTS + 1  # every request: server span, HTTP call and LLM call, one trace
