"""Timing accuracy of the llmobs simulator against llm-d-inference-sim, in the same run.

Both serve one model with the same TTFT and inter-token latency; the same streamed chat requests
(openai SDK, ``ignore_eos``, sequential) go to each. Reported per simulator: client-measured TTFT
minus the configured TTFT (after subtracting the client's own round trip on ``/v1/models``), and
the mean inter-token gap minus the configured ITL; median and p90 over the runs.

Run: ``uv run --frozen python benchmarks/testing/timing_accuracy.py [--runs 20]``.
"""

import argparse
import contextlib
import itertools
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import openai

from llmobs_testing.peers import llm_d_sim_binary, serve_llm_d_sim
from llmobs_testing.servers import free_port, serve_app
from llmobs_testing.simulator import ModelProfile, SimulatorSettings, create_app

MODEL = "bench-model"
TTFT_S = 0.2
ITL_S = 0.02
TOKENS = 21


@contextlib.contextmanager
def llmobs_sim() -> Iterator[str]:
    settings = SimulatorSettings(models=[ModelProfile(name=MODEL, ttft_s=TTFT_S, itl_s=ITL_S)])
    with serve_app(create_app(settings)) as url:
        yield url


@contextlib.contextmanager
def llmobs_sim_process() -> Iterator[str]:
    """Our simulator in its own process, as llm-d's runs: no GIL shared with the client."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    model = f"{MODEL}:{TTFT_S}:{ITL_S}"
    args = [sys.executable, "-m", "llmobs_cli.main", "simulator", "serve", "--port", str(port)]
    with subprocess.Popen([*args, "--model", model], stderr=subprocess.DEVNULL) as proc:
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(url + "/health", timeout=1).status_code == 200:
                        break
                time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(10)


@contextlib.contextmanager
def llm_d_sim() -> Iterator[str]:
    binary = llm_d_sim_binary()
    if binary is None:
        raise SystemExit("llm-d-inference-sim needs Go to build")
    with serve_llm_d_sim(binary, MODEL, ttft_s=TTFT_S, itl_s=ITL_S) as url:
        yield url


def measure(url: str, runs: int) -> tuple[list[float], list[float]]:
    ttft_errors: list[float] = []
    itl_errors: list[float] = []
    with openai.OpenAI(base_url=url + "/v1", api_key="b", max_retries=0) as sdk:
        sdk.models.list()
        for _ in range(runs):
            start = time.perf_counter()
            sdk.models.list()
            overhead = time.perf_counter() - start
            start = time.perf_counter()
            stream = sdk.chat.completions.create(
                model=MODEL,
                messages=[{"role": "user", "content": "measure the timing please"}],
                max_tokens=TOKENS,
                stream=True,
                extra_body={"ignore_eos": True},
            )
            arrivals = [
                time.perf_counter() for c in stream if c.choices and c.choices[0].delta.content
            ]
            ttft_errors.append(arrivals[0] - start - overhead - TTFT_S)
            gaps = [b - a for a, b in itertools.pairwise(arrivals)]
            itl_errors.append(statistics.fmean(gaps) - ITL_S)
    return ttft_errors, itl_errors


def summary(values: list[float]) -> str:
    ms = sorted(abs(v) * 1000 for v in values)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return f"median |err| {statistics.median(ms):6.2f} ms, p90 {p90:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(
        f"TTFT {TTFT_S * 1000:.0f} ms, ITL {ITL_S * 1000:.0f} ms, {TOKENS} tokens, {args.runs} runs"
    )
    results = {}
    servers = (
        ("llmobs sim (in-process)", llmobs_sim),
        ("llmobs sim (process)", llmobs_sim_process),
        ("llm-d-inference-sim", llm_d_sim),
    )
    for name, server in servers:
        with server() as url:
            results[name] = measure(url, args.runs)
        ttft, itl = results[name]
        print(f"{name:24s} TTFT {summary(ttft)} | mean ITL {summary(itl)}")


if __name__ == "__main__":
    main()
