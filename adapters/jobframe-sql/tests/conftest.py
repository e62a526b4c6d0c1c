"""Fixtures for the SQL backend's tests: SQLite (a file), PostgreSQL and MariaDB, each real."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from jobframe import queue_adapters
from jobframe.testing.services import require_service
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.schema import metadata

SERVERS = {
    "postgresql": ("PostgreSQL", 5432, "JOBFRAME_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"),
    "mariadb": ("MariaDB", 3306, "JOBFRAME_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/{db}"),
}  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_settings(fresh_settings: None) -> None:
    """Every test on the default settings (`jobframe.testing`'s ``fresh_settings``)."""


def _server_database(kind: str) -> Iterator[str]:
    """A fresh database on the real server, dropped afterwards."""
    name, port, env, template = SERVERS[kind]
    require_service(name, "127.0.0.1", port)
    base = os.environ.get(env, template.format(db="postgres" if kind == "postgresql" else "test"))
    database = f"jf_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {database}")
    try:
        yield sa.make_url(base).set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if kind == "postgresql":
                conn.exec_driver_sql(f"DROP DATABASE {database} WITH (FORCE)")
            else:
                conn.exec_driver_sql(f"DROP DATABASE {database}")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def sql_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A database URL with the jobframe tables, on each supported database in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/jobs.sqlite3"
        yield from _with_tables(url)
    else:
        for url in _server_database(request.param):
            yield from _with_tables(url)


def _with_tables(url: str) -> Iterator[str]:
    from jobframe_sql.engine import create_engine

    engine = create_engine(url)
    db.init(engine)
    engine.dispose()
    yield url


@pytest.fixture
def adapter(sql_url: str) -> Iterator[SQLAdapter]:
    adapter = SQLAdapter(sql_url)
    with queue_adapters.override(adapter):
        yield adapter
    adapter.shutdown()


__all__ = ["metadata"]
