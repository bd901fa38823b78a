"""An OTLP/HTTP sink for the benchmark: accepts export requests, counts bytes, stores nothing.

It stands in for the store so that the gateway's export path (batching, protobuf encoding, HTTP
posts) runs during the benchmark as it would in production.

    python benchmarks/gateway/otlp_sink.py PORT
"""

import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Message = MutableMapping[str, Any]
received = {"requests": 0, "bytes": 0}


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        received["bytes"] += len(message.get("body", b""))
        more = message.get("more_body", False)
    received["requests"] += 1
    body = str(received).encode() if scope["path"] == "/healthz" else b""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/x-protobuf")],
        }
    )
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
