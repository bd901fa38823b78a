-- Merged prompt/completion content, one record per (trace, span, role), apart from the slim span
-- rows; ZSTD because megabytes per call are normal. A later merge (late pieces) replaces the row.
CREATE TABLE IF NOT EXISTS {db}.content{local} {on_cluster}
(
    trace_id String,
    span_id String,
    role LowCardinality(String),
    format LowCardinality(String),
    text String CODEC(ZSTD(3)),
    complete UInt8,
    chunks UInt32,
    bytes UInt64,
    redacted UInt32,
    updated_at DateTime64(3, 'UTC'),
    INDEX idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = {engine:ReplacingMergeTree(updated_at)}
PARTITION BY toYYYYMMDD(updated_at)
ORDER BY (trace_id, span_id, role)
TTL toDateTime(updated_at) + INTERVAL {retention_days} DAY;

{distributed:content:cityHash64(trace_id)}

-- Streamed pieces as they arrive (deduplicated by seq); the merger assembles them into content.
CREATE TABLE IF NOT EXISTS {db}.content_chunks{local} {on_cluster}
(
    trace_id String,
    span_id String,
    role LowCardinality(String),
    seq UInt32,
    last UInt8,
    format LowCardinality(String),
    text String CODEC(ZSTD(3)),
    redacted UInt32,
    received_at DateTime64(3, 'UTC')
)
ENGINE = {engine:ReplacingMergeTree(received_at)}
PARTITION BY toYYYYMMDD(received_at)
ORDER BY (trace_id, span_id, role, seq)
TTL toDateTime(received_at) + INTERVAL {retention_days} DAY;

{distributed:content_chunks:cityHash64(trace_id)}
