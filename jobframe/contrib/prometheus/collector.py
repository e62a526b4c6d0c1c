"""`InspectorCollector`: the gauges read off the backend at scrape time.

``jobframe_queue_depth{queue}``, ``jobframe_queue_oldest_job_age_seconds{queue}`` and
``jobframe_workers_alive`` come from the `jobframe.backend.inspector.Inspector` (one process may
serve them for every worker: the supervisor of ``--processes N``, or the dashboard). Reading them
costs a few backend round trips, so a scrape reuses the last reading for ``max_age`` seconds
(5 by default): scrapes more frequent than that, or from several Prometheus servers, do not
load the backend. A failing backend yields no gauges (and ``jobframe_inspector_up 0``) rather
than a failed scrape: the other metrics still reach Prometheus.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from jobframe.backend.inspector import Inspector

log = logging.getLogger("jobframe.prometheus")
#: seconds a reading of the inspector is reused
DEFAULT_MAX_AGE = 5.0


@dataclass(frozen=True)
class Reading:
    """One reading of the inspector: (queue, depth, oldest age) and the live workers."""

    queues: tuple[tuple[str, int, float], ...]
    workers: int


class InspectorCollector(Collector):
    """A `prometheus_client` collector of queue depth, oldest-job age and live workers.

    ``inspector`` is an `Inspector` or a callable returning one, called at the first scrape (the
    supervisor of ``--processes N`` opens no backend connection until Prometheus asks).
    """

    def __init__(
        self, inspector: Inspector | Callable[[], Inspector], max_age: float = DEFAULT_MAX_AGE
    ) -> None:
        self._source = inspector
        self._inspector: Inspector | None = inspector if isinstance(inspector, Inspector) else None
        self.max_age = max_age
        self._reading: Reading | None = None
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def _read(self) -> Reading:
        if self._inspector is None:
            source = self._source
            assert callable(source)
            self._inspector = source()
        inspector = self._inspector
        queues = tuple((q.name, q.size, q.latency) for q in inspector.queues())
        workers = len(inspector.workers()) if inspector.sees_workers else 0
        return Reading(queues, workers)

    def reading(self) -> Reading | None:
        """The cached reading, refreshed when older than ``max_age``; None if the backend fails."""
        with self._lock:  # concurrent scrapes wait for one reading instead of each taking one
            now = time.monotonic()
            if self._reading is None or now - self._read_at >= self.max_age:
                try:
                    self._reading = self._read()
                except Exception as exc:
                    log.warning("reading queue metrics failed: %s", type(exc).__name__)
                    self._reading = None
                self._read_at = now
            return self._reading

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges, from the last reading."""
        reading = self.reading()
        yield GaugeMetricFamily(
            "jobframe_inspector_up",
            "1 if the last reading of the backend's queues succeeded.",
            value=0 if reading is None else 1,
        )
        if reading is None:
            return
        depth = GaugeMetricFamily(
            "jobframe_queue_depth", "Jobs ready to run, per queue.", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "jobframe_queue_oldest_job_age_seconds",
            "Seconds the oldest ready job of each queue has waited (0 when empty).",
            labels=["queue"],
        )
        for name, size, latency in reading.queues:
            depth.add_metric([name], size)
            age.add_metric([name], latency)
        yield depth
        yield age
        yield GaugeMetricFamily(
            "jobframe_workers_alive",
            "Worker processes whose heartbeat has not expired.",
            value=reading.workers,
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """Nothing: describing would read the backend at registration."""
        return iter(())


__all__ = ["DEFAULT_MAX_AGE", "InspectorCollector", "Reading"]
