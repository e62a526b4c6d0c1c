"""An `SQLAdapter` of a test's own, with the tables made: for the tests of applications and
backends that run against SQLite, PostgreSQL or MariaDB; and `add_finished`, the finished history
of the scale tests and benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Literal

import sqlalchemy as sa

from jobframe.testing.databases import scratch_database
from jobframe_sql import db
from jobframe_sql.adapter import SQLAdapter

Database = Literal["sqlite", "postgresql", "mariadb"]


@contextmanager
def sql_adapter(database: Database, folder: Path | None = None) -> Iterator[SQLAdapter]:
    """An `SQLAdapter` with the jobframe tables on a database of its own: ``jobs.sqlite3`` in
    ``folder``, or a `scratch_database` on the server; shut down (and the database dropped)
    afterwards.

    Raises:
        ValueError: SQLite without a ``folder`` for its file.
    """
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
            left = checked_out(adapter)
        finally:
            adapter.shutdown()
        assert_none_left(left + checked_out(adapter))


def checked_out(adapter: SQLAdapter) -> int:
    """How many connections of ``adapter``'s engines are out of their pools."""
    engines = (adapter.engine, adapter._single, adapter._worker_engine)
    pools = [engine.pool for engine in engines if engine is not None]
    return sum(pool.checkedout() for pool in pools if isinstance(pool, sa.pool.QueuePool))


def assert_none_left(count: int) -> None:
    """Fail the test that left ``count`` connections of its adapter out at its end, before or
    after ``shutdown()`` (whose disposal closes only the pooled ones): the rest were closed by
    nobody, and a later test's garbage collection reported them as a psycopg ResourceWarning,
    far from their cause.

    Raises:
        AssertionError: ``count`` is not 0.
    """
    assert count == 0, (
        f"{count} connection(s) of the test's SQLAdapter still out of the pool at its end: a "
        "thread still uses the adapter (stop and join it first), or a connection was not closed"
    )




def add_finished(engine: sa.Engine, rows: int, finished_at: int, queue: str = "default") -> None:
    """Insert ``rows`` finished jobs (finished at epoch ms ``finished_at``) in one set-based
    statement: ``generate_series`` on PostgreSQL, the Sequence engine's ``seq_1_to_N`` on MariaDB,
    a recursive CTE elsewhere. A million rows take about 20-35 s on PostgreSQL or MariaDB on a
    loaded 2-core machine, where one INSERT per row would take many minutes.

    Each row looks like a no-op job's history: a payload of a few bytes, a job class and id."""
    name = engine.dialect.name
    mysql = name in ("mysql", "mariadb")
    with engine.begin() as conn:
        base = conn.execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM jobframe_jobs")).scalar()
        if name == "postgresql":
            source, number, payload = "generate_series(1, :rows) AS g(n)", "n::text", "'\\x7b7d'"
        elif mysql and _has_sequence_engine(conn):
            source, number, payload = f"seq_1_to_{int(rows)}", "seq", "0x7b7d"
        else:
            source = ("(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
                      "WHERE n < :rows) SELECT n FROM s) AS g")  # fmt: skip
            number, payload = "CAST(n AS CHAR)", "X'7b7d'"
        id_ = f"CONCAT(:prefix, {number})" if mysql else f":prefix || {number}"
        conn.execute(
            sa.text(
                "INSERT INTO jobframe_jobs (id, queue, priority, state, run_at, enqueued_at, "
                "job_class, job_id, payload, crashes, attempts, finished_at) "
                f"SELECT {id_}, :queue, 0, 'finished', :at, :at, 'NoopJob', {id_}, {payload}, "
                f"0, 1, :at FROM {source}"
            ),
            {"rows": rows, "prefix": f"h{base}-", "queue": queue, "at": finished_at},
        )


def _has_sequence_engine(conn: sa.Connection) -> bool:
    """MariaDB's Sequence engine (``seq_1_to_N`` tables), on by default since 10.1."""
    try:
        conn.exec_driver_sql("SELECT 1 FROM seq_1_to_1")
    except sa.exc.DBAPIError:
        return False
    return True
