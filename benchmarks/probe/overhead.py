"""Overhead of LLM instrumentations: added process CPU per OpenAI call, LangChain invoke,
LangGraph agent turn and LlamaIndex query, llmobs against its peers in the same run.

Peers, each in its own locked environment (``benchmarks/probe/envs/<peer>``, built by
``_envs.ensure`` and cached by lock hash under ``~/.cache/llmobs/bench``): the official
``opentelemetry-instrumentation-openai-v2``, OpenLLMetry (traceloop-sdk's instrumentations),
OpenInference, OpenLIT and LoongSuite, each for the libraries it instruments. Every library under
test is pinned to one version in all envs. Each (mode, workload) runs in its own process
(``_worker.py``; instrumentations patch libraries process-wide), rounds interleave the modes in a
random order, and the fastest round of each mode counts. A mode that exports no span fails the
run: an instrumentation that silently did nothing would otherwise look free.

The framework workloads call the model-server simulator (``llmobs simulator serve``, TTFT and
ITL 0) in its own process. The llmobs rows measure whatever the probe instruments: the OpenAI SDK
under the framework today (labelled "SDK-level only"), its LangChain and LlamaIndex
instrumentations too once they are part of the probe (detected, no change here).

Results: ``.bench/probe-overhead.json`` and the generated section of docs/benchmarks.md. Run
alone, on a quiet machine (about 15 minutes on 2 cores; ``--rounds 1 --scale 0.05`` checks the
harness; ``--render-only FILE`` re-renders the docs from a results file)::

    make bench-probe                      # = nice .venv/bin/python benchmarks/probe/overhead.py
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _envs
import _figures

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "_worker.py"
MATRIX = {
    "openai": [
        "baseline",
        "llmobs",
        "otel-v2",
        "openllmetry",
        "openinference",
        "openlit",
        "llmobs+content",
    ],
    "langchain": ["baseline", "llmobs", "openinference", "openllmetry", "loongsuite"],
    "langgraph": ["baseline", "llmobs", "openinference", "openllmetry", "loongsuite"],
    "llamaindex": ["baseline", "llmobs", "openinference", "openllmetry"],  # no LoongSuite one
}
ENV_OF = {"baseline": "llmobs", "llmobs+content": "llmobs"}


@contextlib.contextmanager
def simulator() -> Iterator[str]:
    """``llmobs simulator serve`` with TTFT and ITL 0, in its own process, on a free port."""
    from llmobs_testing.servers import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "llmobs_cli.main", "simulator", "serve", "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--model", "gpt-4o-mini:0:0"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/v1/models", timeout=2).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the model-server simulator did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def run_worker(python: Path, mode: str, workload: str, sim: str, args: Any) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOBS_"))}
    env["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
    env.pop("PYTHONPATH", None)
    cmd = [str(python), str(WORKER), "--mode", mode, "--workload", workload, "--sim", sim]
    cmd += ["--reps", str(args.reps), "--scale", str(args.scale)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{mode} / {workload} failed:\n{proc.stderr[-3000:]}")
    row: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    require_spans(row, proc.stderr)
    return row


def require_spans(row: dict[str, Any], log: str) -> None:
    """An instrumented mode that exported nothing did nothing: fail rather than look free."""
    if row["mode"] != "baseline" and row["spans"] == 0:
        raise SystemExit(
            f"{row['mode']} / {row['workload']} exported 0 spans: its instrumentation did nothing "
            f"(a library version it refuses? its log:)\n{log[-3000:]}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=3, help="timed reps per worker (best kept)")
    parser.add_argument("--scale", type=float, default=1.0, help="operations per rep, x defaults")
    parser.add_argument("--workloads", default=",".join(MATRIX), help="comma-separated subset")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "probe-overhead.json")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the docs section")
    parser.add_argument("--note", default="", help="a sentence on the run's conditions")
    parser.add_argument(
        "--render-only", type=Path, help="re-render the docs section from a results file"
    )
    args = parser.parse_args()
    if args.render_only:
        render(json.loads(args.render_only.read_text()), args)
        return
    # Stopped with SIGTERM (or SIGINT, which a background job ignores): unwind, so the simulator
    # and the running worker are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workloads = [w for w in args.workloads.split(",") if w]
    unknown = set(workloads) - set(MATRIX)
    if unknown:
        raise SystemExit(f"unknown workloads {sorted(unknown)}; known: {', '.join(MATRIX)}")
    peers = sorted({ENV_OF.get(m, m) for w in workloads for m in MATRIX[w]})
    pythons = {peer: _envs.ensure(peer) for peer in peers}
    versions = {peer: _envs.versions(python) for peer, python in pythons.items()}
    _envs.check_same_libraries(versions)
    load_before = os.getloadavg()
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {
        w: {m: [] for m in MATRIX[w]} for w in workloads
    }
    with simulator() as sim:
        for round_no in range(args.rounds):
            order = [(w, m) for w in workloads for m in MATRIX[w]]
            random.shuffle(order)
            for workload, mode in order:
                row = run_worker(pythons[ENV_OF.get(mode, mode)], mode, workload, sim, args)
                raw[workload][mode].append(row)
                us = {op: round(s["process_s"] * 1e6) for op, s in row["ops"].items()}
                print(f"round {round_no + 1} {workload:10s} {mode:15s} {us} µs", file=sys.stderr)
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": _command(args),
        "rounds": args.rounds,
        "scale": args.scale,
        "note": args.note,
        "machine": {"cpus": os.cpu_count() or 1, "load_before": load_before},
        "versions": versions,
        "raw": raw,
    }
    report["machine"]["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    render(report, args)


def _command(args: Any) -> str:
    flags = [
        f"--{name} {getattr(args, name)}"
        for name, default in (("rounds", 3), ("reps", 3), ("scale", 1.0))
        if getattr(args, name) != default
    ]
    if args.workloads != ",".join(MATRIX):
        flags.append(f"--workloads {args.workloads}")
    return "make bench-probe" + (f" BENCH_ARGS='{' '.join(flags)}'" if flags else "")


def render(report: dict[str, Any], args: Any) -> None:
    """Figures, the noise warning and versions from the raw rows; print and write the docs."""
    versions = report["versions"]
    cpus = report["machine"]["cpus"]
    load = max(report["machine"]["load_before"][0], report["machine"]["load_after"][0])
    note = report["note"]
    if load > 0.5 * cpus and "Noisy" not in note:
        note += (
            f" **Noisy: the machine was busy (load average above {0.5 * cpus:.0f} on {cpus} "
            "cores); re-take on a quiet machine with `make bench-probe`.**"
        )
    libraries: dict[str, str] = {}
    peer_versions: dict[str, set[str]] = {}  # opentelemetry-sdk differs between envs
    for found in versions.values():
        libraries.update({n: found[n] for n in _envs.LIBRARIES if n in found})
        for name, version in found.items():
            if name in _envs.PEER_PACKAGES:
                peer_versions.setdefault(name, set()).add(version)
    shown = {
        **report,
        "note": note.strip(),
        "libraries": libraries,
        "peer_versions": {n: "/".join(sorted(v)) for n, v in sorted(peer_versions.items())},
        "figures": _figures.summarise(report["raw"]),
    }
    section = _figures.markdown(shown)
    print(section)
    if not args.no_docs:
        _figures.write_docs(args.docs, section)
        print(f"wrote the generated section of {args.docs}", file=sys.stderr)


if __name__ == "__main__":
    main()
