"""Value limits come from the migrations' column types, and clamp rows before they are encoded."""

from llmobs_store._rows import TABLE_COLUMNS
from llmobs_store.limits import (
    clamp_row,
    limit_of,
    schema_columns,
    table_limits,
    ttl_columns,
    use_target,
)
from llmobs_store.normaliser import ch_time
from llmobs_store.schema import SchemaTarget


def test_limits_are_derived_from_the_column_types_in_the_migrations() -> None:
    columns = schema_columns()
    assert columns["logs"]["severity_number"] == "UInt8"
    assert columns["spans"]["counted"] == "UInt8"  # from the ALTER ... ADD COLUMN migration
    assert columns["metric_points"]["bucket_counts"] == "Array(UInt64)"
    by_column = {limit.column: limit for limit in table_limits("logs")}
    assert (by_column["severity_number"].low, by_column["severity_number"].high) == (0, 255)
    assert table_limits("content_chunks")[0].column == "seq"
    # Every column the writer fills exists in the schema (the limits cannot silently miss one).
    for table, names in TABLE_COLUMNS.items():
        assert set(names) <= set(columns[table]), table


def test_type_ranges_follow_the_type_not_a_copied_table() -> None:
    signed = limit_of("x", "Nullable(Int16)")
    assert signed is not None
    assert (signed.low, signed.high) == (-32768, 32767)
    wide = limit_of("x", "LowCardinality(UInt32)")
    assert wide is not None
    assert wide.high == 2**32 - 1
    listed = limit_of("x", "Array(UInt8)")
    assert listed is not None
    assert listed.array
    assert limit_of("x", "Map(LowCardinality(String), String)") is None
    assert limit_of("x", "Float64") is None


def test_rows_are_clamped_into_their_columns() -> None:
    log = clamp_row("logs", {"severity_number": -1, "time": ch_time(2**64 - 1), "body": "x"})
    assert log == {"severity_number": 0, "time": f"{2**32 - 1 - 30 * 86400}.999999", "body": "x"}
    assert clamp_row("logs", {"severity_number": 300})["severity_number"] == 255
    chunk = clamp_row("content_chunks", {"redacted": -1, "seq": 2**40})
    assert chunk == {"redacted": 0, "seq": 2**32 - 1}
    point = clamp_row("metric_points", {"bucket_counts": [1, 2**70], "count": True})
    assert point == {"bucket_counts": [1, 2**64 - 1], "count": True}


def test_times_are_padded_so_clickhouse_never_reads_them_as_dates() -> None:
    assert ch_time(0) == "0000000000.000000"
    assert ch_time(5_000_001_000) == "0000000005.000001"
    assert ch_time(1_700_000_000_123_456_789) == "1700000000.123456"


def test_limits_are_the_same_when_the_schema_is_rendered_for_a_cluster() -> None:
    single = (schema_columns(), ttl_columns(), {t: table_limits(t) for t in TABLE_COLUMNS})
    try:
        use_target(SchemaTarget(cluster="c1"))  # spans_local ON CLUSTER c1 (...), Distributed
        clustered = (schema_columns(), ttl_columns(), {t: table_limits(t) for t in TABLE_COLUMNS})
    finally:
        use_target(SchemaTarget())
    assert clustered == single
    assert all(clustered[2].values()), "every table has columns to clamp"
    assert clustered[1]["spans"] == ("start_time", 30)
