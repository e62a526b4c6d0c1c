"""The test servers, found by the same variables everywhere (``JOBFRAME_TEST_POSTGRES``,
``JOBFRAME_TEST_MARIADB``, ``JOBFRAME_TEST_REDIS``), and a scratch database on PostgreSQL or
MariaDB, dropped afterwards. A server that does not answer fails the test under ``CI`` and skips it
otherwise (`require_service`).

SQLAlchemy is imported only when a database is asked for: the core does not need it. The adapters
on these servers come from the backend distributions (`jobframe_sql.testing.sql_adapter`,
`jobframe_redis.testing.redis_adapter`): the core imports no backend (``tests/test_layers.py``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from jobframe.testing.services import require_service

Server = Literal["postgresql", "mariadb"]

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
