"""Coalescing of child-workload events into few status refreshes (real asyncio, short delays)."""

import asyncio
import logging

import pytest

from llmobs_operator.coalescer import Coalescer, next_delay


def test_next_delay_waits_the_delay_then_keeps_the_minimum_interval() -> None:
    assert next_delay(100.0, None, 0.5, 2.0) == 0.5
    assert next_delay(100.0, 99.5, 0.5, 2.0) == pytest.approx(1.5)  # 2 s since the last run
    assert next_delay(100.0, 90.0, 0.5, 2.0) == 0.5  # long ago: just the delay


async def _settle(coalescer: Coalescer, seconds: float = 0.3) -> None:
    await asyncio.sleep(seconds)
    await coalescer.aclose()


def test_a_burst_of_triggers_is_one_run() -> None:
    runs: list[str] = []

    async def action(key: str) -> bool:
        runs.append(key)
        return False

    async def main() -> None:
        coalescer = Coalescer(action, delay_s=0.02, min_interval_s=0.05)
        for _ in range(50):
            coalescer.trigger("ns/a")
        coalescer.trigger("ns/b")
        await _settle(coalescer)

    asyncio.run(main())
    assert sorted(runs) == ["ns/a", "ns/b"]


def test_a_trigger_during_a_run_is_not_lost_and_is_throttled() -> None:
    started: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def action(key: str) -> bool:
            started.append(loop.time())
            if len(started) == 1:
                coalescer.trigger(key)  # an event arriving while the status is being computed
                coalescer.trigger(key)
            return False

        coalescer = Coalescer(action, delay_s=0.01, min_interval_s=0.1)
        coalescer.trigger("ns/a")
        await _settle(coalescer, 0.5)

    asyncio.run(main())
    assert len(started) == 2
    assert started[1] - started[0] >= 0.09  # min_interval_s between runs of one key


def test_retries_while_the_action_asks_then_gives_up() -> None:
    runs: list[str] = []

    async def action(key: str) -> bool:
        runs.append(key)
        return True  # e.g. the resource is never reconciled

    async def main() -> None:
        coalescer = Coalescer(action, delay_s=0.0, min_interval_s=0.01, max_retries=3)
        coalescer.trigger("ns/a")
        await _settle(coalescer, 0.5)

    asyncio.run(main())
    assert len(runs) == 4  # the run, then three retries


def test_a_failing_action_is_logged_and_the_next_trigger_runs_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[str] = []

    async def action(key: str) -> bool:
        runs.append(key)
        if len(runs) == 1:
            raise RuntimeError("API down")
        return False

    async def main() -> None:
        coalescer = Coalescer(action, delay_s=0.0, min_interval_s=0.01)
        coalescer.trigger("ns/a")
        await asyncio.sleep(0.1)
        coalescer.trigger("ns/a")
        await _settle(coalescer, 0.1)

    with caplog.at_level(logging.ERROR, logger="llmobs_operator.coalescer"):
        asyncio.run(main())
    assert len(runs) == 2
    assert "refresh of ns/a failed" in caplog.text


def test_close_cancels_pending_runs() -> None:
    runs: list[str] = []

    async def action(key: str) -> bool:
        runs.append(key)
        return False

    async def main() -> None:
        coalescer = Coalescer(action, delay_s=5.0, min_interval_s=5.0)
        coalescer.trigger("ns/a")
        await asyncio.sleep(0.01)
        await coalescer.aclose()

    asyncio.run(main())
    assert runs == []
