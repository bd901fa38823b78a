"""``serve_app``: a real uvicorn server on a free port, started before yielding, gone after."""

import contextlib
import socket
import threading
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from llmobs_testing.servers import free_port, serve_app


async def hello(request: Request) -> Response:
    return PlainTextResponse("hello")


def _app() -> Starlette:
    return Starlette(routes=[Route("/", hello)])


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_serves_on_a_free_port_and_stops_cleanly() -> None:
    before = set(threading.enumerate())
    with serve_app(_app()) as url:
        assert url.startswith("http://127.0.0.1:")
        port = int(url.rsplit(":", 1)[1])
        assert port > 0
        assert httpx.get(url + "/", timeout=5).text == "hello"
    assert not _accepts(port)
    assert set(threading.enumerate()) <= before  # no thread left behind


def test_two_servers_at_once_get_different_ports() -> None:
    with serve_app(_app()) as first, serve_app(_app()) as second:
        assert first != second
        assert httpx.get(second + "/", timeout=5).status_code == 200


def test_explicit_port_is_used() -> None:
    port = free_port()
    with serve_app(_app(), port=port) as url:
        assert url == f"http://127.0.0.1:{port}"


def test_startup_failure_is_raised_not_hung() -> None:
    @contextlib.asynccontextmanager
    async def lifespan_fails(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("boom")
        yield

    broken = Starlette(lifespan=lifespan_fails)
    with pytest.raises(RuntimeError, match="failed to start"), serve_app(broken):
        pass


def test_free_port_is_bindable() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
