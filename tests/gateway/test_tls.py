"""https upstreams (OpenAI, DeepSeek, ... are all https): verified against a CA bundle."""

import subprocess
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from llmobs_gateway.app import create_app
from llmobs_gateway.config import ConfigError, parse_config
from llmobs_gateway.settings import GatewaySettings
from llmobs_testing.prereq import require
from llmobs_testing.servers import serve_app

from .conftest import one_upstream, run_gateway, simulator

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        timeout=60,
        check=False,
    )  # fmt: skip
    require(made.returncode == 0, "openssl", "apt-get install openssl")
    return cert, key


@pytest.fixture(scope="module")
def https_sim(certificate: tuple[Path, Path]) -> Iterator[str]:
    cert, key = certificate
    with serve_app(simulator(), ssl_certfile=str(cert), ssl_keyfile=str(key)) as url:
        yield url.replace("http://", "https://")


def test_an_https_upstream_is_verified_with_the_configured_ca(
    https_sim: str, certificate: tuple[Path, Path]
) -> None:
    trusted = one_upstream(https_sim, ca_file=str(certificate[0]))
    with run_gateway(trusted) as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        assert client.chat.completions.create(model="sim-model", messages=MESSAGES).choices
        streamed = list(
            client.chat.completions.create(model="sim-model", messages=MESSAGES, stream=True)
        )
        assert streamed
        client.close()


def test_an_untrusted_certificate_is_refused_as_a_connect_error(https_sim: str) -> None:
    with run_gateway(one_upstream(https_sim)) as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="k", max_retries=0)
        with pytest.raises(openai.APIStatusError) as err:
            client.chat.completions.create(model="sim-model", messages=MESSAGES)
        assert err.value.status_code == 502
        client.close()


def test_a_missing_ca_bundle_names_the_field(tmp_path: Path) -> None:
    config = parse_config(one_upstream("https://127.0.0.1:1", ca_file=str(tmp_path / "none.pem")))
    with pytest.raises(ConfigError, match=r"upstreams\[0\]\.ca_file"):
        create_app(GatewaySettings(), config)
