"""Fixtures of the browser tests: one real ``llmobs demo`` for the whole module, and Chromium.

The demo runs as the newcomer runs it (``python -m llmobs_cli.main demo``) on a free port with a
temporary data directory; the tests drive Debian's chromium through Playwright while the traffic
flows, then stop the demo with SIGINT (Ctrl-C) and check it exits cleanly. Screenshots go to
``artifacts/ui/`` (git-ignored) for people to look at.
"""

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmobs_testing.prereq import require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
DEMO_SECONDS = 240  # upper bound; the fixture stops the demo (Ctrl-C) when the tests are done
START_TIMEOUT_S = 180
DATA_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Demo:
    """A running ``llmobs demo`` and what it printed."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url.rstrip("/")
        self.output: list[str] = []

    def api(self, path: str, **params: Any) -> Any:
        now = int(time.time() * 1000)
        params.setdefault("start", now - 3_600_000)
        params.setdefault("end", now + 60_000)
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def wait_for(self, what: str, check: Any, timeout: float = DATA_TIMEOUT_S) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the demo stopped:\n" + "\n".join(self.output[-30:])
            try:
                last = check()
            except httpx.HTTPError as exc:
                last = exc
            if last and not isinstance(last, Exception):
                return last
            time.sleep(1.0)
        raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


# The demo runs every component; until they have all landed, say which one is missing.
COMPONENTS = {
    "llmobs_store.app": "the store",
    "llmobs_gateway.app": "the gateway",
    "llmobs_probe.bootstrap": "the probe",
    "llmobs_testing.simulator": "the model-server simulator",
}


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    for module, what in COMPONENTS.items():
        require(
            importlib.util.find_spec(module) is not None,
            f"{what} ({module})",
            "git merge main once it has landed",
        )
    data_dir = tmp_path_factory.mktemp("demo")
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmobs_cli.main",
            "demo",
            "--port",
            str(port),
            "--duration",
            str(DEMO_SECONDS),
            "--users",
            "4",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "120", "TERM": "dumb"},
    )
    lines: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.startswith("UI ready at "):
                ready.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not ready.is_set() and process.poll() is None and time.monotonic() < deadline:
        ready.wait(0.5)
    if not ready.is_set():
        process.kill()
        process.wait(timeout=30)
        reader.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
        pytest.fail("llmobs demo did not print its UI address:\n" + "\n".join(lines[-40:]))
    running = Demo(process, f"http://127.0.0.1:{port}")
    running.output = lines
    try:
        yield running
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            code = process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
            code = -9
        reader.join(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
        (ARTIFACTS / "demo-output.txt").parent.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "demo-output.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        assert code == 0, "the demo did not stop cleanly on Ctrl-C:\n" + "\n".join(lines[-30:])
        assert any(line.startswith("stopped:") for line in lines), lines[-10:]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    require(
        CHROMIUM.exists(),
        "Debian's chromium at /usr/bin/chromium",
        "bash scripts/bootstrap-extras.sh, or apt-get install -y chromium",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Page:
    """A Chromium page that records console errors and uncaught exceptions."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.allowed: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type == "error" and not any(a in message.text for a in self.allowed):
            self.errors.append(f"console.error: {message.text}")

    def open(self, route: str, ready: str) -> Any:
        """Go to a hash route and wait until ``ready`` (a CSS selector) is visible."""
        self.page.goto(f"{self.base}/#{route}")
        self.page.wait_for_selector(ready, state="visible", timeout=30_000)
        self.settle()
        return self.page

    def settle(self) -> None:
        # Sections load independently: wait until no spinner is left.
        self.page.wait_for_function(
            "document.querySelectorAll('[data-state=loading]').length === 0", timeout=30_000
        )

    def shot(self, name: str, selector: str | None = None) -> None:
        """Save the page (or only the element ``selector``) under artifacts/ui/."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = str(ARTIFACTS / f"{name}.png")
        if selector is None:
            self.page.screenshot(path=path, full_page=True)
        else:
            self.page.locator(selector).screenshot(path=path)


@pytest.fixture
def page(browser: Any, demo: Demo) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    wrapped = Page(context.new_page(), demo.url)
    try:
        yield wrapped
    finally:
        context.close()
    assert not wrapped.errors, "errors in the browser console:\n" + "\n".join(wrapped.errors)
