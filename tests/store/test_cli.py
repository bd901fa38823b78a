"""``llmobs store serve``: a wrong setting is one line naming the field; flags reach the store."""

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from llmobs_testing.servers import free_port, serve_app
from tests.store.test_scrape import fake_dcgm_exporter


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


def test_serve_scrapes_the_targets_file_it_is_given(tmp_path: Path) -> None:
    targets = tmp_path / "targets.json"
    with serve_app(fake_dcgm_exporter()) as gpu:
        targets.write_text(
            json.dumps({"interval_s": 0.2, "targets": [{"url": f"{gpu}/metrics", "kind": "gpu"}]})
        )
        port = free_port()
        command = [
            sys.executable, "-m", "llmobs_cli.main", "store", "serve", "--port", str(port),
            "--db", f"chdb://{tmp_path / 'data'}", "--spool-dir", str(tmp_path / "spool"),
            "--scrape-targets", str(targets),
        ]  # fmt: skip
        log = tmp_path / "serve.log"
        with log.open("wb") as sink:
            server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        try:
            deadline, items = time.monotonic() + 60, []
            while time.monotonic() < deadline and not items:
                assert server.poll() is None, log.read_text()
                try:
                    body = httpx.get(f"http://127.0.0.1:{port}/api/v1/model-servers", timeout=5)
                    items = body.json()["items"] if body.status_code == 200 else []
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            assert [(i["kind"], i["gpu_util"]) for i in items] == [("gpu", 60)]
        finally:
            server.terminate()
            server.wait(timeout=30)
