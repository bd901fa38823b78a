"""``llmobs store serve``: a wrong setting is one line naming the field, exit code 2."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--db", "ftp://somewhere"], "db"),
        (["--retention-days", "0"], "--retention-days"),
        (["--port", "99999"], "--port"),
    ],
)
def test_bad_settings_name_the_field(args: list[str], named: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "llmobs_cli.main", "store", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert named in done.stderr
    assert "Traceback" not in done.stderr
