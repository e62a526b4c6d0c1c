"""Prometheus metrics for jobframe (``pip install jobframe[prometheus]``).

``jobframe work --metrics-port 9108`` serves ``/metrics`` on ``--metrics-host`` (127.0.0.1 by
default: bind ``0.0.0.0`` explicitly to let a Prometheus on another host scrape it). With
``--processes N`` the supervisor serves the port and one scrape sums every child's counters
(``prometheus_client`` multiprocess mode: the supervisor creates a ``PROMETHEUS_MULTIPROC_DIR`` for
the children and removes it when it exits). The metrics:

- ``jobframe_jobs_enqueued_total{job_class,queue}``
- ``jobframe_jobs_performed_total{job_class,queue,outcome}``
- ``jobframe_job_duration_seconds{job_class,queue}`` (histogram)
- ``jobframe_job_queue_latency_seconds{job_class,queue}`` (histogram)
- ``jobframe_queue_depth{queue}``, ``jobframe_queue_oldest_job_age_seconds{queue}``,
  ``jobframe_workers_alive`` (read off the backend at scrape time, at most every 5 s)

See `jobframe.contrib.prometheus.metrics` for what each counts. The dashboard serves the backend
gauges at ``/metrics`` too, behind its own authentication (a scraper sends ``dashboard_token`` as
``Authorization: Bearer``). An application that enqueues jobs counts its enqueues in its own
registry after `install`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

from jobframe.backend.inspector import Inspector
from jobframe.contrib.prometheus.collector import InspectorCollector
from jobframe.contrib.prometheus.metrics import JobMetrics, PrometheusMiddleware

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_installed: JobMetrics | None = None
_install_lock = threading.Lock()


def install() -> JobMetrics:
    """Register the job metrics in the default registry and count this process's enqueues.

    Idempotent: the first call's metrics are returned by every later one.
    """
    global _installed
    with _install_lock:
        if _installed is None:
            _installed = JobMetrics()
            _installed.subscribe()
        return _installed


def worker_middleware() -> PrometheusMiddleware:
    """The middleware a worker runs with metrics on (after `install`)."""
    return PrometheusMiddleware(install())


def serve(
    port: int,
    host: str = "127.0.0.1",
    inspector: Inspector | Callable[[], Inspector] | None = None,
    registry: CollectorRegistry = REGISTRY,
) -> Any:
    """Serve ``registry`` (plus the backend gauges of ``inspector``) on ``host:port`` from a
    daemon thread. Returns the HTTP server (``.shutdown()`` stops it)."""
    if inspector is not None:
        registry.register(InspectorCollector(inspector))
    server, _thread = start_http_server(port, host, registry)
    return server


@dataclass
class SupervisorMetrics:
    """What the supervisor of ``--processes N`` needs: the children's environment, and what to
    do when one of them exits (its live gauges are forgotten; its counts stay)."""

    directory: str
    env: dict[str, str] = field(default_factory=dict)

    def process_exited(self, pid: int) -> None:
        """Forget the gauges of a child that exited (counters and histograms are kept)."""
        multiprocess.mark_process_dead(pid, self.directory)  # type: ignore[no-untyped-call]


def multiprocess_registry(directory: str) -> CollectorRegistry:
    """A registry summing the metric files every child writes into ``directory``."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


@contextmanager
def supervising(
    port: int, host: str = "127.0.0.1", inspector: Callable[[], Inspector] | None = None
) -> Iterator[SupervisorMetrics]:
    """Serve the children's summed metrics while the block runs; remove their files after.

    A fresh directory each time: files left by an earlier run would be counted again.
    """
    directory = tempfile.mkdtemp(prefix="jobframe-metrics-")
    try:
        server = serve(port, host, inspector, multiprocess_registry(directory))
        try:
            yield SupervisorMetrics(directory, {MULTIPROC_ENV: directory})
        finally:
            server.shutdown()
            server.server_close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def in_supervised_child() -> bool:
    """This worker is a child of ``--processes N``: it writes metric files, the parent serves."""
    return os.environ.get("JOBFRAME_SUPERVISED") == "1" and bool(os.environ.get(MULTIPROC_ENV))


__all__ = [
    "InspectorCollector",
    "JobMetrics",
    "PrometheusMiddleware",
    "SupervisorMetrics",
    "in_supervised_child",
    "install",
    "multiprocess_registry",
    "serve",
    "supervising",
    "worker_middleware",
]
