"""The soak's steady load on the gateway: paced streaming chat requests, latency per window.

``streams`` workers each send one streaming chat completion at a time, paced so that together
they make about ``rate`` requests per second; every request is timed (time to first content
chunk and to the end of the stream) and filed under the window it started in. Bounded by the
stop event and by a deadline.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class Window:
    """Requests started in one time window: latencies (s) of the good ones, count of failures."""

    start_s: float
    ttft: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Load:
    """Runs in its own thread with its own event loop; read ``windows`` at any time."""

    def __init__(
        self, gateway: str, model: str, *, streams: int, rate: float, window_s: float, tokens: int
    ) -> None:
        self.url = gateway.rstrip("/") + "/v1/chat/completions"
        self.model, self.streams, self.rate, self.window_s = model, streams, rate, window_s
        self.body = json.dumps(
            {
                "model": model,
                "stream": True,
                "max_tokens": tokens,
                "messages": [{"role": "user", "content": "soak: a short answer, please"}],
            }
        )
        self.windows: list[Window] = []
        self.stop = threading.Event()
        self.started = 0.0
        self._thread: threading.Thread | None = None

    def start(self, deadline_s: float) -> None:
        self.started = time.monotonic()
        self._thread = threading.Thread(target=asyncio.run, args=(self._run(deadline_s),))
        self._thread.start()

    def join(self) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=120)

    def _window(self, at: float) -> Window:
        index = int((at - self.started) // self.window_s)
        while len(self.windows) <= index:
            self.windows.append(Window(len(self.windows) * self.window_s))
        return self.windows[index]

    async def _run(self, deadline_s: float) -> None:
        limits = httpx.Limits(max_connections=self.streams, max_keepalive_connections=self.streams)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            await asyncio.gather(*(self._worker(client, deadline_s) for _ in range(self.streams)))

    async def _worker(self, client: httpx.AsyncClient, deadline_s: float) -> None:
        interval = self.streams / self.rate
        deadline = self.started + deadline_s
        next_at = time.monotonic()
        while not self.stop.is_set() and time.monotonic() < deadline:
            next_at += interval
            await self._one(client)
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def _one(self, client: httpx.AsyncClient) -> None:
        started = time.monotonic()
        window = self._window(started)
        ttft = 0.0
        status = "error"
        try:
            headers = {"content-type": "application/json", "authorization": "Bearer soak"}
            async with client.stream("POST", self.url, content=self.body, headers=headers) as r:
                status = str(r.status_code)
                async for chunk in r.aiter_bytes():
                    if not ttft and b'"content"' in chunk:
                        ttft = time.monotonic() - started
            ok = status == "200" and ttft > 0
        except httpx.HTTPError as exc:
            status, ok = type(exc).__name__, False
        window.statuses[status] = window.statuses.get(status, 0) + 1
        if ok:
            window.ttft.append(ttft)
            window.total.append(time.monotonic() - started)
        else:
            window.errors += 1
