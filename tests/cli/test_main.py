"""The ``llmobs`` console command: help everywhere, one-line errors naming the flag."""

import subprocess
import sys

import pytest

LLMOBS = [sys.executable, "-m", "llmobs_cli.main"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LLMOBS, *args], capture_output=True, text=True, timeout=60)


def test_help_lists_every_subcommand() -> None:
    result = run("--help")
    assert result.returncode == 0
    for name in ("store", "gateway", "operator", "simulator", "demo"):
        assert name in result.stdout


@pytest.mark.parametrize(
    "group", [["store", "serve"], ["gateway", "serve"], ["operator", "run"], ["simulator", "serve"]]
)
def test_every_server_command_takes_host_and_port(group: list[str]) -> None:
    result = run(*group, "--help")
    assert result.returncode == 0, result.stderr
    assert "--host" in result.stdout
    assert "--port" in result.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["store", "serve", "--bogus"], "--bogus"),
        (["gateway", "serve", "--port", "notaport"], "--port"),
        (["store", "serve", "--port", "70000"], "--port"),
        (["nosuchcommand"], "nosuchcommand"),
    ],
)
def test_wrong_flag_or_value_is_one_line_naming_it(args: list[str], named: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.stderr
