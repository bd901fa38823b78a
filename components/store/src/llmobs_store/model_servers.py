"""The model-server and GPU view: scraped vLLM/SGLang/DCGM metrics per target and model.

Gauges report their latest value in the range; counters a rate over the range (a counter reset
counts from zero); histograms a p95 of the observations made in the range (bucket deltas between
the first and last scrape, or the cumulative buckets when only one scrape is in the range).
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from llmobs_semconv import attributes as A
from llmobs_semconv import metrics as M

# field -> (metric names, how the series of one target and model combine)
_GAUGES: dict[str, tuple[tuple[str, ...], str]] = {
    "requests_running": ((M.VLLM_NUM_REQUESTS_RUNNING, M.SGLANG_NUM_RUNNING_REQS), "sum"),
    "requests_waiting": ((M.VLLM_NUM_REQUESTS_WAITING, M.SGLANG_NUM_QUEUE_REQS), "sum"),
    "kv_cache_usage": (
        (M.VLLM_KV_CACHE_USAGE_PERC, M.VLLM_GPU_CACHE_USAGE_PERC_DEPRECATED, M.SGLANG_TOKEN_USAGE),
        "max",
    ),
    "gpu_util": ((M.DCGM_GPU_UTIL,), "avg"),
    "gpu_memory_used_mib": ((M.DCGM_FB_USED,), "sum"),
    "gpu_memory_free_mib": ((M.DCGM_FB_FREE,), "sum"),
    "gpu_power_w": ((M.DCGM_POWER_USAGE,), "sum"),
    "gpu_temp_c": ((M.DCGM_GPU_TEMP,), "max"),
}
_RATES: dict[str, tuple[str, ...]] = {
    "generation_tokens_per_s": (M.VLLM_GENERATION_TOKENS_TOTAL,),
    "prompt_tokens_per_s": (M.VLLM_PROMPT_TOKENS_TOTAL,),
    "requests_per_s": (M.VLLM_REQUEST_SUCCESS_TOTAL,),
}
_P95: dict[str, tuple[str, ...]] = {
    "ttft_p95_ms": (M.VLLM_TIME_TO_FIRST_TOKEN_SECONDS, M.SGLANG_TIME_TO_FIRST_TOKEN_SECONDS),
    "itl_p95_ms": (M.VLLM_INTER_TOKEN_LATENCY_SECONDS, M.SGLANG_INTER_TOKEN_LATENCY_SECONDS),
    "e2e_p95_ms": (M.VLLM_E2E_REQUEST_LATENCY_SECONDS, M.SGLANG_E2E_REQUEST_LATENCY_SECONDS),
    "queue_p95_ms": (M.VLLM_REQUEST_QUEUE_TIME_SECONDS,),
}
_SERIES = ("requests_running", "requests_waiting", "kv_cache_usage")
_COMBINE: dict[str, Callable[[Sequence[float]], float]] = {
    "sum": sum,
    "max": max,
    "avg": lambda values: sum(values) / len(values),
}
# vLLM and SGLang label the served model model_name; DCGM labels the GPU's model modelName.
_MODEL = "if(attributes['model_name'] != '', attributes['model_name'], attributes['modelName'])"
_FROM = "time >= fromUnixTimestamp64Milli({start:Int64})"
_RANGE = f"{_FROM} AND time < fromUnixTimestamp64Milli({{end:Int64}})"
_KEY = (
    f"service AS target, resource_attributes['{A.LLMOBS_SCRAPE_KIND}'] AS kind, {_MODEL} AS model"
)


# Resource attributes the scraper derives itself; the rest are the target's labels.
_RESOURCE_KEYS = frozenset(
    (A.SERVICE_NAME, A.LLMOBS_SCRAPE_URL, A.LLMOBS_SCRAPE_KIND, A.SERVER_ADDRESS, A.LLMOBS_LAYER)
)


def _field_of(table: dict[str, Any]) -> dict[str, str]:
    return {name: field for field, spec in table.items() for name in _names(spec)}


def _names(spec: Any) -> tuple[str, ...]:
    return spec[0] if isinstance(spec[0], tuple) else spec


def quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float | None:
    """Prometheus' histogram_quantile over per-bucket counts (last bucket is +Inf)."""
    total = sum(counts)
    if total <= 0 or not bounds:
        return None
    rank, seen = q * total, 0.0
    for i, count in enumerate(counts):
        if seen + count >= rank and count > 0:
            if i >= len(bounds):
                return bounds[-1]
            lower = bounds[i - 1] if i > 0 else 0.0
            return lower + (bounds[i] - lower) * (rank - seen) / count
        seen += count
    return bounds[-1]


Rows = Callable[[str, dict[str, Any]], list[dict[str, Any]]]


def report(query: Rows, start: int, end: int, bucket_s: int) -> dict[str, Any]:
    """``{"items": [...], "series": [...]}`` of the scraped targets in ``[start, end)``."""
    params: dict[str, Any] = {"start": start, "end": end, "bucket": bucket_s}
    gauge_of, rate_of, p95_of = _field_of(_GAUGES), _field_of(_RATES), _field_of(_P95)
    points = query(
        f"SELECT {_KEY}, name, attributes AS attrs, argMax(value, time) AS last_value, "
        "argMin(value, time) AS first_value, toUnixTimestamp64Milli(max(time)) AS last_ms, "
        "toUnixTimestamp64Milli(min(time)) AS first_ms, any(resource_attributes) AS res "
        f"FROM $db.metric_points WHERE {_RANGE} AND type IN ('gauge', 'sum') "
        "AND name IN {names:Array(String)} "
        "GROUP BY target, kind, model, name, attrs",
        {**params, "names": sorted(gauge_of | rate_of)},
    )
    histograms = query(
        f"SELECT {_KEY}, name, attributes AS attrs, count() AS n, "
        "argMax(bucket_bounds, time) AS bounds, argMax(bucket_counts, time) AS last_counts, "
        "argMin(bucket_counts, time) AS first_counts, toUnixTimestamp64Milli(max(time)) AS last_ms "
        f"FROM $db.metric_points WHERE {_RANGE} AND type = 'histogram' "
        "AND name IN {names:Array(String)} GROUP BY target, kind, model, name, attrs",
        {**params, "names": sorted(p95_of)},
    )
    gauges: dict[tuple[str, str, str], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    rates: dict[tuple[str, str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    seen: dict[tuple[str, str, str], int] = {}
    labels: dict[str, dict[str, str]] = {}
    for row in points:
        key = (row["target"], row["kind"], row["model"])
        seen[key] = max(seen.get(key, 0), int(row["last_ms"]))
        # The target's own labels (from the targets file: model server, pod, namespace...).
        labels.setdefault(
            row["target"], {k: v for k, v in dict(row["res"]).items() if k not in _RESOURCE_KEYS}
        )
        if row["name"] in gauge_of:
            gauges[key][gauge_of[row["name"]]].append(float(row["last_value"]))
        elif row["last_ms"] > row["first_ms"]:
            grown = row["last_value"] - row["first_value"]
            grown = grown if grown >= 0 else row["last_value"]  # a reset: counted from zero
            rates[key][rate_of[row["name"]]] += grown / ((row["last_ms"] - row["first_ms"]) / 1000)
    buckets: dict[tuple[str, str, str], dict[str, tuple[list[float], list[float]]]] = defaultdict(
        dict
    )
    for row in histograms:
        key = (row["target"], row["kind"], row["model"])
        seen[key] = max(seen.get(key, 0), int(row["last_ms"]))
        last, first = row["last_counts"], row["first_counts"]
        counts = (
            [float(a - b) for a, b in zip(last, first, strict=False)]
            if row["n"] > 1 and len(first) == len(last)
            else [float(c) for c in last]
        )
        field = p95_of[row["name"]]
        bounds, total = buckets[key].get(field, (list(row["bounds"]), [0.0] * len(counts)))
        if len(total) == len(counts):
            buckets[key][field] = (bounds, [a + b for a, b in zip(total, counts, strict=True)])
    items = []
    for key in sorted(seen):
        item: dict[str, Any] = {"target": key[0], "kind": key[1], "model": key[2]}
        item["labels"] = labels.get(key[0], {})
        for field, (_, how) in _GAUGES.items():
            values = gauges[key].get(field)
            item[field] = _COMBINE[how](values) if values else None
        for field in _RATES:
            item[field] = rates[key].get(field)
        for field in _P95:
            found = buckets[key].get(field)
            p95 = quantile(0.95, *found) if found else None
            item[field] = p95 * 1000 if p95 is not None else None
        item["last_seen_ms"] = seen[key]
        items.append(item)
    return {"items": items, "series": _series(query, params)}


def _series(query: Rows, params: dict[str, Any]) -> list[dict[str, Any]]:
    field_of = {name: field for field in _SERIES for name in _GAUGES[field][0]}
    rows = query(
        "SELECT toUnixTimestamp64Milli(toDateTime64(toStartOfInterval(time, "
        "INTERVAL {bucket:UInt32} SECOND), 3)) AS t, service AS target, name, "
        f"attributes AS attrs, avg(value) AS v FROM $db.metric_points WHERE {_RANGE} "
        "AND name IN {names:Array(String)} GROUP BY t, target, name, attrs",
        {**params, "names": sorted(field_of)},
    )
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for row in rows:
        point = out.setdefault(
            (row["t"], row["target"]),
            {"t": row["t"], "target": row["target"], **dict.fromkeys(_SERIES)},
        )
        field = field_of[row["name"]]
        how = _GAUGES[field][1]
        value = float(row["v"])
        previous = point[field]
        point[field] = value if previous is None else _COMBINE[how]([previous, value])
    return [out[k] for k in sorted(out)]
