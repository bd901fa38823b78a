"""The probe's settings: read once from ``OTEL_*`` and ``LLMOBS_*`` environment variables.

The probe runs inside users' images, so it cannot depend on pydantic: one frozen dataclass, one
reader (:meth:`ProbeSettings.from_env`). A bad value raises :class:`SettingsError` naming the
variable; the bootstrap logs it once and leaves the probe off, so the app is never harmed.
Standard ``OTEL_*`` names win where they exist; ``LLMOBS_*`` only names what OTel does not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, Mapping, Optional, Tuple
from urllib.parse import unquote

from llmobs_semconv.chunks import DEFAULT_MAX_CHUNK_BYTES

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")
_SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
_SIGNAL_PATHS = {"traces": "v1/traces", "metrics": "v1/metrics", "logs": "v1/logs"}


class SettingsError(ValueError):
    """A setting has a value the probe cannot use; the message names the variable."""


@dataclass(frozen=True)
class ProbeSettings:
    """Everything the probe reads from the environment, parsed and checked in one place."""

    disabled: bool = False
    """``LLMOBS_DISABLED`` (or ``OTEL_SDK_DISABLED``): true turns the whole probe off."""

    service_name: Optional[str] = None
    """``OTEL_SERVICE_NAME`` (wins over ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``)."""

    resource_attributes: Dict[str, str] = field(default_factory=dict)
    """``OTEL_RESOURCE_ATTRIBUTES``: ``key=value`` pairs, comma-separated (the operator puts the
    Kubernetes attributes here)."""

    endpoints: Dict[str, str] = field(default_factory=dict)
    """Per-signal OTLP/HTTP URLs (``traces``, ``metrics``, ``logs``), from
    ``OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/<signal>``
    (default ``http://localhost:4318``)."""

    headers: Dict[str, str] = field(default_factory=dict)
    """``OTEL_EXPORTER_OTLP_HEADERS``: ``key=value`` pairs, comma-separated, URL-encoded values."""

    timeout_s: float = 10.0
    """``OTEL_EXPORTER_OTLP_TIMEOUT`` (milliseconds in the variable): bound on one export."""

    compression: Optional[str] = None
    """``OTEL_EXPORTER_OTLP_COMPRESSION``: ``gzip`` or unset."""

    exporters: Tuple[str, ...] = ("traces", "metrics", "logs")
    """The signals exported: those of ``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` /
    ``OTEL_LOGS_EXPORTER`` that are ``otlp`` (the default); ``none`` switches one off."""

    sampler: str = "parentbased_always_on"
    """``OTEL_TRACES_SAMPLER``: one of the standard sampler names."""

    sampler_arg: float = 1.0
    """``OTEL_TRACES_SAMPLER_ARG``: the ratio for the ``*traceidratio`` samplers, 0..1."""

    metric_interval_s: float = 60.0
    """``OTEL_METRIC_EXPORT_INTERVAL`` (milliseconds in the variable)."""

    max_queue_size: int = 2048
    """``OTEL_BSP_MAX_QUEUE_SIZE``: spans held for export; beyond it spans are dropped (counted)."""

    schedule_delay_s: float = 1.0
    """``OTEL_BSP_SCHEDULE_DELAY`` (milliseconds in the variable): the batch export interval."""

    max_export_batch_size: int = 512
    """``OTEL_BSP_MAX_EXPORT_BATCH_SIZE``."""

    disabled_instrumentations: Tuple[str, ...] = ()
    """``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``: names (``openai``, ``requests``, ``httpx``,
    ``aiohttp-client``, ``fastapi``, ``starlette``, ``flask``) not to switch on."""

    capture_content: bool = False
    """``LLMOBS_CAPTURE_CONTENT``: send prompts and completions as chunk records (default off)."""

    content_buffer_bytes: int = DEFAULT_MAX_CHUNK_BYTES
    """``LLMOBS_CONTENT_BUFFER_BYTES``: content held per span and role before a piece is flushed,
    and the largest piece sent (at least 1024)."""

    content_queue_bytes: int = 8 * 1024 * 1024
    """``LLMOBS_CONTENT_QUEUE_BYTES``: content waiting for export, all spans together; beyond it
    pieces are dropped (counted) rather than held, so a slow endpoint never grows the app."""

    redact: bool = True
    """``LLMOBS_REDACT``: apply the built-in redaction patterns (e-mail, phone, API key, card)."""

    redaction_hook: Optional[str] = None
    """``LLMOBS_REDACTION_HOOK``: ``module:function`` taking and returning a string, run after the
    built-in patterns on every piece of content before it leaves the process."""

    prices_file: Optional[str] = None
    """``LLMOBS_PRICES_FILE``: a JSON price table tried before the shipped defaults."""

    provider_name: Optional[str] = None
    """``LLMOBS_PROVIDER_NAME``: force ``gen_ai.provider.name`` (default: guessed from the host)."""

    gevent_patch: Optional[str] = None
    """``LLMOBS_GEVENT_PATCH`` (or ``OTEL_PYTHON_AUTO_INSTRUMENTATION_EXPERIMENTAL_GEVENT_PATCH``):
    ``patch_all`` monkey-patches with gevent before anything else is imported."""

    shutdown_timeout_s: float = 2.0
    """``LLMOBS_SHUTDOWN_TIMEOUT``: the most seconds the probe may delay process exit to flush."""

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> ProbeSettings:
        """Read and check every variable; raises :class:`SettingsError` naming a bad one."""
        e = os.environ if env is None else env
        disabled = _bool(e, "LLMOBS_DISABLED", False) or _bool(e, "OTEL_SDK_DISABLED", False)
        protocol = e.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf").strip()
        if protocol and protocol != "http/protobuf":
            raise SettingsError(
                f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported: the llmobs probe "
                "exports OTLP over HTTP with protobuf ('http/protobuf', port 4318)"
            )
        base = e.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip() or "http://localhost:4318"
        _check_url("OTEL_EXPORTER_OTLP_ENDPOINT", base)
        endpoints = {}
        for signal, path in _SIGNAL_PATHS.items():
            name = f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
            own = e.get(name, "").strip()
            if own:
                _check_url(name, own)
                endpoints[signal] = own
            else:
                endpoints[signal] = base.rstrip("/") + "/" + path
        exporters = []
        for signal in _SIGNAL_PATHS:
            name = f"OTEL_{signal.upper()}_EXPORTER"
            value = e.get(name, "otlp").strip().lower() or "otlp"
            if value not in ("otlp", "none"):
                raise SettingsError(f"{name}={value!r} is not supported: use 'otlp' or 'none'")
            if value == "otlp":
                exporters.append(signal)
        sampler = e.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
        if sampler not in _SAMPLERS:
            raise SettingsError(f"OTEL_TRACES_SAMPLER={sampler!r} is not one of {_SAMPLERS}")
        ratio = _float(e, "OTEL_TRACES_SAMPLER_ARG", 1.0)
        if not 0.0 <= ratio <= 1.0:
            raise SettingsError(f"OTEL_TRACES_SAMPLER_ARG={ratio} must be between 0 and 1")
        compression = e.get("OTEL_EXPORTER_OTLP_COMPRESSION", "").strip().lower() or None
        if compression not in (None, "gzip", "none"):
            raise SettingsError(
                f"OTEL_EXPORTER_OTLP_COMPRESSION={compression!r} is not supported: use 'gzip'"
            )
        buffer_bytes = _int(e, "LLMOBS_CONTENT_BUFFER_BYTES", DEFAULT_MAX_CHUNK_BYTES)
        if buffer_bytes < 1024:
            raise SettingsError(f"LLMOBS_CONTENT_BUFFER_BYTES={buffer_bytes} must be >= 1024")
        hook = e.get("LLMOBS_REDACTION_HOOK", "").strip() or None
        if hook is not None and ":" not in hook:
            raise SettingsError(f"LLMOBS_REDACTION_HOOK={hook!r} must look like 'module:function'")
        gevent = (
            e.get("LLMOBS_GEVENT_PATCH", "").strip()
            or e.get("OTEL_PYTHON_AUTO_INSTRUMENTATION_EXPERIMENTAL_GEVENT_PATCH", "").strip()
            or None
        )
        if gevent not in (None, "patch_all"):
            raise SettingsError(f"LLMOBS_GEVENT_PATCH={gevent!r} must be 'patch_all' or unset")
        disabled_names = tuple(
            n.strip().lower()
            for n in e.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "").split(",")
            if n.strip()
        )
        return cls(
            disabled=disabled,
            service_name=e.get("OTEL_SERVICE_NAME", "").strip() or None,
            resource_attributes=_pairs(
                "OTEL_RESOURCE_ATTRIBUTES", e.get("OTEL_RESOURCE_ATTRIBUTES", "")
            ),
            endpoints=endpoints,
            headers=_pairs("OTEL_EXPORTER_OTLP_HEADERS", e.get("OTEL_EXPORTER_OTLP_HEADERS", "")),
            timeout_s=_positive(e, "OTEL_EXPORTER_OTLP_TIMEOUT", 10000) / 1000.0,
            compression=None if compression == "none" else compression,
            exporters=tuple(exporters),
            sampler=sampler,
            sampler_arg=ratio,
            metric_interval_s=_positive(e, "OTEL_METRIC_EXPORT_INTERVAL", 60000) / 1000.0,
            max_queue_size=int(_positive(e, "OTEL_BSP_MAX_QUEUE_SIZE", 2048)),
            schedule_delay_s=_positive(e, "OTEL_BSP_SCHEDULE_DELAY", 1000) / 1000.0,
            max_export_batch_size=int(_positive(e, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)),
            disabled_instrumentations=disabled_names,
            capture_content=_bool(e, "LLMOBS_CAPTURE_CONTENT", False),
            content_buffer_bytes=buffer_bytes,
            content_queue_bytes=int(_positive(e, "LLMOBS_CONTENT_QUEUE_BYTES", 8 * 1024 * 1024)),
            redact=_bool(e, "LLMOBS_REDACT", True),
            redaction_hook=hook,
            prices_file=e.get("LLMOBS_PRICES_FILE", "").strip() or None,
            provider_name=e.get("LLMOBS_PROVIDER_NAME", "").strip() or None,
            gevent_patch=gevent,
            shutdown_timeout_s=_float(e, "LLMOBS_SHUTDOWN_TIMEOUT", 2.0),
        )


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean: use true or false")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not an integer") from None


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _float(env, name, default)
    if value <= 0:
        raise SettingsError(f"{name}={value} must be greater than 0")
    return value


def _check_url(name: str, url: str) -> None:
    if not (url.startswith("http://") or url.startswith("https://")):
        raise SettingsError(f"{name}={url!r} must be an http:// or https:// URL")


def _pairs(name: str, raw: str) -> Dict[str, str]:
    pairs: Dict[str, str] = {}
    for i, item in enumerate(raw.split(",")):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            # Never echo the value: headers carry credentials.
            raise SettingsError(
                f"{name} must be comma-separated key=value pairs "
                f"(entry {i + 1} has no '=' or no key)"
            )
        pairs[unquote(key.strip())] = unquote(value.strip())
    return pairs
