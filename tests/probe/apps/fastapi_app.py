"""A FastAPI app as users write it, served by ``uvicorn --workers N`` (spawned workers).

``/chat`` makes an LLM call through the openai SDK and tags its server span with the worker's pid
(the only line that knows about telemetry), so the test can tell the workers apart. ``/child``
runs a plain Python subprocess and reports whether the probe got into it (it must not).
"""

import json
import os
import subprocess
import sys

import openai
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from opentelemetry import trace

SIM_URL = os.environ["SIM_URL"]
_CHILD = (
    "import json, os, sys; print(json.dumps({'probe': 'llmobs_probe' in sys.modules, "
    "'pythonpath': os.environ.get('PYTHONPATH', '')}))"
)
_clients: dict = {}  # type: ignore[type-arg]


def client() -> openai.AsyncOpenAI:
    if "openai" not in _clients:  # one per worker process
        _clients["openai"] = openai.AsyncOpenAI(
            base_url=SIM_URL + "/v1", api_key="k", max_retries=0
        )
    return _clients["openai"]  # type: ignore[no-any-return]


app = FastAPI()


@app.get("/chat")
async def chat(_request: Request) -> JSONResponse:
    trace.get_current_span().set_attribute("test.pid", os.getpid())
    result = await client().chat.completions.create(
        model="fast-model", messages=[{"role": "user", "content": "hi"}]
    )
    return JSONResponse({"pid": os.getpid(), "id": result.id})


@app.get("/child")
def child(_request: Request) -> JSONResponse:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, timeout=30, check=True
    )
    return JSONResponse(
        {"pid": os.getpid(), "probe_here": "llmobs_probe" in sys.modules, **json.loads(out.stdout)}
    )
