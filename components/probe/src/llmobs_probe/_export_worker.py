"""The one background worker that exports spans, content records and metrics.

Why our own instead of the SDK's batch processors: one thread instead of three; every queue is
bounded and every drop is counted (``llmobs.probe.dropped``); metric measurements recorded on the
request path are only *queued* there and folded into the SDK instruments on this thread, so the
app pays an append, not an aggregation; and the thread and its locks are created lazily, on the
first item a process produces. That last point is what makes the probe fork- and gevent-safe: a
gunicorn worker forked from a ``--preload`` master starts its own thread on its first span, after
gevent or eventlet has monkey-patched ``threading`` in that worker, so the worker is a green
thread there and a real thread everywhere else. An exporter that is down, slow or black-holed only
ever blocks this thread; the queues fill, and further items are dropped and counted.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from typing import Any, Callable, Deque, List, Optional, Sequence

from opentelemetry import context as otel_context

from llmobs_probe import _guard
from llmobs_probe._lightspan import LightSpan

try:  # the key contrib instrumentations check, so exporting never traces itself
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY as _SUPPRESS
except ImportError:  # pragma: no cover - very old API
    _SUPPRESS = otel_context.create_key("suppress_instrumentation")

Exporter = Any  # a SpanExporter or LogExporter: .export(batch) -> result, .shutdown()


class ExportWorker:
    """Bounded queues for spans and log records, a metric-measurement queue, one lazy thread."""

    def __init__(
        self,
        *,
        span_exporter: Optional[Exporter],
        log_exporter: Optional[Exporter],
        collect_metrics: Optional[Callable[[], None]],
        max_queue_size: int,
        max_batch_size: int,
        max_log_bytes: int = 8 * 1024 * 1024,
        schedule_delay_s: float,
        metric_interval_s: float,
    ) -> None:
        self._span_exporter = span_exporter
        self._log_exporter = log_exporter
        self._collect_metrics = collect_metrics
        self._max_queue = max_queue_size
        self._max_batch = max_batch_size
        self._max_log_bytes = max_log_bytes
        self._log_bytes = 0  # body bytes queued: content records are large, count them by size
        self._delay = schedule_delay_s
        self._metric_interval = metric_interval_s
        # deques: append/popleft are atomic under the GIL, so the hot path takes no lock.
        self._spans: Deque[Any] = collections.deque()
        self._logs: Deque[Any] = collections.deque()
        self._measurements: Deque[Any] = collections.deque()
        self._fold: Optional[Callable[[Any], None]] = None
        self._thread: Optional[threading.Thread] = None
        self._wake: Optional[threading.Event] = None
        self._stopping = False
        self._next_collect = 0.0
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    # ---------------------------------------------------------------- request path
    def put_span(self, span: Any) -> None:
        """Queue a finished span; drop and count it when the queue is full."""
        queue = self._spans
        if len(queue) >= self._max_queue:
            _guard.record_dropped("traces", "queue_full")
            return
        queue.append(span)
        if self._thread is None:
            self._start()
        elif len(queue) >= self._max_batch:
            self._wake_up()

    def put_log(self, record: Any, size: int = 0) -> None:
        """Queue a log record (a content chunk of ``size`` bytes); drop and count it when the
        queue is full by count or by bytes (``LLMOBS_CONTENT_QUEUE_BYTES``)."""
        queue = self._logs
        if len(queue) >= self._max_queue * 4 or self._log_bytes + size > self._max_log_bytes:
            _guard.record_dropped("logs", "queue_full")
            return
        self._log_bytes += size
        queue.append((size, record))
        if self._thread is None:
            self._start()
        elif len(queue) >= self._max_batch or self._log_bytes >= self._max_log_bytes // 4:
            self._wake_up()

    def put_measurement(self, item: Any) -> None:
        """Queue one call's metric measurements; folded into instruments on the worker."""
        queue = self._measurements
        if len(queue) >= self._max_queue * 4:
            _guard.record_dropped("metrics", "queue_full")
            return
        queue.append(item)
        if self._thread is None:
            self._start()

    def set_fold(self, fold: Callable[[Any], None]) -> None:
        """The function that records one queued measurement into the SDK instruments."""
        self._fold = fold

    # ---------------------------------------------------------------- worker
    def _wake_up(self) -> None:
        """A batch is ready: wake the worker, or replace it if it died (a green thread can be
        killed by its hub, e.g. after gevent's fork hooks met threads in a preloaded master)."""
        thread = self._thread
        if thread is not None and not thread.is_alive() and not self._stopping:
            self._thread = None
            self._start()
        elif self._wake is not None:
            self._wake.set()

    def _start(self) -> None:
        # No lock: under gevent, Thread.start() yields to the hub, and a lock held across that
        # yield (a real one, created before the patch) deadlocks the next greenlet waiting for
        # it. Claiming by assignment is atomic under the GIL; if two OS threads race here, two
        # workers drain the same thread-safe queues, which is harmless.
        if self._thread is not None or self._stopping:
            return
        # Created here, not in __init__: after a fork and a gevent/eventlet patch these are the
        # patched (green) primitives of the process that uses them.
        wake = self._wake = threading.Event()
        self._next_collect = time.monotonic() + self._metric_interval
        thread = threading.Thread(target=self._run, args=(wake,), name="llmobs-export", daemon=True)
        self._thread = thread
        thread.start()

    def _after_fork(self) -> None:
        # The parent's thread does not exist in the child and its items belong to the parent.
        self._thread = None
        self._wake = None
        self._spans.clear()
        self._logs.clear()
        self._log_bytes = 0
        self._measurements.clear()
        _guard.reset_after_fork()

    def _run(self, wake: threading.Event) -> None:
        # The worker owns the Event it was started with and stops as soon as that is no longer
        # the current one. Under gevent the worker is a greenlet, and greenlets, unlike OS
        # threads, survive fork: a child forked by a request (``platform.platform()`` in the
        # openai SDK runs ``uname -p`` through gevent's subprocess) inherits this greenlet while
        # ``_after_fork`` has reset ``_wake`` to None. Reading ``self._wake`` on each round made
        # that inherited greenlet spin without ever yielding, so the child never reached its
        # exec, and the parent's request waited on the child's exec pipe for as long as the
        # child spun (for ever, silently). Now the inherited greenlet waits, sees it is stale
        # and ends, and the child's own code runs.
        token = otel_context.attach(otel_context.set_value(_SUPPRESS, True))
        try:
            while not self._stopping:
                wake.wait(self._delay)
                wake.clear()
                if self._wake is not wake:  # forked (or replaced): this process has its own
                    return
                self.flush_once()
        finally:
            otel_context.detach(token)

    def flush_once(self, final: bool = False) -> None:
        """Export what is queued (all of it when ``final``) and collect metrics when due."""
        try:
            self._drain(self._spans, self._span_exporter, "traces", final)
            self._drain_logs(final)
            if final or time.monotonic() >= self._next_collect:
                self._next_collect = time.monotonic() + self._metric_interval
                self._fold_measurements()
                if self._collect_metrics is not None:
                    self._collect_metrics()
        except Exception as exc:
            _guard.record_error("export worker", exc)

    def _fold_measurements(self) -> None:
        fold = self._fold
        queue = self._measurements
        while queue:
            item = queue.popleft()
            if fold is not None:
                try:
                    fold(item)
                except Exception as exc:
                    _guard.record_error("metrics fold", exc)

    def _drain(
        self, queue: Deque[Any], exporter: Optional[Exporter], signal: str, all_: bool
    ) -> None:
        while queue:
            batch: List[Any] = []
            while queue and len(batch) < self._max_batch:
                batch.append(queue.popleft())
            if exporter is None:
                continue
            if signal == "traces":
                # LLM spans are light until here: the worker builds their ReadableSpans.
                batch = [s.readable() if type(s) is LightSpan else s for s in batch]
            self._export(exporter, batch, signal)
            if not all_ and len(queue) < self._max_batch:
                return

    def _drain_logs(self, all_: bool) -> None:
        queue = self._logs
        budget = max(self._max_log_bytes // 8, 1)  # export requests of about 1 MiB by default
        while queue:
            batch: List[Any] = []
            size = 0
            while queue and len(batch) < self._max_batch and size < budget:
                n, record = queue.popleft()
                self._log_bytes -= n
                size += n
                batch.append(record)
            if self._log_exporter is not None:
                self._export(self._log_exporter, batch, "logs")
            if not all_ and len(queue) < self._max_batch and self._log_bytes < budget:
                return

    def _export(self, exporter: Exporter, batch: Sequence[Any], signal: str) -> None:
        try:
            result = exporter.export(batch)
        except Exception as exc:
            _guard.record_error(f"{signal} export", exc)
            _guard.record_dropped(signal, "export_failed", len(batch))
            return
        # SpanExportResult / LogExportResult: FAILURE has value 1 in every SDK version.
        if getattr(result, "name", "SUCCESS") != "SUCCESS":
            _guard.record_dropped(signal, "export_failed", len(batch))

    # ---------------------------------------------------------------- shutdown
    def shutdown(self, timeout_s: float) -> None:
        """Flush what is queued within ``timeout_s``; never delays the caller longer than that."""
        self._stopping = True
        thread = self._thread
        if thread is not None and self._wake is not None:
            self._wake.set()
            thread.join(timeout_s / 2)
        # The final flush runs on a helper thread so a black-holed endpoint cannot hold up exit.
        final = threading.Thread(target=self._final_flush, name="llmobs-final", daemon=True)
        final.start()
        final.join(max(timeout_s / 2, 0.05))
        for signal, queue in (("traces", self._spans), ("logs", self._logs)):
            if queue:
                _guard.record_dropped(signal, "shutdown", len(queue))

    def _final_flush(self) -> None:
        token = otel_context.attach(otel_context.set_value(_SUPPRESS, True))
        try:
            self.flush_once(final=True)
        finally:
            otel_context.detach(token)
