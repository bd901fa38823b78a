"""``llmobs demo`` on the command line: clear errors before anything starts.

The whole demo running end to end is exercised by the browser tests (tests/ui/), which start it
exactly as a newcomer does and stop it with Ctrl-C.
"""

import socket
import subprocess
import sys

LLMOBS = [sys.executable, "-m", "llmobs_cli.main"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LLMOBS, *args], capture_output=True, text=True, timeout=60)


def test_help_names_duration_port_and_users() -> None:
    result = run("demo", "--help")
    assert result.returncode == 0, result.stderr
    for flag in ("--duration", "--port", "--users", "--data-dir"):
        assert flag in result.stdout


def test_a_busy_store_port_is_one_clear_error_and_nothing_starts(tmp_path: object) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run("demo", "--port", str(port), "--data-dir", str(tmp_path), "--duration", "5")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert f"--port {port} is in use" in line
    assert f"--port {port + 1}" in line  # says what to do instead
    assert not (tmp_path / "logs").exists()  # type: ignore[operator]


def test_out_of_range_users_names_the_flag() -> None:
    result = run("demo", "--users", "0")
    assert result.returncode == 2
    assert "--users" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
