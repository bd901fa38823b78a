-- The trace-tree pass (reconciler.py, rule in _tree.py): which span of a trace aggregates count,
-- which session and user a span inherits, which span stands in for a root never stored.
--
-- span_key: a span's id as one integer, so aggregates test it against the small verdict table
-- without reading the id strings (8 bytes a row instead of ~48; computed by ClickHouse). Rows
-- stored before this column existed compute it on read.
ALTER TABLE {db}.spans{local} {on_cluster}
    ADD COLUMN IF NOT EXISTS span_key UInt64 MATERIALIZED cityHash64(trace_id, span_id);

{alter_distributed:spans:ADD COLUMN IF NOT EXISTS span_key UInt64 MATERIALIZED cityHash64(trace_id, span_id)}

-- The verdicts, one row per (trace, span) that has one, newest version wins (FINAL on this small
-- table; a verdict withdrawn is a row of defaults). flip: aggregates count the span the other way
-- from its row's `counted`; root: it stands in for the trace's root; session_id/user_id: what it
-- inherits from an ancestor.
CREATE TABLE IF NOT EXISTS {db}.span_tree{local} {on_cluster}
(
    trace_id String,
    span_id String,
    span_key UInt64 MATERIALIZED cityHash64(trace_id, span_id),
    start_time DateTime64(6, 'UTC'),
    flip UInt8,
    root UInt8,
    session_id String,
    user_id String,
    version UInt64
)
ENGINE = {engine:ReplacingMergeTree(version)}
PARTITION BY toYYYYMMDD(start_time)
ORDER BY (trace_id, span_id)
TTL toDateTime(start_time) + INTERVAL {retention_days} DAY;

{distributed:span_tree:cityHash64(trace_id)}
