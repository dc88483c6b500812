"""Prometheus metrics. Counters from worker processes are per process; jobs-by-state is read from the
database (the truth) when /metrics is scraped, so it agrees across replicas."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_LATENCY = Histogram(
    "legalai_http_request_duration_seconds",
    "HTTP request latency by route template",
    ["method", "route", "status"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REQUESTS_IN_FLIGHT = Gauge(
    "legalai_http_requests_in_flight", "Requests admitted and not yet answered", registry=REGISTRY
)
REQUESTS_SHED = Counter(
    "legalai_http_requests_shed_total",
    "Requests refused with 503 because the process was at its concurrency limit",
    registry=REGISTRY,
)
DEPENDENCY_UNAVAILABLE = Counter(
    "legalai_dependency_unavailable_total",
    "Requests answered 503 because a dependency was down or saturated",
    ["dependency", "reason"],
    registry=REGISTRY,
)
PAGES_PROCESSED = Counter(
    "legalai_pages_processed_total", "Pages extracted and indexed", ["ocr"], registry=REGISTRY
)
DOCUMENTS_PROCESSED = Counter(
    "legalai_documents_processed_total", "Documents finished by outcome", ["outcome"], registry=REGISTRY
)
EXTRACTION_FAILURES = Counter(
    "legalai_extraction_failures_total",
    "Documents that could not be extracted, by reason",
    ["reason"],
    registry=REGISTRY,
)
STAGE_SECONDS = Histogram(
    "legalai_processing_stage_seconds",
    "Time per processing stage",
    ["stage"],
    registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)


class JobStateCollector(Collector):
    """Reports document versions by processing state, counted in the database at scrape time."""

    def __init__(self, count_by_state: Callable[[], dict[str, int]]) -> None:
        self._count = count_by_state

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("legalai_jobs", "Document processing jobs by state", labels=["state"])
        try:
            counts = self._count()
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is down
            counts = {}
        for state in ("queued", "processing", "ready", "failed"):
            family.add_metric([state], counts.get(state, 0))
        yield family


_registered: list[Collector] = []


def install_job_state_collector(count_by_state: Callable[[], dict[str, int]]) -> None:
    for old in _registered:
        REGISTRY.unregister(old)
    _registered.clear()
    collector = JobStateCollector(count_by_state)
    REGISTRY.register(collector)
    _registered.append(collector)


def render() -> bytes:
    return generate_latest(REGISTRY)
