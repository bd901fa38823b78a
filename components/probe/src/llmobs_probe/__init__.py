"""llmobs probe: zero-code OpenTelemetry instrumentation for LLM applications (CPython 3.9+).

Injected by the operator (``sitecustomize`` on PYTHONPATH) or run as ``llmobs-instrument CMD``;
the only code an app may add is :func:`session`, to name the session and user of a block.
"""

from llmobs_probe._distro import Probe, current, initialize
from llmobs_probe._session import session

__version__ = "0.1.0"


def start() -> "Probe | None":
    """Start the probe from code (same settings as the bootstrap); returns None when off."""
    return initialize()


__all__ = ["Probe", "__version__", "current", "initialize", "session", "start"]
