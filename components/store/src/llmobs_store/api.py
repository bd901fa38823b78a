"""The query API under ``/api/v1`` (JSON; times in unix ms, durations in ms).

Parameters are validated by FastAPI, so a bad one is a 422 naming it; storage trouble is a 503.
"""

import time
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from llmobs_semconv import span_kinds
from llmobs_store._responses import NOT_FOUND, QUERY
from llmobs_store.queries import Queries, TraceFilter
from llmobs_store.security import require_query
from llmobs_store.storage import StorageUnavailable

router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(require_query)], tags=["query"], responses=QUERY
)

_DAY_MS = 24 * 3600 * 1000
Start = Annotated[int | None, Query(ge=0, description="Range start, unix ms (default end-24h).")]
End = Annotated[int | None, Query(ge=0, description="Range end, unix ms (default now).")]
Bucket = Annotated[int, Query(ge=1, le=86400 * 31, description="Time bucket, seconds.")]
Limit = Annotated[int, Query(ge=1, le=1000, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Rows to skip.")]
HexId = Annotated[str, Path(pattern=r"^[0-9a-fA-F]{32}$", description="Trace id, 32 hex digits.")]
Kind = Literal[span_kinds.ALL]  # type: ignore[valid-type]


def _range(start: int | None, end: int | None) -> tuple[int, int]:
    stop = end if end is not None else int(time.time() * 1000) + 60_000
    begin = start if start is not None else stop - _DAY_MS
    if begin > stop:
        raise HTTPException(422, "start must not be after end")
    return begin, stop


async def _run(request: Request, method: str, *args: Any) -> Any:
    queries: Queries = request.app.state.store.queries
    try:
        return await anyio.to_thread.run_sync(lambda: getattr(queries, method)(*args))
    except StorageUnavailable as exc:
        raise HTTPException(
            503, f"storage unavailable: {exc}", headers={"Retry-After": "5"}
        ) from None


@router.get("/overview", summary="Requests, errors, tokens, cost, TTFT/TPOT p95 per time bucket")
async def overview(
    request: Request, start: Start = None, end: End = None, bucket_s: Bucket = 60
) -> dict[str, Any]:
    return await _run(request, "overview", *_range(start, end), bucket_s)  # type: ignore[no-any-return]


@router.get("/traces", summary="Trace search, one row per trace, newest first")
async def traces(
    request: Request,
    *,
    start: Start = None,
    end: End = None,
    service: str | None = None,
    model: str | None = None,
    kind: Annotated[Kind | None, Query(description="Span kind any span must have.")] = None,
    status: Annotated[Literal["OK", "ERROR", "ok", "error"] | None, Query()] = None,
    session_id: str | None = None,
    user_id: str | None = None,
    min_duration_ms: Annotated[float | None, Query(ge=0)] = None,
    q: Annotated[str | None, Query(max_length=500, description="Text in content/names.")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    flt = TraceFilter(service, model, kind, status, session_id, user_id, min_duration_ms, q)
    return await _run(request, "traces", *_range(start, end), flt, limit, offset)  # type: ignore[no-any-return]


@router.get(
    "/traces/{trace_id}",
    summary="One trace: its spans (flat) with merged content",
    responses=NOT_FOUND,
)
async def trace(request: Request, trace_id: HexId) -> dict[str, Any]:
    found = await _run(request, "trace", trace_id.lower())
    if found is None:
        raise HTTPException(404, f"trace {trace_id} not found")
    return found  # type: ignore[no-any-return]


@router.get("/sessions", summary="Sessions, most recent first")
async def sessions(
    request: Request,
    *,
    start: Start = None,
    end: End = None,
    user_id: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    return await _run(request, "sessions", *_range(start, end), user_id, limit, offset)  # type: ignore[no-any-return]


@router.get(
    "/sessions/{session_id}",
    summary="One session as an ordered conversation",
    responses=NOT_FOUND,
)
async def session(
    request: Request, session_id: Annotated[str, Path(min_length=1, max_length=512)]
) -> dict[str, Any]:
    found = await _run(request, "session", session_id)
    if found is None:
        raise HTTPException(404, f"session {session_id} not found")
    return found  # type: ignore[no-any-return]


@router.get("/models", summary="Per model/provider: requests, errors, TTFT/TPOT/TBT/latency")
async def models(
    request: Request, start: Start = None, end: End = None, bucket_s: Bucket = 60
) -> dict[str, Any]:
    return await _run(request, "models", *_range(start, end), bucket_s)  # type: ignore[no-any-return]


@router.get(
    "/model-servers",
    summary="Scraped model servers and GPUs: queue, KV cache, TTFT p95, token rate, GPU use",
)
async def model_servers(
    request: Request, start: Start = None, end: End = None, bucket_s: Bucket = 60
) -> dict[str, Any]:
    return await _run(request, "model_servers", *_range(start, end), bucket_s)  # type: ignore[no-any-return]


@router.get("/usage", summary="Tokens and cost (input and output priced separately)")
async def usage(
    request: Request,
    *,
    group_by: Literal["model", "service", "user", "session", "namespace"] = "model",
    start: Start = None,
    end: End = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    return await _run(request, "usage", group_by, *_range(start, end), limit)  # type: ignore[no-any-return]


@router.get("/errors", summary="Recent error spans")
async def errors(
    request: Request, start: Start = None, end: End = None, limit: Limit = 100
) -> dict[str, Any]:
    return await _run(request, "errors", *_range(start, end), limit)  # type: ignore[no-any-return]


@router.get("/loops", summary="Agent loops: a tool called with the same arguments 3+ times")
async def loops(
    request: Request,
    *,
    start: Start = None,
    end: End = None,
    threshold: Annotated[int, Query(ge=2, le=100)] = 3,
) -> dict[str, Any]:
    return await _run(request, "loops", *_range(start, end), threshold)  # type: ignore[no-any-return]
