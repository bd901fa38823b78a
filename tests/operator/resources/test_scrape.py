"""Scrape targets resolved from pods: running model servers and GPU exporters only."""

import json
from typing import Any

from llmobs_operator.resources import common, scrape
from llmobs_operator.spec import parse_spec

OWNER = common.Owner("llmobs", "obs", "u")


def pod(name: str, ip: str | None, phase: str = "Running", server: str = "vllm") -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "models",
            "labels": {"llmobs.dev/model-server": server},
        },
        "spec": {"nodeName": "gpu-1"},
        "status": {"phase": phase, **({"podIP": ip} if ip else {})},
    }


def test_selector_string() -> None:
    spec = parse_spec({})
    selector = spec.model_servers.selector.model_dump(by_alias=True)
    assert scrape.selector_string(selector) == "llmobs.dev/model-server in (vllm,sglang)"
    assert (
        scrape.selector_string(
            {
                "matchLabels": {"b": "2", "a": "1"},
                "matchExpressions": [
                    {"key": "x", "operator": "Exists"},
                    {"key": "y", "operator": "DoesNotExist"},
                    {"key": "z", "operator": "NotIn", "values": ["p", "q"]},
                ],
            }
        )
        == "a=1,b=2,x,!y,z notin (p,q)"
    )


def test_targets_only_running_pods_with_ip_and_sorted() -> None:
    spec = parse_spec({"modelServers": {"metricsPort": 8080}, "gpuExporter": {"enabled": True}})
    found = scrape.targets(
        spec,
        [
            pod("b", "10.0.0.9"),
            pod("a", "10.0.0.2", server="sglang"),
            pod("c", None, "Pending"),
            pod("d", "fd00::1"),
        ],
        [pod("dcgm", "10.0.1.1", server="")],
    )
    urls = [t["url"] for t in found]
    assert urls == [
        "http://10.0.0.2:8080/metrics",
        "http://10.0.0.9:8080/metrics",
        "http://10.0.1.1:9400/metrics",
        "http://[fd00::1]:8080/metrics",
    ]
    assert found[0]["labels"]["model_server"] == "sglang"
    assert found[2]["kind"] == "gpu"
    assert scrape.targets(parse_spec({}), [], [pod("dcgm", "10.0.1.1")]) == []


def test_configmap_document() -> None:
    cm = scrape.configmap(
        OWNER, parse_spec({}), [{"url": "http://x", "kind": "model-server", "labels": {}}]
    )
    doc = json.loads(cm["data"]["targets.json"])
    assert doc == {
        "interval_s": 15,
        "targets": [{"url": "http://x", "kind": "model-server", "labels": {}}],
    }
    assert cm["metadata"]["name"] == "llmobs-scrape-targets"
    assert cm["metadata"]["ownerReferences"] == [OWNER.reference()]
