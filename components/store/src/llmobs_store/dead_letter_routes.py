"""``GET /api/v1/dead-letters``: what ingest could not store, newest first, with totals.

Its own router (behind the query token like the rest of ``/api/v1``), included by the app.
"""

from typing import Any

import anyio
from fastapi import APIRouter, Depends, HTTPException, Request

from llmobs_store._responses import QUERY
from llmobs_store.api import Limit, Offset
from llmobs_store.security import require_query
from llmobs_store.state import StoreState
from llmobs_store.storage import StorageUnavailable

router = APIRouter(
    prefix="/api/v1", dependencies=[Depends(require_query)], tags=["query"], responses=QUERY
)

_COLUMNS = (
    "toUnixTimestamp64Milli(time) AS time_ms, signal, category, reason, table_name, "
    "trace_id, span_id, items, record"
)


def _page(state: StoreState, limit: int, offset: int) -> dict[str, Any]:
    storage = state.storage
    table = f"{storage.database}.dead_letters FINAL"
    items = storage.query(
        f"SELECT {_COLUMNS} FROM {table} "  # noqa: S608 - identifiers from settings, values bound
        "ORDER BY time DESC, key LIMIT {limit:UInt32} OFFSET {offset:UInt32}",
        {"limit": limit, "offset": offset},
    )
    totals = storage.query(
        f"SELECT signal, sum(items) AS items, count() AS rows FROM {table} GROUP BY signal"  # noqa: S608
    )
    by_signal = {s: 0 for s in ("traces", "logs", "metrics")}
    by_signal.update({row["signal"]: int(row["items"]) for row in totals})
    return {
        "items": items,
        "total": sum(int(row["rows"]) for row in totals),
        "totals": by_signal,
        "limit": limit,
        "offset": offset,
        # Dead letters ClickHouse refused even in the dead-letter table: on disk only.
        "file_fallback": {
            "path": str(state.writer.dead_letters.path),
            "count": state.writer.dead_letters.file_count(),
        },
    }


@router.get(
    "/dead-letters",
    summary="Items not stored (refused by ClickHouse or the normaliser), newest first",
)
async def dead_letters(
    request: Request,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    state: StoreState = request.app.state.store
    try:
        return await anyio.to_thread.run_sync(_page, state, limit, offset)
    except StorageUnavailable as exc:
        raise HTTPException(
            503, f"storage unavailable: {exc}", headers={"Retry-After": "5"}
        ) from None
