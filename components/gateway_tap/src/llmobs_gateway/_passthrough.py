"""Passing an upstream response on to the client: streamed (SSE) or whole.

A stream is relayed from the upstream connection's data callback, observed on the side; a whole
body is parsed when small and passed on as it arrives when large. Neither costs the event loop
more than linear work in the bytes of one read.
"""

from __future__ import annotations

import json
import logging
import time

from llmobs_gateway._recording import Outcome
from llmobs_gateway._routing import Upstream
from llmobs_gateway._server import Exchange
from llmobs_gateway._upstream_http import (
    UpstreamBrokenError,
    UpstreamResponse,
    UpstreamTooLargeError,
)

log = logging.getLogger("llmobs_gateway")

_PARSE_WHOLE = 1 << 20  # a non-streamed body up to this is parsed; past it, passed on as it comes
_TAIL_BYTES = 64 * 1024  # the end of a large body, kept for its usage and finish reasons


async def relay_whole(
    exchange: Exchange,
    response: UpstreamResponse,
    headers: list[tuple[bytes, bytes]],
    outcome: Outcome,
    *,
    max_body_bytes: int,
    max_error_bytes: int,
) -> None:
    """A non-streamed body: parsed whole when small; past 1 MiB passed on as it arrives.

    Over the body limit (declared, or found on the way) the client gets a 502 while nothing
    was sent, else the connection is cut. Nothing here costs the loop more than a copy of
    the bytes of one read: a large body is never joined, parsed or copied whole.
    """
    status = response.status
    limit = max_error_bytes if status >= 400 else max_body_bytes
    declared = response.header(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise UpstreamTooLargeError(f"response body of {int(declared)} bytes over {limit}")
    parts: list[bytes] = []
    size = 0
    head = tail = b""
    async for chunk in response.chunks():
        size += len(chunk)
        if size > limit:
            raise UpstreamTooLargeError(f"response body over the limit of {limit} bytes")
        data = chunk
        if not outcome.first_byte_sent:
            parts.append(chunk)
            if size <= _PARSE_WHOLE:
                continue
            exchange.start(status, headers)
            outcome.first_byte_sent = True
            exchange.set_flow(response.pause_reading, response.resume_reading)
            data = b"".join(parts)  # at most 1 MiB and one read
            head, parts = data[:4096], []
        exchange.write(data)
        tail = (tail + data)[-_TAIL_BYTES:] if len(data) < _TAIL_BYTES else data[-_TAIL_BYTES:]
    if outcome.first_byte_sent:
        exchange.end()
        if status < 400:
            outcome.observer.observe_large_body(head, tail, time.perf_counter())
        return
    data = b"".join(parts)
    if status < 400:
        outcome.observer.observe_body(data, time.perf_counter())
    exchange.send_whole(status, data, headers[0][1], headers[1:])


async def relay_stream(
    exchange: Exchange,
    response: UpstreamResponse,
    upstream: Upstream,
    headers: list[tuple[bytes, bytes]],
    outcome: Outcome,
) -> None:
    observer = outcome.observer
    exchange.start(response.status, headers)
    outcome.first_byte_sent = True
    exchange.set_flow(response.pause_reading, response.resume_reading)
    write = exchange.write
    feed = observer.feed
    broken: list[bool] = []

    def on_data(data: bytes) -> None:
        # Runs in the upstream connection's data callback: relay first, observe on the side.
        if broken:
            write(data)
            return
        try:
            out = feed(data)
        except Exception:  # an observer bug must never cost the client its stream
            log.exception("observing a stream failed; passing the rest through unobserved")
            broken.append(True)
            out = observer.flush() + data
        write(out)

    try:
        await response.relay(on_data, upstream.config.idle_timeout_s)
        exchange.end(b"" if broken else observer.flush())
    except (TimeoutError, UpstreamBrokenError) as exc:
        # Bytes already reached the client: no retry. Tell the SDK in-band (it raises on an
        # "error" event) and end the response.
        kind = "idle_timeout" if isinstance(exc, TimeoutError) else "upstream_broken"
        outcome.error_type = kind
        event = json.dumps(
            {
                "error": {
                    "message": f"upstream {upstream.name} stream failed: {kind}",
                    "type": "upstream_error",
                    "code": kind,
                }
            }
        )
        # A half event left by the cut is observed but not sent: glued in front of the error
        # event it would make that line unparseable and hide the error. Unobserved bytes may
        # have ended mid-event too: a blank line first keeps the error event its own.
        lead = b"\n\n" if broken else b""
        if not broken:
            observer.flush()
        exchange.end(lead + f"data: {event}\n\n".encode())
