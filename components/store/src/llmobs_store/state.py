"""What the app's lifespan builds and the routes share (one instance per app)."""

from dataclasses import dataclass

from llmobs_store.queries import Queries
from llmobs_store.settings import StoreSettings
from llmobs_store.spool import Spool
from llmobs_store.storage import Storage
from llmobs_store.telemetry import StoreMetrics
from llmobs_store.writer import Writer


@dataclass
class StoreState:
    """The store's running parts: settings, storage, spool, writer, queries and metrics."""

    settings: StoreSettings
    storage: Storage
    spool: Spool
    writer: Writer
    queries: Queries
    metrics: StoreMetrics
    inflight: int = 0
