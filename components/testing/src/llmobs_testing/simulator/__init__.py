"""An OpenAI-compatible model-server simulator with vLLM's metrics, for tests and the demo.

``create_app(SimulatorSettings(models=[ModelProfile(name="m", ttft_s=0.2, itl_s=0.02)]))`` gives
an ASGI app; serve it with ``llmobs_testing.servers.serve_app`` or ``llmobs simulator serve``.
"""

from llmobs_testing.simulator.app import Simulator, create_app
from llmobs_testing.simulator.settings import ModelProfile, SimulatorSettings

__all__ = ["ModelProfile", "Simulator", "SimulatorSettings", "create_app"]
