"""Real stores for the hostile-payload tests: Redis (a fresh key prefix), SQLite (a file),
PostgreSQL and MariaDB (a fresh database each), cleaned up afterwards. Under ``CI`` a server that
does not answer fails the test (`require_service`). And ``runtime``: the in-memory store with
workers in threads, for the shared runtime's own tests (`worker.memory_runtime`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stores import store_adapter
from worker.memory_runtime import Runtime

from jobframe.testing.databases import REDIS_URL


def make_store(kind: str, tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """The adapter for ``kind`` and the ``adapter_options`` a worker process needs to reach it."""
    with store_adapter(kind, tmp_path, label="jfhostile") as made:
        if kind == "redis":
            yield made, {"url": REDIS_URL, "prefix": made.store.keys.prefix}
        else:
            yield made, {"url": made.engine.url.render_as_string(hide_password=False)}


@pytest.fixture(params=["redis", "sqlite", "postgresql", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A real store's adapter, routed to by every ``perform_later`` of the test."""
    from jobframe import queue_adapters

    for adapter, _ in make_store(request.param, tmp_path):
        with queue_adapters.override(adapter):
            yield adapter


@pytest.fixture(params=["redis", "postgresql"])
def served_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """(adapter, its name, its adapter_options) for a test that starts ``jobframe work``."""
    from jobframe import queue_adapters

    name = "redis" if request.param == "redis" else "sql"
    for adapter, options in make_store(request.param, tmp_path):
        with queue_adapters.override(adapter):
            yield adapter, name, options


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    """A fresh in-memory store; every worker a test starts on it is stopped afterwards."""
    made = Runtime()
    try:
        yield made
    finally:
        made.close()
