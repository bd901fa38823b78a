"""The operator's settings: one pydantic-settings class (``LLMOBS_OPERATOR_*`` variables)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperatorSettings(BaseSettings):
    """Everything ``llmobs operator run`` can be told; flags override the environment."""

    model_config = SettingsConfigDict(env_prefix="LLMOBS_OPERATOR_", extra="ignore")

    host: str = Field(default="0.0.0.0", description="Address the webhook server listens on.")
    port: int = Field(default=8443, ge=1, le=65535, description="Port of the webhook server.")
    namespace: str = Field(
        default="llmobs",
        description="The operator's own namespace (never injected; holds the webhook Service).",
    )
    webhook_url: str | None = Field(
        default=None,
        description="Register the webhook by URL (a local process, e.g. https://127.0.0.1:8443); "
        "unset: register the in-cluster Service instead.",
    )
    webhook_service: str = Field(
        default="llmobs-webhook", description="Name of the webhook Service in the namespace."
    )
    webhook_service_port: int = Field(
        default=443, ge=1, le=65535, description="Port of the webhook Service."
    )
    webhook_config_name: str = Field(
        default="llmobs-inject", description="Name of the MutatingWebhookConfiguration."
    )
    tls_dir: Path | None = Field(
        default=None,
        description="Directory with tls.crt, tls.key and ca.crt (a mounted Secret); unset: "
        "generate a self-signed CA and certificate at start-up.",
    )
    kubeconfig: Path | None = Field(
        default=None,
        description="Kubeconfig file; unset: in-cluster service account or KUBECONFIG.",
    )
    peering: str = Field(
        default="llmobs",
        description="kopf peering name: one active replica at a time; 'standalone' disables it.",
    )
    peering_priority: int = Field(
        default=0,
        ge=0,
        description="kopf peering priority (highest is active); 0 draws a random one, because "
        "replicas with equal priorities all pause.",
    )
    resync_seconds: float = Field(
        default=60.0, gt=0, description="Interval of the drift repair and status refresh."
    )
    liveness_port: int = Field(
        default=0, ge=0, le=65535, description="Port of /healthz (0: no liveness endpoint)."
    )
