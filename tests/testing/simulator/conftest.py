"""A shared simulator served over real HTTP, and real openai clients pointed at it."""

from collections.abc import Iterator

import openai
import pytest

from llmobs_testing.servers import serve_app
from llmobs_testing.simulator import ModelProfile, SimulatorSettings, create_app

FAST = "fast"  # tiny latencies: shapes and behaviour
TIMED = "timed"  # the latencies the timing tests measure
TTFT_S = 0.2
ITL_S = 0.02


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    settings = SimulatorSettings(
        models=[
            ModelProfile(name=FAST, ttft_s=0.005, itl_s=0.001, default_output_tokens=8),
            ModelProfile(name=TIMED, ttft_s=TTFT_S, itl_s=ITL_S, embedding_dim=16),
        ],
        strict_models=True,
        seed=7,
    )
    with serve_app(create_app(settings)) as url:
        yield url


@pytest.fixture
def client(sim_url: str) -> Iterator[openai.OpenAI]:
    # No retries: a simulated failure must surface, not be retried away.
    with openai.OpenAI(base_url=sim_url + "/v1", api_key="test", max_retries=0) as sdk:
        yield sdk
