"""Nesting limits of export requests, checked before anything recursive sees them.

OTLP's ``AnyValue`` nests without bound (arrays and kvlists of AnyValues), and everything that
walks one recurses: ``json.loads``, protobuf's JSON parser, the normaliser's ``any_value``. A
request nested deeper than these limits is refused with a 400 before it is spooled, so nothing
downstream ever sees it. The limits are far above what SDKs produce (attribute values are flat
or nested a few levels; a log body mirrors the dict it was given) and below protobuf's own
parser limit of 100 nested messages, so a JSON request accepted here always re-parses from the
spool.
"""

from typing import Any

# Arrays/kvlists inside arrays/kvlists within one attribute value or log body.
MAX_VALUE_DEPTH = 20
# JSON objects and arrays inside each other in an OTLP/JSON body: a span event's attribute value
# sits 12 levels down and each kvlist level adds 4, so this admits MAX_VALUE_DEPTH and bounds the
# recursion of protobuf's JSON parser.
MAX_JSON_DEPTH = 100


def json_depth_problem(doc: Any) -> str:
    """Why a decoded JSON document is nested too deeply ('' when it is not); iterative."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return ""


def _values_of(message: Any) -> list[Any]:
    """Every top-level AnyValue of an export request: attributes and log bodies."""
    found: list[Any] = []

    def attrs(holder: Any) -> None:
        found.extend(kv.value for kv in holder.attributes)

    for rs in getattr(message, "resource_spans", ()):
        attrs(rs.resource)
        for ss in rs.scope_spans:
            attrs(ss.scope)
            for span in ss.spans:
                attrs(span)
                for event in span.events:
                    attrs(event)
                for link in span.links:
                    attrs(link)
    for rl in getattr(message, "resource_logs", ()):
        attrs(rl.resource)
        for sl in rl.scope_logs:
            attrs(sl.scope)
            for record in sl.log_records:
                attrs(record)
                found.append(record.body)
    for rm in getattr(message, "resource_metrics", ()):
        attrs(rm.resource)
        for sm in rm.scope_metrics:
            attrs(sm.scope)
            for metric in sm.metrics:
                which = metric.WhichOneof("data")
                for point in getattr(metric, which).data_points if which else ():
                    attrs(point)
                    for exemplar in getattr(point, "exemplars", ()):
                        found.extend(kv.value for kv in exemplar.filtered_attributes)
    return found


def value_depth_problem(message: Any) -> str:
    """Why an export request's values are nested too deeply ('' when they are not); iterative."""
    stack: list[tuple[Any, int]] = []
    for value in _values_of(message):
        which = value.WhichOneof("value")
        if which in {"array_value", "kvlist_value"}:
            stack.append((value, 1))
    while stack:
        value, depth = stack.pop()
        if depth > MAX_VALUE_DEPTH:
            return (
                f"an attribute value or log body nests arrays/kvlists deeper than "
                f"{MAX_VALUE_DEPTH} levels"
            )
        which = value.WhichOneof("value")
        children = (
            value.array_value.values
            if which == "array_value"
            else [kv.value for kv in value.kvlist_value.values]
        )
        for child in children:
            if child.WhichOneof("value") in ("array_value", "kvlist_value"):
                stack.append((child, depth + 1))
    return ""
