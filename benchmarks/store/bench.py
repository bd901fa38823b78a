"""Side-by-side: llmobs store vs Arize Phoenix — OTLP protobuf ingest and query latency — and
the OpenTelemetry Collector as the bound on what merely accepting those OTLP requests costs.

Every server gets the same pre-encoded OTLP/HTTP protobuf requests (benchmarks/store/workload.py)
from the same sender, on the same machine, one after the other. Ingest rate = spans / time from
the first request until every span is stored (queryable), not merely acknowledged; for the
collector (OTLP receiver into the nop exporter, ``_otelcol.py``) accepted is all there is. Each
server's own CPU time during ingest is read from /proc, so spans per CPU-second of the server is
reported beside the wall-clock rate (the steadier figure on a shared machine). Query latency is
measured over HTTP, as a UI would call it. Phoenix runs from a throwaway venv
(``.bench/phoenix-venv``, created by ``make bench-store``); nothing of it enters our lock file; the
collector is built from pinned Go modules (``make bench-store`` builds it if missing).

    nice python benchmarks/store/bench.py --spans 1000000 --phoenix-spans 200000
"""

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from llmobs_testing.servers import free_port

sys.path.insert(0, str(Path(__file__).parent))
import _otelcol
import workload

ROOT = Path(__file__).resolve().parents[2]
PHOENIX = ROOT / ".bench" / "phoenix-venv" / "bin" / "phoenix"
PROTO = {"content-type": "application/x-protobuf"}


def wait_http(url: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def server(
    cmd: list[str], env: dict[str, str], health: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_http(health)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def send(url: str, bodies: list[bytes], concurrency: int = 4) -> dict[str, float]:
    """POST every body; 429/503 are retried after a short pause (both servers push back)."""
    queue = list(reversed(bodies))
    lock = threading.Lock()
    retries = [0]

    def worker() -> None:
        with httpx.Client(timeout=120) as client:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                for _attempt in range(2000):
                    response = client.post(url, content=body, headers=PROTO)
                    if response.status_code == 200:
                        break
                    if response.status_code not in (429, 503):
                        raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
                    with lock:
                        retries[0] += 1
                    time.sleep(min(float(response.headers.get("retry-after", "0.2")), 0.5))
                else:
                    raise RuntimeError("gave up retrying")

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"ack_s": time.perf_counter() - started, "retries": retries[0], "started": started}


def wait_count(count: Callable[[], int], n: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while count() < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {count()} of {n} spans stored in {timeout_s}s")
        time.sleep(0.25)


def timed(call: Callable[[], Any], repeats: int) -> dict[str, float]:
    call()  # warm-up
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {
        "p50_ms": statistics.median(samples),
        "p95_ms": samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))],
    }


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system, every thread and reaped child) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def ingest(
    url: str, bodies: list[bytes], count: Callable[[], int], target: int, pid: int
) -> dict[str, float]:
    before, cpu0 = count(), cpu_s(pid)
    result = send(url, bodies)
    wait_count(count, target, timeout_s=3600)
    stored_s = time.perf_counter() - result["started"]
    used = cpu_s(pid) - cpu0
    return {
        "ack_s": result["ack_s"],
        "stored_s": stored_s,
        "retries": result["retries"],
        "server_cpu_s": used,
        "spans_per_cpu_s": (target - before) / used if used > 0 else 0.0,
    }


# ---------------------------------------------------------------- llmobs store
def llmobs_queries(base: str, start_ms: int, end_ms: int, repeats: int) -> dict[str, Any]:
    client = httpx.Client(base_url=base, timeout=60)
    rng = {"start": start_ms, "end": end_ms}
    one = client.get("/api/v1/traces", params={**rng, "limit": 1}).json()["items"][0]["trace_id"]

    def get(path: str, **params: Any) -> Callable[[], Any]:
        def call() -> Any:
            response = client.get(path, params={**rng, **params})
            response.raise_for_status()
            return response.json()

        return call

    return {
        "trace search (newest 50)": timed(get("/api/v1/traces", limit=50), repeats),
        "trace search (model + status filter)": timed(
            get("/api/v1/traces", limit=50, model="gpt-4o", status="ERROR"), repeats
        ),
        "model percentiles (TTFT/TPOT/latency p50/95/99 per model, 5-min series)": timed(
            get("/api/v1/models", bucket_s=300), repeats
        ),
        "usage and cost by model": timed(get("/api/v1/usage", group_by="model"), repeats),
        "sessions list": timed(get("/api/v1/sessions", limit=50), repeats),
        "one trace with content": timed(get(f"/api/v1/traces/{one}"), repeats),
    }


def run_llmobs(
    bodies: list[bytes],
    *,
    stages: list[int],
    per_request: int,
    repeats: int,
    window: tuple[int, int],
    work: Path,
) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "llmobs_cli.main",
        "store",
        "serve",
        "--port",
        str(port),
        "--db",
        f"chdb://{work / 'llmobs-data'}",
        "--spool-dir",
        str(work / "llmobs-spool"),
        "--log-level",
        "warning",
    ]

    def count() -> int:
        text = httpx.get(base + "/metrics", timeout=10).text
        match = re.search(r'llmobs_store_rows_inserted_total\{table="spans"\} ([0-9.e+]+)', text)
        return int(float(match.group(1))) if match else 0

    out: dict[str, Any] = {"stages": []}
    with server(cmd, {}, base + "/healthz", work / "llmobs.log") as proc:
        sent = 0
        total_stored_s = 0.0
        for stage in stages:
            part = bodies[sent // per_request : stage // per_request]
            r = ingest(base + "/v1/traces", part, count, stage, proc.pid)
            total_stored_s += r["stored_s"]
            sent = stage
            out["stages"].append(
                {"spans": stage, "ingest": r, "queries": llmobs_queries(base, *window, repeats)}
            )
        out["spans_per_s"] = sent / total_stored_s
        out["disk_bytes"] = sum(
            f.stat().st_size for f in (work / "llmobs-data").rglob("*") if f.is_file()
        )
    return out


# ---------------------------------------------------------------- Phoenix
def run_phoenix(bodies: list[bytes], n_spans: int, repeats: int, work: Path) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "PHOENIX_WORKING_DIR": str(work / "phoenix"),
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_TELEMETRY_ENABLED": "false",
    }
    db = work / "phoenix" / "phoenix.db"

    def count() -> int:
        if not db.exists():
            return 0
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
                return int(conn.execute("SELECT count(*) FROM spans").fetchone()[0])
        except sqlite3.OperationalError:
            return 0

    def gql(query: str) -> Callable[[], Any]:
        def call() -> Any:
            response = httpx.post(base + "/graphql", json={"query": query}, timeout=120)
            response.raise_for_status()
            doc = response.json()
            if doc.get("errors"):
                raise RuntimeError(doc["errors"])
            return doc

        return call

    newest = (
        "{ projects { edges { node { spans(first: 50, sort: {col: startTime, dir: desc}, "
        'filterCondition: "parent_id is None") { edges { node { name latencyMs '
        "tokenCountTotal } } } } } } }"
    )
    filtered = (
        "{ projects { edges { node { spans(first: 50, sort: {col: startTime, dir: desc}, "
        "filterCondition: \"llm.model_name == 'gpt-4o' and status_code == 'ERROR'\") "
        "{ edges { node { name latencyMs } } } } } } }"
    )
    quantiles = (
        "{ projects { edges { node { "
        + " ".join(
            f"q{int(p * 100)}: spanLatencyMsQuantile(probability: {p}, "
            f"filterCondition: \"span_kind == 'LLM'\")"
            for p in (0.5, 0.95, 0.99)
        )
        + " } } } }"
    )
    out: dict[str, Any] = {}
    with server([str(PHOENIX), "serve"], env, base + "/healthz", work / "phoenix.log") as proc:
        r = ingest(base + "/v1/traces", bodies, count, n_spans, proc.pid)
        out["ingest"] = r
        out["spans_per_s"] = n_spans / r["stored_s"]
        out["queries"] = {
            "trace search (newest 50)": timed(gql(newest), repeats),
            "trace search (model + status filter)": timed(gql(filtered), repeats),
            "model percentiles (LLM span latency p50/95/99)": timed(gql(quantiles), repeats),
        }
        out["disk_bytes"] = sum(
            f.stat().st_size for f in (work / "phoenix").rglob("*") if f.is_file()
        )
    return out


# ---------------------------------------------------------------- OpenTelemetry Collector
def run_collector(bodies: list[bytes], n_spans: int, work: Path) -> dict[str, Any]:
    executable = _otelcol.binary()
    if executable is None:
        raise SystemExit("the collector needs Go to build (or pass --skip-collector)")
    with _otelcol.serve(executable, work) as collector:
        count = lambda: _otelcol.accepted_spans(collector)  # noqa: E731
        r = ingest(collector.otlp_url + "/v1/traces", bodies, count, n_spans, collector.pid)
    return {"ingest": r, "spans": n_spans, "spans_per_s": n_spans / r["stored_s"]}


def summary(results: dict[str, Any]) -> str:
    """Ingest rates side by side: ours as a fraction of the collector's, and over Phoenix's."""
    ours = results["llmobs"]
    ours_cpu = ours["stages"][-1]["ingest"]["spans_per_cpu_s"]
    lines = ["server: stored spans/s (wall) | spans per server CPU-second"]
    for name in ("llmobs", "otelcol", "phoenix"):
        if name in results:
            r = results[name]
            cpu = r["stages"][-1]["ingest"] if name == "llmobs" else r["ingest"]
            lines.append(f"{name}: {r['spans_per_s']:,.0f} | {cpu['spans_per_cpu_s']:,.0f}")
    for name, word in (("otelcol", "of the collector"), ("phoenix", "over Phoenix")):
        if name in results:
            other = results[name]
            other_cpu = other["ingest"]["spans_per_cpu_s"]
            lines.append(
                f"llmobs {word}: {ours['spans_per_s'] / other['spans_per_s']:.3g}x wall, "
                f"{ours_cpu / other_cpu if other_cpu else float('nan'):.3g}x per CPU-second"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument(
        "--stages",
        type=str,
        default="",
        help="comma-separated span counts at which queries are timed",
    )
    parser.add_argument("--phoenix-spans", type=int, default=200_000)
    parser.add_argument("--per-request", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "store-results.json")
    parser.add_argument("--skip-phoenix", action="store_true")
    parser.add_argument("--skip-collector", action="store_true")
    args = parser.parse_args()
    start_ns = time.time_ns() - 2 * 3600 * 10**9
    window = (start_ns // 10**6 - 60_000, start_ns // 10**6 + 2 * 3600 * 1000)
    t0 = time.perf_counter()
    bodies = list(workload.requests(args.spans, args.per_request, start_ns))
    print(
        f"encoded {args.spans} spans in {len(bodies)} requests "
        f"({sum(map(len, bodies)) / 1e6:.0f} MB) in {time.perf_counter() - t0:.0f}s",
        flush=True,
    )
    stages = [int(s) for s in args.stages.split(",") if s] or [args.spans]
    results: dict[str, Any] = {
        "spans": args.spans,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="llmobs-bench-", dir=ROOT / ".bench") as tmp:
        work = Path(tmp)
        results["llmobs"] = run_llmobs(
            bodies,
            stages=stages,
            per_request=args.per_request,
            repeats=args.repeats,
            window=window,
            work=work,
        )
        print(json.dumps(results["llmobs"], indent=1), flush=True)
        args.out.write_text(json.dumps(results, indent=1))
        if not args.skip_collector:
            results["otelcol"] = run_collector(bodies, args.spans, work)
            results["otelcol"]["version"] = _otelcol.VERSION
            print(json.dumps(results["otelcol"], indent=1), flush=True)
        if not args.skip_phoenix:
            n = min(args.phoenix_spans, args.spans)
            results["phoenix"] = run_phoenix(bodies[: n // args.per_request], n, args.repeats, work)
            results["phoenix"]["spans"] = n
            print(json.dumps(results["phoenix"], indent=1), flush=True)
    results["load_after"] = os.getloadavg()
    args.out.write_text(json.dumps(results, indent=1))
    print(summary(results))
    print(f"results in {args.out}")


if __name__ == "__main__":
    main()
