"""``llmobs simulator serve``: help, one-line errors naming the flag, and a real server."""

import os
import subprocess
import sys
import time

import httpx
import pytest

from llmobs_testing.servers import free_port

LLMOBS = [sys.executable, "-m", "llmobs_cli.main", "simulator", "serve"]


def test_help_lists_the_flags() -> None:
    result = subprocess.run([*LLMOBS, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for flag in ("--host", "--port", "--model", "--max-concurrent", "--error-rate"):
        assert flag in result.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--model", "m:fast:0.01"], "--model"),
        (["--model", "m:0.1"], "--model"),
        (["--error-rate", "1.5"], "--error-rate"),
        (["--max-concurrent", "0"], "--max-concurrent"),
    ],
)
def test_bad_flag_is_one_line_naming_it(args: list[str], named: str) -> None:
    result = subprocess.run([*LLMOBS, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LLMOBS_SIM_ERROR_RATE": "3"}, "LLMOBS_SIM_ERROR_RATE"),
        ({"LLMOBS_SIM_MODELS": "[not json"}, "models"),
    ],
)
def test_bad_environment_setting_is_one_line_naming_it(env: dict[str, str], named: str) -> None:
    result = subprocess.run(
        [*LLMOBS, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]


def test_serve_answers_on_the_given_port() -> None:
    port = free_port()
    args = ["--port", str(port), "--model", "alpha:0.01:0.001", "--model", "beta"]
    with subprocess.Popen(
        [*LLMOBS, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            models = None
            deadline = time.monotonic() + 30
            while models is None and time.monotonic() < deadline:
                try:
                    models = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2).json()
                except httpx.TransportError:
                    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                    time.sleep(0.2)
            assert models is not None
            assert [m["id"] for m in models["data"]] == ["alpha", "beta"]
        finally:
            proc.terminate()
            proc.wait(10)
