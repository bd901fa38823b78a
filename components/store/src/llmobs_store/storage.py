"""The one ClickHouse client of the process, for chDB (embedded) and for a server alike.

``chdb://PATH`` opens the embedded engine through clickhouse-connect's chDB backend; ``http(s)://``
talks to a server or cluster. Both speak the same SQL, so everything above this module is
unaware of which it is. chDB hosts one engine per process, so the app's lifespan creates exactly
one :class:`Storage`; the client serialises calls on its handle, which keeps it thread-safe for the
writer thread and the query handlers.
"""

import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import clickhouse_connect

from llmobs_store.schema import SchemaTarget, migrate

log = logging.getLogger(__name__)


class StorageUnavailable(Exception):
    """ClickHouse could not be reached or refused the operation (retry later)."""


class DataRejected(Exception):
    """ClickHouse answered, and refused the data itself: retrying the same rows cannot help."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


#: Code 252 is both "too many partitions for single INSERT block" (rows over many days: the
#: rows themselves, split them) and "too many parts" (merges behind: the server, retry later).
TOO_MANY_PARTS = 252
_PARTITIONS = "partitions for single insert block"


# ClickHouse error codes that mean "this data", not "this server": a value that does not parse
# or fit its column. Anything else (connection refused, timeouts, memory, too many parts, a
# generic std::exception 1001) is StorageUnavailable and retried as it is.
_DATA_ERROR_CODES = frozenset(
    {6, 25, 26, 27, 32, 38, 41, 53, 69, 70, 72, 117, 131, 252, 321, 349, 407}
)
_CODE = re.compile(r"Code: (\d+)")


def data_error_code(exc: BaseException) -> int | None:
    """The code when ``exc`` from an insert is ClickHouse refusing the rows, else None."""
    if isinstance(exc, UnicodeError):
        return 0
    match = _CODE.search(str(exc))
    if match is None or int(match.group(1)) not in _DATA_ERROR_CODES:
        return None
    code = int(match.group(1))
    if code == TOO_MANY_PARTS and _PARTITIONS not in str(exc).lower():
        return None  # merges are behind: bisecting would add parts and make it worse
    return code


def parse_dsn(
    dsn: str, database: str, user: str = "", password: str = ""
) -> tuple[dict[str, Any], str]:
    """clickhouse-connect keyword arguments and the database name for a ``--db`` URL.

    ``user``/``password``, when given, win over the URL's: a password from a Kubernetes Secret
    need not be URL-quoted into the DSN.
    """
    url = urlparse(dsn)
    if url.scheme == "chdb":
        path = (url.netloc + url.path) or ":memory:"
        if path != ":memory:":
            Path(path).mkdir(parents=True, exist_ok=True)
        return {"dsn": f"chdb://{path}"}, database
    if url.scheme not in ("http", "https"):
        raise ValueError(f"db: unsupported scheme {url.scheme!r} (use chdb://, http://, https://)")
    db = url.path.strip("/") or database
    kwargs: dict[str, Any] = {
        "host": url.hostname or "localhost",
        "port": url.port or (8443 if url.scheme == "https" else 8123),
        "username": user or unquote(url.username or "default"),
        "password": password or unquote(url.password or ""),
        "secure": url.scheme == "https",
        "connect_timeout": 5,
        "send_receive_timeout": 60,
        "autogenerate_session_id": False,
    }
    # Other client options ride as query parameters, e.g. ?compress=false.
    for key, values in parse_qs(url.query).items():
        value = values[-1]
        kwargs[key] = {"true": True, "false": False}.get(value.lower(), value)
    return kwargs, db


class Storage:
    """Connection, schema and the few operations the store needs (insert, query, command)."""

    def __init__(self, dsn: str, target: SchemaTarget, user: str = "", password: str = "") -> None:
        self.dsn = dsn
        self.kwargs, database = parse_dsn(dsn, target.database, user, password)
        self.target = SchemaTarget(database, target.cluster, target.retention_days)
        self.is_embedded = dsn.startswith("chdb://")
        # On a cluster every table is sharded by trace id, so a subquery over a Distributed table
        # inside a query over another one is answered shard by shard ('local'); and an insert
        # returns once its rows are on their shards (before the checkpoint moves past them).
        cluster = bool(self.target.cluster)
        self._query_settings = {"distributed_product_mode": "local"} if cluster else {}
        self._insert_settings = {"insert_distributed_sync": 1} if cluster else {}
        self._client: Any = None
        self._lock = threading.Lock()
        self.last_error = ""

    @property
    def database(self) -> str:
        return self.target.database

    def _connect(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    client = clickhouse_connect.get_client(**self.kwargs)
                    migrate(_Runner(client), self.target)
                except Exception as exc:
                    self.last_error = _describe(exc)
                    raise StorageUnavailable(self.last_error) from exc
                self._client = client
                self.last_error = ""
            return self._client

    def connect(self) -> bool:
        """Open the client and apply migrations; False (with ``last_error``) when unreachable."""
        try:
            self._connect()
        except StorageUnavailable:
            return False
        return True

    @property
    def connected(self) -> bool:
        return self._client is not None

    def ping(self) -> bool:
        try:
            return bool(self._connect().ping())
        except StorageUnavailable:
            return False

    def insert(self, table: str, lines: Sequence[str]) -> None:
        """Insert JSONEachRow lines.

        Raises DataRejected when ClickHouse refuses the rows themselves (the caller bisects),
        StorageUnavailable otherwise (the caller keeps the rows and retries).
        """
        if not lines:
            return
        client = self._connect()
        try:
            client.raw_insert(
                f"{self.database}.{table}",
                insert_block="\n".join(lines).encode("utf-8"),
                settings=self._insert_settings or None,
                fmt="JSONEachRow",
            )
        except Exception as exc:
            code = data_error_code(exc)
            if code is not None:
                raise DataRejected(_describe(exc), code) from exc
            self._drop_if_remote(exc)
            raise StorageUnavailable(_describe(exc)) from exc

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run a SELECT with server-side bound parameters; rows as dicts."""
        client = self._connect()
        try:
            result = client.query(
                sql, parameters=dict(params or {}), settings=self._query_settings or None
            )
        except Exception as exc:
            self._drop_if_remote(exc)
            raise StorageUnavailable(_describe(exc)) from exc
        names = result.column_names
        return [dict(zip(names, row, strict=True)) for row in result.result_rows]

    def command(self, sql: str) -> Any:
        client = self._connect()
        try:
            return client.command(sql)
        except Exception as exc:
            raise StorageUnavailable(_describe(exc)) from exc

    def _drop_if_remote(self, exc: Exception) -> None:
        # A broken HTTP connection is re-created on the next call; the embedded engine stays.
        if not self.is_embedded and "Connection" in type(exc).__name__ + str(exc):
            self.last_error = _describe(exc)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                try:
                    self._client.close()
                finally:
                    self._client = None


class _Runner:
    def __init__(self, client: Any) -> None:
        self.client = client

    def command(self, sql: str) -> object:
        return self.client.command(sql)

    def query_column(self, sql: str) -> list[object]:
        return [row[0] for row in self.client.query(sql).result_rows]


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}"


def wait_until(predicate: Any, timeout_s: float, step_s: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` passes (bounded; used by lifespan/tests)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())
