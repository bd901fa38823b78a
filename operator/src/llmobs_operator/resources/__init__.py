"""Pure builders: an ``LLMObservability`` spec in, Kubernetes manifests (plain dicts) out.

Nothing here talks to the API server, so every builder is tested as data in, data out.
"""

from llmobs_operator.resources.common import Owner, children_of, desired_children

__all__ = ["Owner", "children_of", "desired_children"]
