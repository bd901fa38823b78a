"""Label selectors (matchExpressions honoured) and the choice of the resource for a pod."""

from llmobs_operator.selectors import Candidate, choose, matches


def test_matches() -> None:
    sel = {
        "matchLabels": {"a": "1"},
        "matchExpressions": [
            {"key": "b", "operator": "In", "values": ["x", "y"]},
            {"key": "c", "operator": "NotIn", "values": ["z"]},
            {"key": "d", "operator": "Exists"},
            {"key": "e", "operator": "DoesNotExist"},
        ],
    }
    assert matches(sel, {"a": "1", "b": "x", "d": ""})
    assert not matches(sel, {"a": "1", "b": "q", "d": ""})
    assert not matches(sel, {"a": "1", "b": "x", "d": "", "c": "z"})
    assert not matches(sel, {"a": "1", "b": "x"})
    assert not matches(sel, {"a": "1", "b": "x", "d": "", "e": "1"})
    assert matches({}, {})
    assert matches(None, None)


def test_choose_oldest_matching_and_excludes() -> None:
    inject = {"matchLabels": {"llmobs.dev/inject": "true"}}
    older = Candidate("a", "one", "2026-01-01T00:00:00Z", inject, {"matchLabels": {"team": "llm"}})
    newer = Candidate("b", "two", "2026-02-01T00:00:00Z", inject, {})
    off = Candidate("c", "off", "2025-01-01T00:00:00Z", inject, {}, enabled=False)
    labels = {"llmobs.dev/inject": "true"}
    cands = [newer, older, off]
    assert (
        choose(cands, pod_labels=labels, namespace="apps", namespace_labels={"team": "llm"})
        == older
    )
    assert choose(cands, pod_labels=labels, namespace="apps", namespace_labels={}) == newer
    assert choose(cands, pod_labels={}, namespace="apps", namespace_labels={}) is None
    assert (
        choose(
            cands,
            pod_labels=labels,
            namespace="obs",
            namespace_labels={},
            excluded_namespaces=["obs"],
        )
        is None
    )
    local = Candidate("apps", "team", "2026-03-01T00:00:00Z", inject, {})
    assert (
        choose([*cands, local], pod_labels=labels, namespace="apps", namespace_labels={}) == local
    )
    by_name = Candidate(
        "d", "n", "2026", inject, {"matchLabels": {"kubernetes.io/metadata.name": "dify"}}
    )
    assert choose([by_name], pod_labels=labels, namespace="dify", namespace_labels=None) == by_name
