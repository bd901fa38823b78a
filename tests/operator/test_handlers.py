"""The kopf registry builds (decorators validate their arguments) with the expected handlers."""

from pathlib import Path

from llmobs_operator import tls
from llmobs_operator.handlers import build_registry
from llmobs_operator.reconciler import Runtime, entry_from_body
from llmobs_operator.settings import OperatorSettings


def test_registry_has_the_webhook_and_resource_handlers(tmp_path: Path) -> None:
    files = tls.self_signed(tmp_path, ["127.0.0.1"])
    runtime = Runtime(settings=OperatorSettings(webhook_url="https://127.0.0.1:9443"))
    registry = build_registry(runtime, files)
    webhook_ids = [h.id for h in registry._webhooks.get_all_handlers()]
    assert webhook_ids == ["inject"]
    runtime.ca_file = files.ca
    config = runtime.client_config()
    assert config["url"] == "https://127.0.0.1:9443/inject"
    assert config["caBundle"]


def test_entry_from_body() -> None:
    body = {
        "metadata": {"name": "llmobs", "namespace": "obs", "uid": "u", "creationTimestamp": "T"},
        "spec": {"injection": {"samplingRatio": 0.5}},
    }
    entry = entry_from_body(body)
    assert entry.candidate.key == "obs/llmobs"
    assert entry.config.otlp_endpoint == "http://llmobs-store.obs.svc:4318"
    assert entry.config.sampling_ratio == 0.5


def test_index_ids_are_the_names_the_webhook_reads(tmp_path: Path) -> None:
    """kopf passes indexes to handlers by id; nested functions would get a dotted id otherwise."""
    registry = build_registry(
        Runtime(settings=OperatorSettings()), tls.self_signed(tmp_path, ["x"])
    )
    ids = {h.id for h in registry._indexing.get_all_handlers()}
    assert ids == {"resources", "namespace_labels"}
