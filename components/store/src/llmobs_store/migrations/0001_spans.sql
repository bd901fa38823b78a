-- Slim span rows: one per (trace, span), newest version wins (retries and updates never
-- double-count). Order key: time bucket first (every list and aggregate is time-ranged), then
-- service, then the ids that make the row unique; bloom filters make trace/session lookups cheap.
CREATE TABLE IF NOT EXISTS {db}.spans{local} {on_cluster}
(
    trace_id String CODEC(ZSTD(1)),
    span_id String CODEC(ZSTD(1)),
    parent_span_id String CODEC(ZSTD(1)),
    name String CODEC(ZSTD(1)),
    kind LowCardinality(String),
    otel_kind LowCardinality(String),
    service LowCardinality(String),
    start_time DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    end_time DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    duration_ms Float64,
    status LowCardinality(String),
    status_code UInt16,
    error String CODEC(ZSTD(1)),
    provider LowCardinality(String),
    request_model LowCardinality(String),
    response_model LowCardinality(String),
    input_tokens UInt64,
    output_tokens UInt64,
    cached_tokens UInt64,
    reasoning_tokens UInt64,
    ttft_ms Nullable(Float64),
    tpot_ms Nullable(Float64),
    tbt_max_ms Nullable(Float64),
    tbt_p95_ms Nullable(Float64),
    finish_reasons Array(LowCardinality(String)),
    input_cost_usd Float64,
    output_cost_usd Float64,
    cost_usd Float64,
    session_id String CODEC(ZSTD(1)),
    user_id String CODEC(ZSTD(1)),
    layer LowCardinality(String),
    tool_name LowCardinality(String),
    tool_arguments String CODEC(ZSTD(3)),
    k8s_namespace LowCardinality(String),
    k8s_pod LowCardinality(String),
    k8s_node LowCardinality(String),
    k8s_workload LowCardinality(String),
    k8s_container LowCardinality(String),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    events String CODEC(ZSTD(3)),
    ingested_at DateTime64(3, 'UTC'),
    INDEX idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_session session_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_user user_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = {engine:ReplacingMergeTree(ingested_at)}
PARTITION BY toYYYYMMDD(start_time)
ORDER BY (toStartOfHour(start_time), service, trace_id, span_id)
TTL toDateTime(start_time) + INTERVAL {retention_days} DAY
SETTINGS index_granularity = 8192;

{distributed:spans:cityHash64(trace_id)}
