-- Items ClickHouse refused or the normaliser could not turn into rows: kept with the reason so
-- ingest never stops on one bad record and nothing acknowledged disappears silently. `key` is
-- deterministic (spool position, item index, table, row of the item): a batch replayed after
-- a crash writes the same keys again, and FINAL keeps one. Not partitioned by `time` (the time
-- of writing): a replay on another day would land in another partition, where FINAL does not
-- look. `items` is how many acknowledged items (spans, log records, points) the row stands
-- for: 1, 0 for a derived row (a span's content), the rest of a request whose walk broke.
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
    items UInt32,
    record String CODEC(ZSTD(3))
)
ENGINE = {engine:ReplacingMergeTree(time)}
ORDER BY (signal, key)
TTL toDateTime(time) + INTERVAL {retention_days} DAY;

{distributed:dead_letters:cityHash64(key)}
