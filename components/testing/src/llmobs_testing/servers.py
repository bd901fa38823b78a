"""Real HTTP servers for tests: run an ASGI app under uvicorn in a background thread.

The socket is bound here, before uvicorn starts, so port 0 works and the real port is known
without racing another process for it.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 10.0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` right now (for programs that must be told a port up front)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def serve_app(app: Any, host: str = "127.0.0.1", port: int = 0, **config: Any) -> Iterator[str]:
    """Serve the ASGI ``app`` on ``host``:``port`` (0: a free port) and yield its base URL.

    uvicorn runs in a daemon thread with its own event loop; the context waits until the server
    has started (lifespan included) and, on exit, asks it to stop and joins the thread. Open
    streams get a short grace period, then are cut. Extra keyword arguments go to
    ``uvicorn.Config`` (e.g. ``timeout_graceful_shutdown``, or ``lifespan="auto"`` for a bare ASGI
    app without lifespan support; the default "on" makes a failing lifespan fail the start).
    """
    sock = _bind(host, port)
    real_port = sock.getsockname()[1]
    options: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 2,
        # Tests run many servers in one process: never let uvicorn reconfigure logging.
        "log_config": None,
    }
    options.update(config)
    server = uvicorn.Server(uvicorn.Config(app, **options))
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # SystemExit on startup failure included
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-{real_port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if failure or not thread.is_alive():
                raise RuntimeError(f"server on port {real_port} failed to start: {failure!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on port {real_port} did not start in time")
            time.sleep(0.01)
        yield f"http://{host}:{real_port}"
    finally:
        server.should_exit = True
        thread.join(_STOP_TIMEOUT_S)
        if thread.is_alive():
            # Something held a connection past the graceful period: cut it.
            server.force_exit = True
            thread.join(_STOP_TIMEOUT_S)
        sock.close()
