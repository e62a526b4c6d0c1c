"""A real worker for the Django tests: a `Worker` in a thread on Redis (a key prefix of its own).

Each worker thread opens its own Django database connection; `ClosingConnections` closes it after
every job, as Django does after a request, so none is left open when the thread ends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from jobframe import plugins, queue_adapters
from jobframe.hookspecs import hookimpl
from jobframe.testing.workers import worker_thread
from jobframe.worker.runtime import WorkerOptions


class ClosingConnections:
    """Closes the performing thread's Django connections once a job (with a context) ends."""

    @hookimpl(tryfirst=True)
    def jobframe_apply_context(
        self, context: Mapping[str, Any]
    ) -> contextlib.AbstractContextManager[None]:
        return _closing()


@contextlib.contextmanager
def _closing() -> Iterator[None]:
    from django.db import connections

    try:
        yield
    finally:
        connections.close_all()


@contextlib.contextmanager
def redis_queue(label: str) -> Iterator[Any]:
    """Route jobs to a fresh Redis adapter (keys under ``<label>-<random>``) for the block."""
    from jobframe_redis.testing import redis_adapter

    with redis_adapter(label=label) as adapter, queue_adapters.override(adapter):
        yield adapter


@contextlib.contextmanager
def running(adapter: Any) -> Iterator[Any]:
    """A worker performing ``adapter``'s jobs in a thread, for the block."""
    closing = ClosingConnections()
    plugins.register_plugin(closing, name="tests.django.closing-connections")
    options = WorkerOptions(queues=["*"], concurrency=2, heartbeat_interval=1.0, fetch_timeout=0.2)
    try:
        with worker_thread(adapter.worker_backend(), options) as worker:
            yield worker
    finally:
        plugins.unregister_plugin(closing)
