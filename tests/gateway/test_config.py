"""The routing file and the --upstream shorthand: valid files load, bad ones name the field."""

import json
from pathlib import Path

import pytest

from llmobs_gateway.config import ConfigError, config_from_flags, load_config, parse_config

GOOD = """
upstreams:
  - name: vllm-a
    base_url: http://127.0.0.1:8000/v1/
    models: [llama-3-8b]
    api_key_env: TEST_GATEWAY_KEY_A
  - name: openai
    base_url: https://api.openai.com/v1
    models: [gpt-4o-mini, gpt-4o]
    weight: 3
routes:
  - model: llama-3-8b
    upstreams: [vllm-a, openai]
  - model: "gpt-*"
    upstreams: [openai]
limits:
  - scope: key
    rpm: 60
"""


def test_a_yaml_file_loads_with_defaults_and_trimmed_urls(tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text(GOOD)
    config = load_config(path)
    assert [u.name for u in config.upstreams] == ["vllm-a", "openai"]
    assert config.upstreams[0].base_url == "http://127.0.0.1:8000/v1"
    assert config.routes[1].is_pattern
    assert config.routes[1].matches("gpt-4o")
    assert not config.routes[0].matches("llama-3-8b-instruct")
    assert config.limits[0].rpm == 60
    assert config.limits[0].tpm is None


def test_a_json_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "gw.json"
    path.write_text(
        json.dumps(
            {
                "upstreams": [{"name": "a", "base_url": "http://h:1/v1"}],
                "routes": [{"model": "m", "upstreams": ["a"]}],
            }
        )
    )
    assert load_config(path).routes[0].upstreams == ["a"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {
                "upstreams": [
                    {"name": "a", "base_url": "http://h/v1"},
                    {"name": "b", "base_url": "ftp:x"},
                ]
            },
            "upstreams[1].base_url: must be an http(s) URL",
        ),
        (
            {
                "upstreams": [{"name": "a", "base_url": "http://h"}],
                "routes": [{"model": "m", "upstreams": ["zz"]}],
            },
            "routes[0].upstreams[0]: no upstream named 'zz'",
        ),
        ({"upstreams": [{"name": "a"}]}, "upstreams[0].base_url: Field required"),
        (
            {"upstreams": [{"name": "a", "base_url": "http://h", "wieght": 2}]},
            "upstreams[0].wieght",
        ),
        ({"limits": [{"scope": "key"}]}, "limits[0]: a limit needs rpm or tpm"),
        (
            {
                "upstreams": [
                    {"name": "a", "base_url": "http://h"},
                    {"name": "a", "base_url": "http://g"},
                ]
            },
            "upstreams[1].name: duplicate upstream name 'a'",
        ),
    ],
)
def test_a_bad_file_is_one_line_naming_the_field(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(doc)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unreadable_and_unparsable_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("upstreams: [\n")
    with pytest.raises(ConfigError, match="not valid YAML/JSON") as err:
        load_config(bad)
    assert "\n" not in str(err.value)


def test_upstream_flags_make_one_upstream_per_url_and_a_route_per_model() -> None:
    config = config_from_flags(
        ["m1=http://127.0.0.1:9/v1", "m2=http://127.0.0.1:9/v1/", "m3=http://127.0.0.1:10/v1"]
    )
    assert len(config.upstreams) == 2
    assert config.upstreams[0].models == ["m1", "m2"]
    assert [r.model for r in config.routes] == ["m1", "m2", "m3"]
    with pytest.raises(ConfigError, match=r"--upstream\[0\]: expected MODEL=URL"):
        config_from_flags(["just-a-model"])
    with pytest.raises(ConfigError, match="must be an http"):
        config_from_flags(["m=localhost:8000"])


def test_api_keys_come_from_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("sk-from-file\n")
    config = parse_config(
        {
            "upstreams": [
                {"name": "a", "base_url": "http://h", "api_key_env": "TEST_GW_KEY"},
                {"name": "b", "base_url": "http://h", "api_key_file": str(key_file)},
                {"name": "c", "base_url": "http://h", "api_key_file": str(tmp_path / "none")},
            ]
        }
    )
    monkeypatch.setenv("TEST_GW_KEY", "sk-from-env")
    assert config.upstreams[0].read_api_key() == "sk-from-env"
    assert config.upstreams[1].read_api_key() == "sk-from-file"
    with pytest.raises(ConfigError, match="api_key_file unreadable") as err:
        config.upstreams[2].read_api_key()
    assert "sk-" not in str(err.value)
    assert "sk-from-env" not in repr(config)


def test_settings_read_what_the_operator_sets(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmobs_gateway.settings import GatewaySettings

    monkeypatch.setenv("LLMOBS_GATEWAY_CONFIG", "/etc/llmobs/gateway.yaml")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://store:4318")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "gw-prod")
    monkeypatch.setenv("CONFIG_FILE", "/not/ours")
    settings = GatewaySettings()
    assert settings.config_file == "/etc/llmobs/gateway.yaml"
    assert settings.otlp_endpoint == "http://store:4318"
    assert settings.service_name == "gw-prod"
    assert GatewaySettings(config_file="/cli.yaml").config_file == "/cli.yaml"
