"""The ``LLMObservability`` spec and status as pydantic models: the one source of truth.

The CRD's OpenAPI schema (``llmobs_operator.crd``) is generated from these models, and the
operator parses every custom resource through them, so what ``kubectl explain`` documents, what the
API server validates and what the code reads cannot drift apart. Field names are camelCase on the
wire (Kubernetes convention) and snake_case in Python.
"""

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from llmobs_operator._spec_types import (
    DNS_LABEL_PATTERN,
    ENV_NAME_PATTERN,
    EnvVar,
    LabelSelector,
    LabelSelectorRequirement,
    Quantity,
    ResourceRequirements,
    SecretKeyRef,
    _Model,
)

__all__ = [
    "DEFAULT_IMAGE_REGISTRY",
    "DEFAULT_IMAGE_TAG",
    "DNS_LABEL_PATTERN",
    "ENV_NAME_PATTERN",
    "GROUP",
    "INJECT_LABEL",
    "KIND",
    "PLURAL",
    "SHORT_NAMES",
    "SINGULAR",
    "VERSION",
    "ClickHouseSpec",
    "Condition",
    "ConditionType",
    "Endpoints",
    "EnvVar",
    "GatewaySpec",
    "GpuExporterSpec",
    "InjectionSpec",
    "LLMObservabilitySpec",
    "LLMObservabilityStatus",
    "LabelSelector",
    "LabelSelectorRequirement",
    "ModelServersSpec",
    "Quantity",
    "ResourceRequirements",
    "RumSpec",
    "SecretKeyRef",
    "StoreAuthSpec",
    "StoreSpec",
    "UpstreamSpec",
    "default_image",
    "parse_spec",
]

GROUP = "llmobs.dev"
VERSION = "v1alpha1"
KIND = "LLMObservability"
PLURAL = "llmobservabilities"
SINGULAR = "llmobservability"
SHORT_NAMES = ("llmobs",)
DEFAULT_IMAGE_REGISTRY = "ghcr.io/llmobs"
DEFAULT_IMAGE_TAG = "0.1.0"
INJECT_LABEL = "llmobs.dev/inject"


def default_image(name: str) -> str:
    """The default image reference of one of our images (``ghcr.io/llmobs/NAME:VERSION``)."""
    return f"{DEFAULT_IMAGE_REGISTRY}/{name}:{DEFAULT_IMAGE_TAG}"


def _init_resources() -> ResourceRequirements:
    # cp of the bundle needs little, but page cache counts against the limit (OTel issue 3479):
    # keep the memory limit well above what copying ~50 MiB of files needs.
    return ResourceRequirements(
        requests={"cpu": "50m", "memory": "64Mi"}, limits={"cpu": "500m", "memory": "256Mi"}
    )


class InjectionSpec(_Model):
    """Zero-code instrumentation of Python pods by the mutating admission webhook."""

    enabled: bool = Field(default=True, description="Inject the probe into matching pods.")
    pod_selector: LabelSelector = Field(
        default=LabelSelector(match_labels={INJECT_LABEL: "true"}),
        description='Pods to instrument; by default those labelled llmobs.dev/inject: "true".',
    )
    namespace_selector: LabelSelector = Field(
        default=LabelSelector(),
        description="Namespaces whose pods may be instrumented; empty means all namespaces "
        "(kube-system and the operator's namespace are always excluded).",
    )
    image: str = Field(
        default=default_image("probe"),
        description="Probe init image; it copies the probe bundle into a shared emptyDir.",
        min_length=1,
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        default="IfNotPresent", description="Pull policy of the probe init image."
    )
    capture_content: bool = Field(
        default=False,
        description="Record prompts and completions (LLMOBS_CAPTURE_CONTENT); off by default.",
    )
    sampling_ratio: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Fraction of new traces recorded (parent-based trace-id ratio sampler).",
    )
    container_names: list[str] = Field(
        default_factory=list,
        description="Containers to instrument; empty means every Python container of the pod.",
    )
    extra_env: list[EnvVar] = Field(
        default_factory=list,
        description="Extra variables set in instrumented containers unless the app sets them.",
    )
    init_resources: ResourceRequirements = Field(
        default=_init_resources(), description="Resources of the probe init container."
    )
    volume_size_limit: str = Field(
        default="200Mi", description="Size limit of the emptyDir holding the probe bundle."
    )


class ClickHouseSpec(_Model):
    """An external ClickHouse server the store writes to."""

    url: str = Field(
        description="ClickHouse HTTP(S) URL, e.g. https://clickhouse.example:8443/llmobs.",
        pattern=r"^(https?|clickhouse)://.+",
    )
    credentials_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key holding the password of the ClickHouse user."
    )
    user: str = Field(default="default", description="ClickHouse user name.")


class StoreAuthSpec(_Model):
    """Bearer tokens of the store: ingest (/v1/*) and query (/api/*, /metrics, the web UI).

    By default the operator generates both into the Secret <name>-store-tokens (keys
    ingest-token and query-token) once, and never changes them; edit that Secret to rotate.
    """

    enabled: bool = Field(
        default=True, description="Require the tokens; false leaves the store open (not advised)."
    )
    ingest_token_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description="Secret key holding the ingest token; unset: the generated Secret's "
        "ingest-token.",
    )
    query_token_secret_ref: SecretKeyRef | None = Field(
        default=None,
        description="Secret key holding the query token; unset: the generated Secret's "
        "query-token.",
    )


class StoreSpec(_Model):
    """The telemetry store: OTLP/HTTP ingest on port 4318, query API and web UI."""

    mode: Literal["embedded", "external"] = Field(
        default="embedded",
        description="embedded: a StatefulSet with chDB on a PVC; external: write to ClickHouse.",
    )
    image: str = Field(default=default_image("store"), description="Store image.", min_length=1)
    clickhouse: ClickHouseSpec | None = Field(
        default=None, description="The external ClickHouse (required when mode is external)."
    )
    retention_days: int = Field(
        default=30, ge=1, le=3650, description="Days telemetry is kept before it expires (TTL)."
    )
    storage_size: str = Field(
        default="10Gi",
        pattern=r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$",
        description="Size of the store's PersistentVolumeClaim (embedded mode).",
    )
    storage_class_name: str = Field(
        default="", description="StorageClass of the PVC; empty uses the cluster default."
    )
    keep_data_on_delete: bool = Field(
        default=False,
        description="Keep the PVC when the LLMObservability resource is deleted.",
    )
    resources: ResourceRequirements = Field(
        default=ResourceRequirements(
            requests={"cpu": "250m", "memory": "512Mi"}, limits={"memory": "2Gi"}
        ),
        description="Resources of the store container.",
    )
    auth: StoreAuthSpec = Field(default=StoreAuthSpec(), description=StoreAuthSpec.__doc__)

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.mode) || self.mode != 'external' || has(self.clickhouse)",
                    "message": "store.clickhouse is required when store.mode is external",
                }
            ]
        }
    )


class UpstreamSpec(_Model):
    """One OpenAI-compatible model provider behind the gateway."""

    name: str = Field(description="Unique upstream name.", pattern=DNS_LABEL_PATTERN, max_length=63)
    base_url: str = Field(
        description="Base URL of the OpenAI-compatible API, e.g. https://api.openai.com/v1.",
        pattern=r"^https?://.+",
    )
    api_key_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key holding the upstream's API key."
    )
    models: list[str] = Field(
        default_factory=list, description="Model names routed here; empty means any model."
    )
    priority: int = Field(
        default=0, ge=0, le=100, description="Lower is tried first; equal priorities share load."
    )


class GatewaySpec(_Model):
    """The AI gateway tap (port 4000) that routes, fails over and records every request."""

    enabled: bool = Field(default=False, description="Run the gateway.")
    replicas: int = Field(default=1, ge=1, le=50, description="Number of gateway pods.")
    image: str = Field(default=default_image("gateway"), description="Gateway image.", min_length=1)
    upstreams: list[UpstreamSpec] = Field(
        default_factory=list,
        description="Model providers; names must be unique.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    resources: ResourceRequirements = Field(
        default=ResourceRequirements(requests={"cpu": "100m", "memory": "128Mi"}),
        description="Resources of the gateway container.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.enabled) || !self.enabled || "
                    "(has(self.upstreams) && size(self.upstreams) > 0)",
                    "message": "gateway.upstreams needs at least one upstream when the gateway "
                    "is enabled",
                }
            ]
        }
    )


class ModelServersSpec(_Model):
    """vLLM / SGLang pods whose Prometheus metrics the store collects."""

    selector: LabelSelector = Field(
        default=LabelSelector(
            match_expressions=[
                LabelSelectorRequirement(
                    key="llmobs.dev/model-server", operator="In", values=["vllm", "sglang"]
                )
            ]
        ),
        description="Model-server pods, by default those labelled llmobs.dev/model-server: "
        "vllm or sglang.",
    )
    metrics_port: int = Field(
        default=8000, ge=1, le=65535, description="Port serving Prometheus metrics."
    )
    metrics_path: str = Field(
        default="/metrics", pattern=r"^/.*", description="Path of the metrics endpoint."
    )
    scrape_interval_seconds: int = Field(
        default=15, ge=5, le=3600, description="Seconds between two scrapes."
    )


class GpuExporterSpec(_Model):
    """NVIDIA DCGM exporter on GPU nodes (a DaemonSet)."""

    enabled: bool = Field(default=False, description="Run the GPU exporter DaemonSet.")
    image: str = Field(
        default="nvcr.io/nvidia/k8s/dcgm-exporter:4.2.3-4.1.3-ubuntu22.04",
        description="DCGM exporter image.",
        min_length=1,
    )
    node_selector: dict[str, str] = Field(
        default_factory=lambda: {"nvidia.com/gpu.present": "true"},
        description="Nodes the exporter runs on.",
    )


class RumSpec(_Model):
    """Real-user monitoring: browsers send OTLP/HTTP to the store."""

    enabled: bool = Field(default=False, description="Accept browser telemetry (CORS enabled).")
    allowed_origins: list[Annotated[str, Field(pattern=r"^https?://[^/]+$")]] = Field(
        default_factory=list,
        description="Origins allowed to send telemetry, e.g. https://chat.example.com.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.enabled) || !self.enabled || "
                    "(has(self.allowedOrigins) && size(self.allowedOrigins) > 0)",
                    "message": "rum.allowedOrigins needs at least one origin when RUM is enabled",
                }
            ]
        }
    )


class LLMObservabilitySpec(_Model):
    """Desired state of llmobs in the cluster: probe injection, store, gateway and exporters."""

    injection: InjectionSpec = Field(default=InjectionSpec(), description=InjectionSpec.__doc__)
    store: StoreSpec = Field(default=StoreSpec(), description=StoreSpec.__doc__)
    gateway: GatewaySpec = Field(default=GatewaySpec(), description=GatewaySpec.__doc__)
    model_servers: ModelServersSpec = Field(
        default=ModelServersSpec(), description=ModelServersSpec.__doc__
    )
    gpu_exporter: GpuExporterSpec = Field(
        default=GpuExporterSpec(), description=GpuExporterSpec.__doc__
    )
    rum: RumSpec = Field(default=RumSpec(), description=RumSpec.__doc__)


ConditionType = Literal["Ready", "WebhookReady", "StoreReady", "GatewayReady"]


class Condition(_Model):
    """One status condition (Kubernetes conventions)."""

    type: ConditionType = Field(description="Ready, WebhookReady, StoreReady or GatewayReady.")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown.")
    reason: str = Field(default="", description="CamelCase reason for the last transition.")
    message: str = Field(default="", description="Human-readable detail.")
    last_transition_time: str = Field(
        default="", description="When the status last changed (RFC 3339)."
    )
    observed_generation: int = Field(default=0, description="Generation this was computed for.")


class Endpoints(_Model):
    """Where the components can be reached in the cluster."""

    otlp: str = Field(default="", description="OTLP/HTTP (protobuf) endpoint of the store.")
    ui: str = Field(default="", description="Web UI and query API of the store.")
    gateway: str = Field(default="", description="OpenAI-compatible gateway base URL.")


class LLMObservabilityStatus(_Model):
    """Observed state, written by the operator."""

    observed_generation: int = Field(default=0, description="Last spec generation reconciled.")
    conditions: list[Condition] = Field(
        default_factory=list,
        description="Ready, WebhookReady, StoreReady and GatewayReady.",
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    instrumented_pods: int = Field(default=0, description="Pods the probe was injected into.")
    skipped_pods: int = Field(default=0, description="Matching pods left alone, with a reason.")
    failed_pods: int = Field(default=0, description="Pods where injection failed (still admitted).")
    endpoints: Endpoints = Field(default=Endpoints(), description=Endpoints.__doc__)


def parse_spec(raw: dict[str, Any] | None) -> LLMObservabilitySpec:
    """Parse a resource's ``spec`` (raises ``pydantic.ValidationError`` naming the field)."""
    return LLMObservabilitySpec.model_validate(raw or {})
