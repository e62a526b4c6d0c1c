"""A real worker for the Django tests: a `Worker` in a thread on Redis (a key prefix of its own).

Each worker thread opens its own Django database connection; the integration's connections
middleware (`jobframe.contrib.django.connections`) closes it after every job, as Django does after
a request, so none is left open when the thread ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from jobframe import queue_adapters
from jobframe.testing.workers import worker_thread
from jobframe.worker.runtime import WorkerOptions


@contextlib.contextmanager
def redis_queue(label: str) -> Iterator[Any]:
    """Route jobs to a fresh Redis adapter (keys under ``<label>-<random>``) for the block."""
    from jobframe_redis.testing import redis_adapter

    with redis_adapter(label=label) as adapter, queue_adapters.override(adapter):
        yield adapter


@contextlib.contextmanager
def running(adapter: Any) -> Iterator[Any]:
    """A worker performing ``adapter``'s jobs in a thread, for the block."""
    options = WorkerOptions(queues=["*"], concurrency=2, heartbeat_interval=1.0, fetch_timeout=0.2)
    with worker_thread(adapter.worker_backend(), options) as worker:
        yield worker
