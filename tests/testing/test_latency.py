"""The latency probe reports the worst /healthz answer time it saw, from its own process."""

import asyncio
import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from llmobs_testing.latency import LatencyProbe
from llmobs_testing.servers import serve_app


def _app() -> Starlette:
    seen = [0]

    async def healthz(request: Request) -> Response:
        seen[0] += 1
        if seen[0] == 20:
            await asyncio.sleep(0.3)  # one slow answer among fast ones
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/healthz", healthz)])


def test_one_slow_answer_is_the_worst_reported() -> None:
    with serve_app(_app()) as url, LatencyProbe(url, interval_s=0.002) as probe:
        time.sleep(1.5)  # long enough for the 20th answer (the slow one) to have passed
    assert not probe.failures
    assert probe.samples > 20
    assert 0.3 <= probe.worst_s < 5


def test_an_unreachable_server_is_reported_not_hung() -> None:
    with (
        pytest.raises(RuntimeError, match="did not start"),
        LatencyProbe("http://127.0.0.1:9", timeout_s=2),
    ):
        pass
