-- Items ClickHouse refused or the normaliser could not turn into rows: kept with the reason so
-- ingest never stops on one bad record and nothing acknowledged disappears silently. `key` is
-- deterministic (spool position, item, table, row digest): a batch replayed after a crash
-- writes the same keys again, and FINAL keeps one. `items` is 1 when the row stands for an
-- acknowledged item (span, log record, point), 0 for a derived row (a span's content).
CREATE TABLE IF NOT EXISTS {db}.dead_letters{local} {on_cluster}
(
    key String,
    time DateTime64(3, 'UTC'),
    signal LowCardinality(String),
    category LowCardinality(String),
    reason String CODEC(ZSTD(1)),
    table_name LowCardinality(String),
    trace_id String,
    span_id String,
    items UInt8,
    record String CODEC(ZSTD(3))
)
ENGINE = {engine:ReplacingMergeTree(time)}
PARTITION BY toYYYYMMDD(time)
ORDER BY (signal, key)
TTL toDateTime(time) + INTERVAL {retention_days} DAY;

{distributed:dead_letters:cityHash64(key)}
