"""Model Context Protocol: the MCP semantic conventions and the spans the ``mcp`` SDK emits.

Names: open-telemetry/semantic-conventions-genai ``docs/gen-ai/mcp.md`` (``mcp.method.name``,
``mcp.session.id``, ``mcp.protocol.version``, ``jsonrpc.request.id``, span name
``{mcp.method.name} {target}``). The ``mcp`` package 2.x emits them itself: the client span
``MCP send tools/call NAME`` (CLIENT, with the method and request id only: the tool name is in
the span name), the server span ``tools/call NAME`` (SERVER, with ``gen_ai.operation.name``
``execute_tool`` and ``gen_ai.tool.name``).
"""

from __future__ import annotations

from llmobs_semconv import span_kinds as K
from llmobs_semconv.families import _rows as F
from llmobs_semconv.families._rows import Attr, Family, Kind, NameSuffix

SPEC = "open-telemetry/semantic-conventions-genai docs/gen-ai/mcp.md"
CLIENT = "modelcontextprotocol/python-sdk (mcp 2.3.0) src/mcp/shared/jsonrpc_dispatcher.py"
SERVER = "modelcontextprotocol/python-sdk (mcp 2.3.0) src/mcp/server/_otel.py"

FAMILY = Family(
    name="mcp",
    title="Model Context Protocol (MCP)",
    attributes=(
        # The MCP transport session: the session only when nothing names a conversation.
        Attr("mcp.session.id", F.SESSION_ID, SPEC, rank=10),
    ),
    kinds=(
        Kind("mcp.method.name", "tools/call", K.TOOL, CLIENT, rank=50),
        Kind("mcp.method.name", "*", K.MCP, SPEC, rank=45),
    ),
    name_suffixes=(NameSuffix("mcp.method.name", "tools/call", F.TOOL_NAME, CLIENT),),
)
