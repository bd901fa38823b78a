"""The llmobs contract: the names and record shapes that probe, gateway and store share.

Nothing else of ours is imported here, and nothing heavier than the standard library: the probe
ships this package inside users' pods (CPython 3.9+).
"""

from llmobs_semconv import attributes, chunks, metrics, pricing, span_kinds

__all__ = ["attributes", "chunks", "metrics", "pricing", "span_kinds"]
__version__ = "0.1.0"
