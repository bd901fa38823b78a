"""The nesting limit of export requests, checked before anything recursive sees them.

OTLP's ``AnyValue`` nests without bound (arrays and kvlists of AnyValues), and everything that
walks one recurses: ``json.loads``, protobuf's JSON parser, the normaliser's ``any_value``. The
documented limit is protobuf's own: messages nested at most 100 deep (its parser refuses deeper
ones). For OTLP/JSON the store requires at most ``MAX_JSON_DEPTH`` levels of objects and arrays,
which implies the same for the message it becomes (every message is one JSON object), so what
is accepted always re-parses from the spool, and nothing downstream recurses deeper than that.
An attribute value of a span then nests about 30 arrays or 20-30 kvlists, far beyond what SDKs
produce (flat values, or a log body mirroring a dict a few levels deep).
"""

from typing import Any

MAX_JSON_DEPTH = 100
PROTOBUF_MAX_DEPTH = 100  # upb's default recursion limit, which the Python bindings keep


def json_depth_problem(doc: Any) -> str:
    """Why a decoded JSON document is nested too deeply ('' when it is not).

    Level by level rather than recursively (a deep document is the very thing refused), and
    touching only containers: this is on the ingest path of every OTLP/JSON request.
    """
    level = [doc]
    depth = 1
    while level:
        if depth > MAX_JSON_DEPTH:
            return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
        below: list[Any] = []
        for node in level:
            items = node.values() if type(node) is dict else node
            below.extend(c for c in items if type(c) is dict or type(c) is list)
        level = below
        depth += 1
    return ""
