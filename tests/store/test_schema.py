"""The templated migrations: rendered for one node and for a cluster, applied twice on chDB."""

import pytest

from llmobs_store.schema import (
    TTL_COLUMNS,
    SchemaTarget,
    apply_retention,
    load_migrations,
    migrate,
    render,
)
from llmobs_store.storage import Storage, _Runner
from tests.store.conftest import ENGINE_DIR, unique_database

TABLES = ("spans", "content", "content_chunks", "logs", "metric_points")


def all_sql(target: SchemaTarget) -> str:
    return "\n".join(s for m in load_migrations(target) for s in m.statements)


def test_single_node_rendering_has_no_cluster_constructs() -> None:
    sql = all_sql(SchemaTarget("obs", "", 7))
    assert "ON CLUSTER" not in sql
    assert "Replicated" not in sql
    assert "Distributed" not in sql
    assert "_local" not in sql
    assert "ENGINE = ReplacingMergeTree(ingested_at)" in sql
    assert "INTERVAL 7 DAY" in sql
    assert "ALTER TABLE obs.spans\n    ADD COLUMN IF NOT EXISTS counted UInt8" in sql
    assert "CODEC(ZSTD(3))" in sql
    for table in TABLES:
        assert f"CREATE TABLE IF NOT EXISTS obs.{table}\n" in sql


def test_cluster_rendering_replicates_and_distributes_every_table() -> None:
    sql = all_sql(SchemaTarget("obs", "main", 30))
    for table in TABLES:
        assert f"CREATE TABLE IF NOT EXISTS obs.{table}_local ON CLUSTER main" in sql
        assert (
            f"CREATE TABLE IF NOT EXISTS obs.{table} ON CLUSTER main AS obs.{table}_local "
            f"ENGINE = Distributed(main, obs, {table}_local," in sql
        )
    # ClickHouse's own macros pass through the renderer untouched.
    assert (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', "
        "'{replica}', ingested_at)" in sql
    )
    assert (
        "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')" in sql
    )
    assert " MergeTree()" not in sql.replace("ReplicatedMergeTree", "")
    # A column added later reaches the replicated tables and the Distributed table over them.
    assert (
        "ALTER TABLE obs.spans_local ON CLUSTER main\n    ADD COLUMN IF NOT EXISTS counted" in sql
    )
    assert "ALTER TABLE obs.spans ON CLUSTER main ADD COLUMN IF NOT EXISTS counted" in sql


def test_render_rejects_a_malformed_engine_placeholder() -> None:
    with pytest.raises(ValueError, match="engine placeholder"):
        render("ENGINE = {engine:oops}", SchemaTarget("obs", "c", 1))


@pytest.mark.parametrize("bad", [{"database": "x;drop"}, {"cluster": "a b"}, {"retention_days": 0}])
def test_schema_target_names_the_bad_field(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        SchemaTarget(**bad)  # type: ignore[arg-type]


def test_migrations_apply_on_chdb_twice_without_error() -> None:
    db = unique_database()
    storage = Storage(f"chdb://{ENGINE_DIR}", SchemaTarget(db, "", 30))
    try:
        assert storage.connect(), storage.last_error
        client = storage._client
        versions = [m.version for m in load_migrations(storage.target)]
        applied = [
            int(r["version"])
            for r in storage.query(f"SELECT version FROM {db}.schema_migrations ORDER BY version")
        ]
        assert applied == versions
        # Second run: nothing left to apply, and re-running every statement is harmless too.
        assert migrate(_Runner(client), storage.target) == []
        for migration in load_migrations(storage.target):
            for statement in migration.statements:
                client.command(statement)
        tables = {
            r["name"]
            for r in storage.query(
                "SELECT name FROM system.tables WHERE database = {db:String}", {"db": db}
            )
        }
        assert set(TABLES) | {"schema_migrations"} <= tables
    finally:
        storage.close()


def test_a_changed_retention_is_applied_to_existing_tables() -> None:
    db = unique_database()
    storage = Storage(f"chdb://{ENGINE_DIR}", SchemaTarget(db, "", 30))
    try:
        assert storage.connect(), storage.last_error
        runner = _Runner(storage._client)
        assert apply_retention(runner, SchemaTarget(db, "", 30)) == []
        assert set(apply_retention(runner, SchemaTarget(db, "", 7))) == set(TTL_COLUMNS)
        ddl = storage.query(
            "SELECT create_table_query AS q FROM system.tables "
            "WHERE database = {db:String} AND name = 'spans'",
            {"db": db},
        )[0]["q"]
        assert "toIntervalDay(7)" in ddl
    finally:
        storage.close()


def test_the_tree_pass_schema_renders_for_a_cluster() -> None:
    sql = all_sql(SchemaTarget("obs", "main", 30))
    # The verdicts are sharded like the spans (by trace), so anti-joins answer shard by shard.
    assert (
        "CREATE TABLE IF NOT EXISTS obs.span_tree ON CLUSTER main AS obs.span_tree_local "
        "ENGINE = Distributed(main, obs, span_tree_local, cityHash64(trace_id))" in sql
    )
    assert (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', "
        "'{replica}', version)" in sql
    )
    for table in ("spans_local ON CLUSTER main\n", "spans ON CLUSTER main "):
        assert f"ALTER TABLE obs.{table}" in sql
    assert sql.count("ADD COLUMN IF NOT EXISTS span_key UInt64 MATERIALIZED") == 2
