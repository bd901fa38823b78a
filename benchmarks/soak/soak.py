"""Soak: the demo stack under steady load for a bounded time, with faults, and the books checked.

The services are the demo's (``llmobs_cli._demo._stack``: the store on embedded chDB, two
simulators, the gateway, the sample app under the probe), with one change: every exporter (the
gateway's and the probe's) sends to a counting proxy in front of the store (``_proxy.py``), so
the harness knows exactly which spans the store acknowledged. On top of the app's own traffic a
paced load generator drives the gateway and times every request. Faults, on a schedule:

* the store is killed (``kill -9``) and started again on the same data directory;
* the main simulator is killed for a while (the gateway fails over or answers 502), then restarted;
* a poison record (``_poison.py``) goes to the store every minute.

At the end the load stops, the app and the gateway stop (flushing), the store drains its spool
(bounded wait), stops, and ClickHouse is counted. Acknowledged must equal stored + dead-lettered.

    nice .venv/bin/python benchmarks/soak/soak.py [--duration 1800] [--out .bench/soak]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from _load import Load, Window
from _poison import build
from _report import Books, stored_span_ids, write
from _sampler import RssLog, StoreCounters, dead_letters_api

from llmobs_cli._demo._stack import FAST_MODEL, Service, Stack, free_port, http_ok

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Fault:
    at_s: float
    kind: str  # store-kill | upstream-down | upstream-up | poison
    number: int = 0


def schedule(duration: float, period: float, outage: float, poison_every: float) -> list[Fault]:
    """Per period: the store killed at 30 %, the main simulator down at 60 % for ``outage`` s;
    a poison record every ``poison_every`` s from half of it on. All before the end."""
    faults: list[Fault] = []
    start = 0.0
    while start < duration:
        for share, kind in ((0.3, "store-kill"), (0.6, "upstream-down")):
            if start + share * period < duration - outage:
                faults.append(Fault(start + share * period, kind))
                if kind == "upstream-down":
                    faults.append(Fault(start + share * period + outage, "upstream-up"))
        start += period
    at, number = poison_every / 2, 0
    while at < duration:
        faults.append(Fault(at, "poison", number))
        at, number = at + poison_every, number + 1
    return sorted(faults, key=lambda f: f.at_s)


class Soak:
    """The running stack, the load, what is sampled, and the faults done so far."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        # Absolute: the chdb:// URL of a relative path with several parts loses its first one.
        self.run_dir: Path = args.out.resolve() / "run"
        shutil.rmtree(self.run_dir, ignore_errors=True)
        (self.run_dir / "logs").mkdir(parents=True)
        self.stack = Stack(self.run_dir, free_port(), users=args.users)
        services = {s.name: s for s in self.stack.plan()}
        self.proxy_url = f"http://127.0.0.1:{free_port()}"
        # Reroute every exporter through the counting proxy; the store itself is unchanged.
        gateway = services["gateway"]
        gateway.command = [
            self.proxy_url if a == self.stack.store_url else a for a in gateway.command
        ]
        services["app"].env["OTEL_EXPORTER_OTLP_ENDPOINT"] = self.proxy_url
        port = self.proxy_url.rsplit(":", 1)[1]
        proxy = Service(
            "proxy",
            [
                sys.executable,
                str(Path(__file__).with_name("_proxy.py")),
                port,
                self.stack.store_url,
            ],
            http_ok(f"{self.proxy_url}/_soak/counts"),
        )
        self.services = {**services, "proxy": proxy}
        self.gateway_url = (
            f"http://127.0.0.1:{gateway.command[gateway.command.index('--port') + 1]}"
        )
        self.counters = StoreCounters()
        self.rss = RssLog()
        self.marks: list[tuple[float, str]] = []
        self.done: dict[str, int] = {}
        self.poison_ids: list[str] = []

    @property
    def store(self) -> Service:
        return self.services["store"]

    def start(self) -> None:
        logs = self.run_dir / "logs"
        for stage in (["store", "simulator", "flaky-simulator", "proxy"], ["gateway"], ["app"]):
            for name in stage:
                self.services[name].start(logs)
            for name in stage:
                took = self.services[name].wait_ready()
                print(f"  {name} ready in {took:.1f} s", flush=True)

    def pids(self) -> dict[str, int]:
        return {
            name: s.process.pid
            for name, s in self.services.items()
            if s.process is not None and s.running
        }

    def fault(self, fault: Fault, elapsed: float) -> None:
        logs = self.run_dir / "logs"
        label = fault.kind if fault.kind != "poison" else f"poison {fault.number}"
        self.marks.append((elapsed, label))
        self.done[fault.kind] = self.done.get(fault.kind, 0) + 1
        if fault.kind == "store-kill":
            self.counters.read(self.stack.store_url)  # the dead-letter count of this life
            assert self.store.process is not None
            self.store.process.kill()
            self.store.process.wait(30)
            self.counters.new_life()
            self.store.start(logs)
            took = self.store.wait_ready()
            print(f"  [{elapsed:6.0f}s] store killed (-9) and restarted: ready in {took:.1f} s")
        elif fault.kind == "upstream-down":
            sim = self.services["simulator"]
            assert sim.process is not None
            sim.process.kill()
            sim.process.wait(30)
            print(f"  [{elapsed:6.0f}s] main simulator killed (-9)")
        elif fault.kind == "upstream-up":
            sim = self.services["simulator"]
            sim.start(logs)
            took = sim.wait_ready()
            print(f"  [{elapsed:6.0f}s] main simulator restarted: ready in {took:.1f} s")
        else:
            poison = build(fault.number)
            try:
                answer = httpx.post(
                    self.proxy_url + poison.path,
                    content=poison.body,
                    headers={"content-type": "application/x-protobuf"},
                    timeout=30,
                )
                status = str(answer.status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            if poison.span_id:
                self.poison_ids.append(poison.span_id)
            print(f"  [{elapsed:6.0f}s] poison {fault.number} ({poison.kind}): {status}")
        sys.stdout.flush()

    def counts(self) -> dict[str, object]:
        try:
            doc: dict[str, object] = httpx.get(f"{self.proxy_url}/_soak/counts", timeout=10).json()
            return doc
        except httpx.HTTPError:
            return {}

    def progress(self, elapsed: float, load: Load) -> None:
        counts = self.counts()
        # The last complete window: the current one is still filling.
        windows = load.windows
        window = windows[-2] if len(windows) >= 2 else (windows[-1] if windows else Window(0))
        rss = {name: series[-1][1] for name, series in self.rss.series.items() if series}
        print(
            f"[{elapsed:6.0f}s/{self.args.duration:.0f}s] spans sent {counts.get('sent_spans')} "
            f"acked {counts.get('acked_spans')} | gateway {len(window.total) + window.errors} req "
            f"{window.errors} err p99 {Window.pct(window.total, 0.99) * 1000:.0f} ms | spool "
            f"{self.counters.spool_bytes / 1024:.0f} KiB | dead-lettered "
            f"{self.counters.dead_lettered_spans() if self.counters.counter_seen else 'n/a'} | RSS "
            + " ".join(f"{n} {v:.0f}" for n, v in rss.items())
            + f" MiB | faults {self.done}",
            flush=True,
        )

    def drain(self) -> dict[str, object]:
        """Wait (bounded) until the proxy has seen nothing new for 5 s and the spool is empty."""
        started = time.monotonic()
        deadline = started + self.args.drain_timeout
        last: dict[str, object] = {}
        quiet_since = lowest_since = time.monotonic()
        lowest = float("inf")
        while time.monotonic() < deadline:
            counts = self.counts()
            self.counters.read(self.stack.store_url)
            now = time.monotonic()
            if counts != last:
                last, quiet_since = counts, now
            if self.counters.spool_bytes < lowest:
                lowest, lowest_since = self.counters.spool_bytes, now
            if self.counters.spool_bytes == 0 and now - quiet_since >= 5:
                return {"drained": True, "spool_bytes": 0, "took_s": round(now - started, 1)}
            # A spool that has not shrunk for a minute is jammed (a poison record on a store
            # without a dead-letter path): waiting longer changes nothing.
            if now - lowest_since >= 60:
                break
            time.sleep(1)
        print(f"!!! the store did not drain: {self.counters.spool_bytes:.0f} bytes still spooled")
        return {"drained": False, "spool_bytes": self.counters.spool_bytes}

    def stop(self) -> None:
        for name in ("app", "gateway", "proxy", "flaky-simulator", "simulator", "store"):
            self.services[name].stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1800, help="seconds of load (30 min)")
    parser.add_argument("--out", type=Path, default=ROOT / ".bench" / "soak", help="report dir")
    parser.add_argument("--users", type=int, default=4, help="simulated users of the demo app")
    parser.add_argument("--streams", type=int, default=4, help="load generator streams")
    parser.add_argument("--rate", type=float, default=20, help="load generator requests/s")
    parser.add_argument("--tokens", type=int, default=16, help="output tokens per request")
    parser.add_argument("--fault-period", type=float, default=300, help="store kill + outage every")
    parser.add_argument("--outage", type=float, default=15, help="seconds the simulator is down")
    parser.add_argument("--poison-every", type=float, default=60, help="seconds between poisons")
    parser.add_argument("--drain-timeout", type=float, default=180, help="longest drain wait, s")
    args = parser.parse_args()
    period = min(args.fault_period, args.duration)
    faults = schedule(args.duration, period, min(args.outage, period / 4), args.poison_every)
    soak = Soak(args)
    print(f"soak: {args.duration:.0f} s, {len(faults)} faults, logs in {soak.run_dir / 'logs'}")
    load = Load(
        soak.gateway_url,
        FAST_MODEL[0],
        streams=args.streams,
        rate=args.rate,
        window_s=max(5.0, min(30.0, args.duration / 12)),
        tokens=args.tokens,
    )
    try:
        soak.start()
        started = time.monotonic()
        soak.rss.started = started
        load.start(args.duration)
        progress_every = max(10.0, min(60.0, args.duration / 12))
        next_sample = next_progress = 0.0
        # Bounded: the loop ends at the duration; each fault waits for a restart at most ~2 min.
        while (elapsed := time.monotonic() - started) < args.duration:
            while faults and faults[0].at_s <= elapsed:
                soak.fault(faults.pop(0), elapsed)
            if elapsed >= next_sample:
                soak.rss.sample(soak.pids())
                if soak.store.running:
                    soak.counters.read(soak.stack.store_url)
                next_sample = elapsed + 5
            if elapsed >= next_progress:
                soak.progress(elapsed, load)
                next_progress = elapsed + progress_every
            time.sleep(0.5)
        print("load done: stopping the app and the gateway (they flush), draining the store")
        load.join()
        soak.services["app"].stop()
        soak.services["gateway"].stop()
        drained = soak.drain()
        soak.rss.sample(soak.pids())
        api_spans, api_note = dead_letters_api(soak.stack.store_url)
        counts = soak.counts()
        acked_ids = set(
            httpx.get(f"{soak.proxy_url}/_soak/acked-span-ids", timeout=60).text.split()
        )
    finally:
        load.join()
        soak.stop()
    stored = stored_span_ids(soak.run_dir / "data")
    counter = soak.counters.dead_lettered_spans()
    dead, source = (
        (api_spans, "GET /api/v1/dead-letters")
        if api_spans is not None
        else (counter, "counter" if soak.counters.counter_seen else "counter absent: 0")
    )
    books = Books(
        sent=int(str(counts.get("sent_spans", 0))),
        acknowledged=int(str(counts.get("acked_spans", 0))),
        acked_by_id=acked_ids,
        stored=stored,
        dead_lettered=dead,
        dead_letter_source=source,
    )
    poison = {
        pid: ("stored" if pid in stored else "not stored")
        + (", acked" if pid in acked_ids else ", not acked")
        for pid in soak.poison_ids
    }
    details: dict[str, object] = {
        "drain": drained,
        "proxy": counts,
        "dead_lettered_counter": {
            f"{k[0]}/{k[1]}": v for k, v in soak.counters.dead_lettered().items()
        }
        if soak.counters.counter_seen
        else "llmobs_store_dead_lettered_total not exported",
        "dead_letters_api": api_note,
        "poison_spans": poison,
        "faults_done": soak.done,
    }
    write(
        args.out,
        books=books,
        details=details,
        windows=load.windows,
        rss=soak.rss.series,
        marks=soak.marks,
    )
    if books.difference:
        sys.exit(1)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
