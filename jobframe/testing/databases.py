"""Fresh, isolated stores on the real servers for tests: a scratch database on PostgreSQL or
MariaDB, and a Redis adapter on a key prefix of its own, each removed afterwards.

The servers are found by the same variables everywhere (``JOBFRAME_TEST_POSTGRES``,
``JOBFRAME_TEST_MARIADB``, ``JOBFRAME_TEST_REDIS``), and a server that does not answer fails the
test under ``CI`` and skips it otherwise (`require_service`). SQLAlchemy and the Redis adapter are
imported only when asked for: the core does not need them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from jobframe.testing.services import require_service

if TYPE_CHECKING:
    from jobframe_redis.adapter import RedisAdapter
    from jobframe_sql.adapter import SQLAdapter

Server = Literal["postgresql", "mariadb"]
Database = Literal["sqlite", "postgresql", "mariadb"]
Store = Literal["redis", "sqlite", "postgresql", "mariadb"]

# (name in messages, port, variable naming the admin URL, the admin URL when it is unset)
SERVERS: dict[Server, tuple[str, int, str, str]] = {
    "postgresql": ("PostgreSQL", 5432, "JOBFRAME_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    "mariadb": ("MariaDB", 3306, "JOBFRAME_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test"),
}  # fmt: skip
REDIS_URL = os.environ.get("JOBFRAME_TEST_REDIS", "redis://127.0.0.1:6379/0")


@contextmanager
def scratch_database(server: Server) -> Iterator[str]:
    """Create ``jf_<random>`` on ``server``, yield its URL, and drop it afterwards.

    On PostgreSQL the drop is ``WITH (FORCE)``: a connection a failed test left open must not leave
    the database behind.

    Raises:
        KeyError: ``server`` is neither ``"postgresql"`` nor ``"mariadb"``.
    """
    import sqlalchemy as sa

    name, port, variable, default = SERVERS[server]
    require_service(name, "127.0.0.1", port)
    base = os.environ.get(variable, default)
    database = f"jf_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {database}")
        try:
            yield sa.make_url(base).set(database=database).render_as_string(hide_password=False)
        finally:
            force = " WITH (FORCE)" if server == "postgresql" else ""
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE {database}{force}")
    finally:
        admin.dispose()


@contextmanager
def sql_adapter(database: Database, folder: Path | None = None) -> Iterator[SQLAdapter]:
    """An `SQLAdapter` with the jobframe tables on a database of its own: ``jobs.sqlite3`` in
    ``folder``, or a `scratch_database` on the server; shut down (and the database dropped)
    afterwards.

    Raises:
        ValueError: SQLite without a ``folder`` for its file.
    """
    from jobframe_sql import db
    from jobframe_sql.adapter import SQLAdapter

    with ExitStack() as stack:
        if database == "sqlite":
            if folder is None:
                raise ValueError("sql_adapter('sqlite') needs a folder for its file: pass tmp_path")
            url = f"sqlite:///{folder}/jobs.sqlite3"
        else:
            url = stack.enter_context(scratch_database(database))
        adapter = SQLAdapter(url)
        try:
            db.init(adapter.engine)
            yield adapter
        finally:
            adapter.shutdown()


@contextmanager
def redis_adapter(prefix: str | None = None, *, label: str = "jftest") -> Iterator[RedisAdapter]:
    """A `RedisAdapter` on the test server under a key prefix no other test uses (``prefix``, or
    ``<label>-<random>``); every key under it is deleted and the adapter shut down afterwards."""
    require_service("Redis", "127.0.0.1", 6379)
    from jobframe_redis.adapter import RedisAdapter

    adapter = RedisAdapter(REDIS_URL, prefix=prefix or f"{label}-{uuid.uuid4().hex[:8]}")
    try:
        yield adapter
    finally:
        client = adapter.store.client
        keys = list(client.scan_iter(match=adapter.store.keys.base + "*", count=1000))
        if keys:
            client.delete(*keys)
        adapter.shutdown()


@contextmanager
def store_adapter(
    store: Store, folder: Path | None = None, *, label: str = "jftest"
) -> Iterator[RedisAdapter | SQLAdapter]:
    """`redis_adapter` (a ``<label>-<random>`` prefix) or `sql_adapter` (SQLite in ``folder``),
    for a test parametrized over backends."""
    if store == "redis":
        with redis_adapter(label=label) as on_redis:
            yield on_redis
    else:
        with sql_adapter(store, folder) as on_sql:
            yield on_sql
