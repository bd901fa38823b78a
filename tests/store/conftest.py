"""Fixtures: a real store (uvicorn on 127.0.0.1, free port) on real chDB in a temp directory."""

import atexit
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from llmobs_store.app import create_app
from llmobs_store.settings import StoreSettings


@dataclass
class RunningStore:
    url: str
    app: FastAPI
    settings: StoreSettings

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(self.url + path, params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def get_or_none(self, path: str, **params: Any) -> Any:
        """The JSON answer, or None while the store answers 404 (not stored yet)."""
        response = httpx.get(self.url + path, params=params, timeout=30)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError("condition not met in time")

    def span_count(self) -> int:
        state = self.app.state.store
        rows = state.storage.query(f"SELECT count() AS n FROM {state.storage.database}.spans FINAL")
        return int(rows[0]["n"])

    def wait_spans(self, n: int, timeout_s: float = 20.0) -> None:
        self.wait_for(lambda: self.span_count() >= n, timeout_s)

    def settle(self, timeout_s: float = 30.0) -> None:
        """Wait until every span sent is stored and every trace's tree pass has run."""
        self.wait_for(lambda: bool(self.app.state.store.writer.settled), timeout_s)


@contextmanager
def serve_store(settings: StoreSettings) -> Iterator[RunningStore]:
    """Run the store under uvicorn in a thread, on a free port, for the duration of the block."""
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("store did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningStore(f"http://127.0.0.1:{port}", app, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# chDB hosts one engine (one data path) per process: every in-process store of the test run
# shares it, each with a database of its own.
ENGINE_DIR = Path(tempfile.mkdtemp(prefix="llmobs-chdb-"))
atexit.register(shutil.rmtree, ENGINE_DIR, True)


def unique_database() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


def store_settings(tmp: Path, **overrides: Any) -> StoreSettings:
    values: dict[str, Any] = {
        "db": f"chdb://{ENGINE_DIR}",
        "database": unique_database(),
        "spool_dir": tmp / "spool",
        "batch_wait_s": 0.05,
        "content_grace_s": 1.0,
        "tree_settle_s": 0.2,
    }
    values.update(overrides)
    return StoreSettings(**values)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunningStore]:
    with serve_store(store_settings(tmp_path)) as running:
        yield running


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStore]:
    """One store for a whole module whose tests use distinct trace ids (saves start-ups)."""
    with serve_store(store_settings(tmp_path_factory.mktemp("store"))) as running:
        yield running
