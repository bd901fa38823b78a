"""SQL that reads the tree pass's verdicts (``span_tree``, written by reconciler.py).

Aggregates still read ``spans`` without FINAL; the verdicts table is small (a row per span
whose verdict is not the default) and is read with FINAL inside a subquery, newest version
winning. Spans are matched on ``span_key`` (an integer column), so an aggregate reads 8 more
bytes a row rather than the id strings. ``scope`` narrows the verdicts read to what the outer
query reads: a time range on ``start_time`` (a verdict carries its span's start) or a set of
trace ids. Both are exact: a span's verdicts all have its start time and trace id.
"""


def _verdicts(scope: str, column: str) -> str:
    # The filter on the verdict itself stays outside FINAL: applied inside, an older version
    # could match where the newest does not.
    return (
        f"(SELECT span_key FROM (SELECT span_key, {column} FROM $db.span_tree FINAL "
        f"WHERE {scope}) WHERE {column} = 1)"
    )


def counted(scope: str, table: str = "") -> str:
    """True for the spans aggregates count: the row's flag, unless its verdict flips it."""
    prefix = f"{table}." if table else ""
    return f"(({prefix}counted = 1) != ({prefix}span_key IN {_verdicts(scope, 'flip')}))"


def listed(scope: str) -> str:
    """True for the spans trace search lists: roots, and stand-ins for roots not stored."""
    return f"(parent_span_id = '' OR span_key IN {_verdicts(scope, 'root')})"


def joined(scope: str) -> str:
    """A join giving the spans table ``s`` its verdicts as ``t`` (defaults when it has none)."""
    return (
        "LEFT ANY JOIN (SELECT span_key AS t_key, flip AS t_flip, session_id AS t_session, "
        f"user_id AS t_user FROM $db.span_tree FINAL WHERE {scope}) AS t ON s.span_key = t.t_key"
    )


# With ``joined``: whether the span counts, and the session and user it belongs to (its own,
# else the one it inherits).
COUNTED_JOINED = "((s.counted = 1) != (t.t_flip = 1))"
SESSION_JOINED = "if(s.session_id != '', s.session_id, t.t_session)"
USER_JOINED = "if(s.user_id != '', s.user_id, t.t_user)"
