"""``llmobs gateway serve``: one-line errors naming the field, and a real quick-start server."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai

from llmobs_testing.servers import free_port

SERVE = [sys.executable, "-m", "llmobs_cli.main", "gateway", "serve"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SERVE, *args], capture_output=True, text=True, timeout=60)


def test_a_bad_config_file_exits_2_with_one_line_naming_the_field(tmp_path: Path) -> None:
    config = tmp_path / "gw.yaml"
    config.write_text(
        "upstreams:\n  - name: a\n    base_url: http://127.0.0.1:1/v1\n"
        "  - name: b\n    base_url: not-a-url\n"
    )
    result = _run("--config", str(config))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "upstreams[1].base_url" in lines[0]


def test_no_routes_and_a_bad_flag_are_one_line_errors() -> None:
    result = _run()
    assert result.returncode == 2
    assert "--config FILE or --upstream MODEL=URL" in result.stderr
    result = _run("--upstream", "model-without-url")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "expected MODEL=URL" in result.stderr


def test_a_bad_setting_from_the_environment_names_it() -> None:
    result = subprocess.run(
        [*SERVE, "--upstream", "m=http://127.0.0.1:1/v1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LLMOBS_MAX_ATTEMPTS": "many"},
    )
    assert result.returncode == 2
    assert "max_attempts" in result.stderr
    assert result.stderr.count("\n") == 1


def test_quick_start_serves_the_upstream_model(sim_url: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*SERVE, "--port", str(port), "--upstream", f"sim-model={sim_url}/v1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "gateway did not start in 30 s"
            time.sleep(0.1)
        client = openai.OpenAI(base_url=url + "/v1", api_key="k", max_retries=0)
        assert [m.id for m in client.models.list()] == ["sim-model"]
        reply = client.chat.completions.create(
            model="sim-model", messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.choices[0].message.content
    finally:
        proc.terminate()
        proc.wait(15)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
