"""OTLP/HTTP receivers: ``POST /v1/traces``, ``/v1/metrics``, ``/v1/logs``.

A request is answered 200 only after its payload is in the write-ahead spool (fsynced); inserts
into ClickHouse happen later, in the writer thread. Bad input is a 4xx naming the problem, an
overloaded store 429/503 with ``Retry-After``; nothing already accepted is ever lost.
"""

import logging

import anyio
from fastapi import APIRouter, Depends, Request, Response

from llmobs_store._responses import OTLP, OTLP_REQUEST
from llmobs_store.otlp import (
    JSON,
    KIND_LOGS,
    KIND_METRICS,
    KIND_TRACES,
    OtlpError,
    accept,
    decompress,
    error_body,
    media_type,
    success_body,
)
from llmobs_store.security import INGEST_SCHEME, UNAUTHORISED, presents
from llmobs_store.spool import SpoolFull
from llmobs_store.state import StoreState

log = logging.getLogger(__name__)
_SIGNALS = {KIND_TRACES: "traces", KIND_METRICS: "metrics", KIND_LOGS: "logs"}

router = APIRouter(
    # The scheme documents the token in /openapi.json; _export checks it (answering an OTLP body).
    dependencies=[Depends(INGEST_SCHEME)],
    include_in_schema=True,
    tags=["otlp"],
    responses=OTLP,
    default_response_class=Response,
)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise OtlpError(413, f"request body is larger than {limit} bytes")
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise OtlpError(413, f"request body is larger than {limit} bytes")
    return bytes(body)


async def _export(kind: int, request: Request) -> Response:
    state: StoreState = request.app.state.store
    signal = _SIGNALS[kind]
    media = JSON
    try:
        unsupported = None
        try:
            media = media_type(request.headers.get("content-type"))
        except OtlpError as exc:
            unsupported = exc
        # Authentication first, answered like every other OTLP error: a google.rpc.Status in
        # the request's encoding (OTLP exporters decode it), counted in the request metrics.
        if not presents(request, state.settings.ingest_token):
            raise OtlpError(401, UNAUTHORISED)
        if unsupported is not None:
            raise unsupported
        if state.inflight >= state.settings.max_inflight_requests:
            raise OtlpError(429, "too many concurrent export requests; retry later")
        state.inflight += 1
        try:
            limit = state.settings.max_request_bytes
            raw = await _read_body(request, limit)
            data = decompress(raw, request.headers.get("content-encoding"), limit)
            accepted = await anyio.to_thread.run_sync(accept, kind, media, data)
            if accepted.items - accepted.rejected > 0 or accepted.items == 0:
                await anyio.to_thread.run_sync(state.spool.append, kind, accepted.payload)
        finally:
            state.inflight -= 1
    except OtlpError as exc:
        state.metrics.requests.labels(signal, str(exc.status)).inc()
        headers = {429: {"Retry-After": "1"}, 401: {"WWW-Authenticate": "Bearer"}}.get(
            exc.status, {}
        )
        return Response(
            error_body(media, exc.status, exc.message),
            exc.status,
            headers=headers,
            media_type=media,
        )
    except SpoolFull as exc:
        state.metrics.requests.labels(signal, "503").inc()
        return Response(
            error_body(media, 503, str(exc)), 503, headers={"Retry-After": "5"}, media_type=media
        )
    state.metrics.requests.labels(signal, "200").inc()
    state.metrics.accepted.labels(signal).inc(accepted.items - accepted.rejected)
    state.metrics.rejected.labels(signal).inc(accepted.rejected)
    body = success_body(kind, media, accepted.rejected, accepted.reason)
    return Response(body, 200, media_type=media)


@router.post(
    "/v1/traces",
    summary="OTLP/HTTP trace export (protobuf or JSON, gzip)",
    openapi_extra=OTLP_REQUEST,
)
async def export_traces(request: Request) -> Response:
    return await _export(KIND_TRACES, request)


@router.post(
    "/v1/metrics",
    summary="OTLP/HTTP metric export (protobuf or JSON, gzip)",
    openapi_extra=OTLP_REQUEST,
)
async def export_metrics(request: Request) -> Response:
    return await _export(KIND_METRICS, request)


@router.post(
    "/v1/logs",
    summary="OTLP/HTTP log export; content chunks are merged per span",
    openapi_extra=OTLP_REQUEST,
)
async def export_logs(request: Request) -> Response:
    return await _export(KIND_LOGS, request)
