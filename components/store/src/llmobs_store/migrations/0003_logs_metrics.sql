-- Plain OTLP log records (content chunks go to content_chunks instead).
CREATE TABLE IF NOT EXISTS {db}.logs{local} {on_cluster}
(
    time DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    trace_id String,
    span_id String,
    service LowCardinality(String),
    severity LowCardinality(String),
    severity_number UInt8,
    event_name LowCardinality(String),
    body String CODEC(ZSTD(3)),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    INDEX idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = {engine:MergeTree()}
PARTITION BY toYYYYMMDD(time)
ORDER BY (service, time)
TTL toDateTime(time) + INTERVAL {retention_days} DAY;

{distributed:logs:rand()}

-- OTLP metric data points: gauges and sums as value, histograms as count/sum/buckets.
CREATE TABLE IF NOT EXISTS {db}.metric_points{local} {on_cluster}
(
    time DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    name LowCardinality(String),
    type LowCardinality(String),
    unit LowCardinality(String),
    service LowCardinality(String),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    resource_attributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    value Float64,
    count UInt64,
    sum Float64,
    bucket_bounds Array(Float64),
    bucket_counts Array(UInt64)
)
ENGINE = {engine:MergeTree()}
PARTITION BY toYYYYMMDD(time)
ORDER BY (name, service, time)
TTL toDateTime(time) + INTERVAL {retention_days} DAY;

{distributed:metric_points:rand()}
