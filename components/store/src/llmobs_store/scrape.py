"""Scrape Prometheus endpoints of model servers and GPU exporters into ``metric_points``.

The operator writes the targets file (``{"interval_s": N, "targets": [{"url", "kind", "labels"}]}``)
into a mounted ConfigMap, which kubelet updates in place, so the file is read again every round.
Each sample becomes a point like an OTLP one: gauges (and untyped) as ``gauge``, counters as
``sum``, histograms as one ``histogram`` point per label set (count, sum, per-bucket counts as
OTLP has them, not cumulative). Scraped points bypass the spool: a missed round is repaired by the
next one, and a down target or ClickHouse only costs that round.
"""

import asyncio
import json
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import anyio
import httpx
from prometheus_client.parser import text_string_to_metric_families

from llmobs_semconv import attributes as A
from llmobs_store._rows import METRIC_COLUMNS
from llmobs_store.normaliser import now_time
from llmobs_store.storage import Storage, StorageUnavailable

log = logging.getLogger(__name__)

KINDS = ("model-server", "gpu")
MIN_INTERVAL_S = 0.1
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ScrapeTarget:
    """One endpoint to scrape, with the labels the operator knows about its pod."""

    url: str
    kind: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The service name of its points: the pod when known, else the URL's host:port."""
        pod = self.labels.get(A.K8S_POD_NAME, "")
        return pod or urlparse(self.url).netloc

    def resource(self) -> dict[str, str]:
        parsed = urlparse(self.url)
        found = {
            **self.labels,
            A.SERVICE_NAME: self.name,
            A.LLMOBS_SCRAPE_URL: self.url,
            A.LLMOBS_SCRAPE_KIND: self.kind,
            A.SERVER_ADDRESS: parsed.hostname or "",
        }
        if self.kind == "model-server":
            found[A.LLMOBS_LAYER] = A.LAYER_MODEL_SERVER
        return found


def parse_targets(text: str, default_interval_s: float) -> tuple[float, list[ScrapeTarget]]:
    """The interval and targets of a targets file; ValueError naming what is wrong."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("must be a JSON object with 'targets'")
    interval = document.get("interval_s", default_interval_s)
    if not isinstance(interval, int | float) or isinstance(interval, bool) or interval <= 0:
        raise ValueError(f"interval_s must be a positive number, got {interval!r}")
    raw = document.get("targets", [])
    if not isinstance(raw, list):
        raise ValueError("targets must be a list")
    targets = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise ValueError(f"targets[{i}] must be an object")
        url, kind, labels = entry.get("url"), entry.get("kind"), entry.get("labels") or {}
        if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https"):
            raise ValueError(f"targets[{i}].url must be an http(s) URL, got {url!r}")
        if kind not in KINDS:
            raise ValueError(f"targets[{i}].kind must be one of {KINDS}, got {kind!r}")
        if not isinstance(labels, dict):
            raise ValueError(f"targets[{i}].labels must be an object")
        targets.append(ScrapeTarget(url, kind, {str(k): str(v) for k, v in labels.items()}))
    return max(float(interval), MIN_INTERVAL_S), targets


def _line(values: Iterable[Any]) -> str:
    return json.dumps(dict(zip(METRIC_COLUMNS, values, strict=True)), separators=(",", ":"))


def exposition_rows(text: str, target: ScrapeTarget, now: str) -> list[str]:
    """``metric_points`` rows (JSONEachRow) for one scrape's Prometheus text exposition."""
    resource = target.resource()
    rows = []
    for family in text_string_to_metric_families(text):
        if family.type in ("histogram", "gaugehistogram"):
            rows.extend(_histogram_rows(family, target, resource, now))
            continue
        kind = "sum" if family.type == "counter" else "gauge"
        for sample in family.samples:
            if sample.name.endswith("_created") or not math.isfinite(sample.value):
                continue
            attrs = {**target.labels, **sample.labels}
            rows.append(
                _line((now, sample.name, kind, family.unit, target.name, attrs, resource,
                       float(sample.value), 0, 0.0, [], []))
            )  # fmt: skip
    return rows


def _histogram_rows(
    family: Any, target: ScrapeTarget, resource: dict[str, str], now: str
) -> list[str]:
    series: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for sample in family.samples:
        labels = {k: v for k, v in sample.labels.items() if k != "le"}
        entry = series.setdefault(
            tuple(sorted(labels.items())), {"buckets": [], "count": 0.0, "sum": 0.0}
        )
        if sample.name.endswith("_bucket"):
            entry["buckets"].append((float(sample.labels["le"]), sample.value))
        elif sample.name.endswith("_count"):
            entry["count"] = sample.value
        elif sample.name.endswith("_sum"):
            entry["sum"] = sample.value
    rows = []
    for key, entry in series.items():
        cumulative = sorted(entry["buckets"])
        bounds = [le for le, _ in cumulative if math.isfinite(le)]
        counts, previous = [], 0.0
        for _, value in cumulative:  # cumulative → per bucket, as OTLP stores them
            counts.append(max(int(value - previous), 0))
            previous = value
        if len(counts) == len(bounds):  # no +Inf bucket: the rest of count is above the last
            counts.append(max(int(entry["count"] - previous), 0))
        attrs = {**target.labels, **dict(key)}
        rows.append(
            _line((now, family.name, "histogram", family.unit, target.name, attrs, resource,
                   0.0, int(entry["count"]), float(entry["sum"]), bounds, counts))
        )  # fmt: skip
    return rows


class Scraper:
    """The lifespan's background task: read the targets file, scrape each target, store points."""

    def __init__(
        self,
        path: Path,
        storage: Storage,
        *,
        default_interval_s: float = 15.0,
        timeout_s: float = 5.0,
    ) -> None:
        self.path = path
        self.storage = storage
        self.default_interval_s = default_interval_s
        self.timeout_s = timeout_s
        self.interval_s = default_interval_s
        self.targets: list[ScrapeTarget] = []
        self.rounds = 0
        self.last_errors: dict[str, str] = {}
        self._file_error = ""

    def reload(self) -> None:
        """Read the targets file again; a missing or bad file keeps the last good targets."""
        try:
            text = self.path.read_text(encoding="utf-8")
            self.interval_s, self.targets = parse_targets(text, self.default_interval_s)
        except (OSError, ValueError) as exc:
            message = f"scrape targets file {self.path}: {exc}"
            if message != self._file_error:  # once per distinct problem, not every round
                log.warning("%s", message)
            self._file_error = message
            return
        self._file_error = ""

    async def scrape_once(self, client: httpx.AsyncClient) -> int:
        """One round over every target; returns the points stored."""
        self.reload()
        results = await asyncio.gather(*(self._scrape(client, t) for t in self.targets))
        lines = [line for rows in results for line in rows]
        if lines:
            try:
                await anyio.to_thread.run_sync(self.storage.insert, "metric_points", lines)
            except StorageUnavailable as exc:
                log.warning("scraped points dropped this round: %s", exc)
                return 0
        self.rounds += 1
        return len(lines)

    async def _scrape(self, client: httpx.AsyncClient, target: ScrapeTarget) -> list[str]:
        try:
            response = await client.get(target.url, headers={"accept": "text/plain"})
            response.raise_for_status()
            if len(response.content) > MAX_BODY_BYTES:
                raise ValueError(f"exposition larger than {MAX_BODY_BYTES} bytes")
            rows = exposition_rows(response.text, target, now_time())
        except (httpx.HTTPError, ValueError) as exc:
            self.last_errors[target.url] = f"{type(exc).__name__}: {exc}"[:300]
            return []
        self.last_errors.pop(target.url, None)
        return rows

    async def run(self) -> None:
        """Scrape until cancelled; every round is bounded by the client's timeouts."""
        timeout = httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 2.0))
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            while True:
                try:
                    await self.scrape_once(client)
                except Exception:  # a scrape bug must not end the store's scraping for good
                    log.exception("scrape round failed")
                await asyncio.sleep(self.interval_s)
