"""The server's Prometheus metrics, summed across worker processes.

prometheus-client's multiprocess mode: every worker writes its samples to memory-mapped files
in one folder (``PROMETHEUS_MULTIPROC_DIR``, set by ``steward serve`` before any worker
starts, and emptied then), and ``/metrics`` reads them all. Without that folder (one
process, e.g. an embedded test server) the process's own registry is served.
"""

from __future__ import annotations

import os
from collections import Counter as Counter_
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from steward.settings import metrics_folder

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Latency buckets in seconds: scoring is sub-millisecond to tens of milliseconds.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# Rows per model call: one row to a full shared call (COALESCE_ROWS) and beyond.
_ROWS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


class Metrics:
    """The counters and histograms of one server process."""

    def __init__(self) -> None:
        self._multiprocess = metrics_folder() is not None
        self.registry = CollectorRegistry()
        # In multiprocess mode metrics live in the files, not in a registry of this process.
        into: Any = None if self._multiprocess else self.registry
        labels = ("endpoint", "model")
        self.requests = Counter(
            "steward_requests",
            "Scoring requests answered, by endpoint, served version and HTTP status.",
            (*labels, "code"),
            registry=into,
        )
        self.errors = Counter(
            "steward_errors",
            "Scoring requests answered with an error, by endpoint and error code.",
            ("endpoint", "code"),
            registry=into,
        )
        self.latency = Histogram(
            "steward_request_latency_seconds",
            "Time from reading a scoring request to its durable log record and answer.",
            labels,
            buckets=_BUCKETS,
            registry=into,
        )
        self.predictions = Counter(
            "steward_predictions",
            "Rows scored, by endpoint, served version and predicted class.",
            (*labels, "prediction"),
            registry=into,
        )
        self.model_calls = Histogram(
            "steward_model_call_rows",
            "Rows per call of a model (concurrent requests for one version share a call), by "
            "endpoint and served version.",
            labels,
            buckets=_ROWS,
            registry=into,
        )
        self.loaded = Gauge(
            "steward_model_loaded",
            "1 when the version is loaded and may be served, by endpoint and version.",
            labels,
            registry=into,
            multiprocess_mode="livemax",
        )

        # the labelled children of the scoring path, looked up once (a lookup takes a lock)
        self._children: dict[tuple[str, ...], Any] = {}
        self._calls: dict[tuple[str, str], Any] = {}

    def scored(self, endpoint: str, model: str, labels: list[Any], seconds: float) -> None:
        """Count one answered scoring request: its latency and its rows' predicted classes
        (``labels``: one per row; a regression's rows all count as ``(value)``)."""
        children = self._children
        found = children.get((endpoint, model))
        if found is None:
            found = (
                self.requests.labels(endpoint, model, "200"),
                self.latency.labels(endpoint, model),
            )
            children[(endpoint, model)] = found
        found[0].inc()
        found[1].observe(seconds)
        for value, count in Counter_(map(str, labels)).items():
            child = children.get((endpoint, model, value))
            if child is None:
                child = self.predictions.labels(endpoint, model, value)
                children[(endpoint, model, value)] = child
            child.inc(count)

    def called(self, endpoint: str, model: str, rows: int) -> None:
        """Count one call of a model with ``rows`` rows."""
        child = self._calls.get((endpoint, model))
        if child is None:
            child = self._calls[(endpoint, model)] = self.model_calls.labels(endpoint, model)
        child.observe(rows)

    def render(self) -> bytes:
        """The text exposition of every process's metrics."""
        if not self._multiprocess:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def worker_stopped(self) -> None:
        """Mark this worker's live gauges dead (multiprocess mode)."""
        if self._multiprocess:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
