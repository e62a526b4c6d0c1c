"""Real stores for the hostile-payload tests: Redis (a fresh key prefix), SQLite (a file),
PostgreSQL and MariaDB (a fresh database each), cleaned up afterwards. Under ``CI`` a server that
does not answer fails the test (`require_service`). And ``runtime``: the in-memory store with
workers in threads, for the shared runtime's own tests (`worker.memory_runtime`)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from worker.memory_runtime import Runtime

from jobframe.testing.services import require_service

REDIS_URL = os.environ.get("JOBFRAME_TEST_REDIS", "redis://127.0.0.1:6379/0")
SERVERS = {
    "postgresql": ("PostgreSQL", 5432, "JOBFRAME_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mariadb": ("MariaDB", 3306, "JOBFRAME_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test"),
}  # fmt: skip


def _server_database(kind: str) -> Iterator[str]:
    name, port, env, base_url = SERVERS[kind]
    require_service(name, "127.0.0.1", port)
    base = os.environ.get(env, base_url)
    database = f"jf_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {database}")
    try:
        yield sa.make_url(base).set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            force = " WITH (FORCE)" if kind == "postgresql" else ""
            conn.exec_driver_sql(f"DROP DATABASE {database}{force}")
        admin.dispose()


def make_store(kind: str, tmp_path: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    """The adapter for ``kind`` and the ``adapter_options`` a worker process needs to reach it."""
    if kind == "redis":
        require_service("Redis", "127.0.0.1", 6379)
        from jobframe_redis.adapter import RedisAdapter

        prefix = f"jfhostile-{uuid.uuid4().hex[:8]}"
        redis_adapter = RedisAdapter(REDIS_URL, prefix=prefix)
        try:
            yield redis_adapter, {"url": REDIS_URL, "prefix": prefix}
        finally:
            client = redis_adapter.store.client
            keys = list(client.scan_iter(match="{" + prefix + "}:*", count=1000))
            if keys:
                client.delete(*keys)
            redis_adapter.shutdown()
        return
    from jobframe_sql import db
    from jobframe_sql.adapter import SQLAdapter

    urls = iter([f"sqlite:///{tmp_path}/jobs.sqlite3"]) if kind == "sqlite" else None
    for url in urls or _server_database(kind):
        sql_adapter = SQLAdapter(url)
        db.init(sql_adapter.engine)
        try:
            yield sql_adapter, {"url": url}
        finally:
            sql_adapter.shutdown()


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
