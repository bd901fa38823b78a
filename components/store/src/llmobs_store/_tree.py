"""The trace-tree rule: what one trace's spans say about each other, decided from the tree alone.

Instrumentations nest: a framework's LLM span (LangChain ``ChatOpenAI``, a LlamaIndex LLM, an
OpenLIT workflow repeating ``gen_ai.usage.*``) over the SDK's LLM span, over an HTTP client span,
over a gateway's span in another service. Each of them may carry the same call's usage. The rule
needs nothing of ours on the spans (``llmobs.caller.span_id`` is honoured when present):

* A *candidate* is a span of kind LLM or EMBEDDING, or any span carrying usage (tokens or cost),
  unless it names its caller (``llmobs.caller.span_id``) and that caller is in the trace: such a
  span is the same call seen by a lower layer, never counted and never hiding its ancestors.
* A candidate carrying usage is counted unless a descendant candidate of its family carries usage
  too (the deepest carrier wins). The family of an LLM span is LLM and of an EMBEDDING span
  EMBEDDING; a span of any other kind (workflow, agent, chain, tool) carrying usage is a total of
  whatever carriers it holds, so any carrier below it hides it.
* A candidate without usage (a failed attempt, an SDK span that could not read usage) is counted
  unless a descendant candidate of its family exists (the deepest call wins) or an ancestor call
  of its family carries usage (that ancestor is then the call's only record of its tokens).
* Every other span keeps its stored flag.

Also decided here: a span without a session or user of its own inherits its nearest ancestor's
(kept only for the spans aggregates read by session or user: candidates, spans with a session, a
user or an error of their own), and a trace whose root (a span without a parent) is not stored
gets a stand-in: the earliest span whose parent is not in the trace.

Pure: a trace's spans in, a verdict per span out; ``reconciler.py`` stores the verdicts.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from llmobs_semconv import attributes as A
from llmobs_semconv import span_kinds

CALLS = (span_kinds.LLM, span_kinds.EMBEDDING)
_TOTAL = "*"  # the family of a usage carrier that is not a call


@dataclass(frozen=True, slots=True)
class Node:
    """What the rule reads of one stored span (from its normalised row, or read back)."""

    span_id: str
    parent_id: str
    start_us: int
    kind: str
    usage: bool  # tokens or cost on the span
    counted: bool  # the span row's own flag (False when it names a caller)
    caller_id: str
    session_id: str
    user_id: str
    error: bool


@dataclass(frozen=True)
class Verdict:
    """What the store keeps about one span beyond its row (all defaults: nothing)."""

    flip: bool = False  # aggregates count the span the other way from its row's flag
    root: bool = False  # stands in for the trace's root, which is not stored
    session_id: str = ""  # inherited (the span has none of its own)
    user_id: str = ""


NOTHING = Verdict()


def node_of(row: Mapping[str, Any]) -> Node:
    """The node of a normalised span row (``normaliser.SPAN_COLUMNS`` values)."""
    seconds, _, micros = str(row["start_time"]).partition(".")
    return Node(
        span_id=row["span_id"],
        parent_id=row["parent_span_id"],
        start_us=int(seconds) * 1_000_000 + int(micros or 0),
        kind=row["kind"],
        usage=row["input_tokens"] + row["output_tokens"] > 0 or row["cost_usd"] > 0,
        counted=bool(row["counted"]),
        caller_id=str(row["attributes"].get(A.LLMOBS_CALLER_SPAN_ID, "")),
        session_id=row["session_id"],
        user_id=row["user_id"],
        error=row["status"] == "ERROR",
    )


def trivial(nodes: Iterable[Node]) -> bool:
    """True when every verdict of a trace made of ``nodes`` is surely NOTHING (a fast path: most
    traces have a root, at most one candidate and nothing to inherit)."""
    root = candidates = 0
    sessions = users = lacks_session = lacks_user = False
    for n in nodes:
        root |= n.parent_id == ""
        if n.kind in CALLS or n.usage or n.caller_id:
            candidates += 1
            if n.caller_id:
                return False
        sessions |= bool(n.session_id)
        users |= bool(n.user_id)
        if n.kind in CALLS or n.usage or n.session_id or n.user_id or n.error:
            lacks_session |= not n.session_id
            lacks_user |= not n.user_id
    return (
        bool(root)
        and candidates <= 1
        and not (sessions and lacks_session)
        and not (users and lacks_user)
    )


def judge(nodes: Iterable[Node]) -> dict[str, Verdict]:
    """The verdict of every span of one trace, by span id."""
    by_id: dict[str, Node] = {}
    for node in nodes:
        by_id.setdefault(node.span_id, node)
    order, parent_of, tops = _walk(by_id)
    dup = {
        n.span_id: bool(n.caller_id) and n.caller_id != n.span_id and n.caller_id in by_id
        for n in by_id.values()
    }
    candidate = {
        n.span_id: not dup[n.span_id] and (n.kind in CALLS or n.usage) for n in by_id.values()
    }

    # Bottom-up: the families of candidates (and of usage carriers) below each span.
    below: dict[str, set[str]] = {span: set() for span in by_id}
    below_usage: dict[str, set[str]] = {span: set() for span in by_id}
    for span in reversed(order):
        parent = parent_of[span]
        if parent is None:
            continue
        below[parent] |= below[span]
        below_usage[parent] |= below_usage[span]
        if candidate[span]:
            below[parent].add(_family(by_id[span]))
            if by_id[span].usage:
                below_usage[parent].add(_family(by_id[span]))

    # Top-down: usage-carrying calls above each span, and the inherited session and user.
    above_usage: dict[str, frozenset[str]] = {}
    session: dict[str, str] = {}
    user: dict[str, str] = {}
    for span in order:
        node, parent = by_id[span], parent_of[span]
        if parent is None:
            above_usage[span], inherited = frozenset(), ("", "")
        else:
            up = by_id[parent]
            carrier = candidate[parent] and up.usage and up.kind in CALLS
            above_usage[span] = above_usage[parent] | ({up.kind} if carrier else set())
            inherited = (session[parent], user[parent])
        session[span] = node.session_id or inherited[0]
        user[span] = node.user_id or inherited[1]

    # A span of another kind (agent, workflow, chain) carrying usage is a total of calls: in a
    # trace where some call carries usage it is never the call's only record, even when the
    # call sits beside it rather than below (OpenLIT's LangGraph agent step is two sibling
    # invoke_agent spans, the usage on the one without the chat span).
    calls_carry = any(candidate[s] and n.usage and n.kind in CALLS for s, n in by_id.items())

    stand_in = ""
    if not any(n.parent_id == "" for n in by_id.values()) and tops:
        stand_in = min(tops, key=lambda s: (by_id[s].start_us, s))

    verdicts = {}
    for span, node in by_id.items():
        if dup[span]:
            counted = False
        elif not candidate[span]:
            counted = node.counted
        elif node.usage:
            family = _family(node)
            if family == _TOTAL:
                counted = not below_usage[span] and not calls_carry
            else:
                counted = family not in below_usage[span]
        else:
            family = _family(node)
            counted = family not in below[span] and family not in above_usage[span]
        relevant = candidate[span] or node.session_id or node.user_id or node.error
        verdicts[span] = Verdict(
            flip=counted != node.counted,
            root=span == stand_in,
            session_id=session[span] if relevant and not node.session_id else "",
            user_id=user[span] if relevant and not node.user_id else "",
        )
    return verdicts


def _family(node: Node) -> str:
    return node.kind if node.kind in CALLS else _TOTAL


def _walk(by_id: dict[str, Node]) -> tuple[list[str], dict[str, str | None], list[str]]:
    """Spans in pre-order, each one's parent along the walk, and the tops (parent not stored).

    A parent loop (hostile or broken input) is cut at its earliest span, which becomes a top.
    """
    children: dict[str, list[str]] = {}
    tops = []
    for node in by_id.values():
        if node.parent_id in by_id and node.parent_id != node.span_id:
            children.setdefault(node.parent_id, []).append(node.span_id)
        else:
            tops.append(node.span_id)
    order: list[str] = []
    parent_of: dict[str, str | None] = {}
    unvisited = set(by_id)

    def visit(top: str) -> None:
        stack: list[tuple[str, str | None]] = [(top, None)]
        while stack:
            span, parent = stack.pop()
            if span not in unvisited:
                continue
            unvisited.discard(span)
            order.append(span)
            parent_of[span] = parent
            stack.extend((child, span) for child in children.get(span, ()))

    for top in sorted(tops, key=lambda s: (by_id[s].start_us, s)):
        visit(top)
    while unvisited:  # only spans on a parent loop are left
        top = min(unvisited, key=lambda s: (by_id[s].start_us, s))
        tops.append(top)
        visit(top)
    return order, parent_of, tops
