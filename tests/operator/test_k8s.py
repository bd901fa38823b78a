"""API paths of the objects the operator touches, and the throttle of the webhook's live lookup."""

from llmobs_operator.k8s import url_for
from llmobs_operator.reconciler import Runtime
from llmobs_operator.settings import OperatorSettings


def test_urls() -> None:
    assert url_for("ConfigMap", "ns", "x") == "/api/v1/namespaces/ns/configmaps/x"
    assert url_for("StatefulSet", "ns") == "/apis/apps/v1/namespaces/ns/statefulsets"
    assert url_for("Pod") == "/api/v1/pods"
    assert url_for("LLMObservability") == "/apis/llmobs.dev/v1alpha1/llmobservabilities"
    assert (
        url_for("MutatingWebhookConfiguration", "ignored", "hook")
        == "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/hook"
    )
    assert url_for("Namespace", None, "apps") == "/api/v1/namespaces/apps"


def test_live_lookup_is_throttled() -> None:
    runtime = Runtime(settings=OperatorSettings(), refresh_interval_s=3600)
    assert runtime.refresh_due()
    assert not runtime.refresh_due()
