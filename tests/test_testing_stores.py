"""The store helpers the test folders share (`jobframe.testing.databases`, `.services`,
`.outcomes`, `.environment`, `.workers.worker_thread`, `jobframe_redis.testing`): each leaves
nothing behind on the real servers and does what its docstring promises."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

import jobframe
from jobframe import config, queue_adapters
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing.databases import SERVERS, Server, scratch_database
from jobframe.testing.environment import configured
from jobframe.testing.outcomes import fail_ready
from jobframe.testing.services import port_open, redis_server
from jobframe.testing.workers import wait_until, worker_thread
from jobframe.worker.runtime import WorkerOptions
from jobframe_redis.testing import redis_adapter

EXISTS = {
    "postgresql": "SELECT count(*) FROM pg_database WHERE datname = :name",
    "mariadb": "SELECT count(*) FROM information_schema.schemata WHERE schema_name = :name",
}


class NoteJob(jobframe.Job):
    queue_as = "notes"

    def perform(self, text: str) -> None:
        pass


def _databases_named(server: Server, name: str) -> int:
    admin = sa.create_engine(SERVERS[server][3])
    try:
        with admin.connect() as conn:
            return int(conn.execute(sa.text(EXISTS[server]), {"name": name}).scalar_one())
    finally:
        admin.dispose()


@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_a_scratch_database_is_usable_and_dropped_afterwards(server: Server) -> None:
    with scratch_database(server) as url:
        name = sa.make_url(url).database
        assert name and name.startswith("jf_")
        engine = sa.create_engine(url)
        with engine.begin() as conn:  # a connection left open: the drop must still succeed
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        held = engine.connect()
        assert _databases_named(server, name) == 1
    held.close()
    engine.dispose()
    assert _databases_named(server, name) == 0


def test_a_redis_adapter_deletes_its_own_keys_and_no_others() -> None:
    with redis_adapter(label="jfhelper") as first, redis_adapter(label="jfhelper") as second:
        assert first.store.keys.prefix != second.store.keys.prefix
        with queue_adapters.override(second):
            NoteJob.perform_later("kept")
        with queue_adapters.override(first):
            NoteJob.perform_later("gone")
            client = first.store.client
            base = first.store.keys.base
            assert list(client.scan_iter(match=base + "*"))
        assert second.inspector().count("ready") == 1
    assert not list(client.scan_iter(match=base + "*"))


def test_a_private_redis_server_keeps_nothing_unless_told_and_stops_at_exit(
    tmp_path: Path,
) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "aof").mkdir()
    with (
        redis_server(tmp_path / "plain") as plain,
        redis_server(tmp_path / "aof", "--appendonly", "yes", password="hunter2-helper") as aof,
    ):
        client = redis.Redis.from_url(plain.url)
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.config_get("save") == {"save": ""}
        client.close()
        assert ":hunter2-helper@" in aof.url
        client = redis.Redis.from_url(aof.url)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("save") == {"save": ""}
        client.close()
        ports = (plain.port, aof.port)
    assert not any(port_open("127.0.0.1", port) for port in ports)


def test_fail_ready_puts_jobs_in_the_dead_set_as_a_worker_would() -> None:
    adapter = AsyncAdapter(autostart=False)
    try:
        with queue_adapters.override(adapter):
            jobframe.perform_all_later([NoteJob(f"n{i}") for i in range(3)])
        error = {"class": "KeyError", "message": "lost", "traceback": ""}
        ids = fail_ready(adapter.worker_backend(), 2, error=error)
        inspector = adapter.inspector()
        assert len(ids) == 2 and inspector.count("dead") == 2 and inspector.count("ready") == 1
        assert {job.id for job in inspector.jobs("dead")} == set(ids)
    finally:
        adapter.shutdown(timeout=5)


def test_configured_reads_the_environment_and_drops_the_adapter_afterwards(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/jobs.sqlite3"
    with configured(monkeypatch, "sql", url):
        assert config.settings().adapter == "sql"
        built = queue_adapters.get()
        assert queue_adapters.get() is built
    assert queue_adapters.get() is not built


def test_worker_thread_runs_jobs_and_stops_at_the_end_of_the_block() -> None:
    adapter = AsyncAdapter(autostart=False)
    try:
        with queue_adapters.override(adapter):
            NoteJob.perform_later("run me")
        options = WorkerOptions(queues=["*"], concurrency=1, fetch_timeout=0.2)
        with worker_thread(adapter.worker_backend(), options):
            wait_until(lambda: adapter.inspector().pending() == 0, 15, "the job to run")
        assert adapter.inspector().workers() == []
    finally:
        adapter.shutdown(timeout=5)


def test_sql_adapter_fails_the_test_that_leaves_a_connection_out(tmp_path: Path) -> None:
    """`jobframe_sql.testing.sql_adapter` names the test that leaks a connection of its adapter,
    not a later one whose garbage collection finds it (a psycopg ResourceWarning in CI)."""
    from jobframe_sql.testing import sql_adapter

    leak = r"1 connection\(s\) of the test's SQLAdapter"
    with pytest.raises(AssertionError, match=leak), sql_adapter("sqlite", tmp_path) as adapter:
        leaked = adapter.engine.connect()
    leaked.close()
    with sql_adapter("sqlite", tmp_path) as adapter, adapter.engine.connect():
        pass  # closed in time: no complaint
