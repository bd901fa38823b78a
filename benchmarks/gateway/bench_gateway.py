"""Added latency and throughput of the gateway tap, against a direct connection and two peers.

One run, same machine, same upstream (the llmobs simulator in its own process): for each
concurrency level (1, 50, 200 streams) the load generator drives the direct connection, the
llmobs gateway (recording on, spans exported over OTLP/HTTP to a sink process), the LiteLLM
proxy and the Portkey AI gateway (both installed under ``.bench/``, never in the workspace lock,
each configured for throughput: see ``_peers.py``), interleaved round by round so machine noise
hits all of them alike. Added latency is the target's percentile minus the direct connection's
percentile at the same concurrency.

The load generator is a minimal asyncio HTTP/1.1 client (one keep-alive connection per stream)
so its own cost stays far below the differences being measured.

    nice uv run --frozen python benchmarks/gateway/bench_gateway.py [--quick] [--no-litellm]
        [--no-portkey] [--litellm-workers N]

The JSON it writes (``--out``) is what ``chart.py`` draws and ``render_table.py`` turns into the
table of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import _peers

BENCH_DIR = _peers.BENCH_DIR
MODEL = "bench-model"
#: A slow model on the same simulator, for the routing/streaming check before timing.
CHECK_MODEL, CHECK_ITL_S = "check-model", 0.02
#: The caller key every target gets; LiteLLM refuses to start without a (strong) master key.
BENCH_KEY = "sk-bench-5f0c2a9e7d41b3c68e90a1f2d3c4b5a6"
PROMPT = [{"role": "user", "content": "Give me a short answer about observability."}]
_CONTENT = re.compile(rb'"content":\s?"[^"]')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not become healthy in {timeout} s")


@contextlib.contextmanager
def process(
    args: list[str], health: str, env: dict[str, str] | None = None, startup_s: float = 120.0
) -> Iterator[None]:
    log = open(BENCH_DIR / f"{Path(args[0]).name}-{free_port()}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    try:
        wait_healthy(health, proc, startup_s)
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


# ---------------------------------------------------------------- the load generator
@dataclass
class Sample:
    ttft: float
    total: float
    ok: bool


@dataclass
class Result:
    target: str
    concurrency: int
    samples: list[Sample] = field(default_factory=list)
    wall_s: float = 0.0

    def pct(self, what: str, q: float) -> float:
        values = sorted(getattr(s, what) for s in self.samples if s.ok)
        if not values:
            return float("nan")
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    @property
    def errors(self) -> int:
        return sum(not s.ok for s in self.samples)

    @property
    def rps(self) -> float:
        return len(self.samples) / self.wall_s if self.wall_s else 0.0


class Conn:
    """One keep-alive HTTP/1.1 connection that posts a streaming chat request and times it."""

    def __init__(
        self, host: str, port: int, path: str, body: bytes, headers: dict[str, str]
    ) -> None:
        self.host, self.port = host, port
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {BENCH_KEY}\r\nAccept: text/event-stream\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def one(self) -> Sample:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        assert reader is not None
        started = time.perf_counter()
        writer.write(self.request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        lower = head.lower()
        ttft = 0.0
        if b"transfer-encoding: chunked" in lower:
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                data = await reader.readexactly(size + 2)
                if not ttft and _CONTENT.search(data):
                    ttft = time.perf_counter() - started
        else:
            length = int(re.search(rb"content-length: (\d+)", lower).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
        total = time.perf_counter() - started
        if b"connection: close" in lower:
            writer.close()
        return Sample(ttft=ttft or total, total=total, ok=status == 200 and ttft > 0)


def request_body(tokens: int) -> bytes:
    return json.dumps(
        {"model": MODEL, "messages": PROMPT, "stream": True, "max_tokens": tokens}
    ).encode()


async def drive(
    url: str, headers: dict[str, str], concurrency: int, requests: int, tokens: int
) -> Result:
    host, port = url.removeprefix("http://").split(":")
    body = request_body(tokens)
    path = "/v1/chat/completions"
    conns = [Conn(host, int(port), path, body, headers) for _ in range(concurrency)]
    result = Result(url, concurrency)
    remaining = requests

    async def worker(conn: Conn) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            try:
                result.samples.append(await conn.one())
            except (OSError, asyncio.IncompleteReadError, ValueError):
                result.samples.append(Sample(0.0, 0.0, ok=False))
                conn.writer = None

    # Warm the pools (connections, imports, caches) before measuring.
    await asyncio.gather(*(c.one() for c in conns[: min(concurrency, 20)]))
    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    result.wall_s = time.perf_counter() - started
    for conn in conns:
        if conn.writer is not None:
            conn.writer.close()
    return result


# ---------------------------------------------------------------- the run
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (smoke run)")
    parser.add_argument("--no-litellm", action="store_true", help="skip the LiteLLM peer")
    parser.add_argument("--no-portkey", action="store_true", help="skip the Portkey peer")
    parser.add_argument(
        "--litellm-workers",
        type=int,
        default=_peers.cores(),
        help="LiteLLM uvicorn workers (default: one per core, as its production guide says)",
    )
    parser.add_argument("--tokens", type=int, default=8, help="output tokens per stream")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "gateway-results.json")
    args = parser.parse_args()
    BENCH_DIR.mkdir(exist_ok=True)
    python = sys.executable
    # Requests per target and level. p99 needs thousands of samples to be more than the few
    # slowest requests; a peer that manages tens of requests per second (LiteLLM) gets fewer,
    # its gap is far wider.
    levels = {1: 200, 50: 6000, 200: 6000}
    peer_cap = {"litellm": 1200}
    if args.quick:
        levels = {1: 20, 50: 100, 200: 200}
        peer_cap = {"litellm": 200, "portkey": 200}
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()

    sim_port, sink_port, gw_port, ll_port, pk_port = (free_port() for _ in range(5))
    sim = f"http://127.0.0.1:{sim_port}"
    sink = f"http://127.0.0.1:{sink_port}"
    gateway = f"http://127.0.0.1:{gw_port}"
    targets: dict[str, tuple[str, dict[str, str]]] = {"direct": (sim, {}), "llmobs": (gateway, {})}
    meta: dict[str, object] = {
        "started": started_at,
        "cores": _peers.cores(),
        "machine": platform.processor() or platform.machine(),
        "load_avg_before": load_before,
        "tokens": args.tokens,
        "quick": args.quick,
    }
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            process(
                [
                    python,
                    "-m",
                    "llmobs_cli.main",
                    "simulator",
                    "serve",
                    "--port",
                    str(sim_port),
                    "--model",
                    f"{MODEL}:0.02:0.002",
                    "--model",
                    f"{CHECK_MODEL}:0.02:{CHECK_ITL_S}",
                    "--max-concurrent",
                    "1024",
                ],
                sim + "/v1/models",
            )
        )
        stack.enter_context(
            process(
                [python, str(Path(__file__).with_name("otlp_sink.py")), str(sink_port)],
                sink + "/healthz",
            )
        )
        stack.enter_context(
            process(
                [
                    python,
                    "-m",
                    "llmobs_cli.main",
                    "gateway",
                    "serve",
                    "--port",
                    str(gw_port),
                    "--upstream",
                    f"{MODEL}={sim}/v1",
                    "--upstream",
                    f"{CHECK_MODEL}={sim}/v1",
                    "--otlp-endpoint",
                    sink,
                ],
                gateway + "/healthz",
            )
        )
        if not args.no_litellm:
            lite = f"http://127.0.0.1:{ll_port}"
            config = _peers.litellm_config(sim, [MODEL, CHECK_MODEL], BENCH_KEY)
            command, env = _peers.litellm_command(ll_port, config, args.litellm_workers)
            stack.enter_context(
                # Its workers import litellm (tens of seconds each on a busy machine).
                process(command, lite + "/health/liveliness", env=env, startup_s=400)
            )
            targets["litellm"] = (lite, {})
            meta["litellm"] = {"version": _peers.litellm_version(), "workers": args.litellm_workers}
        if not args.no_portkey:
            portkey = f"http://127.0.0.1:{pk_port}"
            command, env = _peers.portkey_command(pk_port)
            stack.enter_context(process(command, portkey + "/", env=env))
            targets["portkey"] = (portkey, _peers.portkey_headers(sim))
            meta["portkey"] = {"version": _peers.portkey_version(), "processes": 1}
        for name, (url, headers) in targets.items():
            auth = {"authorization": f"Bearer {BENCH_KEY}", **headers}
            _peers.check_routes(
                name, url, upstream=sim, headers=auth, model=CHECK_MODEL, itl_s=CHECK_ITL_S
            )
        results: list[Result] = []
        for concurrency, requests in levels.items():
            # Interleave targets in rounds so drifting machine load hits all of them.
            rounds = 6 if not args.quick else 2
            per_round = max(concurrency, requests // rounds)
            merged = {name: Result(name, concurrency) for name in targets}
            for done in range(rounds):
                for name, (url, headers) in targets.items():
                    count = per_round
                    if name in peer_cap:
                        count = max(concurrency, min(requests, peer_cap[name]) // rounds)
                    part = asyncio.run(drive(url, headers, concurrency, count, args.tokens))
                    merged[name].samples.extend(part.samples)
                    merged[name].wall_s += part.wall_s
                print(f"  {concurrency} streams: round {done + 1}/{rounds}", flush=True)
            results.extend(merged.values())
            report(list(merged.values()))
    meta["load_avg_after"] = os.getloadavg()
    rows = [
        {
            "target": r.target,
            "concurrency": r.concurrency,
            "requests": len(r.samples),
            "errors": r.errors,
            "rps": r.rps,
            **{
                f"{w}_p{int(q * 100)}_ms": r.pct(w, q) * 1000
                for w in ("ttft", "total")
                for q in (0.5, 0.99)
            },
        }
        for r in results
    ]
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"results: {args.out}")


def report(results: list[Result]) -> None:
    direct = next(r for r in results if r.target == "direct")
    print(f"\n== {direct.concurrency} concurrent streams ==")
    print(
        f"{'target':8} {'req':>5} {'err':>4} {'req/s':>7} {'TTFT p50':>9} {'p99':>8} "
        f"{'total p50':>9} {'p99':>8} | added TTFT p50 / p99, total p50 / p99 (ms)"
    )
    for r in results:
        added = ""
        if r is not direct:
            added = " ".join(
                f"{(r.pct(w, q) - direct.pct(w, q)) * 1000:+7.2f}"
                for w in ("ttft", "total")
                for q in (0.5, 0.99)
            )
        print(
            f"{r.target:8} {len(r.samples):5d} {r.errors:4d} {r.rps:7.1f} "
            f"{r.pct('ttft', 0.5) * 1000:9.2f} {r.pct('ttft', 0.99) * 1000:8.2f} "
            f"{r.pct('total', 0.5) * 1000:9.2f} {r.pct('total', 0.99) * 1000:8.2f} | {added}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
