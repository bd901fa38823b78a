"""OpenLIT (openlit on PyPI, openlit/openlit sdk/python).

Names: openlit 1.45.0 ``openlit/semcov/__init__.py`` (``SemanticConvention``). OpenLIT writes the
server-side streaming metric names as attributes of its client spans (TTFT, and the mean gap
between chunks as TPOT), its own cost, and the OpenAI ``user`` as ``gen_ai.request.user``; some
instrumentations put the prompt and completion on span events.
"""

from __future__ import annotations

from llmobs_semconv import span_kinds as K
from llmobs_semconv.families import _rows as F
from llmobs_semconv.families._rows import Attr, Family, Kind, SpanEvent

SEMCOV = "openlit 1.45.0 openlit/semcov/__init__.py"
HELPERS = "openlit 1.45.0 openlit/__helpers.py (common_span_attributes, calculate_ttft/tbt)"
EVENTS = "openlit 1.45.0 openlit/instrumentation/together/utils.py (span events with content)"


def _operation(value: str, kind: str) -> Kind:
    return Kind("gen_ai.operation.name", value, kind, SEMCOV, rank=70)


FAMILY = Family(
    name="openlit",
    title="OpenLIT",
    attributes=(
        Attr("gen_ai.server.time_to_first_token", F.TTFT, HELPERS, rank=70, unit="s"),
        Attr("gen_ai.server.time_per_output_token", F.TPOT, HELPERS, rank=70, unit="s"),
        Attr("gen_ai.usage.cost", F.COST_USD, SEMCOV, rank=70),
        Attr("gen_ai.request.user", F.USER_ID, SEMCOV, rank=55),
        Attr("gen_ai.usage.total_tokens", F.TOTAL_TOKENS, SEMCOV, rank=60),
        Attr("gen_ai.usage.reasoning_tokens", F.REASONING_TOKENS, SEMCOV, rank=60),
        Attr(
            "gen_ai.usage.prompt_tokens_details.cached_tokens",
            F.CACHED_TOKENS,
            SEMCOV,
            rank=55,
        ),
        Attr(
            "gen_ai.usage.prompt_tokens_details.cache_creation_tokens",
            F.CACHE_CREATION_TOKENS,
            SEMCOV,
            rank=55,
        ),
        Attr(
            "gen_ai.usage.completion_tokens_details.reasoning_tokens",
            F.REASONING_TOKENS,
            SEMCOV,
            rank=55,
        ),
        Attr("gen_ai.tool.args", F.TOOL_ARGUMENTS, SEMCOV, rank=50),
        Attr("gen_ai.session.id", F.SESSION_ID, SEMCOV, rank=70),
        Attr("gen_ai.user.id", F.USER_ID, SEMCOV, rank=70),
    ),
    kinds=(
        # Every vector-database call (the common one in a trace is the similarity search).
        _operation("vectordb", K.RETRIEVER),
        _operation("retrieval", K.RETRIEVER),
        _operation("execute_task", K.CHAIN),
        _operation("memory", K.MEMORY),
        _operation("memory_add", K.MEMORY),
        _operation("memory_search", K.MEMORY),
        _operation("memory_get", K.MEMORY),
        _operation("memory_update", K.MEMORY),
        _operation("memory_delete", K.MEMORY),
        _operation("mcp_tool_call", K.TOOL),
        _operation("mcp_tool_list", K.MCP),
        _operation("mcp_resource_read", K.MCP),
        _operation("mcp_resource_list", K.MCP),
        _operation("mcp_request", K.MCP),
        _operation("mcp_response", K.MCP),
        _operation("mcp_client", K.MCP),
        _operation("mcp_server", K.MCP),
    ),
    span_events=(
        SpanEvent("gen_ai.content.prompt", F.CONTENT, EVENTS),
        SpanEvent("gen_ai.content.completion", F.CONTENT, EVENTS),
    ),
)
