"""Settings: standard OTEL_* names, LLMOBS_* extras, and errors that name the variable."""

from __future__ import annotations

import pytest

from llmobs_probe._settings import ProbeSettings, SettingsError


def test_defaults_follow_the_otel_specification() -> None:
    s = ProbeSettings.from_env({})
    assert s.endpoints == {
        "traces": "http://localhost:4318/v1/traces",
        "metrics": "http://localhost:4318/v1/metrics",
        "logs": "http://localhost:4318/v1/logs",
    }
    assert s.exporters == ("traces", "metrics", "logs")
    assert s.sampler == "parentbased_always_on"
    assert s.capture_content is False  # safe by default
    assert s.content_buffer_bytes == 64 * 1024
    assert s.disabled is False


def test_standard_variables_are_honoured() -> None:
    s = ProbeSettings.from_env(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://store:4318/",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "https://logs.example/v1/logs",
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20abc,x-tenant=t1",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
            "OTEL_SERVICE_NAME": "chat-api",
            "OTEL_RESOURCE_ATTRIBUTES": "k8s.pod.name=web-1,k8s.namespace.name=prod",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.25",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "flask, requests",
            "LLMOBS_CAPTURE_CONTENT": "true",
            "LLMOBS_CONTENT_BUFFER_BYTES": "4096",
        }
    )
    assert s.endpoints["traces"] == "http://store:4318/v1/traces"
    assert s.endpoints["logs"] == "https://logs.example/v1/logs"
    assert s.headers == {"authorization": "Bearer abc", "x-tenant": "t1"}
    assert s.timeout_s == 2.5
    assert s.service_name == "chat-api"
    assert s.resource_attributes == {"k8s.pod.name": "web-1", "k8s.namespace.name": "prod"}
    assert (s.sampler, s.sampler_arg) == ("parentbased_traceidratio", 0.25)
    assert s.exporters == ("traces", "logs")
    assert s.disabled_instrumentations == ("flask", "requests")
    assert s.capture_content is True
    assert s.content_buffer_bytes == 4096


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LLMOBS_DISABLED": "maybe"}, "LLMOBS_DISABLED"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "store:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER"),
        ({"OTEL_TRACES_SAMPLER_ARG": "2"}, "OTEL_TRACES_SAMPLER_ARG"),
        ({"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}, "OTEL_EXPORTER_OTLP_TIMEOUT"),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_EXPORTER_OTLP_HEADERS": "novalue"}, "OTEL_EXPORTER_OTLP_HEADERS"),
        ({"LLMOBS_CONTENT_BUFFER_BYTES": "10"}, "LLMOBS_CONTENT_BUFFER_BYTES"),
        ({"LLMOBS_REDACTION_HOOK": "nocolon"}, "LLMOBS_REDACTION_HOOK"),
        ({"LLMOBS_GEVENT_PATCH": "some"}, "LLMOBS_GEVENT_PATCH"),
    ],
)
def test_a_bad_value_names_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        ProbeSettings.from_env(env)


def test_header_errors_never_echo_secrets() -> None:
    with pytest.raises(SettingsError) as info:
        ProbeSettings.from_env({"OTEL_EXPORTER_OTLP_HEADERS": "a=b,sk-secret-token"})
    assert "sk-secret-token" not in str(info.value)


@pytest.mark.parametrize("var", ["LLMOBS_DISABLED", "OTEL_SDK_DISABLED"])
def test_disabled(var: str) -> None:
    assert ProbeSettings.from_env({var: "true"}).disabled is True
