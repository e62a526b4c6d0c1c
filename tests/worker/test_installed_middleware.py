"""Middleware an integration installs (`jobframe.worker.middleware.install`) joins every new
worker's defaults, one instance per worker, until uninstalled."""

from __future__ import annotations

from jobframe.queue_adapters.memory_store import MemoryStore
from jobframe.worker import middleware
from jobframe.worker.runtime import WorkerOptions, default_middleware


class Marker(middleware.Middleware):
    pass


def test_installed_middleware_comes_after_the_defaults_until_uninstalled() -> None:
    backend = MemoryStore()
    options = WorkerOptions(queues=["*"])
    middleware.install(Marker)
    try:
        middleware.install(Marker)  # once only
        first, second = default_middleware(backend, options), default_middleware(backend, options)
        assert [type(m) for m in first].count(Marker) == 1 and isinstance(first[-1], Marker)
        assert first[-1] is not second[-1], "a new instance for each worker"
    finally:
        middleware.uninstall(Marker)
    assert Marker not in [type(m) for m in default_middleware(backend, options)]
