"""The gateway against a hostile upstream: it answers every client, and its loop never stalls.

Each test runs the hostile upstream (llmobs_testing.hostile, a child process) behind a real
gateway and, while the bad bytes flow, a latency probe (its own process) GETs /healthz every
5 ms: any blocking work on the gateway's event loop shows as one slow answer.
"""

import base64
import gc
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from llmobs_testing.hostile import serve_hostile
from llmobs_testing.latency import LatencyProbe

from .conftest import Gateway, run_gateway

MODEL = "hostile-model"
WORST_S = 0.05  # /healthz must answer within this all along


@pytest.fixture(scope="module", autouse=True)
def _frozen_heap() -> Iterator[None]:
    """Move what earlier tests left in this process out of the collector's reach: a full
    collection of a test run's heap pauses every thread, the gateway's among them, which a
    gateway in its own process (with a small heap) never pays."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(scope="module")
def hostile_url() -> Iterator[str]:
    # The upstream and the clients run at a lower CPU priority than the gateway and the probe:
    # on a shared machine the load they make must not be what the probe measures.
    with serve_hostile(max_bytes=512 * 1024 * 1024, niceness=10) as url:
        yield url


def _gateway(
    url: str, behaviour: str, upstream: dict[str, Any] | None = None, **settings: Any
) -> Any:
    base = {"name": "hostile", "base_url": f"{url}/{behaviour}/v1", "models": [MODEL]}
    config = {
        "upstreams": [{**base, **(upstream or {})}],
        "routes": [{"model": MODEL, "upstreams": ["hostile"]}],
    }
    return run_gateway(config, forward_header_prefixes=("x-hostile-",), **settings)


def _post(gw: Gateway, *, stream: bool, **hostile: int) -> httpx.Response:
    headers = {f"x-hostile-{k}": str(v) for k, v in hostile.items()}
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    return httpx.post(gw.url + "/v1/chat/completions", json=body, headers=headers, timeout=120)


_CLIENT = """
import base64, json, os, sys
import httpx
os.nice(10)
url, body, headers = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
r = httpx.post(url, json=body, headers=headers, timeout=120)
print(json.dumps({"status": r.status_code, "length": len(r.content),
                  "head": base64.b64encode(r.content[:4096]).decode(),
                  "tail": base64.b64encode(r.content[-4096:]).decode()}))
"""


def _post_from_child(gw: Gateway, *, stream: bool, **hostile: int) -> dict[str, Any]:
    """``_post`` from a child process: reading megabytes in this process would take the GIL
    from the gateway's thread and show up as its loop latency."""
    headers = {f"x-hostile-{k}": str(v) for k, v in hostile.items()}
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": stream}
    args = [gw.url + "/v1/chat/completions", json.dumps(body), json.dumps(headers)]
    done = subprocess.run([sys.executable, "-c", _CLIENT, *args], capture_output=True, timeout=150)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    result["head"] = base64.b64decode(result["head"])
    result["tail"] = base64.b64decode(result["tail"])
    return result


def _stats(url: str) -> dict[str, int]:
    doc: dict[str, int] = httpx.get(url + "/_stats", timeout=10).json()
    return doc


@pytest.mark.parametrize("behaviour", ["tiny-chunks", "lone-cr"])
def test_ten_megabytes_in_one_byte_chunks_pass_and_the_loop_stays_responsive(
    hostile_url: str, behaviour: str
) -> None:
    with _gateway(hostile_url, behaviour) as gw, LatencyProbe(gw.url) as probe:
        response = _post_from_child(gw, stream=True, size=10_000_000, chunk=1)
    assert response["status"] == 200
    assert response["length"] >= 9_900_000
    assert response["tail"].endswith(b"data: [DONE]\n\n")
    assert not probe.failures
    assert probe.samples > 10
    assert probe.worst_s < WORST_S, f"/healthz took {probe.worst_s * 1000:.0f} ms"


def test_huge_response_headers_get_a_502_without_stalling(hostile_url: str) -> None:
    with _gateway(hostile_url, "huge-headers") as gw, LatencyProbe(gw.url) as probe:
        response = _post(gw, stream=False, size=32 * 1024 * 1024, chunk=65536)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_too_large"
    assert "headers" in error["message"]
    assert probe.worst_s < WORST_S, f"/healthz took {probe.worst_s * 1000:.0f} ms"


def test_a_flood_of_interim_responses_counts_against_the_head_limit(hostile_url: str) -> None:
    with _gateway(hostile_url, "interim-flood") as gw:
        response = _post(gw, stream=False, count=200_000)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_too_large"


def test_a_declared_body_over_the_limit_gets_a_502_and_is_not_read(hostile_url: str) -> None:
    with _gateway(hostile_url, "big-json", max_upstream_body_bytes=8 * 1024 * 1024) as gw:
        response = _post(gw, stream=False, size=400 * 1024 * 1024)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_too_large"
    assert str(8 * 1024 * 1024) in error["message"]


def test_a_large_error_body_gets_a_502(hostile_url: str) -> None:
    with _gateway(hostile_url, "error-body") as gw:
        response = _post(gw, stream=False, size=50 * 1024 * 1024)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_too_large"


def test_an_endless_body_is_cut_at_the_limit_and_the_upstream_released(hostile_url: str) -> None:
    before = _stats(hostile_url)["gone"]
    with _gateway(hostile_url, "endless-body", max_upstream_body_bytes=4 * 1024 * 1024) as gw:
        with pytest.raises(httpx.HTTPError):  # past the first MiB it was streaming: cut
            _post(gw, stream=False, size=256 * 1024 * 1024)
        assert _stats(hostile_url)["gone"] > before  # the upstream saw the gateway go
        ok = httpx.get(gw.url + "/healthz", timeout=5)
        assert ok.status_code == 200


def test_a_hundred_megabyte_json_body_passes_without_stalling_and_usage_is_read(
    hostile_url: str,
) -> None:
    size = 100 * 1024 * 1024
    with _gateway(hostile_url, "big-json") as gw, LatencyProbe(gw.url) as probe:
        response = _post_from_child(gw, stream=False, size=size)
        metrics = httpx.get(gw.url + "/metrics", timeout=10).text
    assert response["status"] == 200
    assert response["length"] == size
    assert response["head"].startswith(b'{"object":"list"')
    assert response["tail"].endswith(b'"usage":{"prompt_tokens":3,"total_tokens":3}}')
    assert 'llmobs_gateway_tokens_total{model="hostile-model",type="input"} 3.0' in metrics
    assert probe.worst_s < WORST_S, f"/healthz took {probe.worst_s * 1000:.0f} ms"


def _wait_for(check: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_a_client_that_never_reads_is_cut_and_its_upstream_released(hostile_url: str) -> None:
    before = _stats(hostile_url)["gone"]
    settings = {"client_write_stall_s": 1.0}
    with _gateway(hostile_url, "tiny-chunks", {"max_connections": 1}, **settings) as gw:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once
        port = int(gw.url.rsplit(":", 1)[1])
        body = json.dumps({"model": MODEL, "messages": [], "stream": True}).encode()
        with sock:
            sock.connect(("127.0.0.1", port))
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: "
                b"application/json\r\nx-hostile-size: 268435456\r\nx-hostile-chunk: 4096\r\n"
                b"content-length: %d\r\n\r\n%b" % (len(body), body)
            )
            # Never read: within the stall timeout (and some slack) the gateway gives up on
            # this client and cancels the upstream request, which the upstream sees.
            assert _wait_for(lambda: _stats(hostile_url)["gone"] > before, 15.0)
        # The only upstream connection is free again: the next request is served.
        response = httpx.post(
            gw.url + "/v1/chat/completions",
            json={"model": MODEL, "messages": []},
            headers={"x-hostile-behaviour": "ok"},
            timeout=10,
        )
        assert response.status_code == 200


def test_concurrent_requests_per_client_address_are_capped(hostile_url: str) -> None:
    settings = {"max_requests_per_client_ip": 1}
    with _gateway(hostile_url, "stall", **settings) as gw, httpx.Client(timeout=20) as client:
        body = {"model": MODEL, "messages": [], "stream": True}
        headers = {"x-hostile-seconds": "3"}
        url = gw.url + "/v1/chat/completions"
        with client.stream("POST", url, json=body, headers=headers) as first:
            assert first.status_code == 200
            refused = httpx.post(url, json=body, timeout=10)
            assert refused.status_code == 429
            assert refused.json()["error"]["code"] == "too_many_concurrent_requests"
            assert refused.headers["retry-after"] == "1"
        # Once the first is over, the address may send again.
        again = httpx.post(url, json=body, headers={"x-hostile-behaviour": "ok"}, timeout=10)
        assert again.status_code == 200


def test_an_upstream_silent_mid_stream_gets_an_in_band_error(hostile_url: str) -> None:
    with _gateway(hostile_url, "stall", {"idle_timeout_s": 0.5}) as gw:
        started = time.monotonic()
        response = _post(gw, stream=True, seconds=20)
    assert time.monotonic() - started < 10
    assert response.status_code == 200
    assert response.text.startswith("data: ")
    assert '"code": "idle_timeout"' in response.text


def test_an_upstream_that_never_answers_gets_a_504(hostile_url: str) -> None:
    with _gateway(hostile_url, "stall-headers", {"first_byte_timeout_s": 0.5}) as gw:
        response = _post(gw, stream=False, seconds=20)
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "timeout"
