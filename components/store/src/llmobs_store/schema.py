"""Templated SQL migrations: one set of files rendered for a single node or for a cluster.

Placeholders (only these; ClickHouse's own ``{shard}``/``{replica}`` macros pass through):

* ``{db}`` — the database; ``{local}`` — ``""`` on one node, ``"_local"`` on a cluster (the
  replicated per-shard table behind a Distributed one); ``{on_cluster}`` — ``ON CLUSTER name``;
  ``{retention_days}`` — TTL.
* ``{engine:ReplacingMergeTree(ver)}`` — the engine as written on one node, its ``Replicated``
  twin (zookeeper path and replica macros first) on a cluster.
* ``{distributed:name:sharding_key}`` — nothing on one node; on a cluster the Distributed table
  ``name`` over ``name_local``.
* ``{alter_distributed:name:ALTERATION}`` — nothing on one node; on a cluster ``ALTER TABLE name
  ON CLUSTER c ALTERATION`` (a column added to ``name_local`` must reach the Distributed table).

The runner keeps applied versions in ``schema_migrations``; every statement is idempotent
(``IF NOT EXISTS``), so applying twice, or racing another replica, is harmless.
"""

import re
from dataclasses import dataclass
from importlib import resources
from typing import Protocol

_PLACEHOLDER = re.compile(
    r"\{(db|local|on_cluster|retention_days|engine:[^{}]+|distributed:[^{}]+"
    r"|alter_distributed:[^{}]+)\}"
)
_ENGINE = re.compile(r"^(\w+)\((.*)\)$", re.DOTALL)
_MIGRATION_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SqlRunner(Protocol):
    """What the runner needs from a ClickHouse client."""

    def command(self, sql: str) -> object: ...

    def query_column(self, sql: str) -> list[object]: ...


@dataclass(frozen=True)
class SchemaTarget:
    """Where and how the schema is rendered."""

    database: str = "llmobs"
    cluster: str = ""
    retention_days: int = 30

    def __post_init__(self) -> None:
        if not _IDENT.match(self.database):
            raise ValueError(f"database must be an identifier, got {self.database!r}")
        if self.cluster and not _IDENT.match(self.cluster):
            raise ValueError(f"cluster must be an identifier, got {self.cluster!r}")
        if self.retention_days < 1:
            raise ValueError("retention_days must be >= 1")


@dataclass(frozen=True)
class Migration:
    """One migration file: its version, name and rendered statements."""

    version: int
    name: str
    statements: tuple[str, ...]


def render(template: str, target: SchemaTarget) -> str:
    """Render one SQL template for ``target``."""
    on_cluster = f"ON CLUSTER {target.cluster}" if target.cluster else ""

    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "db":
            return target.database
        if key == "local":
            return "_local" if target.cluster else ""
        if key == "on_cluster":
            return on_cluster
        if key == "retention_days":
            return str(target.retention_days)
        if key.startswith("engine:"):
            return _engine(key.removeprefix("engine:"), target)
        if key.startswith("alter_distributed:"):
            return _alter_distributed(key.removeprefix("alter_distributed:"), target)
        return _distributed(key.removeprefix("distributed:"), target)

    return re.sub(r"[ \t]+\n", "\n", _PLACEHOLDER.sub(substitute, template))


def _engine(spec: str, target: SchemaTarget) -> str:
    match = _ENGINE.match(spec.strip())
    if match is None:
        raise ValueError(f"engine placeholder must look like Name(args), got {spec!r}")
    name, args = match.group(1), match.group(2).strip()
    if not target.cluster:
        return f"{name}({args})"
    replicated = ["'/clickhouse/tables/{shard}/{database}/{table}'", "'{replica}'"]
    return f"Replicated{name}({', '.join(replicated + ([args] if args else []))})"


def _distributed(spec: str, target: SchemaTarget) -> str:
    table, _, key = spec.partition(":")
    if not target.cluster:
        return ""
    db, cluster = target.database, target.cluster
    return (
        f"CREATE TABLE IF NOT EXISTS {db}.{table} ON CLUSTER {cluster} AS {db}.{table}_local "
        f"ENGINE = Distributed({cluster}, {db}, {table}_local, {key or 'rand()'})"
    )


def _alter_distributed(spec: str, target: SchemaTarget) -> str:
    table, _, alteration = spec.partition(":")
    if not target.cluster:
        return ""
    return f"ALTER TABLE {target.database}.{table} ON CLUSTER {target.cluster} {alteration}"


def split_statements(sql: str) -> list[str]:
    """Split rendered SQL on ``;`` at line ends; drop comment-only and empty pieces."""
    out = []
    for piece in re.split(r";\s*(?:\n|$)", sql):
        body = "\n".join(
            line for line in piece.splitlines() if not line.strip().startswith("--")
        ).strip()
        if body:
            out.append(body)
    return out


def load_migrations(target: SchemaTarget) -> list[Migration]:
    """Every migration shipped in ``llmobs_store/migrations``, rendered, in version order."""
    folder = resources.files("llmobs_store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match is None:
            continue
        rendered = render(entry.read_text(encoding="utf-8"), target)
        found.append(
            Migration(int(match.group(1)), match.group(2), tuple(split_statements(rendered)))
        )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration versions: {versions}")
    return found


def bootstrap_statements(target: SchemaTarget) -> list[str]:
    """The database and the version table, created before any migration runs."""
    oc = f" ON CLUSTER {target.cluster}" if target.cluster else ""
    engine = _engine("ReplacingMergeTree(applied_at)", target)
    return [
        f"CREATE DATABASE IF NOT EXISTS {target.database}{oc}",
        f"CREATE TABLE IF NOT EXISTS {target.database}.schema_migrations{oc} "
        f"(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        f"ENGINE = {engine} ORDER BY version",
    ]


#: table -> the time column its TTL counts from (see migrations/)
TTL_COLUMNS: dict[str, str] = {
    "spans": "start_time",
    "content": "updated_at",
    "content_chunks": "received_at",
    "logs": "time",
    "metric_points": "time",
    "dead_letters": "time",
    "span_tree": "start_time",
}


def apply_retention(runner: SqlRunner, target: SchemaTarget) -> list[str]:
    """Bring every table's TTL to ``retention_days`` (a changed ``--retention-days``)."""
    changed = []
    oc = f" ON CLUSTER {target.cluster}" if target.cluster else ""
    suffix = "_local" if target.cluster else ""
    want = f"INTERVAL {target.retention_days} DAY"
    for table, column in TTL_COLUMNS.items():
        found = runner.query_column(
            f"SELECT create_table_query FROM system.tables "
            f"WHERE database = '{target.database}' AND name = '{table}{suffix}'"
        )
        # ClickHouse shows the stored TTL as toIntervalDay(N).
        if found and f"toIntervalDay({target.retention_days})" not in str(found[0]):
            runner.command(
                f"ALTER TABLE {target.database}.{table}{suffix}{oc} "
                f"MODIFY TTL toDateTime({column}) + {want}"
            )
            changed.append(table)
    return changed


def migrate(runner: SqlRunner, target: SchemaTarget) -> list[int]:
    """Apply the migrations not yet recorded (and the retention); returns versions applied now."""
    for statement in bootstrap_statements(target):
        runner.command(statement)
    done = {
        int(str(v))
        for v in runner.query_column(f"SELECT version FROM {target.database}.schema_migrations")
    }
    applied = []
    for migration in load_migrations(target):
        if migration.version in done:
            continue
        for statement in migration.statements:
            runner.command(statement)
        runner.command(
            f"INSERT INTO {target.database}.schema_migrations (version, name) "
            f"VALUES ({migration.version}, '{migration.name}')"
        )
        applied.append(migration.version)
    apply_retention(runner, target)
    return applied
