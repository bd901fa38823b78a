"""The store's own Prometheus metrics (one registry per app, so tests can run several)."""

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class StoreMetrics:
    """Counters and gauges about ingest, the spool, inserts, the content merge and tree pass."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.accepted = Counter(
            "llmobs_store_items_accepted",
            "OTLP items accepted (spans, log records, points).",
            ["signal"],
            registry=r,
        )
        self.rejected = Counter(
            "llmobs_store_items_rejected", "OTLP items rejected as invalid.", ["signal"], registry=r
        )
        self.requests = Counter(
            "llmobs_store_ingest_requests",
            "OTLP export requests by signal and HTTP status.",
            ["signal", "status"],
            registry=r,
        )
        self.rows_inserted = Counter(
            "llmobs_store_rows_inserted", "Rows inserted into ClickHouse.", ["table"], registry=r
        )
        self.insert_failures = Counter(
            "llmobs_store_insert_failures",
            "Insert attempts that failed (data stays spooled).",
            registry=r,
        )
        self.insert_seconds = Histogram(
            "llmobs_store_insert_seconds",
            "Latency of one batch insert.",
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.spool_bytes = Gauge(
            "llmobs_store_spool_depth_bytes",
            "Acknowledged bytes not yet in ClickHouse.",
            registry=r,
        )
        self.duplicates = Counter(
            "llmobs_store_duplicate_spans_dropped",
            "Spans not stored again: already stored (client retries, a replayed spool batch).",
            registry=r,
        )
        self.dead_lettered = Counter(
            "llmobs_store_dead_lettered",
            "Acknowledged items (spans, log records, points) not stored but dead-lettered, "
            "by signal and reason category (see GET /api/v1/dead-letters for the error text).",
            ["signal", "reason"],
            registry=r,
        )
        self.spool_corrupt = Counter(
            "llmobs_store_spool_corrupt_records",
            "Spool records that failed their CRC check: dead-lettered as bytes, skipped.",
            registry=r,
        )
        self.spool_corrupt_bytes = Counter(
            "llmobs_store_spool_corrupt_bytes",
            "Spool bytes skipped past corrupt records (acknowledged data that is lost).",
            registry=r,
        )
        self.merge_backlog = Gauge(
            "llmobs_store_merge_backlog", "Content chunk sets waiting to be merged.", registry=r
        )
        self.content_merged = Counter(
            "llmobs_store_content_merged",
            "Content records assembled from chunks.",
            ["complete"],
            registry=r,
        )

        self.tree_backlog = Gauge(
            "llmobs_store_tree_backlog",
            "Traces with new spans whose tree pass (counted once, inheritance, stand-in root) "
            "has not run yet.",
            registry=r,
        )
        self.traces_reconciled = Counter(
            "llmobs_store_traces_reconciled",
            "Tree passes run over one trace each.",
            registry=r,
        )
        self.verdicts_written = Counter(
            "llmobs_store_tree_verdicts_written",
            "Span verdicts of the tree pass written (new, changed or withdrawn).",
            registry=r,
        )

    def bind(
        self,
        spool_depth: Callable[[], float],
        merge_backlog: Callable[[], float],
        tree_backlog: Callable[[], float] | None = None,
    ) -> None:
        """Gauges read live values at scrape time."""
        self.spool_bytes.set_function(spool_depth)
        self.merge_backlog.set_function(merge_backlog)
        if tree_backlog is not None:
            self.tree_backlog.set_function(tree_backlog)
