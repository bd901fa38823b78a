"""Probe injection as a pure function: a pod spec and the resource's settings in, a mutated pod out.

What it adds to a matching pod (nothing else is touched):

* an emptyDir ``llmobs-probe`` and an init container that copies the probe bundle into it
  (``cp -a /llmobs/probe/. /llmobs-probe/``) from the probe image;
* in every Python app container: a read-only mount of that volume, downward-API variables for the
  pod, namespace, node and pod UID, ``PYTHONPATH=<mount>/bootstrap:<the app's own>:<mount>/
  site-packages`` (the app's packages first), ``OTEL_*`` (OTLP/HTTP protobuf to the store on
  4318 with its ingest token, service name from the owning workload, Kubernetes resource
  attributes) and ``LLMOBS_*``. A variable the app already sets keeps the app's value;
* annotations saying what was injected, or why not, and a label ``llmobs.dev/injection`` so the
  operator can count instrumented, skipped and failed pods with a label selector.

Re-admitting an injected pod returns it unchanged. Nothing here talks to the API server.
"""

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from llmobs_operator.spec import InjectionSpec
from llmobs_semconv import attributes as attr

MOUNT_PATH = "/llmobs-probe"
VOLUME_NAME = "llmobs-probe"
INIT_CONTAINER_NAME = "llmobs-probe-init"
BUNDLE_SOURCE = "/llmobs/probe"
BOOTSTRAP_DIR = f"{MOUNT_PATH}/bootstrap"
SITE_PACKAGES_DIR = f"{MOUNT_PATH}/site-packages"
PROBE_USER = 65532

# Pod annotations (set by users) and the ones we write.
ANN_INJECT = "llmobs.dev/inject"  # "false" on a pod opts it out
ANN_CONTAINERS = "llmobs.dev/containers"  # comma list: instrument exactly these
ANN_SKIP_CONTAINERS = "llmobs.dev/skip-containers"  # comma list: never these
ANN_PYTHONPATH = "llmobs.dev/image-pythonpath"  # the image's own PYTHONPATH, kept in the middle
# Variables the app sets through envFrom (invisible here): names listed here are left alone.
ANN_APP_ENV = "llmobs.dev/app-env"
ANN_STATUS = "llmobs.dev/injection"
ANN_REASON = "llmobs.dev/injection-reason"
ANN_INJECTED = "llmobs.dev/injected-containers"
ANN_OBSERVED_BY = "llmobs.dev/observed-by"
LABEL_STATUS = "llmobs.dev/injection"

Status = Literal["injected", "skipped", "failed"]

SUPPORTED_PYTHON = ((3, 9), (3, 13))
# First command word (basename) of processes that are Python for sure.
_PYTHON_COMMANDS = re.compile(
    r"^(python[0-9.]*|gunicorn|uvicorn|hypercorn|granian|celery|daphne|flask|django-admin|"
    r"streamlit|chainlit|gradio|fastapi|dramatiq|rq|huey|jupyter|ipython|pytest|"
    r"llmobs-instrument|opentelemetry-instrument|uv|poetry|pipenv)$"
)
# Image repositories known to run CPython apps (no command in the pod spec to go by).
_PYTHON_IMAGES = re.compile(
    r"(^|/)(python|pypy|dify-api|dify-worker|langflow|open-webui|litellm|jupyter[-a-z]*|"
    r"pytorch|tensorflow)(:|@|$)"
)
_MUSL_TAG = re.compile(r"(alpine|musl)", re.IGNORECASE)
_PY_TAG_VERSION = re.compile(r"^(\d)\.(\d+)")
_GEVENT_IMAGES = re.compile(r"(^|/)(dify-api|dify-worker)(:|@|$)")


@dataclass(frozen=True)
class InjectionConfig:
    """What the webhook needs of one ``LLMObservability`` resource, resolved from its spec."""

    owner: str  # "namespace/name" of the resource
    otlp_endpoint: str  # e.g. http://llmobs-store.llmobs.svc:4318
    image: str
    image_pull_policy: str = "IfNotPresent"
    capture_content: bool = False
    sampling_ratio: float = 1.0
    container_names: tuple[str, ...] = ()
    extra_env: tuple[tuple[str, str], ...] = ()
    init_resources: Mapping[str, Any] = field(default_factory=dict)
    volume_size_limit: str = "200Mi"
    secret_env: tuple[Mapping[str, Any], ...] = ()  # valueFrom entries: the store's ingest token

    @classmethod
    def from_spec(
        cls, spec: InjectionSpec, *, owner: str, otlp_endpoint: str, secret_env: Sequence[Any] = ()
    ) -> "InjectionConfig":
        """Resolve a parsed injection spec."""
        return cls(
            secret_env=tuple(secret_env),
            owner=owner,
            otlp_endpoint=otlp_endpoint,
            image=spec.image,
            image_pull_policy=spec.image_pull_policy,
            capture_content=spec.capture_content,
            sampling_ratio=spec.sampling_ratio,
            container_names=tuple(spec.container_names),
            extra_env=tuple((e.name, e.value) for e in spec.extra_env),
            init_resources=spec.init_resources.model_dump(by_alias=True),
            volume_size_limit=spec.volume_size_limit,
        )


@dataclass(frozen=True)
class InjectionResult:
    """The outcome for one pod: the pod to admit, and what happened."""

    pod: dict[str, Any]
    status: Status
    reason: str
    containers: tuple[str, ...] = ()
    changed: bool = True


def _csv(value: str | None) -> set[str]:
    return {part.strip() for part in (value or "").split(",") if part.strip()}


def _image_tag(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def _image_repo(image: str) -> str:
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    repo = last.split(":", 1)[0]
    return f"{head}/{repo}" if head else repo


def classify_container(container: Mapping[str, Any], forced: bool) -> str | None:
    """Why a container cannot take the probe, or None when it can.

    Kubernetes does not tell us what is inside an image, so this goes by the evidence in the pod
    spec: the command, the image name and tag. A user can force a container with the
    ``llmobs.dev/containers`` annotation (or ``injection.containerNames``).
    """
    name = container.get("name", "?")
    image = str(container.get("image", ""))
    tag = _image_tag(image)
    if _MUSL_TAG.search(tag):
        return (
            f"container {name}: musl libc image ({image}); the probe bundle is built for glibc "
            "CPython 3.9-3.13"
        )
    repo = _image_repo(image).rsplit("/", 1)[-1]
    version = _PY_TAG_VERSION.match(tag)
    if version and repo in ("python", "pypy"):
        found = (int(version.group(1)), int(version.group(2)))
        low, high = SUPPORTED_PYTHON
        if not low <= found <= high:
            return (
                f"container {name}: CPython {found[0]}.{found[1]} is outside the supported "
                f"{low[0]}.{low[1]}-{high[0]}.{high[1]}"
            )
    for env in container.get("env") or []:
        if env.get("name") == "PYTHONPATH" and "valueFrom" in env:
            return f"container {name}: PYTHONPATH comes from valueFrom, which cannot be extended"
    if forced:
        return None
    words = [*(container.get("command") or []), *(container.get("args") or [])]
    if words and _PYTHON_COMMANDS.match(str(words[0]).rsplit("/", 1)[-1]):
        return None
    if any(re.search(r"(^|[\s/])python[0-9.]*(\s|$)", str(w)) for w in words):
        return None
    if _PYTHON_IMAGES.search(_image_repo(image)):
        return None
    return (
        f"container {name}: not recognised as Python (no python/gunicorn/uvicorn/celery command, "
        f"no python image); list it in the {ANN_CONTAINERS} annotation to instrument it"
    )


def workload_of(pod: Mapping[str, Any]) -> tuple[str, str]:
    """(resource-attribute key, name) of the workload that owns the pod, from its owner refs."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    for ref in meta.get("ownerReferences") or []:
        kind, name = ref.get("kind"), str(ref.get("name", ""))
        if kind == "ReplicaSet":
            pod_hash = labels.get("pod-template-hash")
            if pod_hash and name.endswith(f"-{pod_hash}"):
                return attr.K8S_DEPLOYMENT_NAME, name[: -len(pod_hash) - 1]
            return attr.K8S_REPLICASET_NAME, name
        if kind == "StatefulSet":
            return attr.K8S_STATEFULSET_NAME, name
        if kind == "DaemonSet":
            return attr.K8S_DAEMONSET_NAME, name
        if kind == "Job":
            if re.search(r"-\d{8,}$", name):  # a CronJob's Job: NAME-<scheduled minute>
                return attr.K8S_CRONJOB_NAME, name.rsplit("-", 1)[0]
            return attr.K8S_JOB_NAME, name
    fallback = (
        labels.get("app.kubernetes.io/name")
        or labels.get("app")
        or meta.get("name")
        or str(meta.get("generateName", "")).rstrip("-")
        or "unknown"
    )
    return "", str(fallback)


def _uses_gevent(container: Mapping[str, Any]) -> bool:
    words = " ".join(
        str(w) for w in [*(container.get("command") or []), *(container.get("args") or [])]
    )
    if "gevent" in words:
        return True
    if _GEVENT_IMAGES.search(_image_repo(str(container.get("image", "")))):
        # Dify's entrypoint runs gunicorn -k gevent (api) and celery -P gevent (worker) unless
        # the worker class is overridden in the pod spec.
        env = {e.get("name"): e.get("value") for e in container.get("env") or []}
        classes = {env.get("SERVER_WORKER_CLASS"), env.get("CELERY_WORKER_CLASS")} - {None}
        return not classes or "gevent" in classes
    return False


def _env_for(
    container: Mapping[str, Any],
    config: InjectionConfig,
    workload: tuple[str, str],
    pod: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """The container's env list with ours merged in; the app's own values win."""
    existing: list[dict[str, Any]] = [dict(e) for e in container.get("env") or []]
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    names = {e.get("name") for e in existing} | _csv(annotations.get(ANN_APP_ENV))
    by_name = {e.get("name"): e for e in existing}

    downward = [
        ("LLMOBS_K8S_POD_NAME", "metadata.name"),
        ("LLMOBS_K8S_NAMESPACE", "metadata.namespace"),
        ("LLMOBS_K8S_NODE_NAME", "spec.nodeName"),
        ("LLMOBS_K8S_POD_UID", "metadata.uid"),
    ]
    # $(VAR) references only see variables defined earlier in the list, so these go before any
    # OTEL_RESOURCE_ATTRIBUTES; otherwise after the app's own entries, whose order stays a prefix
    # (`kubectl apply` of the unchanged manifest then finds nothing to reorder).
    head = [
        {"name": n, "valueFrom": {"fieldRef": {"fieldPath": p}}}
        for n, p in downward
        if n not in names
    ]

    resource = [
        f"{attr.K8S_NAMESPACE_NAME}=$(LLMOBS_K8S_NAMESPACE)",
        f"{attr.K8S_POD_NAME}=$(LLMOBS_K8S_POD_NAME)",
        f"{attr.K8S_POD_UID}=$(LLMOBS_K8S_POD_UID)",
        f"{attr.K8S_NODE_NAME}=$(LLMOBS_K8S_NODE_NAME)",
        f"{attr.K8S_CONTAINER_NAME}={container.get('name', '')}",
    ]
    if workload[0]:
        resource.append(f"{workload[0]}={workload[1]}")
    resource_value = ",".join(resource)
    app_resource = by_name.get("OTEL_RESOURCE_ATTRIBUTES")
    if app_resource is not None and "value" in app_resource:
        # Later keys win when the SDK parses the list: the app's own attributes come last.
        app_resource["value"] = f"{resource_value},{app_resource['value']}".rstrip(",")

    app_path = by_name.get("PYTHONPATH")
    middle = str(app_path.get("value", "")) if app_path else annotations.get(ANN_PYTHONPATH, "")
    python_path = ":".join(p for p in (BOOTSTRAP_DIR, middle, SITE_PACKAGES_DIR) if p)
    if app_path is not None:
        app_path["value"] = python_path

    defaults: list[tuple[str, str]] = [
        ("PYTHONPATH", python_path),
        ("OTEL_SERVICE_NAME", workload[1]),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", config.otlp_endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_TRACES_EXPORTER", "otlp"),
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_LOGS_EXPORTER", "otlp"),
        ("OTEL_PROPAGATORS", "tracecontext,baggage"),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", repr(float(config.sampling_ratio))),
        ("OTEL_RESOURCE_ATTRIBUTES", resource_value),
        ("LLMOBS_CAPTURE_CONTENT", "true" if config.capture_content else "false"),
        ("LLMOBS_OBSERVED_BY", config.owner),
    ]
    if _uses_gevent(container):
        # The bootstrap must monkey-patch before the SDK starts threads (gunicorn -k gevent,
        # celery -P gevent); this is the variable upstream's sitecustomize reads.
        defaults.append(("OTEL_PYTHON_AUTO_INSTRUMENTATION_EXPERIMENTAL_GEVENT_PATCH", "patch_all"))
    defaults.extend(config.extra_env)
    tail = [dict(e) for e in config.secret_env if e["name"] not in names]
    names |= {e["name"] for e in tail}
    for name, value in defaults:
        if name not in names:
            tail.append({"name": name, "value": value})
            names.add(name)
    cut = next(
        (
            i
            for i, e in enumerate(existing)
            if e.get("name") == "OTEL_RESOURCE_ATTRIBUTES" and "value" in e
        ),
        len(existing),
    )
    return existing[:cut] + head + existing[cut:] + tail


def _init_container(config: InjectionConfig) -> dict[str, Any]:
    return {
        "name": INIT_CONTAINER_NAME,
        "image": config.image,
        "imagePullPolicy": config.image_pull_policy,
        "command": ["cp", "-a", f"{BUNDLE_SOURCE}/.", f"{MOUNT_PATH}/"],
        "resources": copy.deepcopy(dict(config.init_resources)),
        "volumeMounts": [{"name": VOLUME_NAME, "mountPath": MOUNT_PATH}],
        # Passes the "restricted" Pod Security Standard, so it never blocks a hardened namespace.
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": PROBE_USER,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }


def _annotate(
    pod: dict[str, Any], status: Status, reason: str, owner: str, containers: Sequence[str]
) -> None:
    meta = pod.setdefault("metadata", {})
    annotations = meta.setdefault("annotations", {})
    annotations |= {ANN_STATUS: status, ANN_REASON: reason, ANN_OBSERVED_BY: owner}
    if containers:
        annotations[ANN_INJECTED] = ",".join(containers)
    meta.setdefault("labels", {})[LABEL_STATUS] = status


def is_injected(pod: Mapping[str, Any]) -> bool:
    """True when the pod already carries our init container (re-admission, or a copied spec)."""
    spec = pod.get("spec") or {}
    return any(c.get("name") == INIT_CONTAINER_NAME for c in spec.get("initContainers") or [])


def mutate_pod(pod: Mapping[str, Any], config: InjectionConfig) -> InjectionResult:
    """Inject the probe into ``pod`` (never modified) and return the pod to admit."""
    if is_injected(pod):
        return InjectionResult(dict(pod), "injected", "already injected", changed=False)
    out: dict[str, Any] = copy.deepcopy(dict(pod))
    meta = out.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if str(annotations.get(ANN_INJECT, "")).lower() == "false":
        reason = f'opted out by the {ANN_INJECT}: "false" annotation'
        _annotate(out, "skipped", reason, config.owner, ())
        return InjectionResult(out, "skipped", reason)

    spec = out.setdefault("spec", {})
    containers: list[dict[str, Any]] = spec.get("containers") or []
    forced = _csv(annotations.get(ANN_CONTAINERS)) or set(config.container_names)
    excluded = _csv(annotations.get(ANN_SKIP_CONTAINERS))
    chosen: list[dict[str, Any]] = []
    reasons: list[str] = []
    for container in containers:
        name = container.get("name", "")
        if name in excluded:
            reasons.append(f"container {name}: opted out by {ANN_SKIP_CONTAINERS}")
            continue
        if forced and name not in forced:
            reasons.append(f"container {name}: not listed in {ANN_CONTAINERS}")
            continue
        why_not = classify_container(container, forced=bool(forced))
        if why_not:
            reasons.append(why_not)
        else:
            chosen.append(container)
    if not chosen:
        reason = "; ".join(reasons) or "pod has no containers"
        _annotate(out, "skipped", reason, config.owner, ())
        return InjectionResult(out, "skipped", reason)

    workload = workload_of(out)
    for container in chosen:
        container["env"] = _env_for(container, config, workload, out)
        mounts = container.setdefault("volumeMounts", [])
        if not any(m.get("name") == VOLUME_NAME for m in mounts):
            mounts.append({"name": VOLUME_NAME, "mountPath": MOUNT_PATH, "readOnly": True})
    volumes = spec.setdefault("volumes", [])
    if not any(v.get("name") == VOLUME_NAME for v in volumes):
        volumes.append({"name": VOLUME_NAME, "emptyDir": {"sizeLimit": config.volume_size_limit}})
    # Ours runs first so the app's own init containers could already import the bundle if needed.
    spec["initContainers"] = [_init_container(config), *(spec.get("initContainers") or [])]
    names = tuple(str(c.get("name", "")) for c in chosen)
    reason = f"probe injected into {', '.join(names)}"
    if reasons:
        reason += "; skipped " + "; ".join(reasons)
    _annotate(out, "injected", reason, config.owner, names)
    return InjectionResult(out, "injected", reason, names)


def mark_failed(pod: Mapping[str, Any], owner: str, error: BaseException) -> dict[str, Any]:
    """The pod admitted unchanged but annotated with the error (never denied for our bug)."""
    out: dict[str, Any] = copy.deepcopy(dict(pod))
    _annotate(out, "failed", f"injection failed: {type(error).__name__}: {error}"[:500], owner, ())
    return out
