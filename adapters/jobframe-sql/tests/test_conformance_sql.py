"""The backend conformance suite on SQLite, PostgreSQL and MariaDB: an in-process worker for the
enqueue tests, real ``jobframe work`` processes for the reliability ones."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from jobframe.backend.adapter import QueueAdapter
from jobframe.testing import BackendConformance, WorkerHarness
from jobframe.testing.conformance.results import SLOW_POLL
from jobframe_sql import results as sql_results
from jobframe_sql.adapter import SQLAdapter
from jobframe_sql.schema import jobs


def _kill_postgresql(admin: sa.Connection, database: str) -> int:
    found = admin.execute(
        sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = :db AND pid <> pg_backend_pid()"
        ),
        {"db": database},
    ).all()
    return sum(1 for (ok,) in found if ok)


def _kill_mariadb(admin: sa.Connection, database: str) -> int:
    ids = admin.execute(
        sa.text(
            "SELECT id FROM information_schema.processlist WHERE db = :db AND id <> CONNECTION_ID()"
        ),
        {"db": database},
    ).scalars()
    killed = 0
    for id in ids:
        try:
            admin.exec_driver_sql(f"KILL {int(id)}")
            killed += 1
        except sa.exc.DBAPIError:  # it went away by itself meanwhile
            pass
    return killed


def connection_killer(sql_url: str) -> Callable[[], int] | None:
    """Kill every connection to the test's database from an admin connection (the server drops
    them, as a restart or a failover would); None for SQLite, which has no server."""
    url = sa.make_url(sql_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return None
    kill = _kill_postgresql if backend == "postgresql" else _kill_mariadb
    database = url.database or ""

    def drop_connections() -> int:
        admin = sa.create_engine(url.set(database="postgres" if backend == "postgresql" else None))
        try:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                return kill(conn, database)
        finally:
            admin.dispose()

    return drop_connections


class TestSQLBackend(BackendConformance):
    @pytest.fixture
    def adapter(self, adapter: SQLAdapter) -> QueueAdapter:  # type: ignore[override]
        return adapter

    @pytest.fixture
    def harness(self, sql_url: str, tmp_path: Path) -> WorkerHarness:  # type: ignore[override]
        return WorkerHarness(
            tmp_path / "workers",
            "sql",
            {"url": sql_url},
            drop_connections=connection_killer(sql_url),
        )

    @contextlib.contextmanager
    def polls_slowly(self, adapter: QueueAdapter) -> Iterator[None]:
        """Waiters poll behind their wake-ups (`SQLResults.wait`): hold the polls to
        `SLOW_POLL` apart, so a waiter back soon was woken."""
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sql_results, "_FIRST_POLL", SLOW_POLL)
            patch.setattr(sql_results, "_MAX_POLL", SLOW_POLL)
            yield

    def wakes_across_processes(self, adapter: QueueAdapter) -> bool:
        """PostgreSQL wakes waiters with NOTIFY; SQLite and MariaDB with sockets that reach the
        processes on the writer's machine (the harness's workers run on this one), and poll
        otherwise (`SQLResults`)."""
        assert isinstance(adapter, SQLAdapter)
        return adapter.engine.dialect.name == "postgresql" or adapter._wake_key is not None

    def crashes(self, adapter: QueueAdapter, provider_id: str) -> int:
        assert isinstance(adapter, SQLAdapter)
        with adapter.engine.connect() as conn:
            found = conn.execute(sa.select(jobs.c.crashes).where(jobs.c.id == provider_id))
            return int(found.scalar_one())
