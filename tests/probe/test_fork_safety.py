"""gunicorn pre-fork (sync and gevent workers, --preload): spans arrive from every worker.

The probe is loaded by the bootstrap in the gunicorn master, before the fork; each worker must
start its own export worker (after gevent has patched it, for the gevent worker class), and a
request, its outgoing HTTP call and its LLM call must be one trace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from llmobs_probe.cli import bootstrap_dir
from llmobs_semconv import attributes as A
from llmobs_testing.servers import free_port
from tests.probe.conftest import wait_serving

APPS = Path(__file__).parent / "apps"
GUNICORN = Path(sys.executable).parent / "gunicorn"
WORKERS = 4


# Every request must be fast: the probe never slows the app. A request that takes longer fails
# the test, with the stacks of every worker's threads and greenlets at that moment (the test app
# dumps them on SIGUSR1, see apps/flask_app.py).
REQUEST_TIMEOUT_S = 10


def _get(url: str) -> dict[str, Any]:
    import json

    req = urllib.request.Request(url, headers={"baggage": "session.id=web-session"})
    try:
        with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as resp:
            return dict(json.loads(resp.read()))
    except urllib.error.HTTPError as exc:  # the app's own trouble under load, not the probe's
        exc.close()
        return {}


def _stall_report(proc: subprocess.Popen[bytes], dump_dir: Path) -> str:
    """Ask every process of the server (workers and children they forked) for its stacks; say
    what each was running and where each greenlet serving /chat waits."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGUSR1)  # the master forwards it to the workers, too
    time.sleep(2)
    report = []
    for dump in sorted(dump_dir.glob("*.txt")):
        text = dump.read_text(errors="replace")
        threads, _, greenlets = text.partition("=== greenlets")
        report.append(f"--- pid {dump.stem} (full dump: {dump}); running:")
        report += [
            ln for ln in threads.splitlines() if ln.startswith("  File") and "dump" not in ln
        ]
        for block in greenlets.split("+--- <")[1:]:
            running = block.partition("Spawned at:")[0]
            if " in chat" in running:
                frames = [
                    ln.strip() for ln in running.splitlines() if ln.strip().startswith("File")
                ]
                report += ["  /chat waits in:", *(f"    {f}" for f in frames[-3:])]
    return "\n".join(report)


# --preload with sync workers: the probe starts in the master and every forked worker must start
# its own exporter. gevent workers without --preload: the probe starts in each worker, after
# gevent's monkey-patching (with --preload, an app whose imports start a thread in the master, as
# openai 3.x does, trips gevent's own fork hooks, whatever the probe does).
@pytest.mark.parametrize(("worker_class", "preload"), [("sync", True), ("gevent", False)])
def test_gunicorn_workers_all_deliver_joined_traces(
    worker_class: str, preload: bool, sim_url: str, receiver: Any, tmp_path: Path
) -> None:
    endpoint, received = receiver
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([bootstrap_dir(), str(APPS)]),
        SIM_URL=sim_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_SERVICE_NAME=f"gunicorn-{worker_class}",
        OTEL_BSP_SCHEDULE_DELAY="100",
        DUMP_DIR=str(tmp_path),
    )
    cmd = [str(GUNICORN), *(["--preload"] if preload else []), "-w", str(WORKERS)]
    cmd += ["-k", worker_class]
    cmd += ["-b", f"127.0.0.1:{port}", "--log-level", "warning", "flask_app:app"]
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, cwd=APPS, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}/chat"
    try:
        wait_serving(lambda: _get(base), proc, log)
        pids: set[int] = set()
        with ThreadPoolExecutor(6) as pool:
            for _ in range(8):  # bounded: 8 rounds of 24 concurrent requests at most
                try:
                    pids.update(r["pid"] for r in pool.map(lambda _: _get(base), range(24)) if r)
                except TimeoutError:
                    pytest.fail(
                        f"a request took over {REQUEST_TIMEOUT_S}s:\n"
                        + _stall_report(proc, tmp_path)
                    )
                if len(pids) == WORKERS:
                    break
        assert len(pids) == WORKERS

        def delivered(r: Any) -> bool:
            return {s["attributes"].get("test.pid") for s in r.spans} >= pids

        received.wait(delivered, timeout=20)
        # Whatever the app or gevent log, nothing comes from the probe: it never raises into it.
        assert "llmobs_probe" not in log.read_text(), log.read_text()[-3000:]
    finally:
        proc.send_signal(signal.SIGINT)  # quick shutdown
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        with contextlib.suppress(ProcessLookupError):  # workers this test started, if any left
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with received.lock:
        for span in received.spans:
            by_trace[span["trace_id"]].append(span)
    joined_pids = set()
    for spans in by_trace.values():
        server = [s for s in spans if "test.pid" in s["attributes"]]
        llm = [s for s in spans if A.GEN_AI_OPERATION_NAME in s["attributes"]]
        http = [
            s for s in spans if s["kind"] == 3 and A.GEN_AI_OPERATION_NAME not in s["attributes"]
        ]
        if server and llm and http:
            assert llm[0]["parent_span_id"] == server[0]["span_id"]
            assert llm[0]["attributes"][A.SESSION_ID] == "web-session"  # from incoming baggage
            joined_pids.add(server[0]["attributes"]["test.pid"])
    assert joined_pids == pids  # every worker delivered whole traces
