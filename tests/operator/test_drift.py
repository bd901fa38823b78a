"""Drift detection and the opt-in rollout patch."""

from llmobs_operator import drift


def test_contains_ignores_server_defaults_but_sees_edits() -> None:
    desired = {
        "metadata": {"name": "s", "labels": {"a": "b"}},
        "spec": {"replicas": 2, "ports": [{"port": 4318}]},
    }
    live = {
        "metadata": {"name": "s", "labels": {"a": "b", "extra": "x"}, "uid": "u"},
        "spec": {
            "replicas": 2,
            "ports": [{"port": 4318, "protocol": "TCP"}],
            "clusterIP": "10.0.0.1",
        },
        "status": {},
    }
    assert not drift.drifted(desired, live)
    live["spec"]["replicas"] = 5
    assert drift.drifted(desired, live)
    assert drift.drifted(desired, None)
    assert drift.contains({"cpu": 1}, {"cpu": "1"})


def test_rollout_patch_only_for_opted_in_and_only_once() -> None:
    workload = {
        "metadata": {"annotations": {}},
        "spec": {"template": {"metadata": {"labels": {"app": "x"}}}},
    }
    assert drift.rollout_patch(workload, "r1") is None
    workload["metadata"]["annotations"][drift.ANN_ROLLOUT] = "true"
    patch = drift.rollout_patch(workload, "r1")
    assert patch is not None
    meta = patch["spec"]["template"]["metadata"]
    assert meta["labels"] == {"llmobs.dev/inject": "true"}
    assert meta["annotations"] == {drift.ANN_REVISION: "r1"}
    workload["spec"]["template"]["metadata"] = {
        "labels": {"llmobs.dev/inject": "true"},
        "annotations": {drift.ANN_REVISION: "r1"},
    }
    assert drift.rollout_patch(workload, "r1") is None
    assert drift.rollout_patch(workload, "r2") is not None


def test_revision_changes_with_injection_settings() -> None:
    a = drift.injection_revision("o/n", {"image": "p:1"})
    assert a == drift.injection_revision("o/n", {"image": "p:1"})
    assert a != drift.injection_revision("o/n", {"image": "p:2"})


def test_empty_desired_values_match_what_the_server_dropped() -> None:
    desired = {
        "spec": {
            "containers": [{"name": "c", "env": []}],
            "objectSelector": {"matchExpressions": []},
        }
    }
    live = {"spec": {"containers": [{"name": "c"}], "objectSelector": {}}}
    assert not drift.drifted(desired, live)
    assert drift.drifted({"spec": {"containers": [{"name": "c", "env": [{"name": "A"}]}]}}, live)
