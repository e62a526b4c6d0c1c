"""``/metrics`` on the dashboard: the backend's gauges for Prometheus.

The dashboard process runs no job, so it serves what the `jobframe.backend.inspector.Inspector`
knows: ``jobframe_queue_depth``, ``jobframe_queue_oldest_job_age_seconds`` and
``jobframe_workers_alive`` (read at most every 5 s, whatever the number of scrapers). The job
counters and histograms come from ``jobframe work --metrics-port``. The route sits behind the
dashboard's own authentication, like every page: Prometheus sends ``dashboard_token`` with
``authorization: {type: Bearer, credentials_file: ...}`` in its scrape config; no second secret
to configure and rotate.
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response

from jobframe.backend.inspector import Inspector
from jobframe.contrib.prometheus.collector import InspectorCollector

_registries: dict[int, tuple[Inspector, CollectorRegistry]] = {}
_lock = threading.Lock()


def registry_for(inspector: Inspector) -> CollectorRegistry:
    """The registry of ``inspector``'s gauges, one per inspector (so its cache is shared)."""
    with _lock:
        known = _registries.get(id(inspector))
        if known is None or known[0] is not inspector:
            registry = CollectorRegistry()
            registry.register(InspectorCollector(inspector))
            known = _registries[id(inspector)] = (inspector, registry)
        return known[1]


def metrics_response(inspector: Inspector, request: Request) -> Response:
    """The exposition of ``inspector``'s gauges, in the format the scraper asked for."""
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(registry_for(inspector)), headers={"Content-Type": content_type})


__all__ = ["metrics_response", "registry_for"]
