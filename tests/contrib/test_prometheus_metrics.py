"""The job metrics in one process: enqueues counted off the instrumentation events, and a
`Worker` running `PrometheusMiddleware` on Redis counting a payload that cannot become a job as
``dead``. Each test has a registry of its own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contrib.prometheus_jobs import QuickJob
from prometheus_client import CollectorRegistry

from jobframe import perform_all_later, queue_adapters
from jobframe.contrib.prometheus import JobMetrics, PrometheusMiddleware
from jobframe.testing.workers import wait_until
from jobframe.worker.runtime import Worker, WorkerOptions, default_middleware
from jobframe_redis.testing import redis_adapter


@pytest.fixture
def adapter() -> Iterator[Any]:
    with redis_adapter(label="jfprom") as made, queue_adapters.override(made):
        yield made


@pytest.fixture
def metrics() -> Iterator[tuple[JobMetrics, CollectorRegistry]]:
    registry = CollectorRegistry()
    made = JobMetrics(registry)
    unsubscribe = made.subscribe()
    yield made, registry
    unsubscribe()


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_enqueues_are_counted_by_class_and_queue(adapter: Any, metrics: Any) -> None:
    _, registry = metrics
    QuickJob.set(queue="a").perform_later("j")
    QuickJob.set(queue="a", wait=60).perform_later("j")  # enqueue_at
    perform_all_later([QuickJob("j").set(queue="b") for _ in range(3)])
    total = "jobframe_jobs_enqueued_total"
    assert sample(registry, total, job_class="prom.QuickJob", queue="a") == 2
    assert sample(registry, total, job_class="prom.QuickJob", queue="b") == 3


def test_a_worker_counts_a_dead_payload_and_a_job_that_ran(
    adapter: Any, metrics: Any, tmp_path: Path
) -> None:
    made, registry = metrics
    adapter.store.enqueue_one((uuid.uuid4().hex, "w", 0, 0, b"not json"))
    QuickJob.set(queue="w").perform_later(str(tmp_path / "journal"))
    backend = adapter.worker_backend()
    options = WorkerOptions(queues=["w"], concurrency=1, heartbeat_interval=0.2)
    middleware = [PrometheusMiddleware(made), *default_middleware(backend, options)]
    worker = Worker(backend, options, (), middleware)
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    try:
        performed = "jobframe_jobs_performed_total"
        wait_until(
            lambda: (
                sample(registry, performed, job_class="unknown", queue="w", outcome="dead") == 1
                and sample(
                    registry, performed, job_class="prom.QuickJob", queue="w", outcome="succeeded"
                )
                == 1
            ),
            15,
            "the dead payload and the job counted",
        )
        count = "jobframe_job_duration_seconds_count"
        assert sample(registry, count, job_class="prom.QuickJob", queue="w") == 1
        assert sample(registry, count, job_class="unknown", queue="w") is None
    finally:
        worker.stop()
        thread.join(15)
    assert not thread.is_alive()
