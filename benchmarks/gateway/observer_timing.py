"""Micro-timing of the SSE observer's per-event cost (a measuring script, not a test).

Feeds a typical chat-completions stream to ``ResponseObserver.feed`` the way the proxy does and
prints the mean cost per event, in three shapes: one whole event per upstream read (the common
case), each event cut in two reads, and eight events per read. Best of several rounds, so noise
from other processes on a shared machine inflates it as little as possible.

    .venv/bin/python benchmarks/gateway/observer_timing.py
"""

from __future__ import annotations

import json
import time

from llmobs_gateway._observer import ResponseObserver

EVENTS = 20_000
ROUNDS = 7


def _event(i: int) -> bytes:
    doc = {
        "id": "chatcmpl-123456789",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "sim-model",
        "choices": [{"index": 0, "delta": {"content": f"tok{i % 97} "}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(doc, separators=(",", ":")).encode() + b"\n\n"


def _per_event_ns(reads: list[bytes]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        obs = ResponseObserver(strip_usage=True)
        feed = obs.feed
        started = time.perf_counter_ns()
        for data in reads:
            feed(data)
        obs.flush()
        best = min(best, (time.perf_counter_ns() - started) / EVENTS)
    return best


def main() -> None:
    events = [_event(i) for i in range(EVENTS)]
    whole = events
    halves = [part for e in events for part in (e[: len(e) // 2], e[len(e) // 2 :])]
    grouped = [b"".join(events[i : i + 8]) for i in range(0, EVENTS, 8)]
    for name, reads in (
        ("one event per read", whole),
        ("event in two reads", halves),
        ("eight events per read", grouped),
    ):
        print(f"{name:24s} {_per_event_ns(reads) / 1000:6.2f} us/event")


if __name__ == "__main__":
    main()
